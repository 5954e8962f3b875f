import { isNtlmError } from '../errors.js';
import {
  authenticateMachine,
  type Endpoint,
  type MachineAccount,
  MachineAccountRefusedError,
  MachineStatus,
  openSealedConnection,
  resolvePort,
} from '../netlogon/secure-channel.js';
import { type CheckResult, describeError, fail, formatMs, neverAnswered, pass } from './check.js';

const CHECK = 'secure channel';

/**
 * Why the channel did not open, told apart by fix: a wrong machine password, a missing computer
 * account, another refusal of the account, a DC that never answered, or one that answered with
 * a fault.
 */
function secureChannelFailure(
  error: unknown,
  endpoint: Endpoint,
  port: number,
  machine: MachineAccount,
): CheckResult {
  const account = `${machine.computerName}$`;
  const status = error instanceof MachineAccountRefusedError ? error.status : undefined;
  if (status === MachineStatus.WRONG_PASSWORD) {
    return fail(
      CHECK,
      `the DC refused the machine password of ${account} of ${machine.domain}: the account exists (${describeError(error)})`,
      `set the account’s password and --machine-password-file (or NTLM_SSO_MACHINE_PASSWORD) to the same value ` +
        `(Set-ADAccountPassword -Identity '${account}' -Reset, or samba-tool user setpassword '${account}')`,
    );
  }
  if (status === MachineStatus.NO_ACCOUNT) {
    return fail(
      CHECK,
      `the DC has no computer account ${account} in ${machine.domain} (${describeError(error)})`,
      `check --machine-account, or create it (New-ADComputer -Name ${machine.computerName}, or samba-tool computer create ${machine.computerName}) and set its password`,
    );
  }
  if (isNtlmError(error) && error.code === 'ERR_NTLM_DC_MACHINE_ACCOUNT_REFUSED') {
    return fail(
      CHECK,
      `the DC refused computer account ${account} of ${machine.domain} (${error.message})`,
      `check the machine password (--machine-password-file) and that ${account} exists; ` +
        `reset both together (Set-ADAccountPassword, or samba-tool user setpassword '${account}')`,
    );
  }
  // A TCP failure (refused, silent, cut): the connection, not the DC's verdict.
  if (neverAnswered(error) || (error as Error | undefined)?.name === 'TransportError') {
    return fail(
      CHECK,
      `netlogon on ${endpoint.host}:${port} did not complete: ${describeError(error)}`,
      `check that TCP ${port} is open from this host and that the DC's Netlogon service runs`,
    );
  }
  if (/bind refused|not accepted/.test(describeError(error))) {
    return fail(
      CHECK,
      `${endpoint.host}:${port} answered, but does not serve netlogon there: ${describeError(error)}`,
      'give netlogon’s own port as HOST:PORT, or leave the port out so that the endpoint mapper says it',
    );
  }
  return fail(
    CHECK,
    `netlogon on ${endpoint.host}:${port} answered, but refused the AES sealed secure channel: ${describeError(error)}`,
    'the DC must allow AES secure channels sealed with schannel (Samba 4.17 and Windows do by default; check `server schannel` and `reject md5 clients`)',
  );
}

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
        neverAnswered(error)
          ? fail(
              'endpoint mapper',
              `${endpoint.host}:135 did not say where netlogon listens: ${describeError(error)}`,
              'open TCP 135 and the DC’s dynamic RPC ports (49152-65535) from this host, or give netlogon’s port as HOST:PORT',
            )
          : fail(
              'endpoint mapper',
              `${endpoint.host}:135 answered, but not with netlogon’s port: ${describeError(error)}`,
              'is this a domain controller running Netlogon (Samba: `server services` with rpc or netlogon)? or give netlogon’s port as HOST:PORT',
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
    results.push(secureChannelFailure(error, endpoint, port, machine));
  }
  return results;
}
