// The bench's round order, its fresh servers per round, and the verdicts its rows of missed goals print (bench/lib): what the
// published figures rest on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate } from 'node:timers/promises';
import { againstGoal, intervalStanding, requestBudget } from '../../bench/lib/bounds.js';
import type { ServerChild } from '../../bench/lib/children.js';
import { RoundServers } from '../../bench/lib/round-servers.js';
import { interleave, medianInterval, pairedInterval, ratioText, roundOrder } from '../../bench/lib/stats.js';

describe('roundOrder', () => {
  for (const count of [2, 3, 4, 5, 7, 8]) {
    it(`with ${count} variants, every variant follows every other equally often`, () => {
      const rounds = count % 2 === 0 ? count : 2 * count;
      const follows = new Map<string, number>();
      for (let round = 0; round < rounds; round++) {
        const order = roundOrder(count, round);
        assert.deepEqual(
          [...order].sort((a, b) => a - b),
          Array.from({ length: count }, (_, i) => i),
        );
        for (let i = 1; i < count; i++) {
          const pair = `${order[i - 1]}>${order[i]}`;
          follows.set(pair, (follows.get(pair) ?? 0) + 1);
        }
      }
      assert.equal(follows.size, count * (count - 1));
      assert.equal(new Set(follows.values()).size, 1);
    });
  }

  it('interleave keeps each variant’s samples in round order, whatever order the rounds ran in', async () => {
    const ran: string[] = [];
    const samples = await interleave(['a', 'b', 'c', 'd'], 3, async (variant, round) => {
      ran.push(variant);
      return round * 10 + variant.charCodeAt(0) - 96;
    });
    assert.deepEqual(samples, { a: [1, 11, 21], b: [2, 12, 22], c: [3, 13, 23], d: [4, 14, 24] });
    assert.notDeepEqual(ran.slice(4, 8), ['a', 'b', 'c', 'd']);
  });
});

