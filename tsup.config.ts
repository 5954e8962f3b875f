import { defineConfig } from 'tsup';

const LIBRARY = { index: 'src/index.ts', fastify: 'src/fastify/index.ts', koa: 'src/koa/index.ts' };

// No sourcemaps: they were 2.1 MB of a 3.4 MB package, and the output is readable as it is (not
// minified, one module per section, names kept).
const COMMON = { target: 'node20', platform: 'node', sourcemap: false, splitting: true } as const;

export default defineConfig([
  // ESM: the library entries and the `ntlm-sso` command (bin) in one build. The framework
  // adapters are entries of the same build, split so that the code they share with `ntlm-sso` is
  // one chunk: a verifier from 'ntlm-sso' throws the same error classes the adapter's
  // authenticator checks with instanceof. The CLI is an entry too, so it imports those chunks
  // instead of carrying a copy of the library. fastify and koa stay external (peers).
  {
    ...COMMON,
    entry: { ...LIBRARY, cli: 'src/cli/main.ts' },
    format: ['esm'],
    dts: { entry: LIBRARY },
    clean: true,
  },
  // CommonJS, the library only: Express users are split between ESM and CommonJS. Its
  // declarations (*.d.cts) are copies of the ESM ones (scripts/declarations.mjs).
  {
    ...COMMON,
    entry: LIBRARY,
    format: ['cjs'],
    clean: false,
    // import.meta.url in the CommonJS build too: lazy-require.ts and the metrics load optional
    // dependencies (ioredis, ldapts, http-proxy-3, prom-client) from our own location.
    shims: true,
  },
]);
