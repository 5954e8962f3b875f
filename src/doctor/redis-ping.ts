import { loadIoredis } from '../store/ioredis.js';
import { type CheckResult, describeError, fail, formatMs, pass } from './check.js';

const CHECK = 'PING';

/**
 * One PING to the Redis that shares revoked tokens and the directory cache, within
 * `timeoutMs`: no retries and no offline queue, so a Redis that is down fails at once.
 */
export async function checkRedis(url: string, timeoutMs: number): Promise<CheckResult> {
  let Redis: typeof import('ioredis').Redis;
  try {
    ({ Redis } = loadIoredis());
  } catch (error) {
    return fail(CHECK, (error as Error).message, 'npm install ioredis, where ntlm-sso is installed');
  }
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // ioredis rejects with a generic "Connection is closed."; the event carries the cause.
  let cause: unknown;
  client.on('error', (error) => {
    cause ??= error;
  });
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${formatMs(timeoutMs)}`)), timeoutMs);
  });
  try {
    const reply = await Promise.race([client.connect().then(() => client.ping()), deadline]);
    return pass(CHECK, `${reply} in ${formatMs(performance.now() - started)}`);
  } catch (error) {
    // An error reply (NOAUTH, WRONGPASS...) is an answer: say so, never "did not answer".
    if ((error as Error).name === 'ReplyError')
      return fail(
        CHECK,
        `Redis answered with an error: ${describeError(error)}`,
        'check the password and database in --redis (redis://:password@host:port/db) and the Redis ACL',
      );
    return fail(
      CHECK,
      `Redis did not answer: ${describeError(cause ?? error)}`,
      'start Redis or fix --redis (redis://[:password@]host:port/db); until then Bearer requests get 503',
    );
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}
