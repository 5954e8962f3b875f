// Bearer tokens (JWT) as a fuzzer that holds the secret makes them: claims and header changed
// and signed again (so they reach the claim checks and the access rules), or the text broken.
import { createHmac } from 'node:crypto';
import { mutateBytes } from './bytes.js';
import type { Random } from './random.js';

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

function odd(random: Random): unknown {
  return random.pick<() => unknown>([
    () => null,
    () => 0,
    () => -1,
    () => 1e308,
    () => Number.MAX_SAFE_INTEGER,
    () => 'x',
    () => '',
    () => '\uD800',
    () => 'a'.repeat(random.range(100, 5000)),
    () => [],
    () => [1, null, {}, 'Engineering'],
    () => ['Engineering'],
    () => [['Engineering']],
    () => ({}),
    () => ({ toLowerCase: 1 }),
    () => true,
    () => Math.floor(Date.now() / 1000) + random.range(-7200, 7200),
    () => JSON.parse(`${'['.repeat(500)}${']'.repeat(500)}`),
  ])();
}

const CLAIMS = [
  'username',
  'domain',
  'groups',
  'displayName',
  'mail',
  'sid',
  'iat',
  'exp',
  'nbf',
  'aud',
  'iss',
  'sub',
  'jti',
];
const HEADER = ['alg', 'kid', 'typ', 'crit', 'jku', 'x5u'];

/** Signs `header.payload` with HS256 and `secret`, whatever the header's `alg` says. */
function sign(header: unknown, payload: unknown, secret: string): string {
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

/** A token from `seed` (a real one the authenticator issued): re-signed with odd claims, or broken. */
export function bearerInput(random: Random, seed: string, secret: string): string {
  const [head = '', body = ''] = seed.split('.');
  const header = JSON.parse(Buffer.from(head, 'base64url').toString()) as Record<string, unknown>;
  const payload = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
  switch (random.int(6)) {
    case 0:
    case 1: {
      const edits = random.range(1, 3);
      for (let e = 0; e < edits; e++) {
        const claim = random.pick(CLAIMS);
        if (random.chance(0.2)) delete payload[claim];
        else payload[claim] = odd(random);
      }
      return sign(header, payload, secret);
    }
    case 2: {
      const field = random.pick(HEADER);
      header[field] = random.chance(0.5)
        ? random.pick(['none', 'HS512', 'RS256', 'ES256', '', 'HS256', 'default'])
        : odd(random);
      return random.chance(0.3)
        ? `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}.`
        : sign(header, payload, secret);
    }
    case 3:
      return mutateBytes(random, Buffer.from(seed, 'latin1'), 3).toString('latin1');
    case 4:
      return random.pick([
        seed.split('.').slice(0, random.int(3)).join('.'),
        `${seed}.${seed}`,
        seed.replaceAll('.', ''),
        `${seed} ${seed}`,
        `${base64url(random.bytes(random.int(60)))}.${base64url(random.bytes(random.int(200)))}.${base64url(random.bytes(32))}`,
        '.'.repeat(random.int(10)),
        `${base64url('{"alg":"none"}')}.${body}.`,
      ]);
    default:
      // Valid JSON that is not an object, or not JSON at all, signed all the same.
      return `${base64url(random.pick(['[]', 'null', '1', '"x"', '{', '{"alg":"HS256"}']))}.${base64url(random.pick(['[]', 'null', '{"exp":"soon"}', '{}', body]))}.${base64url(random.bytes(32))}`;
  }
}
