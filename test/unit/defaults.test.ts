// One home for defaults (issue 10): the README's option tables show what DEFAULTS holds, so a
// default changed in code and not in the docs (or the other way round) fails here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DEFAULTS } from '../../src/defaults.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The rows of the README table whose header's first cell is `header`: option → default cell. */
function table(header: string): Map<string, string> {
  const lines = README.split('\n');
  const start = lines.findIndex((line) => line.startsWith(`| ${header} |`));
  assert.ok(start >= 0, `README has a table headed ${header}`);
  const rows = new Map<string, string>();
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const [, option = '', defaultCell = ''] = line.split('|').map((cell) => cell.trim());
    const name = /^`(\w+)`$/.exec(option)?.[1];
    if (name) rows.set(name, defaultCell);
  }
  return rows;
}

/** How the README writes a default: numbers, switches and strings in backticks, strings quoted in the ntlm() table. */
function shown(value: string | number | boolean, quoted: boolean): string {
  return typeof value !== 'string' ? `\`${value}\`` : quoted ? `\`'${value}'\`` : `\`${value}\``;
}

function check(
  header: string,
  defaults: Record<string, string | number | boolean>,
  quoted: boolean,
  names: string[],
) {
  const rows = table(header);
  for (const name of names) {
    assert.equal(rows.get(name), shown(defaults[name]!, quoted), `${header}: ${name}`);
  }
}

describe('DEFAULTS and the README agree', () => {
  it('ntlm() options', () => {
    check('option', DEFAULTS.ntlm, true, [
      'usernameFormat',
      'otherSchemes',
      'maxPendingHandshakes',
      'handshakeTimeoutMs',
      'maxConnections',
      'connectionIdleTimeoutMs',
      'maxConnectionAgeMs',
      'maxRequestsPerConnection',
      'debug',
      'allowComputerAccounts',
      'basic',
    ]);
  });

  it('domainController(), netlogon() and localDirectory() options', () => {
    check('`domainController` option', DEFAULTS.domainController, false, [
      'connectTimeoutMs',
      'operationTimeoutMs',
      'downtimeMs',
      'maxConcurrentOperations',
    ]);
    assert.equal(
      table('`domainController` option').get('cache'),
      `\`{ ttlSeconds: ${DEFAULTS.domainController.cacheTtlSeconds} }\``,
    );
    check('`netlogon` option', DEFAULTS.netlogon, false, [
      'connectTimeoutMs',
      'callTimeoutMs',
      'maxChannelsPerDc',
      'queueTimeoutMs',
      'downtimeMs',
      'maxClockSkewMs',
    ]);
    check('`localDirectory` option', DEFAULTS.localDirectory, false, ['maxClockSkewMs']);
    check('`dns` option', DEFAULTS.dcDns, false, ['timeoutMs', 'refreshMs']);
  });

  it('bearer options', () => {
    check('`bearer` option', DEFAULTS.bearer, false, ['expiresInSeconds', 'jwksPath']);
  });
});
