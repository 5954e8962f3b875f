import net from 'node:net';
import { type CheckResult, describeError, fail, formatMs, pass } from './check.js';

const CHECK = 'TCP connect';

/** Why a connect failed, and what an administrator does about each cause. */
function connectFailure(host: string, port: number, error: NodeJS.ErrnoException): CheckResult {
  switch (error.code) {
    case 'ECONNREFUSED':
      return fail(
        CHECK,
        `${host} refused port ${port}`,
        `is the DC running, and is ${port} its port? (a stopped service or a wrong URL)`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return fail(CHECK, `${host} does not resolve (${error.code})`, 'check the name and this host’s DNS');
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return fail(CHECK, `no route to ${host} (${error.code})`, 'check the address and the network path');
    default:
      return fail(CHECK, describeError(error), `check that ${host}:${port} is reachable from this host`);
  }
}

/** Opens and closes one TCP connection, within `timeoutMs`. */
export function checkTcpConnect(host: string, port: number, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(
        fail(
          CHECK,
          `no answer from ${host}:${port} within ${formatMs(timeoutMs)}`,
          'a firewall drops the packets or the host is down; open the port from this host to the DC',
        ),
      );
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(pass(CHECK, `${host}:${port} answered in ${formatMs(performance.now() - started)}`));
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(connectFailure(host, port, error));
    });
  });
}
