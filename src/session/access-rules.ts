import type { NtlmRequestInfo } from '../types.js';

const SID = /^s-1-\d+(-\d+)*$/i;

/** Whether an allowGroups entry is a SID (`S-1-5-21-…-1106`) rather than a name. */
export function isSid(entry: string): boolean {
  return SID.test(entry);
}

/**
 * Whether `entry` (lower-cased) names one of the user's groups: a SID against the group SIDs; a
 * name (`engineering`) or `domain\name` against the group names, in any case. The domain of
 * `domain\name` must be the user's own: `groups` are bare names of that domain's directory.
 */
function groupMatches(entry: string, who: NtlmRequestInfo, groups: readonly string[]): boolean {
  if (isSid(entry)) return who.groupSids?.some((sid) => sid.toLowerCase() === entry) ?? false;
  const slash = entry.indexOf('\\');
  if (slash === -1) return groups.includes(entry);
  return entry.slice(0, slash) === who.domain.toLowerCase() && groups.includes(entry.slice(slash + 1));
}

/**
 * Apache's `require user` / `require valid-user` and PyAuthenNTLM2's group rule: with neither list
 * set, every authenticated user is allowed; otherwise a listed user or a member of a listed group.
 * A bare `alice` means alice of a configured domain (`isOwnDomain`), never a trusted domain's
 * alice; `OTHER\alice` names the domain. The lists are lower-cased once at start-up.
 */
export function isAllowed(
  who: NtlmRequestInfo,
  rules: { allowUsers: readonly string[] | undefined; allowGroups: readonly string[] | undefined },
  isOwnDomain: (domain: string) => boolean,
): boolean {
  if (!rules.allowUsers && !rules.allowGroups) return true;
  const user = who.username.toLowerCase();
  const qualified = `${who.domain}\\${who.username}`.toLowerCase();
  const bareMatches = isOwnDomain(who.domain);
  if (rules.allowUsers?.some((allowed) => allowed === qualified || (bareMatches && allowed === user)))
    return true;
  const groups = (who.groups ?? []).map((group) => group.toLowerCase());
  return rules.allowGroups?.some((allowed) => groupMatches(allowed, who, groups)) ?? false;
}
