import type { NtlmRequestInfo } from '../types.js';

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
  return rules.allowGroups?.some((allowed) => groups.includes(allowed)) ?? false;
}
