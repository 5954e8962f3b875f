// Runs inputs through the families with a few requests in flight, and counts what came back:
// statuses per family, crashes (anything thrown, uncaught exceptions, rejections nobody
// handled), hangs (no answer within the timeout), 5xx, each with a reproducer (seed, index, input).
import { performance } from 'node:perf_hooks';
import type { Family, FuzzContext, InputResult } from './families.js';
import { Random } from './random.js';
import type { Answer } from './target.js';

export interface FamilyStats {
  inputs: number;
  statuses: Record<string, number>;
  kinds: Record<string, number>;
  codes: Record<string, number>;
  /** Summed wall time of its inputs (ms), and the slowest. */
  totalMs: number;
  maxMs: number;
}

export interface Finding {
  readonly family: string;
  readonly index: number;
  readonly kind: string;
  /** 'crash', 'hang', or the 5xx status; `leg` when an unmutated leg before the input got it. */
  readonly what: string;
  readonly code: string | undefined;
  readonly reason?: string | undefined;
  readonly input: string;
}

export interface FuzzSummary {
  readonly seed: number;
  readonly inputs: number;
  readonly seconds: number;
  readonly families: Record<string, FamilyStats>;
  readonly crashes: number;
  readonly hangs: number;
  readonly serverErrors: number;
  /** Distinct findings (family, what, code), with the first reproducer of each and how often. */
  readonly findings: (Finding & { count: number })[];
}

export interface FuzzRun {
  readonly seed: number;
  readonly count: number;
  /** Start at this index (a slice, or `--replay`). */
  readonly from?: number;
  readonly families: readonly (readonly [number, Family])[];
  readonly concurrency: number;
  /** The context, made again every `rotateEvery` inputs (fresh replay caches and registries). */
  readonly context: () => Promise<FuzzContext>;
  readonly rotateEvery?: number;
  readonly onProgress?: (done: number, summary: () => FuzzSummary) => void;
  /** Receives the summary function at once (to print what was counted if the run is stopped). */
  readonly onStart?: (summary: () => FuzzSummary) => void;
  readonly progressEvery?: number;
}

/** The family input `index` of the run seeded `seed` belongs to, and the stream it draws from. */
export function inputAt(
  seed: number,
  index: number,
  families: FuzzRun['families'],
): { family: Family; random: Random } {
  const random = new Random(seed, index);
  return { family: random.weighted(families), random };
}

function failure(answer: Answer, decoderOnly: boolean): string | undefined {
  if (answer.status === 'crash' || answer.status === 'hang') return answer.status;
  if (!decoderOnly && answer.status >= 500) return String(answer.status);
  return undefined;
}

export async function runFuzz(run: FuzzRun): Promise<FuzzSummary> {
  const started = performance.now();
  const stats: Record<string, FamilyStats> = {};
  const findings = new Map<string, Finding & { count: number }>();
  let crashes = 0;
  let hangs = 0;
  let serverErrors = 0;
  const inFlight = new Set<number>();
  const record = (finding: Finding) => {
    // One finding per cause: the code and the reason, without the figures that vary (a retry's seconds).
    const reason = finding.reason?.replace(/\d+ (s|ms)\b/g, 'N $1');
    const key = `${finding.family}|${finding.what}|${finding.code?.split('\n')[0]}|${reason}`;
    const known = findings.get(key);
    if (known) known.count++;
    else findings.set(key, { ...finding, count: 1 });
    if (finding.what.endsWith('crash')) crashes++;
    else if (finding.what.endsWith('hang')) hangs++;
    else serverErrors++;
  };
  // A throw nobody catches, or a rejection nobody handles, is a crash of the input(s) in flight.
  const uncaught = (error: unknown) =>
    record({
      family: 'process',
      index: Math.min(...inFlight),
      kind: 'uncaught',
      what: 'crash',
      code: (error as Error)?.stack ?? String(error),
      input: [...inFlight].join(','),
    });

  const summary = (): FuzzSummary => ({
    seed: run.seed,
    inputs: Object.values(stats).reduce((sum, s) => sum + s.inputs, 0),
    seconds: (performance.now() - started) / 1000,
    families: stats,
    crashes,
    hangs,
    serverErrors,
    findings: [...findings.values()],
  });

  run.onStart?.(summary);
  // Made before the handlers below: a context that cannot be made fails the run, loudly.
  let context = await run.context();
  process.on('uncaughtException', uncaught);
  process.on('unhandledRejection', uncaught);
  const from = run.from ?? 0;
  let next = from;
  let done = 0;
  const end = from + run.count;
  const lane = async () => {
    while (next < end) {
      const index = next++;
      if (run.rotateEvery && index > from && (index - from) % run.rotateEvery === 0)
        context = await run.context();
      const { family, random } = inputAt(run.seed, index, run.families);
      inFlight.add(index);
      const t0 = performance.now();
      let result: InputResult;
      try {
        result = await family.run(random, context);
      } catch (error) {
        result = {
          kind: 'harness',
          answer: { status: 'crash', code: (error as Error).stack },
          legs: [],
          input: '',
        };
      }
      const ms = performance.now() - t0;
      inFlight.delete(index);
      tally(stats, family.name, result, ms);
      const what = failure(result.answer, family.decoderOnly === true);
      const base = { family: family.name, index, kind: result.kind, input: result.input };
      if (what) record({ ...base, what, code: result.answer.code, reason: result.answer.reason });
      for (const leg of result.legs) {
        const legWhat = failure(leg, false);
        if (legWhat) record({ ...base, what: `leg ${legWhat}`, code: leg.code, reason: leg.reason });
      }
      done++;
      if (run.onProgress && done % (run.progressEvery ?? 50_000) === 0) run.onProgress(done, summary);
    }
  };
  try {
    await Promise.all(Array.from({ length: run.concurrency }, lane));
  } finally {
    process.off('uncaughtException', uncaught);
    process.off('unhandledRejection', uncaught);
  }
  return summary();
}

/** Adds one input's answer to its family's counts. */
function tally(stats: Record<string, FamilyStats>, family: string, result: InputResult, ms: number): void {
  let s = stats[family];
  if (!s) {
    s = { inputs: 0, statuses: {}, kinds: {}, codes: {}, totalMs: 0, maxMs: 0 };
    stats[family] = s;
  }
  s.inputs++;
  s.totalMs += ms;
  s.maxMs = Math.max(s.maxMs, ms);
  const status = String(result.answer.status);
  s.statuses[status] = (s.statuses[status] ?? 0) + 1;
  s.kinds[result.kind] = (s.kinds[result.kind] ?? 0) + 1;
  const { code } = result.answer;
  if (code && result.answer.status !== 'crash') s.codes[code] = (s.codes[code] ?? 0) + 1;
}
