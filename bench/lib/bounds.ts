// What the rows of missed goals say about what bounds them.
import { type MedianInterval, median, pairedRatio, ratioRange } from './stats.js';

/**
 * Where a floor measured in the same rounds stands against a goal: clearly below it, clearly
 * above it, or at it (within 5%: one server process can sit a few % off another for a whole run
 * here, so nearer than that tells nothing).
 */
export function againstGoal(ratio: number, goal: number): 'below' | 'at' | 'above' {
  if (ratio < goal * 0.95) return 'below';
  return ratio > goal * 1.05 ? 'above' : 'at';
}

/**
 * What a floor measured in the same rounds (a variant doing only what ours must do too) says of
 * the goal: below it, nothing that does as much reaches the goal here; at it, next to nothing is
 * left; above it, the gap is what `leftFor` (the work the floor leaves out) may use.
 */
export function floorStanding(ratio: number, goal: number, leftFor: string): string {
  return {
    below: `below ${goal.toFixed(2)}× in these rounds, before ${leftFor}: the floor alone did not reach the goal here. `,
    at: `at the goal (within 5% of it either way), which leaves next to nothing for ${leftFor}. `,
    above: `above the goal: the gap to ${goal.toFixed(2)}× is what ${leftFor} may use. `,
  }[againstGoal(ratio, goal)];
}

/**
 * What the interval of ours' ratio says of a missed goal: wholly below it (a miss this run can
 * tell), or holding it (the rounds spread too far to tell a miss from a meet). Empty without one.
 */
export function intervalStanding(interval: MedianInterval | undefined, goal: number): string {
  if (interval === undefined) return '';
  const where =
    `This run's rounds put ours' median ratio between ${interval.low.toFixed(2)}× and ${interval.high.toFixed(2)}× ` +
    `(${Math.floor(interval.confidence * 100)}% confidence, from the rounds' order alone)`;
  return interval.high < goal
    ? `${where}: wholly below the goal, a miss this run can tell. `
    : `${where}, which holds the goal: this run cannot tell the miss from a meet. `;
}

export interface RequestFigures {
  /** Requests per second per round. */
  readonly rates: readonly number[];
  /** Server CPU-µs per request per round. */
  readonly cpuUs: readonly number[];
}

/**
 * For a per-request goal against bare Express: how much server CPU the goal leaves above bare (an
 * estimate: it takes the rate to go as 1/CPU, which holds only roughly when the load generator
 * shares the cores), how much of it one empty app.use() layer took in the same rounds, and what
 * ours used.
 */
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
  const left = budget - Math.max(0, layerUs);
  const standing = againstGoal(layerRatio, goal);
  const verdict =
    standing === 'below'
      ? 'so in these rounds not even a middleware that does nothing met the goal'
      : standing === 'at'
        ? 'at the goal: only a middleware that costs next to nothing meets it'
        : left > 0
          ? `which leaves about ${left.toFixed(1)} µs for all of a middleware's own work`
          : 'which leaves nothing measurable for a middleware’s own work';
  const took =
    layerUs >= 0
      ? `took ${layerUs.toFixed(1)} µs of it`
      : `took no measurable share (it used ${(-layerUs).toFixed(1)} µs less than bare: noise)`;
  return (
    `At ${bareUs.toFixed(1)} µs of server CPU per request for bare Express, a goal of ${goal}× leaves about ` +
    `${budget.toFixed(1)} µs above it. One app.use() layer that only calls next() (${emptyLayer.row}) ${took} ` +
    `in the same rounds and got ${layerRatio.toFixed(2)}× (rounds ${ratioRange(emptyLayer.rates, bare.rates)}), ` +
    `${verdict}; ours used ${oursUs.toFixed(1)} µs above bare (rounds ${ratioRange(ours.rates, bare.rates)}). `
  );
}
