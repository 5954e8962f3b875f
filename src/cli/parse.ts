import { parseArgs } from 'node:util';
import { readJsonObject } from '../json-file.js';
import { type Command, environmentName, type FlagSpec, flagsOf, UNIT_MS } from './flags.js';
import { UsageError } from './usage-error.js';

export type SettingValue = string | boolean | number | string[];
export type Settings = Record<string, SettingValue>;

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;

/**
 * nginx-style times: `500ms`, `30s`, `5m`, `1h`; a bare number means seconds. Only the syntax is
 * checked here: whether a time is long enough is the library's to say (ConfigurationError).
 */
export function parseDuration(text: string, flag: string): number {
  const match = DURATION.exec(text.trim());
  const ms = match ? Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 's']!) : Number.NaN;
  if (!Number.isSafeInteger(ms))
    throw new UsageError(`--${flag} must be a time such as 30s, 5m or 1h, got ${JSON.stringify(text)}`);
  return ms;
}

/** `"a", "b" or "c"`. */
function alternatives(choices: readonly string[]): string {
  const quoted = choices.map((choice) => JSON.stringify(choice));
  return quoted.length === 1 ? quoted[0]! : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
}

/** One value as its kind says; the syntax only (the library checks ranges and pairs). */
function normalize(spec: FlagSpec, raw: SettingValue, source: string): SettingValue {
  const where = `${source === 'flag' ? '' : `${source}: `}--${spec.name}`;
  switch (spec.kind) {
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (/^(1|true|yes|on)$/i.test(String(raw))) return true;
      if (/^(0|false|no|off|)$/i.test(String(raw))) return false;
      throw new UsageError(`${where} is a switch: use true or false, got ${JSON.stringify(raw)}`);
    case 'list': {
      const items = Array.isArray(raw) ? raw : String(raw).split(',');
      const list = items.map((item) => String(item).trim()).filter(Boolean);
      if (list.length === 0) throw new UsageError(`${where} needs at least one value`);
      return list;
    }
    case 'integer': {
      const value = typeof raw === 'number' ? raw : Number(String(raw).trim());
      if (!Number.isSafeInteger(value) || String(raw).trim() === '')
        throw new UsageError(`${where} must be a positive whole number, got ${JSON.stringify(raw)}`);
      return value;
    }
    case 'duration':
      return parseDuration(String(raw), spec.name);
    default:
      if (typeof raw !== 'string' || raw === '') throw new UsageError(`${where} needs a value`);
      if (spec.choices && !spec.choices.includes(raw))
        throw new UsageError(`${where} must be ${alternatives(spec.choices)}, got ${JSON.stringify(raw)}`);
      return raw;
  }
}

/** A secret flag given on the command line, where every user of the machine can read it in `ps`. */
function refuseSecretArguments(flags: readonly FlagSpec[], argv: readonly string[]): void {
  for (const spec of flags) {
    if (
      spec.environmentOnly &&
      argv.some((arg) => arg === `--${spec.name}` || arg.startsWith(`--${spec.name}=`))
    )
      throw new UsageError(
        `--${spec.name} is never a command-line argument (every user can read it in ps): set ${environmentName(spec.name)}${flags.some((flag) => flag.name === `${spec.name}-file`) ? ` or use --${spec.name}-file FILE` : ''}`,
      );
  }
}

/** The --config file's keys: the flag names of `command`, except the secrets and --config/--help/--version. */
function readConfigFile(path: string, byName: ReadonlyMap<string, FlagSpec>): Settings {
  const settings: Settings = {};
  for (const [key, value] of Object.entries(readJsonObject(path, 'config file') as Settings)) {
    const spec = byName.get(key);
    if (!spec || key === 'config' || spec.environment === false)
      throw new UsageError(`config file ${path}: unknown key ${JSON.stringify(key)}`);
    if (spec.environmentOnly)
      throw new UsageError(
        `config file ${path}: "${key}" is a secret: set ${environmentName(key)}${byName.has(`${key}-file`) ? ` or "${key}-file"` : ''} instead`,
      );
    settings[key] = normalize(spec, value, `config file ${path}`);
  }
  return settings;
}

/**
 * The settings of `command` from, in order of precedence: command-line flags, NTLM_SSO_*
 * variables, the --config file. Unknown flags, unknown config keys and malformed values are
 * UsageErrors; a config file that cannot be read is a ConfigurationError. With -h/--help or
 * -v/--version, nothing else is read: help works whatever the environment holds.
 */
export function readSettings(command: Command, argv: readonly string[], env: NodeJS.ProcessEnv): Settings {
  const flags = flagsOf(command);
  const byName = new Map(flags.map((spec) => [spec.name, spec]));
  refuseSecretArguments(flags, argv);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: Object.fromEntries(
        flags
          .filter((spec) => !spec.environmentOnly)
          .map(
            (spec) =>
              [
                spec.name,
                {
                  type: spec.kind === 'boolean' ? 'boolean' : 'string',
                  ...(spec.short ? { short: spec.short } : {}),
                },
              ] as const,
          ),
      ),
    });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  if (parsed.values.help === true) return { help: true };
  if (parsed.values.version === true) return { version: true };

  const configPath = (parsed.values.config as string | undefined) ?? env[environmentName('config')];
  const settings: Settings = configPath ? readConfigFile(configPath, byName) : {};
  for (const spec of flags) {
    const fromEnv = env[environmentName(spec.name)];
    if (fromEnv !== undefined && spec.name !== 'config' && spec.environment !== false)
      settings[spec.name] = normalize(spec, fromEnv, environmentName(spec.name));
  }
  for (const [name, value] of Object.entries(parsed.values)) {
    if (value !== undefined) settings[name] = normalize(byName.get(name)!, value as SettingValue, 'flag');
  }
  return settings;
}
