import { defineConfig } from 'tsup';

const LIBRARY = { index: 'src/index.ts', fastify: 'src/fastify/index.ts', koa: 'src/koa/index.ts' };

export default defineConfig([
  // One library build, two module systems: Express users are split between ESM and CommonJS.
  // The framework adapters are entries of the same build, split so that the code they share
  // with `ntlm-sso` is one chunk: a verifier from 'ntlm-sso' throws the same error classes the
  // adapter's authenticator checks with instanceof. fastify and koa stay external (peers).
  {
    entry: LIBRARY,
    format: ['esm', 'cjs'],
    dts: { entry: LIBRARY },
    target: 'node20',
    platform: 'node',
    sourcemap: true,
    clean: true,
    splitting: true,
    // import.meta.url in the CommonJS build too: lazy-require.ts and the metrics load optional
    // dependencies (ioredis, ldapts, http-proxy-3, prom-client) from our own location.
    shims: true,
  },
  // The `ntlm-sso` command (bin), ESM only.
  {
    entry: { cli: 'src/cli.ts' },
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    sourcemap: true,
    clean: false,
    splitting: false,
  },
]);
