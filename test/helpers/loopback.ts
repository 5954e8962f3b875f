// Addresses of our own on the loopback interface, for clients that must come from several
// addresses of one IPv6 /64. Only inside test/run.sh's network namespace: there we are root
// and the interface is ours alone.
import { execFileSync } from 'node:child_process';

/** Whether the tests run in a network namespace of their own (test/run.sh). */
export const inTestNamespace = process.env.NTLM_SSO_TEST_NETNS === '1';

/** Adds each IPv6 address to `lo` (as part of its /64); an address already there is fine. */
export function addLoopbackAddresses(addresses: readonly string[]): void {
  if (!inTestNamespace) throw new Error('addLoopbackAddresses: only inside test/run.sh');
  for (const address of addresses) {
    try {
      // nodad: usable at once, without duplicate address detection's wait.
      execFileSync('ip', ['-6', 'addr', 'add', `${address}/64`, 'dev', 'lo', 'nodad'], { stdio: 'pipe' });
    } catch (error) {
      if (!/File exists/.test(String((error as { stderr?: Buffer }).stderr))) throw error;
    }
  }
}
