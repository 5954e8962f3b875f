import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigurationError, type NetlogonOptions, netlogon } from '../../src/index.js';

const valid: NetlogonOptions = {
  domain: 'EXAMPLE',
  dcs: ['dc1.example.test', 'dc2.example.test:49152'],
  machineAccount: 'WEB01$',
  machinePassword: 'secret',
};

function refused(overrides: Partial<NetlogonOptions> | Record<string, unknown>, message: RegExp) {
  assert.throws(
    () => netlogon({ ...valid, ...overrides } as NetlogonOptions),
    (error: unknown) => error instanceof ConfigurationError && message.test(error.message),
  );
}

describe('netlogon() options', () => {
  it('accepts a valid configuration and names its DCs', async () => {
    const verifier = netlogon(valid);
    assert.equal(verifier.name, 'netlogon://dc1.example.test,dc2.example.test:49152');
    await verifier.close();
    assert.equal(netlogon({ ...valid, machineAccount: 'web01' }).name.startsWith('netlogon://'), true);
  });

  it('says what to do with each wrong option', () => {
    refused({ domain: '' }, /NetBIOS domain name/);
    refused({ domain: 'A-DOMAIN-NAME-TOO-LONG' }, /NetBIOS domain name/);
    refused({ machineAccount: 'WEB$01$' }, /computer account name such as WEB01\$/);
    refused({ machineAccount: undefined }, /computer account name/);
    refused({ dcs: [] }, /at least one domain controller/);
    refused({ dcs: ['dc1:99999'] }, /not host or host:port/);
    refused({ dcs: ['ldap://dc1'] }, /not host or host:port/);
    refused({ dcs: ['dc1', 'dc1'] }, /listed twice/);
    refused({ machinePassword: undefined }, /exactly one of machinePassword or machinePasswordFile/);
    refused({ machinePasswordFile: '/etc/hostname' }, /exactly one/);
    refused({ machinePassword: undefined, machinePasswordFile: '/nonexistent/file' }, /cannot read/);
    refused({ callTimeoutMs: 0 }, /callTimeoutMs must be a positive integer/);
    refused({ maxChannelsPerDc: 1.5 }, /maxChannelsPerDc/);
    refused({ downtimeMs: '30s' }, /netlogon\(\): downtimeMs must be a positive integer, got "30s"/);
    refused({ connectTimeoutMs: -5 }, /connectTimeoutMs must be a positive integer, got -5/);
    refused({ queueTimeoutMs: Number.NaN }, /queueTimeoutMs must be a positive integer/);
    refused({ maxQueuedLogons: 0 }, /maxQueuedLogons must be a positive integer, got 0/);
    refused({ maxClockSkewMs: '5m' }, /maxClockSkewMs must be a positive integer, got "5m"/);
  });

  it('reads the machine password from a file, without its trailing newline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netlogon-'));
    writeFileSync(join(dir, 'password'), 'from-a-file\n');
    writeFileSync(join(dir, 'empty'), '\n');
    const verifier = netlogon({
      ...valid,
      machinePassword: undefined,
      machinePasswordFile: join(dir, 'password'),
    });
    await verifier.close();
    refused({ machinePassword: undefined, machinePasswordFile: join(dir, 'empty') }, /is empty/);
  });
});
