import { ServiceUnavailableError } from '../errors.js';
import { isMapped } from './lookup-sids3.js';
import type { LsaChannel } from './lsa-channel.js';
import type { SidName, SidNameSource } from './sid-name-resolver.js';

/**
 * SID names from the DCs' LSA (LsarLookupSids3 over each DC's LSA channel), the DCs asked in
 * order until one answers. Unknown SIDs (Use Unknown: the RID in hex, or the SID string) are
 * left out, so they stay SIDs.
 */
export function lsaSidNames(channels: readonly LsaChannel[]): SidNameSource {
  return async (sids) => {
    let last: unknown;
    for (const channel of channels) {
      try {
        const answer = await channel.lookupSids(sids);
        const names = new Map<string, SidName>();
        answer.names.forEach((name, i) => {
          if (isMapped(name)) names.set(sids[i]!, { name: name.name, domain: name.domain });
        });
        return names;
      } catch (error) {
        last = error;
      }
    }
    if (last instanceof ServiceUnavailableError) throw last;
    throw new ServiceUnavailableError('ERR_NTLM_DC_UNAVAILABLE', `LSA: ${String(last)}`, { cause: last });
  };
}
