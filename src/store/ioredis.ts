import { ConfigurationError } from '../errors.js';
import { lazyRequire } from '../lazy-require.js';

// An optional peer: only a RedisStore made from a URL (and the CLI's --redis) needs it installed.
const ioredis = lazyRequire<typeof import('ioredis')>('ioredis');

/** ioredis, or a ConfigurationError that says to install it. */
export function loadIoredis(): typeof import('ioredis') {
  try {
    return ioredis();
  } catch (error) {
    throw new ConfigurationError(
      'a redis URL needs ioredis installed beside ntlm-sso (npm install ioredis)',
      {
        cause: error,
        code: 'ERR_NTLM_CONFIG_MISSING',
        option: 'RedisStore.redis',
      },
    );
  }
}
