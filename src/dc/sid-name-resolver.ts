import type { NtlmIdentity } from '../types.js';
import type { DirectoryCache } from './directory-cache.js';

/** A SID's account name as the DC gives it: `Engineering` in `EXAMPLE`. */
export interface SidName {
  readonly name: string;
  /** NetBIOS domain (`EXAMPLE`, `BUILTIN`, `NT AUTHORITY`); '' for `Everyone` and the like. */
  readonly domain: string;
}

/**
 * Asks the directory for the names of `sids` (LSA over the machine account's secure channel, or
 * the lookup account's LDAP). A SID the directory does not know is left out of the answer.
 */
export type SidNameSource = (sids: readonly string[]) => Promise<ReadonlyMap<string, SidName>>;

const cacheKey = (sid: string) => `sid-name:${sid}`;

/**
 * SIDs to names, one cache entry per SID in the directory cache (the Store: a RedisStore shares
 * it across instances; entries expire with its ttlSeconds). Only names are cached: which SIDs a
 * user has comes fresh from each logon, so a change of membership is seen at once; a renamed
 * group within ttlSeconds. SIDs the directory does not know are not cached (a group created a
 * moment ago is named at the next logon).
 */
export class SidNameResolver {
  constructor(
    private readonly source: SidNameSource,
    private readonly cache: DirectoryCache | undefined,
  ) {}

  async names(sids: readonly string[]): Promise<Map<string, SidName>> {
    const unique = [...new Set(sids)];
    const known = new Map<string, SidName>();
    const cached = this.cache
      ? await Promise.all(unique.map((sid) => this.cache!.peek<SidName>(cacheKey(sid))))
      : [];
    const missing: string[] = [];
    unique.forEach((sid, i) => {
      const hit = cached[i];
      if (hit && typeof hit.name === 'string' && typeof hit.domain === 'string') known.set(sid, hit);
      else missing.push(sid);
    });
    if (missing.length === 0) return known;
    const fresh = await this.source(missing);
    for (const [sid, name] of fresh) known.set(sid, name);
    if (this.cache) await Promise.all([...fresh].map(([sid, name]) => this.cache!.keep(cacheKey(sid), name)));
    return known;
  }

  /**
   * `identity` with `groups` named from its group SIDs, bare names as the relay gives them
   * (`Engineering`); a SID the directory does not know stays a SID. The user's own SID is asked
   * in the same call, so that a caller can check it names this user.
   */
  async nameGroups<T extends NtlmIdentity>(identity: T): Promise<T> {
    const groupSids = identity.groupSids ?? [];
    const asked = identity.sid ? [identity.sid, ...groupSids] : groupSids;
    if (asked.length === 0) return { ...identity, groups: [] };
    const names = await this.names(asked);
    const groups = groupSids.map((sid) => names.get(sid)?.name ?? sid);
    return { ...identity, groups };
  }
}
