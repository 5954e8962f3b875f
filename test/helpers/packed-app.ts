// The package as a new user gets it: `npm pack` of this repository (dist/ as `npm run build` left
// it), installed with `npm ci --omit=dev` into an empty app. The tests run without a network (in
// their own namespace), so the registry packages come from our own node_modules, packed, at the
// versions of our package-lock: the tree npm builds is the one a registry install of the same
// versions gives.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface LockEntry {
  readonly dev?: boolean;
  readonly devOptional?: boolean;
  readonly resolved?: string;
  readonly integrity?: string;
  readonly [field: string]: unknown;
}

export interface PackedApp {
  /** The scratch app, with node_modules/ntlm-sso installed from the tarball. */
  readonly dir: string;
  /** `npm pack`'s tarball and its size in bytes. */
  readonly tarball: string;
  readonly packedBytes: number;
  /** The files in the tarball (package/... paths). */
  readonly files: readonly string[];
}

async function npm(args: string[], cwd: string): Promise<string> {
  const { stdout } = await run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** Packs the repository (without rebuilding: scripts off) and installs it into a new app. */
export async function packAndInstall(): Promise<PackedApp> {
  if (!existsSync(join(ROOT, 'dist/index.js'))) throw new Error('dist/ is missing: npm run build first');
  const dir = mkdtempSync(join(tmpdir(), 'ntlm-sso-app-'));
  const [packed] = JSON.parse(
    await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT),
  ) as [{ filename: string; files: { path: string }[] }];
  const tarball = join(dir, packed.filename);

  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const own = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  const production = Object.entries(lock.packages).filter(
    ([path, entry]) => path !== '' && !entry.dev && !entry.devOptional,
  );
  mkdirSync(join(dir, 'deps'));
  const depTarballs = production.length
    ? (
        JSON.parse(
          await npm(
            [
              'pack',
              '--ignore-scripts',
              '--json',
              '--pack-destination',
              join(dir, 'deps'),
              ...production.map(([path]) => join(ROOT, path)),
            ],
            ROOT,
          ),
        ) as { filename: string }[]
      ).map((entry) => entry.filename)
    : [];

  const spec = `file:${packed.filename}`;
  const packages: Record<string, unknown> = {
    '': { name: 'app', version: '1.0.0', dependencies: { 'ntlm-sso': spec } },
    'node_modules/ntlm-sso': {
      version: own.version,
      resolved: spec,
      bin: own.bin,
      engines: own.engines,
      dependencies: own.dependencies,
      peerDependencies: own.peerDependencies,
      peerDependenciesMeta: own.peerDependenciesMeta,
    },
  };
  production.forEach(([path, { resolved: _, integrity: __, ...entry }], index) => {
    packages[path] = { ...entry, resolved: `file:deps/${depTarballs[index]}` };
  });
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: { 'ntlm-sso': spec } }),
  );
  writeFileSync(
    join(dir, 'package-lock.json'),
    JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }),
  );
  await npm(['ci', '--omit=dev', '--offline'], dir);
  return {
    dir,
    tarball,
    packedBytes: statSync(tarball).size,
    files: packed.files.map((file) => file.path),
  };
}
