// The sentence a missed per-request goal's row gives about what bounds it: how much server CPU the
// goal leaves above bare Express, how much of it one empty app.use() layer takes in the same
// rounds, and what ours uses. The server is CPU-bound in these rows, so its rate goes as 1/CPU.
import { median, pairedRatio, ratioRange } from './stats.js';

export interface RequestFigures {
  /** Requests per second per round. */
  readonly rates: readonly number[];
  /** Server CPU-µs per request per round. */
  readonly cpuUs: readonly number[];
}

export function requestBudget(
  goal: number,
  bare: RequestFigures,
  emptyLayer: RequestFigures & { readonly row: string },
  ours: RequestFigures,
): string {
  const bareUs = median(bare.cpuUs);
  const budget = bareUs / goal - bareUs;
  const layerUs = median(emptyLayer.cpuUs) - bareUs;
  const layerRatio = pairedRatio(emptyLayer.rates, bare.rates);
  const oursUs = median(ours.cpuUs) - bareUs;
  // Compared as printed: a ratio shown as the goal reads as meeting it.
  const verdict =
    Number(layerRatio.toFixed(2)) < goal
      ? 'so in these rounds not even a middleware that does nothing met the goal'
      : `which leaves about ${Math.max(0, budget - Math.max(0, layerUs)).toFixed(1)} µs for all of a middleware's own work`;
  const took =
    layerUs >= 0
      ? `took ${layerUs.toFixed(1)} µs of it`
      : `took no measurable share (its rounds ran ${(-layerUs).toFixed(1)} µs below bare's: noise)`;
  return (
    `At ${bareUs.toFixed(1)} µs of server CPU per request for bare Express, a goal of ${goal}× leaves ` +
    `${budget.toFixed(1)} µs above it. One app.use() layer that only calls next() (${emptyLayer.row}) ${took} ` +
    `in the same rounds and got ${layerRatio.toFixed(2)}× ` +
    `(rounds ${ratioRange(emptyLayer.rates, bare.rates)}), ${verdict}; ours used ${oursUs.toFixed(1)} µs above ` +
    `bare (rounds ${ratioRange(ours.rates, bare.rates)}). `
  );
}
