// Issue 18, item 8: the machine password file is read again when the DC refuses the machine
// account, so that a rotated password, written beside and renamed over, is picked up.
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MachinePassword, type MachinePasswordReread } from '../../src/netlogon/machine-password.js';
import { ntowfv1 } from '../../src/ntlm/crypto.js';

const dir = mkdtempSync(join(tmpdir(), 'machine-password-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('MachinePassword', () => {
  it('reads a file replaced atomically again, says whether it changed, and keeps the old one when unreadable', async () => {
    const file = join(dir, 'web01');
    writeFileSync(file, 'first-password\n');
    const events: MachinePasswordReread[] = [];
    const password = new MachinePassword({ file }, (event) => events.push(event));
    assert.deepEqual(await password.ntHash, await ntowfv1('first-password'));

    assert.equal(await password.reread(), false);
    writeFileSync(`${file}.new`, 'second-password\n');
    renameSync(`${file}.new`, file);
    const [one, two] = await Promise.all([password.reread(), password.reread()]);
    assert.deepEqual([one, two], [true, true], 'concurrent callers share one read');
    assert.deepEqual(await password.ntHash, await ntowfv1('second-password'));

    rmSync(file);
    assert.equal(await password.reread(), false);
    assert.deepEqual(await password.ntHash, await ntowfv1('second-password'));
    assert.deepEqual(
      events.map(({ changed, error }) => [changed, error !== undefined]),
      [
        [false, false],
        [true, false],
        [false, true],
      ],
    );
  });

  it('a password given as a string has nothing to read again', async () => {
    const password = new MachinePassword({ password: 'given' });
    assert.equal(await password.reread(), false);
  });

  it('refuses an empty or missing file at start-up', () => {
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    assert.throws(() => new MachinePassword({ file: empty }), /is empty/);
    assert.throws(
      () => new MachinePassword({ file: join(dir, 'missing') }),
      /cannot read machinePasswordFile/,
    );
  });
});
