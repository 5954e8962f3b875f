// A TypeScript user of the installed package, as strict as tsc allows by default and then some:
// `strict`, `skipLibCheck: false` (tsc's default: our .d.ts files and everything they import are
// checked too) and `types: ["node"]`. It imports what the README shows, from the root and both
// adapter subpaths.

export const CONSUMER = `import { type JsonWebKeySet, localDirectory, ntlm, type NtlmRequestInfo, RedisStore } from 'ntlm-sso';
import { ntlmPlugin } from 'ntlm-sso/fastify';
import { ntlm as koaNtlm } from 'ntlm-sso/koa';

const verifier = localDirectory({ domain: 'EXAMPLE', users: [{ username: 'alice', password: 'pw' }] });
const auth = ntlm({ verifier, bearer: { secret: 'x'.repeat(32), jwksPath: '/.well-known/jwks.json' } });
const keys: JsonWebKeySet = auth.jwks();
const identity = (info: NtlmRequestInfo | undefined): string => info?.remoteUser ?? 'nobody';
export const used = [auth, keys, identity, ntlmPlugin, koaNtlm({ verifier }), RedisStore];
`;

export interface ConsumerSetup {
  readonly name: string;
  readonly tsconfig: object;
  /** TypeScript 7 dropped node10 resolution (moduleResolution "node10"): 5.9 only. */
  readonly typescript7: boolean;
}

const STRICT = { strict: true, skipLibCheck: false, types: ['node'], noEmit: true, target: 'es2022' };

export const consumerSetups: readonly ConsumerSetup[] = [
  {
    name: 'node16-esm',
    tsconfig: {
      compilerOptions: { ...STRICT, module: 'node16', moduleResolution: 'node16' },
      files: ['consumer.mts'],
    },
    typescript7: true,
  },
  {
    name: 'node16-cjs',
    tsconfig: {
      compilerOptions: { ...STRICT, module: 'node16', moduleResolution: 'node16' },
      files: ['consumer.cts'],
    },
    typescript7: true,
  },
  {
    name: 'bundler',
    tsconfig: {
      compilerOptions: { ...STRICT, module: 'esnext', moduleResolution: 'bundler' },
      files: ['consumer.ts'],
    },
    typescript7: true,
  },
  {
    // Older setups: the subpaths are found through typesVersions. esModuleInterop, as tsc --init
    // sets it: fastify's own types (pino's) need it under node10.
    name: 'node10',
    tsconfig: {
      compilerOptions: { ...STRICT, module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true },
      files: ['consumer.ts'],
    },
    typescript7: false,
  },
];
