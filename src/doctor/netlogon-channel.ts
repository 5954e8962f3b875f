import { isNtlmError } from '../errors.js';
import {
  authenticateMachine,
  type Endpoint,
  type MachineAccount,
  openSealedConnection,
  resolvePort,
} from '../netlogon/secure-channel.js';
import { type CheckResult, describeError, fail, formatMs, pass } from './check.js';

/**
 * The Netlogon path of one DC, as netlogon() opens it: the endpoint mapper (unless a port is
 * configured), then NetrServerReqChallenge + NetrServerAuthenticate3 as the machine account and a
 * sealed schannel bind (MS-NRPC 3.1.4.1). A refused computer account and an unreachable DC are
 * told apart: they have different fixes.
 */
export async function checkNetlogon(endpoint: Endpoint, machine: MachineAccount): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  let port = endpoint.port;
  if (port === undefined) {
    const started = performance.now();
    try {
      port = await resolvePort(endpoint);
      results.push(
        pass(
          'endpoint mapper',
          `netlogon listens on TCP ${port} (answered in ${formatMs(performance.now() - started)})`,
        ),
      );
    } catch (error) {
      results.push(
        fail(
          'endpoint mapper',
          `${endpoint.host}:135 did not say where netlogon listens: ${describeError(error)}`,
          'open TCP 135 and the DC’s dynamic RPC ports (49152-65535) from this host, or give netlogon’s port as HOST:PORT',
        ),
      );
      return results;
    }
  }
  const account = `${machine.computerName}$`;
  const started = performance.now();
  try {
    const { sessionKey } = await authenticateMachine(endpoint, port, machine);
    const connection = await openSealedConnection(endpoint, port, machine, sessionKey);
    connection.close();
    results.push(
      pass(
        'secure channel',
        `opened as ${account} in ${formatMs(performance.now() - started)} (AES, sealed) on TCP ${port}`,
      ),
    );
  } catch (error) {
    if (isNtlmError(error) && error.code === 'ERR_NTLM_DC_MACHINE_ACCOUNT_REFUSED') {
      results.push(
        fail(
          'secure channel',
          `the DC refused computer account ${account} of ${machine.domain} (${error.message})`,
          `check the machine password (--machine-password-file) and that ${account} exists; ` +
            `reset both together (Set-ADAccountPassword, or samba-tool user setpassword '${account}')`,
        ),
      );
    } else {
      results.push(
        fail(
          'secure channel',
          `netlogon on ${endpoint.host}:${port} did not complete: ${describeError(error)}`,
          `check that TCP ${port} is open from this host and that the DC's Netlogon service runs`,
        ),
      );
    }
  }
  return results;
}
