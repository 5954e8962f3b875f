// Reads a V8 .cpuprofile (node --cpu-prof) into the few lines a reader needs: which functions
// the busy time went to (self time), which of our own functions cost most, and how it splits between our code, Express, other packages, Node's internals and GC.
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, type ServerOptions, startServer } from './children.js';
import type { Context, CostLine, ProfileSummary } from './context.js';

export type { CostLine, ProfileSummary };

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function where(url: string): string {
  const local = url.replace(/^file:\/\//, '').replace(ROOT, '');
  return local;
}

function keyOf(frame: ProfileNode['callFrame']): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  // Modules run through tsx report line 0 for everything: the file then says enough.
  return frame.lineNumber > 0
    ? `${name} ${where(frame.url)}:${frame.lineNumber + 1}`
    : `${name} ${where(frame.url)}`;
}

function area(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(program)') return 'V8 and native (program)';
  if (url.includes('/node_modules/')) {
    const name = /\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)![1]!;
    return name === 'express4' || name === 'express' ? 'Express' : `package ${name}`;
  }
  if (url.startsWith('node:')) return 'Node internals (http, net, streams)';
  if (url.includes('/src/') || url.includes('/dist/')) return 'ntlm-sso';
  if (url.includes('/bench/')) return 'bench server (handler)';
  return 'V8 and native (program)';
}

/**
 * The newest main-thread .cpuprofile in `dir`, summarised; with `window` (the server's monotonic clock, µs),
 * only the samples taken in it: the load, not the start-up and module loading before it.
 */
export function summariseProfile(
  dir: string,
  label: string,
  window?: { from: number; to: number },
  top = 12,
): ProfileSummary {
  // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: the main thread is 0 (tsx's module
  // loader runs in a worker thread that writes a profile of its own).
  const file = readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile') && name.split('.')[4] === '0')
    .sort()
    .at(-1);
  if (!file) throw new Error(`no main-thread .cpuprofile in ${dir}`);
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (window && (at < window.from || at > window.to)) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });
  if (selfUs.size === 0) throw new Error(`${label}: the profile has no samples in the load window`);
  let idle = 0;
  let total = 0;
  for (const [id, us] of selfUs) {
    total += us;
    if (byId.get(id)!.callFrame.functionName === '(idle)') idle += us;
  }
  const busy = Math.max(1, total - idle);
  const percent = (us: number) => Math.round((us * 1000) / busy) / 10;

  const selfByKey = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') continue;
    selfByKey.set(keyOf(frame), (selfByKey.get(keyOf(frame)) ?? 0) + us);
    byArea.set(area(frame), (byArea.get(area(frame)) ?? 0) + us);
  }

  const oursByKey = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    if (area(frame) === 'ntlm-sso') oursByKey.set(keyOf(frame), (oursByKey.get(keyOf(frame)) ?? 0) + us);
  }

  const lines = (map: Map<string, number>, count: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, us]) => ({ name, percent: percent(us) }));
  return {
    label,
    busyMs: Math.round(busy / 1000),
    idlePercent: Math.round((idle * 1000) / Math.max(1, total)) / 10,
    areas: lines(byArea, 10),
    topSelf: lines(selfByKey, top),
    topOurs: lines(oursByKey, top),
  };
}

/**
 * Runs `load` against a fresh server started under --cpu-prof (a run of its own: profiling slows
 * the server, so it is never one of the measured rounds) and adds the summary to the report.
 */
export async function profileServer(
  ctx: Context,
  label: string,
  options: ServerOptions,
  load: (port: number) => Promise<unknown>,
): Promise<void> {
  const dir = join(ctx.tmp, `profile-${label.split(' ')[0]}`);
  ctx.log(`  profiling: ${label}`);
  const server = await startServer({ ...options, cpuProfileDir: dir });
  let window: { from: number; to: number };
  try {
    const from = await server.mark();
    await load(server.port);
    window = { from, to: await server.mark() };
  } finally {
    await server.stop();
  }
  ctx.profiles.push(summariseProfile(dir, label, window));
  keepProfile(dir, label);
}

/** BENCH_KEEP_PROFILES=<dir>: the raw .cpuprofile files too (for Chrome DevTools, or inclusive times), one folder per profile. */
export function keepProfile(dir: string, label: string): void {
  const keep = process.env.BENCH_KEEP_PROFILES;
  if (keep) cpSync(dir, join(keep, label.split(' ')[0]!), { recursive: true });
}
