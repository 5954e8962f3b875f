import type { SidName, SidNameSource } from '../dc/sid-name-resolver.js';
import { ServiceUnavailableError } from '../errors.js';
import { isMapped, type LookupSidsAnswer, LookupStatus } from './lookup-sids3.js';
import type { LsaChannel } from './lsa-channel.js';

/**
 * Identifier authority 18 (S-1-18-1 "authentication authority asserted identity", S-1-18-2
 * "service asserted identity"): Samba 4.17 fails the whole LsarLookupSids3 with
 * STATUS_INVALID_SID for one of them, and its KDC puts S-1-18-1 in every PAC. Never asked: they
 * stay SIDs.
 */
const NOT_ASKED = /^S-1-18-/i;

/** One call; when the DC refuses the batch as INVALID_SID, each SID alone, so one cannot hide the rest. */
async function lookup(channel: LsaChannel, sids: readonly string[]): Promise<Map<string, SidName>> {
  const names = new Map<string, SidName>();
  const read = (answer: LookupSidsAnswer, asked: readonly string[]) =>
    answer.names.forEach((name, i) => {
      if (isMapped(name)) names.set(asked[i]!, { name: name.name, domain: name.domain });
    });
  const answer = await channel.lookupSids(sids);
  if (answer.status !== LookupStatus.INVALID_SID) read(answer, sids);
  else if (sids.length > 1) {
    for (const sid of sids) read(await channel.lookupSids([sid]), [sid]);
  }
  return names;
}

/**
 * SID names from the DCs' LSA (LsarLookupSids3 over each DC's LSA channel), the DCs asked in
 * the order `channels` gives now (the Netlogon verifier's: the DC that answered the last logon
 * first) until one answers; a DC whose LSA failed within `downtimeMs` is asked last. Unknown
 * SIDs (Use Unknown: the RID in hex, or the SID string) are left out, so they stay SIDs.
 */
export function lsaSidNames(channels: () => readonly LsaChannel[], downtimeMs = 30_000): SidNameSource {
  const failedAt = new WeakMap<LsaChannel, number>();
  const recentlyFailed = (channel: LsaChannel) =>
    (failedAt.get(channel) ?? -Infinity) > Date.now() - downtimeMs;
  return async (sids) => {
    const asked = sids.filter((sid) => !NOT_ASKED.test(sid));
    if (asked.length === 0) return new Map();
    const ordered = [...channels()];
    ordered.sort((a, b) => Number(recentlyFailed(a)) - Number(recentlyFailed(b)));
    let last: unknown = 'no domain controller configured';
    for (const channel of ordered) {
      try {
        const names = await lookup(channel, asked);
        failedAt.delete(channel);
        return names;
      } catch (error) {
        failedAt.set(channel, Date.now());
        last = error;
      }
    }
    if (last instanceof ServiceUnavailableError) throw last;
    throw new ServiceUnavailableError('ERR_NTLM_DC_UNAVAILABLE', `LSA: ${String(last)}`, { cause: last });
  };
}
