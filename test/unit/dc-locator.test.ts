// DCs found in DNS (issue 21 §7): RFC 2782 order, the answer kept for refreshMs, asked again when
// every DC found failed, a silent DNS server timed out, and a typed 503 when nothing is known.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DcLocator, type DnsResolver, orderSrv, type SrvRecord } from '../../src/dc/dc-locator.js';
import { DcSelector } from '../../src/dc/dc-selector.js';
import { FoundDcs } from '../../src/dc/found-dcs.js';
import { isNtlmError } from '../../src/errors.js';
import { domainController } from '../../src/verifiers/domain-controller.js';
import { netlogon } from '../../src/verifiers/netlogon.js';

const srv = (name: string, priority: number, weight: number, port = 389): SrvRecord => ({
  name,
  port,
  priority,
  weight,
});

/** A resolver whose answers the test sets, counting the SRV look-ups. */
class FakeResolver implements DnsResolver {
  answers: SrvRecord[] | Error | 'silent' = [];
  addresses = new Map<string, string>();
  srvQueries = 0;
  cancelled = 0;
  async resolveSrv(): Promise<SrvRecord[]> {
    this.srvQueries++;
    const answers = this.answers;
    if (answers === 'silent') return new Promise(() => undefined);
    if (answers instanceof Error) throw answers;
    return answers;
  }
  async resolve4(name: string): Promise<string[]> {
    const address = this.addresses.get(name);
    if (!address) throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
    return [address];
  }
  async resolve6(): Promise<string[]> {
    throw Object.assign(new Error('ENODATA'), { code: 'ENODATA' });
  }
  cancel(): void {
    this.cancelled++;
  }
}

function locator(resolver: FakeResolver, clock: { now: number }, timeoutMs = 1000) {
  return new DcLocator('_ldap._tcp.dc._msdcs.example.test', {
    timeoutMs,
    refreshMs: 600_000,
    requeryAfterMs: 5000,
    resolver,
    now: () => clock.now,
  });
}

describe('orderSrv (RFC 2782)', () => {
  it('lowest priority first, whatever the weights', () => {
    const order = orderSrv([srv('c', 20, 100), srv('a', 0, 0), srv('b', 10, 1000)], () => 0.99);
    assert.deepEqual(
      order.map((r) => r.name),
      ['a', 'b', 'c'],
    );
  });

  it('within a priority, a weighted draw: weight 3 comes first about 3 times as often as weight 1', () => {
    const records = [srv('light', 0, 1), srv('heavy', 0, 3)];
    // A fixed sequence of dice instead of Math.random: the running sums are 1 and 4, picks 0..3.
    const firsts = { light: 0, heavy: 0 };
    for (let i = 0; i < 1000; i++) {
      const first = orderSrv(records, () => (i % 1000) / 1000)[0]!.name as 'light' | 'heavy';
      firsts[first]++;
    }
    // pick = floor(u * 4): 0 lands on light (sum 1 > 0), 1..3 on heavy: 250 and 750.
    assert.deepEqual(firsts, { light: 250, heavy: 750 });
    assert.equal(orderSrv(records, () => 0.5).length, 2, 'every record is drawn, none twice');
  });

  it('weight 0 records come after the weighted ones of their priority; a "." target is left out', () => {
    const records = [srv('zero', 0, 0), srv('one', 0, 10), srv('.', 0, 50), srv('two', 0, 10)];
    for (const dice of [0, 0.5, 0.999]) {
      const order = orderSrv(records, () => dice).map((r) => r.name);
      assert.equal(order.length, 3);
      assert.equal(order[2], 'zero');
    }
    assert.deepEqual(
      orderSrv([srv('b', 0, 0), srv('a', 0, 0)]).map((r) => r.name),
      ['b', 'a'],
      'all weights 0: as DNS gave them',
    );
  });
});

