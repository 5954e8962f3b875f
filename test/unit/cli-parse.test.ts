// The command line's one flag table and one parser, for every command: which flags each takes,
// aliases, choices, and help that reads nothing else.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FLAGS, flagsOf } from '../../src/cli/flags.js';
import { doctorHelp, gatewayHelp, topHelp } from '../../src/cli/help.js';
import { readSettings } from '../../src/cli/parse.js';
import { UsageError } from '../../src/cli/usage-error.js';

const usage = (run: () => unknown, message: RegExp) =>
  assert.throws(run, (error: unknown) => error instanceof UsageError && message.test(error.message));

describe('the CLI flag table and parser', () => {
  test('one table: the doctor takes every gateway flag and its own --timeout; the bare command only -h and -v', () => {
    const names = (command: Parameters<typeof flagsOf>[0]) => flagsOf(command).map((spec) => spec.name);
    assert.equal(new Set(FLAGS.map((spec) => spec.name)).size, FLAGS.length, 'no flag twice');
    assert.deepEqual(
      names('doctor').filter((name) => !names('gateway').includes(name)),
      ['timeout'],
    );
    assert.deepEqual(
      names('gateway').filter((name) => !names('doctor').includes(name)),
      [],
    );
    assert.deepEqual(names('ntlm-sso'), ['help', 'version']);
    usage(() => readSettings('gateway', ['--timeout', '3s'], {}), /Unknown option '--timeout'/);
    usage(() => readSettings('ntlm-sso', ['--upstream', 'http://x'], {}), /Unknown option '--upstream'/);
    assert.equal(readSettings('doctor', ['--timeout', '750ms'], {}).timeout, 750);
  });

  test('-h and -v are --help and --version on every command, and help reads no variable or file', () => {
    for (const command of ['ntlm-sso', 'gateway', 'doctor'] as const) {
      for (const flag of ['-h', '--help'])
        assert.deepEqual(
          readSettings(command, [flag], { NTLM_SSO_MAX_REQUESTS: 'many', NTLM_SSO_CONFIG: '/missing.json' }),
          { help: true },
        );
      assert.deepEqual(readSettings(command, ['-v'], {}), { version: true });
    }
    // --help and --version are not settings: no variable turns them on.
    assert.deepEqual(readSettings('gateway', [], { NTLM_SSO_HELP: 'true', NTLM_SSO_VERSION: '1' }), {});
    for (const help of [gatewayHelp('1.2.3'), doctorHelp('1.2.3'), topHelp('1.2.3')])
      assert.match(help, /^ {2}-h, --help +show this help$/m);
    assert.match(doctorHelp('1.2.3'), /^ {2}--timeout TIME +longest wait/m);
    assert.doesNotMatch(gatewayHelp('1.2.3'), /--timeout/);
  });

  test('a flag with choices takes only those, from a flag, a variable or the config file', () => {
    assert.equal(readSettings('gateway', ['--mode', 'pass-through'], {}).mode, 'pass-through');
    usage(
      () => readSettings('gateway', ['--mode', 'proxy'], {}),
      /^--mode must be "header" or "pass-through", got "proxy"$/,
    );
    usage(
      () => readSettings('gateway', [], { NTLM_SSO_EXTENDED_PROTECTION: 'on' }),
      /^NTLM_SSO_EXTENDED_PROTECTION: --extended-protection must be "off", "allow" or "require", got "on"$/,
    );
    usage(() => readSettings('doctor', ['--debug', '3'], {}), /--debug must be "0", "1" or "2"/);
  });

  test('numbers and times: the syntax here, the range in the library', () => {
    assert.equal(readSettings('gateway', ['--max-connections', '0'], {})['max-connections'], 0);
    assert.equal(readSettings('gateway', ['--idle-timeout', '0'], {})['idle-timeout'], 0);
    usage(() => readSettings('gateway', ['--max-connections', 'many'], {}), /positive whole number/);
    usage(() => readSettings('gateway', ['--max-connections', ''], {}), /positive whole number/);
    usage(() => readSettings('gateway', ['--idle-timeout', 'soon'], {}), /must be a time/);
  });
});
