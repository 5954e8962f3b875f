// How the probes name a server: a mode of bench/servers/app.ts, on this build (dist/) or another.
import { join, relative, resolve } from 'node:path';
import { ROOT } from './children.js';

export interface BuildSpec {
  readonly mode: string;
  /** The variables that point bench/servers/app.ts at the other build: BENCH_DIST, or none. */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * `ours-bearer`, or `ours-bearer@.tmp/distB/index.js` for that mode on another build (its
 * index.js, absolute or relative to the repository; inside it, so that node_modules resolve), so
 * that two builds are measured in one run.
 */
export function parseBuildSpec(spec: string): BuildSpec {
  const at = spec.indexOf('@');
  if (at < 0) return { mode: spec, env: {} };
  // BENCH_DIST is relative to bench/servers/app.ts.
  const dist = relative(join(ROOT, 'bench/servers'), resolve(ROOT, spec.slice(at + 1)));
  return { mode: spec.slice(0, at), env: { BENCH_DIST: dist } };
}
