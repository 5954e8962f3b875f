// The two outputs of a run: results/latest.json (everything, for tools) and RESULTS.md (the
// table a person reads: scenario, ours, baseline, ratio, goal, met; then what bounds a missed
// goal, the profiles, and what is not in this build).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProfileSummary } from './profile.js';
import { type MedianInterval, median, round } from './stats.js';

export type RowStatus = 'measured' | 'not in this build' | 'unavailable' | 'error';

export interface Row {
  /** Scenario number and letter: `1`, `1b`, `8c`. */
  readonly id: string;
  readonly scenario: string;
  readonly unit: string;
  readonly ours: number | null;
  readonly baselineName: string | null;
  readonly baseline: number | null;
  /** ours / baseline (median of the per-round ratios), when a ratio is what the goal is about. */
  readonly ratio: number | null;
  /** How ours compares, as the table shows it: `0.93×`, `+0.41 KB/conn`. */
  readonly compare: string;
  /** For a ratio with a goal: where the rounds put its median (stats.ts, medianInterval). */
  readonly interval?: MedianInterval | undefined;
  readonly goal: string;
  /** null: no goal (report only), or not measured. */
  readonly met: boolean | null;
  readonly status: RowStatus;
  /** Rounds, errors, re-authentications: what a reader checks before trusting the figure. */
  readonly detail?: string;
  /** What bounds the figure, when the goal is missed. */
  readonly bound?: string;
  readonly samples?: Record<string, number[]>;
}

/** A row that reports a ratio measured beside a goal's, with no goal of its own. */
export function reportedRatio(row: {
  readonly id: string;
  readonly scenario: string;
  readonly unit: string;
  readonly ours: number;
  readonly baselineName: string;
  readonly baseline: number;
  readonly ratio: number;
  readonly detail: string;
  readonly bound?: string;
  readonly samples?: Record<string, number[]>;
}): Row {
  const { id, scenario, unit, ours, baselineName, baseline, ratio, detail, ...rest } = row;
  return {
    id,
    scenario,
    unit,
    ours,
    baselineName,
    baseline,
    ratio: round(ratio, 3),
    compare: `${ratio.toFixed(2)}×`,
    goal: 'report',
    met: null,
    status: 'measured',
    detail,
    ...rest,
  };
}

/**
 * A row reporting `variant`'s requests against the `baseline` variant's, both from `samples` of
 * the same rounds (req/s per round).
 */
export function reportedRequests(
  samples: Readonly<Record<string, readonly number[]>>,
  baseline: { readonly variant: string; readonly name: string },
  row: {
    readonly id: string;
    readonly variant: string;
    readonly ratio: number;
    readonly scenario: string;
    readonly detail: string;
  },
): Row {
  const { id, variant, ratio, scenario, detail } = row;
  return reportedRatio({
    id,
    scenario,
    unit: 'req/s',
    ours: median(samples[variant]!),
    baselineName: baseline.name,
    baseline: median(samples[baseline.variant]!),
    ratio,
    detail,
  });
}

export interface Report {
  readonly date: string;
  readonly node: string;
  readonly cores: number;
  readonly cpu: string;
  readonly quick: boolean;
  readonly machineNote: string;
  readonly loadAverageStart: number[];
  readonly loadAverageEnd: number[];
  readonly durationSeconds: number;
  readonly method: string[];
  readonly rows: Row[];
  readonly profiles: ProfileSummary[];
}

/** A row for a scenario that could not run here, with why. */
export function notRun(
  id: string,
  scenario: string,
  goal: string,
  status: RowStatus,
  why: string,
  baselineName: string | null = null,
): Row {
  return {
    id,
    scenario,
    unit: '',
    ours: null,
    baselineName,
    baseline: null,
    ratio: null,
    compare: '–',
    goal,
    met: null,
    status,
    detail: why,
  };
}