describe('the bound texts', () => {
  it('tells a floor below, at and above its goal apart, with 5% either side counted as at', () => {
    assert.equal(againstGoal(0.9, 0.97), 'below');
    assert.equal(againstGoal(0.93, 0.97), 'at');
    assert.equal(againstGoal(1.0, 0.97), 'at');
    assert.equal(againstGoal(1.02, 0.97), 'above');
    assert.equal(againstGoal(9.4, 10), 'below');
    assert.equal(againstGoal(10.4, 10), 'at');
  });

  const figures = (rate: number, cpuUs: number) => ({
    rates: [rate, rate, rate],
    cpuUs: [cpuUs, cpuUs, cpuUs],
  });

  it('gives the budget a goal leaves above bare, and what is left after an empty layer', () => {
    const text = requestBudget(
      0.92,
      figures(10_000, 100),
      { ...figures(9_950, 100.5), row: '2c' },
      figures(9_000, 111),
    );
    assert.match(text, /leaves about 8\.7 µs above it/);
    assert.match(text, /took 0\.5 µs of it/);
    assert.match(text, /leaves about 8\.2 µs for all of a middleware's own work/);
    assert.match(text, /ours used 11\.0 µs above bare/);
  });

  it('calls an empty layer measured cheaper than bare noise, not a negative share', () => {
    const text = requestBudget(
      0.97,
      figures(10_000, 100),
      { ...figures(10_600, 94), row: '1d' },
      figures(9_300, 110),
    );
    assert.match(text, /took no measurable share \(it used 6\.0 µs less than bare: noise\)/);
    assert.doesNotMatch(text, /-\d/);
  });

  it('says when not even an empty layer met the goal', () => {
    const text = requestBudget(
      0.97,
      figures(10_000, 100),
      { ...figures(9_000, 108), row: '1d' },
      figures(8_800, 112),
    );
    assert.match(text, /not even a middleware that does nothing met the goal/);
  });
});

describe('RoundServers', () => {
  /** Fake servers that log what happens to them. */
  const fakes = (events: string[], fail?: string) => {
    let started = 0;
    return async (variant: string) => {
      const id = `${variant}${started++}`;
      if (variant === fail) throw new Error(`${id} did not start`);
      events.push(`start ${id}`);
      return { id, stop: async () => void events.push(`stop ${id}`) } as unknown as ServerChild;
    };
  };
  const idOf = (server: ServerChild) => (server as unknown as { id: string }).id;

  it('measures every round against servers started afresh, each warmed twice just before it is measured', async () => {
    const events: string[] = [];
    const servers = new RoundServers(
      ['a', 'b'] as const,
      fakes(events),
      // Later than at once: a warm-up not waited for would put its event after the measurement.
      async (_variant, server, durationMs) => {
        await setImmediate();
        events.push(`warm ${idOf(server)} ${durationMs}`);
      },
      1000,
    );
    const seen = await interleave(['a', 'b'] as const, 2, async (variant, round) => {
      const id = idOf(await servers.forRound(variant, round));
      events.push(`measure ${id}`);
      return Number(id.slice(1));
    });
    await servers.stop();
    // Round 0 (a, then b) ran a0 and b1; round 1 (b, then a) new processes a2 and b3.
    assert.deepEqual(seen, { a: [0, 2], b: [1, 3] });
    assert.deepEqual(events, [
      ...['start a0', 'start b1', 'warm a0 1000', 'warm a0 500', 'measure a0', 'warm b1 1000', 'warm b1 500'],
      ...['measure b1', 'stop a0', 'stop b1', 'start a2', 'start b3', 'warm b3 1000', 'warm b3 500'],
      ...['measure b3', 'warm a2 1000', 'warm a2 500', 'measure a2'],
      ...['stop a2', 'stop b3'],
    ]);
  });

  it('stops the servers that started when another did not, and says why', async () => {
    const events: string[] = [];
    const servers = new RoundServers(['a', 'b', 'c'] as const, fakes(events, 'b'), async () => {}, 1000);
    await assert.rejects(servers.forRound('a', 0), /b1 did not start/);
    assert.deepEqual(events, ['start a0', 'start c2', 'stop a0', 'stop c2']);
  });
});

describe('ratioText', () => {
  it('prints a third decimal only when two would put the ratio on the other side of its goal', () => {
    assert.equal(ratioText(0.916, 0.92), '0.916×');
    assert.equal(ratioText(0.9249, 0.92), '0.92×');
    assert.equal(ratioText(9.996, 10), '9.996×');
    assert.equal(ratioText(0.916), '0.92×');
  });
});

describe('medianInterval', () => {
  it('takes the 3rd lowest and 3rd highest of 12 rounds (96%), the lowest and highest of 5 (94%)', () => {
    const twelve = [12, 3, 9, 1, 7, 11, 5, 2, 10, 4, 8, 6];
    assert.deepEqual(medianInterval(twelve), { low: 3, high: 10, confidence: 1 - (2 * 79) / 4096 });
    assert.deepEqual(medianInterval([5, 1, 4, 2, 3]), { low: 1, high: 5, confidence: 1 - 2 / 32 });
  });

  it('gives none when too few rounds reach the level (3 rounds: 75%)', () => {
    assert.equal(medianInterval([1, 2, 3]), undefined);
    assert.deepEqual(medianInterval([1, 2, 3], 0.7), { low: 1, high: 3, confidence: 0.75 });
  });

  it('holds the true median as often as it says, whatever the spread (simulated)', () => {
    // Skewed rounds (an exponential, median ln 2), as a noisy machine's slow rounds are.
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return (seed + 0.5) / 2 ** 31;
    };
    for (const rounds of [5, 12]) {
      let held = 0;
      let said = 0;
      const trials = 4000;
      for (let trial = 0; trial < trials; trial++) {
        const values = Array.from({ length: rounds }, () => -Math.log(random()));
        const interval = medianInterval(values)!;
        said = interval.confidence;
        if (interval.low <= Math.LN2 && Math.LN2 <= interval.high) held++;
      }
      assert.ok(
        Math.abs(held / trials - said) < 0.02,
        `${rounds} rounds: held ${held / trials}, said ${said}`,
      );
    }
  });

  it('pairedInterval works on the per-round ratios, not on each side’s own rounds', () => {
    const baseline = [100, 200, 100, 200, 100];
    const ours = [90, 180, 95, 170, 92];
    assert.deepEqual(pairedInterval(ours, baseline), { low: 0.85, high: 0.95, confidence: 1 - 2 / 32 });
  });

  it('says whether a missed goal lies inside the interval', () => {
    const inside = intervalStanding({ low: 0.87, high: 0.95, confidence: 0.961 }, 0.92);
    assert.match(inside, /between 0\.87× and 0\.95× \(96% confidence.*holds the goal: this run cannot tell/);
    const below = intervalStanding({ low: 0.55, high: 0.63, confidence: 0.9375 }, 0.8);
    assert.match(below, /\(93% confidence.*wholly below the goal, a miss this run can tell/);
    assert.equal(intervalStanding(undefined, 0.8), '');
  });
});
