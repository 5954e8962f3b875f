/**
 * One NetrServerAuthenticate3 at a time per DC and ComputerName, each with the binds that use
 * its key. Why (measured on Samba 4.17, ../shared/hardened-domain "SID → name"): a second
 * Authenticate3 for the same account and ComputerName replaces the session key the DC keeps.
 * Connections already bound keep working under the old key, but a connection bound with the old
 * key *after* it gets DCERPC fault 0x721 on its first call. So whoever authenticates must bind
 * every connection it wants before anyone else authenticates under the same name.
 *
 * A process-wide lock keyed by `host|COMPUTERNAME`, so that the Netlogon channels and the LSA
 * channel (two modules) take the same one without knowing of each other. Other processes using
 * the same machine account are not covered: give each its own machine account.
 */
const tails = new Map<string, Promise<unknown>>();
/** The session key of the latest Authenticate3 made here under each `host|COMPUTERNAME`. */
const latestKeys = new Map<string, Buffer>();

export function machineLockKey(host: string, computerName: string): string {
  return `${host.toLowerCase()}|${computerName.toUpperCase()}`;
}

/** Runs `work` (Authenticate3, then the binds under its key) after every earlier holder of `key`. */
export function withMachineLock<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  const run = previous.then(work, work);
  const tail = run.catch(() => {});
  tails.set(key, tail);
  void tail.then(() => {
    if (tails.get(key) === tail) tails.delete(key);
  });
  return run;
}

/**
 * Records the key an Authenticate3 just agreed (call it inside `withMachineLock`): the DC now
 * keeps that one for the computer name. Samba 4.17 decrypts an interactive logon's password OWF
 * (NetrLogonSamLogonEx, schannel_get_creds_state) with the key it keeps for the computer name,
 * not with the key the connection was bound under: measured here, an OWF encrypted under an older
 * channel's key after the LSA channel authenticated came back 0xC000006A (wrong password).
 */
export function recordMachineKey(key: string, sessionKey: Buffer): void {
  latestKeys.set(key, sessionKey);
}

/**
 * Runs `work` with the key the DC keeps now, while no Authenticate3 of this process can replace
 * it (the same lock as the set-ups): for interactive logons, whose OWF must be encrypted under it.
 */
export function withLatestMachineKey<T>(
  key: string,
  work: (sessionKey: Buffer | undefined) => Promise<T>,
): Promise<T> {
  return withMachineLock(key, () => work(latestKeys.get(key)));
}
