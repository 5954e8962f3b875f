// curl as a real NTLM client, run as a child process.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** curl -sS -v with a 20 s limit: stdout is the body (or -w output), stderr the exchange. */
export function curl(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('curl', ['-sS', '-v', '--max-time', '20', ...args]);
}

/** One `curl --ntlm` request: the final status and body. */
export async function curlNtlm(url: string, credentials: string): Promise<{ status: number; body: string }> {
  const { stdout } = await curl(['--ntlm', '-u', credentials, '-w', '\n%{http_code}', url]);
  const lines = stdout.split('\n');
  return { status: Number(lines.pop()), body: lines.join('\n') };
}

/** Logs on with `curl --ntlm` and returns the `Bearer ...` value of the final response's Authorization header. */
export async function curlBearerToken(url: string, credentials: string): Promise<string | undefined> {
  const { stderr } = await curl(['--ntlm', '-u', credentials, '-o', '/dev/null', url]);
  return /< Authorization: (Bearer \S+)/i.exec(stderr)?.[1];
}

/** The status of one plain request carrying `authorization` (e.g. a Bearer token). */
export async function curlStatusWith(url: string, authorization: string): Promise<number> {
  const { stdout } = await curl([
    '-H',
    `Authorization: ${authorization}`,
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    url,
  ]);
  return Number(stdout);
}
