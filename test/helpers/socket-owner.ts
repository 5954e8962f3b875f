// Which process holds the server side of a TCP connection on 127.0.0.1, through `ss -p`
// (iproute2): how the tests see which gateway worker a connection went to, with nothing in the
// gateway itself that reveals a pid.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** The pid holding the server end of the connection from local port `clientPort` to `serverPort`. */
export async function serverSocketOwner(serverPort: number, clientPort: number): Promise<number | undefined> {
  const { stdout } = await promisify(execFile)('ss', [
    '-tnpH',
    'state',
    'established',
    `( sport = :${serverPort} and dport = :${clientPort} )`,
  ]);
  const pids = [...stdout.matchAll(/pid=(\d+)/g)].map((match) => Number(match[1]));
  return pids[0];
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
