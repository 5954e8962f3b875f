import type { Client } from 'ldapts';
import type { DirectorySearch } from './account-lookup.js';
import type { SearchEntry } from './ldap-messages.js';

/** Attributes read as bytes, not text: SIDs. */
const BINARY_ATTRIBUTES = ['objectSid', 'tokenGroups'];

/**
 * A search on an ldapts Client (the lookup account's, or Basic's own bound connection), in the
 * shape dc/identity.ts reads: attribute names lower-cased, every value bytes.
 */
export async function searchWithClient(
  client: Client,
  request: Parameters<DirectorySearch['search']>[0],
): ReturnType<DirectorySearch['search']> {
  const { searchEntries } = await client.search(request.base, {
    scope: request.scope === 0 ? 'base' : 'sub',
    filter: request.filter,
    attributes: [...request.attributes],
    explicitBufferAttributes: BINARY_ATTRIBUTES,
  });
  const entries: SearchEntry[] = searchEntries.map((entry) => {
    const attributes = new Map<string, Buffer[]>();
    for (const [name, value] of Object.entries(entry)) {
      if (name === 'dn') continue;
      const values = Array.isArray(value) ? value : [value];
      attributes.set(
        name.toLowerCase(),
        values.map((v) => (Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8'))),
      );
    }
    return { dn: entry.dn, attributes };
  });
  return { result: { resultCode: 0, matchedDN: '', diagnosticMessage: '' }, entries };
}
