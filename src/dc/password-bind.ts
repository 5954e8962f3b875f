import type tls from 'node:tls';
import type { Client } from 'ldapts';
import { ServiceUnavailableError } from '../errors.js';
import type { DirectorySearch } from './account-lookup.js';
import { searchWithClient } from './client-search.js';
import { bindFailure } from './dc-errors.js';
import { ldapts } from './ldapts.js';

export interface PasswordBindOptions {
  /** The domain's DCs, in order (ldaps://, or ldap:// upgraded with StartTLS). */
  readonly urls: readonly string[];
  readonly tls: tls.ConnectionOptions | undefined;
  readonly connectTimeoutMs: number;
  readonly operationTimeoutMs: number;
}

/**
 * A simple bind as the user with the password (Basic through the LDAP relay), always under TLS:
 * an ldaps:// DC directly, an ldap:// one after StartTLS (RFC 4513 3: the password is never sent
 * in the clear, and a DC that requires signing takes a simple bind over TLS). The DC's answer is
 * the verdict; the bound connection then says who it is bound as (`use`), as for relayed NTLM.
 * A DC that cannot be reached is skipped for the next; a refusal from one that answered is final.
 */
export async function withPasswordBind<T>(
  options: PasswordBindOptions,
  bindName: string,
  password: string,
  use: (directory: DirectorySearch) => Promise<T>,
): Promise<T> {
  const failures: string[] = [];
  for (const url of options.urls) {
    const secure = url.toLowerCase().startsWith('ldaps:');
    const client = new (ldapts().Client)({
      url,
      connectTimeout: options.connectTimeoutMs,
      timeout: options.operationTimeoutMs,
      tlsOptions: secure ? options.tls : undefined,
      strictDN: false,
    });
    try {
      try {
        if (!secure) await client.startTLS({ ...options.tls });
      } catch (error) {
        failures.push(`${url}: ${(error as Error).message}`);
        continue;
      }
      try {
        await client.bind(bindName, password);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (typeof code !== 'number') {
          failures.push(`${url}: ${(error as Error).message}`);
          continue;
        }
        throw bindFailure(
          { resultCode: code, diagnosticMessage: (error as Error).message, matchedDN: '' },
          url,
          bindName,
        );
      }
      return await use(boundSearch(client));
    } finally {
      await client.unbind().catch(() => {});
    }
  }
  throw new ServiceUnavailableError(
    'ERR_NTLM_DC_UNAVAILABLE',
    `no domain controller took a simple bind over TLS: ${failures.join('; ')}`,
    { retryAfterSeconds: 1 },
  );
}

/** The bound ldapts client as a DirectorySearch, for the identity lookups of dc/identity.ts. */
function boundSearch(client: Client): DirectorySearch {
  return { search: (request) => searchWithClient(client, request) };
}
