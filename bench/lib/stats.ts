// Figures from noisy rounds: the machine is shared, so every ratio compares variants measured in
// the same run, in interleaved rounds (each round in another order), and takes medians, never one
// sample.

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * The order of the variants in round `round`: a Williams design (0, 1, n−1, 2, n−2..., shifted by
 * one each round), in which every variant follows every other equally often over n rounds (n
 * even; 2n when n is odd). Two variants served by one process (row 5's relay and Kerberos) would
 * otherwise always inherit each other's leftovers.
 */
export function roundOrder(count: number, round: number): number[] {
  const base = [0];
  for (let low = 1, high = count - 1; base.length < count; ) {
    base.push(low++);
    if (base.length < count) base.push(high--);
  }
  // An odd count needs the mirror image for its second n rounds to balance.
  if (count % 2 === 1 && Math.floor(round / count) % 2 === 1) base.reverse();
  return base.map((index) => (index + round) % count);
}

/** A record with a fresh `make()` for every variant (counters, sample lists). */
export function perVariant<K extends string, T>(variants: readonly K[], make: () => T): Record<K, T> {
  return Object.fromEntries(variants.map((variant) => [variant, make()])) as Record<K, T>;
}

/** Runs each variant once per round, in roundOrder; returns every sample by variant, in round order. */
export async function interleave<K extends string>(
  variants: readonly K[],
  rounds: number,
  measure: (variant: K, round: number) => Promise<number>,
): Promise<Record<K, number[]>> {
  const samples = perVariant(variants, (): number[] => []);
  for (let round = 0; round < rounds; round++) {
    for (const index of roundOrder(variants.length, round)) {
      const variant = variants[index]!;
      samples[variant].push(await measure(variant, round));
    }
  }
  return samples;
}

/**
 * `0.95×`, with a third decimal when two would print a ratio on the other side of its goal
 * (0.916 against ≥ 0.92 would read 0.92×, a miss that looks met).
 */
export function ratioText(ratio: number, goal?: number): string {
  const two = ratio.toFixed(2);
  if (goal !== undefined && Number(two) >= goal !== ratio >= goal) return `${ratio.toFixed(3)}×`;
  return `${two}×`;
}

/** `lowest–highest` of a variant's rounds, as a ratio to the baseline's same rounds (`0.95–0.99×`). */
export function ratioRange(ours: readonly number[], baseline: readonly number[]): string {
  const ratios = ours.map((value, i) => value / baseline[i]!);
  return `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}×`;
}

/**
 * Ours / baseline: the median of the per-round ratios (each pair measured minutes apart at most,
 * so drift in the machine's load cancels within a pair).
 */
export function pairedRatio(ours: readonly number[], baseline: readonly number[]): number {
  return median(ours.map((value, i) => value / baseline[i]!));
}

/** A median's confidence interval from its samples alone, and how sure it is. */
export interface MedianInterval {
  readonly low: number;
  readonly high: number;
  /** The chance that the interval holds the true median: 1 − 2·P(Binomial(n, ½) < k). */
  readonly confidence: number;
}

/**
 * The median's distribution-free interval: the k-th lowest to the k-th highest of `values`, with
 * the largest k whose confidence is still at least `level`. 12 rounds give the 3rd and the 10th
 * (96%); 5 give the lowest and the highest (94%). It assumes nothing about how the rounds spread,
 * only that they are independent. Undefined when too few values reach `level` (a --quick run).
 */
export function medianInterval(values: readonly number[], level = 0.9): MedianInterval | undefined {
  const n = values.length;
  const sorted = [...values].sort((a, b) => a - b);
  let below = 0; // P(Binomial(n, ½) < k)
  let exactly = 0.5 ** n; // P(Binomial(n, ½) = k − 1)
  let found: MedianInterval | undefined;
  for (let k = 1; 2 * k <= n; k++) {
    below += exactly;
    const confidence = 1 - 2 * below;
    if (confidence < level) break;
    found = { low: sorted[k - 1]!, high: sorted[n - k]!, confidence };
    exactly *= (n - k + 1) / k;
  }
  return found;
}

/** The interval of pairedRatio's median: from the per-round ratios of ours to the baseline. */
export function pairedInterval(
  ours: readonly number[],
  baseline: readonly number[],
): MedianInterval | undefined {
  return medianInterval(ours.map((value, i) => value / baseline[i]!));
}

/** Least-squares line through (x, y): slope, intercept and R². */
export function linearFit(points: readonly { x: number; y: number }[]): {
  slope: number;
  intercept: number;
  r2: number;
} {
  const n = points.length;
  const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const { x, y } of points) {
    sxy += (x - meanX) * (y - meanY);
    sxx += (x - meanX) ** 2;
    syy += (y - meanY) ** 2;
  }
  const slope = sxy / sxx;
  return { slope, intercept: meanY - slope * meanX, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}

export function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