describe('DcLocator', () => {
  it('resolves each target with the same servers; keeps the answer for refreshMs, then asks again in the background', async () => {
    const resolver = new FakeResolver();
    resolver.answers = [srv('dc1.example.test', 0, 100), srv('dc2.example.test', 10, 100)];
    resolver.addresses.set('dc1.example.test', '10.0.0.1');
    const clock = { now: 0 };
    const l = locator(resolver, clock);
    const found = await l.locate();
    assert.deepEqual(
      found.map((dc) => [dc.host, dc.address, dc.port]),
      [
        ['dc1.example.test', '10.0.0.1', 389],
        ['dc2.example.test', 'dc2.example.test', 389],
      ],
      'a target without an A record is dialled by name (the system resolver, hosts file)',
    );
    clock.now = 599_999;
    await l.locate();
    assert.equal(resolver.srvQueries, 1, 'within refreshMs: no new look-up');
    clock.now = 600_000;
    resolver.answers = [srv('dc3.example.test', 0, 100)];
    const stale = await l.locate();
    assert.equal(stale[0]!.host, 'dc1.example.test', 'the expired answer serves while DNS is asked');
    assert.equal(resolver.srvQueries, 2);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal((await l.locate())[0]!.host, 'dc3.example.test', 'then the new answer');
  });

  it('asks DNS again after a failure, at most once per requeryAfterMs, and keeps the last answer when DNS fails', async () => {
    const resolver = new FakeResolver();
    resolver.answers = [srv('dc1.example.test', 0, 100)];
    const clock = { now: 0 };
    const l = locator(resolver, clock);
    await l.locate();
    l.failed();
    clock.now = 1000;
    await l.locate();
    assert.equal(resolver.srvQueries, 1, 'too soon after the last look-up');
    clock.now = 5000;
    resolver.answers = [srv('dc2.example.test', 0, 100)];
    assert.equal((await l.locate())[0]!.host, 'dc2.example.test', 'the caller waits for the fresh answer');
    assert.equal(resolver.srvQueries, 2);
    l.failed();
    clock.now = 10_000;
    resolver.answers = Object.assign(new Error('queryFailed'), { code: 'ESERVFAIL' });
    assert.equal((await l.locate())[0]!.host, 'dc2.example.test', 'DNS failed: the last answer stays');
  });

  it('nothing known and DNS fails or stays silent: 503 ERR_NTLM_DC_NOT_FOUND, within the timeout', async () => {
    const resolver = new FakeResolver();
    resolver.answers = Object.assign(new Error('queryFailed'), { code: 'ENOTFOUND' });
    const clock = { now: 0 };
    await assert.rejects(locator(resolver, clock).locate(), (error) => {
      assert.ok(isNtlmError(error));
      assert.equal(error.code, 'ERR_NTLM_DC_NOT_FOUND');
      assert.equal(error.statusCode, 503);
      assert.match(error.message, /ENOTFOUND/);
      return true;
    });
    resolver.answers = [];
    await assert.rejects(locator(resolver, clock).locate(), { code: 'ERR_NTLM_DC_NOT_FOUND' });
    resolver.answers = 'silent';
    await assert.rejects(locator(resolver, clock, 50).locate(), (error: Error) => {
      assert.match(error.message, /ETIMEOUT/);
      return true;
    });
    assert.equal(resolver.cancelled, 1, 'the silent query is cancelled');
  });

  it('after a failed look-up, a caller arriving while the next one runs waits for it', async () => {
    const resolver = new FakeResolver();
    resolver.answers = Object.assign(new Error('queryFailed'), { code: 'ETIMEOUT' });
    const clock = { now: 0 };
    const l = locator(resolver, clock);
    await assert.rejects(l.locate(), { code: 'ERR_NTLM_DC_NOT_FOUND' });
    clock.now = 5000;
    resolver.answers = [srv('dc1.example.test', 0, 100)];
    const first = l.locate();
    clock.now = 5001; // too soon for a look-up of its own, but one is under way
    const second = l.locate();
    assert.equal((await second)[0]!.host, 'dc1.example.test');
    assert.equal((await first)[0]!.host, 'dc1.example.test');
    assert.equal(resolver.srvQueries, 2);
  });

  it('concurrent callers share one look-up', async () => {
    const resolver = new FakeResolver();
    resolver.answers = [srv('dc1.example.test', 0, 100)];
    const l = locator(resolver, { now: 0 });
    await Promise.all([l.locate(), l.locate(), l.locate()]);
    assert.equal(resolver.srvQueries, 1);
  });
});

describe('FoundDcs: the selector follows DNS', () => {
  it('every DC found is down: DNS is asked again and the new DCs are tried', async () => {
    const resolver = new FakeResolver();
    resolver.answers = [srv('dc1.example.test', 0, 100)];
    const clock = { now: 0 };
    const l = new DcLocator('_ldap._tcp.dc._msdcs.example.test', {
      timeoutMs: 1000,
      refreshMs: 600_000,
      requeryAfterMs: 0,
      resolver,
      now: () => clock.now,
    });
    const selector = new DcSelector(new Map([['EXAMPLE', []]]), { downtimeMs: 30_000, trialTimeoutMs: 5000 });
    const known: string[] = [];
    selector.observe({ dcKnown: (dc) => known.push(dc), dcDown() {}, dcUp() {}, dcLatency() {} });
    const found = new FoundDcs(l, selector, 'EXAMPLE', (dc) => `ldap://${dc.address}:${dc.port}`);
    assert.deepEqual(await found.candidates(), ['ldap://dc1.example.test:389']);
    selector.markDown('ldap://dc1.example.test:389');
    resolver.answers = [srv('dc2.example.test', 0, 100)];
    assert.deepEqual(await found.candidates(), ['ldap://dc2.example.test:389'], 'found again in DNS');
    assert.equal(resolver.srvQueries, 2);
    assert.deepEqual(known, ['ldap://dc1.example.test:389', 'ldap://dc2.example.test:389']);
  });
});

describe("'auto' options", () => {
  it('netlogon({ dcs: "auto" }) needs the DNS domain: no guess', () => {
    assert.throws(
      () => netlogon({ domain: 'EXAMPLE', dcs: 'auto', machineAccount: 'WEB01$', machinePassword: 'x' }),
      { code: 'ERR_NTLM_CONFIG_MISSING', option: 'netlogon().dnsDomain' },
    );
  });

  it('domainController needs a DNS name per auto domain; dns options are checked', () => {
    assert.throws(() => domainController({ domains: { EXAMPLE: 'auto' } }), {
      code: 'ERR_NTLM_CONFIG_MISSING',
    });
    assert.throws(
      () => domainController({ domains: { EXAMPLE: 'auto', CORP: 'auto' }, dnsDomain: 'example.test' }),
      { code: 'ERR_NTLM_CONFIG_MISSING', option: 'domainController().dnsDomain' },
    );
    assert.throws(
      () =>
        domainController({
          domains: { EXAMPLE: 'auto' },
          dnsDomain: 'example.test',
          dns: { servers: ['not an address'] },
        }),
      { option: 'domainController().dns.servers' },
    );
    assert.throws(
      () =>
        domainController({
          domains: { EXAMPLE: 'auto' },
          dnsDomain: 'example.test',
          dns: { timeout: 5 } as never,
        }),
      { code: 'ERR_NTLM_CONFIG_UNKNOWN_OPTION' },
    );
    const ok = domainController({
      domains: { EXAMPLE: 'auto', CORP: ['ldap://dc9.corp.test'] },
      dnsDomain: 'example.test',
    });
    assert.match(ok.name, /EXAMPLE=auto/);
    void ok.close();
  });
});