function figure(value: number | null, unit: string): string {
  if (value === null) return '–';
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })} ${unit}`;
}

function intervalCell(row: Row): string {
  const interval = row.interval;
  return interval ? `${interval.low.toFixed(2)}–${interval.high.toFixed(2)}×` : '–';
}

function metCell(row: Row): string {
  if (row.status !== 'measured') return row.status;
  if (row.met === null) return 'report';
  return row.met ? 'yes' : '**no**';
}

export function writeReport(report: Report, outDir: string, analysisFile: string): void {
  mkdirSync(join(outDir, 'results'), { recursive: true });
  writeFileSync(join(outDir, 'results', 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);

  const md: string[] = [];
  md.push('# Benchmark results', '');
  md.push(
    `Run of ${report.date}${report.quick ? ' (**--quick smoke run: tiny counts, figures mean nothing**)' : ''}: ` +
      `Node ${report.node}, ${report.cores} cores (${report.cpu}), ${report.durationSeconds} s in all. ` +
      `Load average ${report.loadAverageStart.map((l) => l.toFixed(2)).join(' / ')} at the start, ` +
      `${report.loadAverageEnd.map((l) => l.toFixed(2)).join(' / ')} at the end.`,
    '',
  );
  if (report.machineNote) md.push(`> ${report.machineNote}`, '');
  md.push('How it was measured:', '');
  for (const line of report.method) md.push(`- ${line}`);
  md.push('');
  md.push(
    '| # | scenario | ours | baseline | ratio | interval | goal | met |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const row of report.rows) {
    const baseline = row.baselineName ? `${row.baselineName}: ${figure(row.baseline, row.unit)}` : '–';
    md.push(
      `| ${row.id} | ${row.scenario} | ${figure(row.ours, row.unit)} | ${baseline} | ${row.compare} | ${intervalCell(row)} | ${row.goal} | ${metCell(row)} |`,
    );
  }
  md.push('');
  md.push('Details per row:', '');
  for (const row of report.rows) if (row.detail) md.push(`- **${row.id}**: ${row.detail}`);
  md.push('');

  const missed = report.rows.filter((row) => row.met === false);
  md.push('## Missed goals: what bounds them', '');
  if (missed.length === 0) md.push('None in this run.', '');
  for (const row of missed) {
    md.push(`### ${row.id}. ${row.scenario}: ${row.compare} (goal ${row.goal})`, '');
    if (row.bound) md.push(row.bound, '');
    const profile = report.profiles.find((p) => p.label.startsWith(`${row.id.replace(/[a-z]$/, '')} `));
    if (profile)
      md.push(`The profile of this scenario's server is under [Profiles](#profiles) (${profile.label}).`, '');
  }

  const absent = report.rows.filter((row) => row.status !== 'measured');
  if (absent.length > 0) {
    md.push('## Not measured in this run', '');
    for (const row of absent) md.push(`- **${row.id}** ${row.scenario}: ${row.status}. ${row.detail ?? ''}`);
    md.push('');
  }

  md.push('## Profiles', '');
  md.push(
    'Each profile is a separate run of our server under `node --cpu-prof` (not one of the measured rounds: ' +
      "profiling slows it). Percentages are of the server process's busy (non-idle) time.",
    '',
  );
  for (const profile of report.profiles) {
    md.push(`### ${profile.label}`, '');
    md.push(`${profile.busyMs} ms busy, ${profile.idlePercent}% of the profile idle.`, '');
    md.push('| where the time went | % of busy |', '| --- | --- |');
    for (const line of profile.areas) md.push(`| ${line.name} | ${line.percent} |`);
    md.push('');
    md.push('| top functions, self time | % |', '| --- | --- |');
    for (const line of profile.topSelf) md.push(`| \`${line.name}\` | ${line.percent} |`);
    md.push('');
    if (profile.topOurs.length > 0) {
      md.push('| ntlm-sso functions, self time | % |', '| --- | --- |');
      for (const line of profile.topOurs) md.push(`| \`${line.name}\` | ${line.percent} |`);
      md.push('');
    }
  }

  if (existsSync(analysisFile)) {
    md.push(readFileSync(analysisFile, 'utf8').trim(), '');
  }
  writeFileSync(join(outDir, 'RESULTS.md'), md.join('\n'));
}
