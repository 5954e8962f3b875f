import { parseArgs } from 'node:util';
import {
  environmentName,
  FLAGS,
  type FlagSpec,
  parseDuration,
  readSettings,
  type Settings,
  type SettingValue,
  UsageError,
} from '../gateway/cli-settings.js';
import { readJsonObject } from '../json-file.js';

/**
 * Settings the doctor needs that the gateway does not take. A name the gateway's FLAGS table
 * gains later is read by the gateway's own rules and dropped from here automatically.
 */
const DOCTOR_FLAGS: readonly (Omit<FlagSpec, 'group'> & { kind: 'string' | 'list' | 'duration' })[] = [
  {
    name: 'timeout',
    kind: 'duration',
    placeholder: 'TIME',
    help: 'longest wait of each step (default 3s)',
  },
];

export const DOCTOR_ONLY_FLAGS = DOCTOR_FLAGS.filter(
  (spec) => !FLAGS.some((flag) => flag.name === spec.name),
);

function normalizeOwn(spec: (typeof DOCTOR_FLAGS)[number], raw: unknown, where: string): SettingValue {
  if (spec.kind === 'duration') return parseDuration(String(raw), spec.name);
  if (spec.kind === 'list') {
    const list = (Array.isArray(raw) ? raw : String(raw).split(','))
      .map((item) => String(item).trim())
      .filter(Boolean);
    if (list.length === 0) throw new UsageError(`${where}--${spec.name} needs at least one value`);
    return list;
  }
  if (typeof raw !== 'string' || raw === '') throw new UsageError(`${where}--${spec.name} needs a value`);
  return raw;
}

/** A config file value as the NTLM_SSO_* variable the gateway's reader understands. */
function asVariable(value: unknown): string {
  return Array.isArray(value) ? value.join(',') : String(value);
}

/**
 * The doctor's settings: the gateway's (flags, NTLM_SSO_* variables, --config file, read by the
 * gateway's own readSettings, so both agree) plus the doctor-only ones, with the same precedence
 * (flags over variables over the file). Other gateway flags (--upstream...) are accepted and
 * ignored, so that an admin can run the doctor with the gateway's exact command line.
 */
export function readDoctorSettings(argv: readonly string[], env: NodeJS.ProcessEnv): Settings {
  const own = new Map(DOCTOR_ONLY_FLAGS.map((spec) => [spec.name, spec]));
  const gatewayNames = new Set(FLAGS.map((spec) => spec.name));
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      tokens: true,
      options: Object.fromEntries(
        [...FLAGS, ...DOCTOR_ONLY_FLAGS].map(
          (spec) => [spec.name, { type: spec.kind === 'boolean' ? 'boolean' : 'string' }] as const,
        ),
      ),
    });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }

  // The --config file: doctor-only keys are kept here; the gateway's keys become variables of
  // the lowest precedence, checked one by one so that a bad value names the file.
  const configPath = (parsed.values.config as string | undefined) ?? env[environmentName('config')];
  const fromFile: Record<string, unknown> = {};
  const fileVariables: Record<string, string> = {};
  if (configPath) {
    for (const [key, value] of Object.entries(readJsonObject(configPath, 'config file'))) {
      if (own.has(key)) {
        fromFile[key] = value;
      } else if (gatewayNames.has(key) && !['config', 'help', 'version'].includes(key)) {
        const variable = environmentName(key);
        try {
          readSettings([], { [variable]: asVariable(value) });
        } catch (error) {
          throw new UsageError(
            `config file ${configPath}: ${(error as Error).message.replace(`${variable}: `, '')}`,
          );
        }
        fileVariables[variable] = asVariable(value);
      } else {
        throw new UsageError(`config file ${configPath}: unknown key ${JSON.stringify(key)}`);
      }
    }
  }

  const gatewayArgv: string[] = [];
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== 'option' || own.has(token.name) || token.name === 'config') continue;
    gatewayArgv.push(token.value === undefined ? `--${token.name}` : `--${token.name}=${token.value}`);
  }
  const gatewayEnv = { ...fileVariables, ...env };
  delete gatewayEnv[environmentName('config')];
  const settings = readSettings(gatewayArgv, gatewayEnv);

  for (const spec of own.values()) {
    const variable = environmentName(spec.name);
    const flag = parsed.values[spec.name];
    if (flag !== undefined) settings[spec.name] = normalizeOwn(spec, flag, '');
    else if (env[variable] !== undefined)
      settings[spec.name] = normalizeOwn(spec, env[variable], `${variable}: `);
    else if (fromFile[spec.name] !== undefined)
      settings[spec.name] = normalizeOwn(spec, fromFile[spec.name], `config file ${configPath}: `);
  }
  return settings;
}

export function doctorHelp(version: string): string {
  const lines = [
    `ntlm-sso ${version} doctor: checks, before users do, that logons can work with these settings`,
    '',
    'Usage:',
    '  ntlm-sso doctor [--dc URLS [--dc-ca FILE] [--dc-servername NAME]] [--lookup-url URLS --lookup-user DN]',
    '                  [--netlogon HOSTS --machine-account NAME',
    '                  --machine-password-file FILE --domain NAME] [--keytab FILE [--spn PRINCIPAL]]',
    '                  [--redis URL] [--timeout TIME]',
    '  --dc auto / --netlogon auto: with --dns-domain NAME [--dns-server ADDRS], the DCs found in DNS',
    '',
    'It reads the gateway’s settings (flags, NTLM_SSO_* variables, --config file) and checks the ones',
    'that reach the network: --dc (TCP, TLS certificate, rootDSE, clock, whether the DC requires LDAP',
    'signing), --lookup-url/--lookup-user/--lookup-password (the bind), --keytab/--spn (the format, its',
    'principals, AES keys, and with a lookup account the kvno against the directory and the clock),',
    '--redis (PING); --dns-domain (the SRV records _ldap._tcp.dc._msdcs and _kerberos._tcp, then the',
    'DCs found, checked as --dc or --netlogon ones when those say auto). Other gateway',
    'flags are accepted and ignored, so the gateway’s own command line works here.',
    '',
    'Doctor-only settings:',
  ];
  for (const spec of DOCTOR_ONLY_FLAGS) {
    const flag = `--${spec.name}${spec.placeholder ? ` ${spec.placeholder}` : ''}`;
    lines.push(`  ${flag.padEnd(28)} ${spec.help}`);
  }
  lines.push(
    '',
    'Each check prints one line: ✓ or ✗, what it saw and, on ✗, what to change (– : not checked, and why).',
    'Exit code: 0 when every check passes, 1 when one fails, 2 for a command-line mistake.',
  );
  return `${lines.join('\n')}\n`;
}
