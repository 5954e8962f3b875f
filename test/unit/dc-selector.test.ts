// The DC circuit breaker (issue 14, defect 6): after a failure, one trial request goes through
// after a short back-off; a trial that costs a wait doubles the back-off, up to downtimeMs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DcSelector } from '../../src/dc/dc-selector.js';

const DC = 'ldap://dc1';
const selector = () =>
  new DcSelector(new Map([['EXAMPLE', [DC, 'ldap://dc2']]]), { downtimeMs: 30_000, trialTimeoutMs: 5000 });

describe('DcSelector', () => {
  it('skips a failed DC for 1 s, then lets exactly one trial through', () => {
    const s = selector();
    s.markDown(DC, 0);
    assert.deepEqual(s.candidates('EXAMPLE', 999), ['ldap://dc2']);
    assert.equal(s.retryAfterSeconds('EXAMPLE', 0), 1);
    assert.deepEqual(s.candidates('EXAMPLE', 1000), [DC, 'ldap://dc2'], 'the trial, in configured order');
    assert.deepEqual(s.candidates('EXAMPLE', 1001), ['ldap://dc2'], 'others keep skipping it meanwhile');
    s.markUp(DC);
    assert.deepEqual(s.candidates('EXAMPLE', 1002), [DC, 'ldap://dc2'], 'a good trial brings it back');
  });

  it('a trial that failed after a wait doubles the back-off, capped at downtimeMs', () => {
    const s = selector();
    s.markDown(DC, 0);
    let now = 0;
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      let next = now;
      while (!s.candidates('EXAMPLE', next).includes(DC)) next += 100;
      waits.push(next - now);
      now = next + 2000; // the trial timed out after 2 s
      s.markDown(DC, now);
    }
    assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('a trial refused at once (the DC is restarting) keeps the back-off at 1 s', () => {
    const s = selector();
    s.markDown(DC, 0);
    for (let t = 1000; t <= 10_000; t += 1005) {
      assert.ok(s.candidates('EXAMPLE', t).includes(DC), `a trial at ${t} ms`);
      s.markDown(DC, t + 5);
      assert.ok(!s.candidates('EXAMPLE', t + 500).includes(DC));
    }
  });

  it('failures of requests already under way change nothing; an abandoned trial is given up', () => {
    const s = selector();
    s.markDown(DC, 0);
    s.markDown(DC, 10);
    s.markDown(DC, 20);
    assert.ok(s.candidates('EXAMPLE', 1000).includes(DC), 'still 1 s, not 8 s');
    assert.ok(!s.candidates('EXAMPLE', 5999).includes(DC));
    assert.ok(s.candidates('EXAMPLE', 6000).includes(DC), 'no verdict within trialTimeoutMs: another trial');
  });
});

describe('DcSelector observers (issue 13)', () => {
  it('hear each DC once at first, then transitions only: one down for many failures, one up', () => {
    const s = selector();
    const heard: string[] = [];
    s.observe({
      dcKnown: (dc) => heard.push(`known ${dc}`),
      dcDown: (dc, reason) => heard.push(`down ${dc} ${reason}`),
      dcUp: (dc, downForMs) => heard.push(`up ${dc} ${downForMs}`),
      dcLatency: (dc, operation, seconds) => heard.push(`latency ${dc} ${operation} ${seconds}`),
    });
    s.markUp(DC, 0); // up already: nothing to say
    for (let now = 0; now < 10_000; now += 500) {
      s.candidates('EXAMPLE', now);
      s.markDown(DC, now, 'connect ECONNREFUSED');
    }
    s.answered('ldap://dc2', 'negotiate', 0.004);
    s.markUp(DC, 12_000);
    s.markUp(DC, 12_001);
    assert.deepEqual(heard, [
      `known ${DC}`,
      'known ldap://dc2',
      `down ${DC} connect ECONNREFUSED`,
      'latency ldap://dc2 negotiate 0.004',
      `up ${DC} 12000`,
    ]);
  });

  it('an observer that throws changes nothing', () => {
    const s = selector();
    s.observe({
      dcKnown: () => {},
      dcDown: () => {
        throw new Error('a bug in metrics');
      },
      dcUp: () => {},
      dcLatency: () => {},
    });
    s.markDown(DC, 0);
    assert.deepEqual(s.candidates('EXAMPLE', 10), ['ldap://dc2']);
  });
});
