import { type Command, environmentName, type FlagSpec, flagsOf } from './flags.js';

/** One option's help, wrapped to 100 columns under its description column. */
function wrap(prefix: string, text: string): string[] {
  const lines: string[] = [];
  let line = prefix;
  for (const word of text.split(' ')) {
    if (line.length + word.length > 100 && line.trim() !== prefix.trim()) {
      lines.push(line.trimEnd());
      line = ' '.repeat(prefix.length);
    }
    line += `${word} `;
  }
  lines.push(line.trimEnd());
  return lines;
}

/** `  -h, --help   show this help`, grouped under the table's headings. */
function flagLines(flags: readonly FlagSpec[]): string[] {
  const lines: string[] = [];
  let group = '';
  for (const spec of flags) {
    if (spec.group !== group) {
      group = spec.group;
      lines.push('', `${group}:`);
    }
    const flag = spec.environmentOnly
      ? environmentName(spec.name)
      : `${spec.short ? `-${spec.short}, ` : ''}--${spec.name}${spec.placeholder ? ` ${spec.placeholder}` : ''}`;
    lines.push(...wrap(`  ${flag.padEnd(26)} `, spec.help));
  }
  return lines;
}

const GATEWAY_USAGE = [
  '  ntlm-sso gateway --upstream URL (--users FILE | --dc URLS --domain NAME) [options]',
  '  ntlm-sso gateway --upstream URL --netlogon HOSTS --domain NAME --machine-account NAME$ --machine-password-file FILE [options]',
  '  ntlm-sso gateway --upstream URL --mode pass-through [options]',
];

const DOCTOR_USAGE = [
  '  ntlm-sso doctor [--dc URLS [--dc-ca FILE] [--dc-servername NAME]] [--lookup-url URLS --lookup-user DN]',
  '                  [--netlogon HOSTS --machine-account NAME',
  '                  --machine-password-file FILE --domain NAME] [--keytab FILE [--spn PRINCIPAL]]',
  '                  [--redis URL] [--timeout TIME]',
  '  --dc auto / --netlogon auto: with --dns-domain NAME [--dns-server ADDRS], the DCs found in DNS',
];

export function gatewayHelp(version: string): string {
  const lines = [
    `ntlm-sso ${version}: Windows single sign-on (NTLM) in front of any HTTP application`,
    '',
    'Usage:',
    ...GATEWAY_USAGE,
    '',
    'Example:',
    '  npx ntlm-sso gateway --listen 127.0.0.1:8080 --upstream http://127.0.0.1:9000 --users demo-app/users.json',
    ...flagLines(flagsOf('gateway')),
    '',
    'Every flag can also be set as an environment variable: --jwt-secret is NTLM_SSO_JWT_SECRET,',
    '--dc is NTLM_SSO_DC, a switch is NTLM_SSO_FORWARD_GROUPS=true. Flags win over variables,',
    'variables over the --config file. Times: 500ms, 30s, 5m, 1h (a bare number is seconds).',
    '',
    'SIGTERM or SIGINT: stop accepting, finish in-flight requests (--shutdown-timeout), exit 0.',
  ];
  return `${lines.join('\n')}\n`;
}

export function doctorHelp(version: string): string {
  const gateway = new Set(flagsOf('gateway'));
  // The doctor's own flags and --help/--version; the gateway's are in `ntlm-sso gateway --help`.
  const own = flagsOf('doctor').filter((spec) => !gateway.has(spec) || spec.environment === false);
  const lines = [
    `ntlm-sso ${version} doctor: checks, before users do, that logons can work with these settings`,
    '',
    'Usage:',
    ...DOCTOR_USAGE,
    '',
    'It reads the gateway’s settings (flags, NTLM_SSO_* variables, --config file) and checks the ones',
    'that reach the network: --dc (TCP, TLS certificate, rootDSE, clock, whether the DC requires LDAP',
    'signing), --lookup-url/--lookup-user/--lookup-password (the bind), --keytab/--spn (the format, its',
    'principals, AES keys, and with a lookup account the kvno against the directory and the clock),',
    '--redis (PING); --dns-domain (the SRV records _ldap._tcp.dc._msdcs and _kerberos._tcp, then the',
    'DCs found, checked as --dc or --netlogon ones when those say auto). Other gateway flags are',
    'accepted and ignored, so the gateway’s own command line works here (ntlm-sso gateway --help).',
    ...flagLines(own),
    '',
    'Each check prints one line: ✓ or ✗, what it saw and, on ✗, what to change (– : not checked, and why).',
    'Exit code: 0 when every check passes, 1 when one fails, 2 for a command-line mistake.',
  ];
  return `${lines.join('\n')}\n`;
}

/** `ntlm-sso`, `ntlm-sso -h`: the commands, each with its usage. */
export function topHelp(version: string): string {
  const lines = [
    `ntlm-sso ${version}: Windows single sign-on (NTLM, Kerberos) for any HTTP application`,
    '',
    'Usage:',
    ...GATEWAY_USAGE,
    ...DOCTOR_USAGE,
    '',
    'Commands:',
    '  gateway                    authenticate users in front of an HTTP application (ntlm-sso gateway --help)',
    '  doctor                     check the gateway’s settings against the network before users do',
    '                             (ntlm-sso doctor --help)',
    ...flagLines(flagsOf('ntlm-sso')),
  ];
  return `${lines.join('\n')}\n`;
}

/** The help of `command`, or the top-level one. */
export function helpFor(command: Command, version: string): string {
  if (command === 'gateway') return gatewayHelp(version);
  if (command === 'doctor') return doctorHelp(version);
  return topHelp(version);
}
