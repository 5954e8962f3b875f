import { defineConfig } from 'tsup';

export default defineConfig([
  // One library build, two module systems: Express users are split between ESM and CommonJS.
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: { entry: { index: 'src/index.ts' } },
    target: 'node20',
    platform: 'node',
    sourcemap: true,
    clean: true,
    splitting: false,
    // import.meta.url in the CommonJS build too: prom-client is required lazily from our own location.
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
