import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

/**
 * A dependency loaded the first time it is used, not when ntlm-sso is: an app that never makes a
 * RedisStore, a gateway or a DC verifier does not pay for ioredis, http-proxy-3 or ldapts
 * (together ~27 MB of RSS and ~0.1 s of start-up). Types still come from a plain `import type`.
 */
export function lazyRequire<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => {
    loaded ??= load(id) as T;
    return loaded;
  };
}
