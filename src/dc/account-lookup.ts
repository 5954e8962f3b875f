import type { Filter } from 'ldapts';
import { type LdapResult, Scope, type SearchEntry } from './ldap-messages.js';
import { ldapts } from './ldapts.js';
import { sidToBuffer, sidToString } from './sid.js';

/** Anything that can run an LDAP search: the relay connection, or the service account's pool. */
export interface DirectorySearch {
  search(request: { base: string; scope: number; filter: Filter; attributes: readonly string[] }): Promise<{
    result: LdapResult;
    entries: SearchEntry[];
  }>;
}

export interface AccountEntry {
  readonly dn: string;
  readonly username: string;
  readonly sid: string;
  readonly displayName: string | undefined;
  readonly mail: string | undefined;
  readonly userPrincipalName: string | undefined;
  readonly disabled: boolean;
  /** tokenGroups of the account: every group SID, nested ones included. */
  readonly groupSids: string[];
}

/**
 * The directory answered, but not as an AD directory should (a failed search, an entry without
 * its SID). The layer above turns it into a 503 of the directory it asked (the DC or the lookup).
 */
export class DirectoryError extends Error {
  override name = 'DirectoryError';
}

/** `(objectClass=*)`, made once, when the first search needs it. */
let any: Filter | undefined;
const ANY = (): Filter => {
  any ??= ldapts().FilterParser.parseString('(objectClass=*)');
  return any;
};
const ACCOUNT_ATTRIBUTES = [
  'sAMAccountName',
  'displayName',
  'mail',
  'userPrincipalName',
  'objectSid',
  'userAccountControl',
] as const;
const ACCOUNTDISABLE = 0x2;

const text = (entry: SearchEntry, name: string) =>
  entry.attributes.get(name.toLowerCase())?.[0]?.toString('utf8');

async function searchOk(
  directory: DirectorySearch,
  request: Parameters<DirectorySearch['search']>[0],
): Promise<SearchEntry[]> {
  const { result, entries } = await directory.search(request);
  if (result.resultCode !== 0) {
    throw new DirectoryError(
      `search of "${request.base}" failed: ${result.resultCode} ${result.diagnosticMessage}`,
    );
  }
  return entries;
}

/**
 * Asks the DC who this connection is bound as: the rootDSE's tokenGroups lists the logon's SIDs,
 * the account's own SID first (works on AD and on Samba, where the WhoAmI extended operation
 * is missing). Also returns the default naming context for the searches that follow.
 */
export async function whoIsBound(
  directory: DirectorySearch,
): Promise<{ sids: string[]; namingContext: string }> {
  const { root, namingContext } = await readRootDse(directory, ['tokenGroups']);
  return { sids: (root.attributes.get('tokengroups') ?? []).map(sidToString), namingContext };
}

/** The domain's root DN, from the rootDSE. */
export async function readNamingContext(directory: DirectorySearch): Promise<string> {
  return (await readRootDse(directory, [])).namingContext;
}

/** A base search of the rootDSE for `attributes` and defaultNamingContext, which every caller needs. */
async function readRootDse(
  directory: DirectorySearch,
  attributes: readonly string[],
): Promise<{ root: SearchEntry; namingContext: string }> {
  const [root] = await searchOk(directory, {
    base: '',
    scope: Scope.base,
    filter: ANY(),
    attributes: [...attributes, 'defaultNamingContext'],
  });
  const namingContext = root ? text(root, 'defaultNamingContext') : undefined;
  if (!root || !namingContext) throw new DirectoryError('the rootDSE has no defaultNamingContext');
  return { root, namingContext };
}

function toAccount(entry: SearchEntry): AccountEntry {
  const username = text(entry, 'sAMAccountName');
  const sid = entry.attributes.get('objectsid')?.[0];
  if (!username || !sid) throw new DirectoryError(`${entry.dn} has no sAMAccountName or objectSid`);
  return {
    dn: entry.dn,
    username,
    sid: sidToString(sid),
    displayName: text(entry, 'displayName'),
    mail: text(entry, 'mail'),
    userPrincipalName: text(entry, 'userPrincipalName'),
    disabled: (Number(text(entry, 'userAccountControl') ?? 0) & ACCOUNTDISABLE) !== 0,
    groupSids: (entry.attributes.get('tokengroups') ?? []).map(sidToString),
  };
}

/** Reads an account by SID through AD's `<SID=...>` DN form. */
export async function readAccountBySid(directory: DirectorySearch, sid: string): Promise<AccountEntry> {
  const [entry] = await searchOk(directory, {
    base: `<SID=${sid}>`,
    scope: Scope.base,
    filter: ANY(),
    attributes: ACCOUNT_ATTRIBUTES,
  });
  if (!entry) throw new DirectoryError(`no account has SID ${sid}`);
  return toAccount(entry);
}

/**
 * Finds an account by the name a client typed (sAMAccountName or userPrincipalName), with its
 * tokenGroups (a base search of the entry: the attribute is constructed). Used only when the
 * relay connection cannot be asked (the client negotiated signing).
 */
export async function readAccountByName(
  directory: DirectorySearch,
  name: string,
  namingContext: string,
): Promise<AccountEntry | undefined> {
  const { EqualityFilter, OrFilter } = ldapts();
  const filter = new OrFilter({
    filters: [
      new EqualityFilter({ attribute: 'sAMAccountName', value: name }),
      new EqualityFilter({ attribute: 'userPrincipalName', value: name }),
    ],
  });
  const found = await searchOk(directory, {
    base: namingContext,
    scope: Scope.subtree,
    filter,
    attributes: ['objectSid'],
  });
  if (found.length !== 1) return undefined;
  const [entry] = await searchOk(directory, {
    base: found[0]!.dn,
    scope: Scope.base,
    filter: ANY(),
    attributes: [...ACCOUNT_ATTRIBUTES, 'tokenGroups'],
  });
  return entry ? toAccount(entry) : undefined;
}

/** sAMAccountName by SID for the objects among `sids`, in one search. SIDs with no object are left out. */
export async function namesBySid(
  directory: DirectorySearch,
  sids: readonly string[],
  namingContext: string,
): Promise<Map<string, string>> {
  if (sids.length === 0) return new Map();
  const { EqualityFilter, OrFilter } = ldapts();
  const filter = new OrFilter({
    filters: sids.map((sid) => new EqualityFilter({ attribute: 'objectSid', value: sidToBuffer(sid) })),
  });
  const entries = await searchOk(directory, {
    base: namingContext,
    scope: Scope.subtree,
    filter,
    attributes: ['sAMAccountName', 'objectSid'],
  });
  const names = new Map<string, string>();
  for (const entry of entries) {
    const sid = entry.attributes.get('objectsid')?.[0];
    const name = text(entry, 'sAMAccountName');
    if (sid && name) names.set(sidToString(sid), name);
  }
  return names;
}

/** Names (sAMAccountName) of the groups among `sids`, in their order, in one search. SIDs with no object are skipped. */
export async function groupNames(
  directory: DirectorySearch,
  sids: readonly string[],
  namingContext: string,
): Promise<string[]> {
  const bySid = await namesBySid(directory, sids, namingContext);
  return sids.map((sid) => bySid.get(sid)).filter((name): name is string => name !== undefined);
}
