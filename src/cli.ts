#!/usr/bin/env node
// `ntlm-sso gateway ...`: the command-line front of createGateway(). Exit codes: 0 after a clean
// shutdown, 1 when the gateway cannot start or stops on an error, 2 for a command-line mistake.
// `ntlm-sso doctor ...`: the same settings, checked (src/doctor/). Exit codes: 0 when every check
// passes, 1 when one fails, 2 for a command-line mistake.
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { runWorkers } from './cluster/run-workers.js';
import { announceReady, onShutdownRequest, workerRole } from './cluster/worker-role.js';
import { planDoctor } from './doctor/plan.js';
import { runDoctor } from './doctor/run-doctor.js';
import { doctorHelp, readDoctorSettings } from './doctor/settings.js';
import { ConfigurationError } from './errors.js';
import { helpText, readSettings, UsageError } from './gateway/cli-settings.js';
import { createGateway } from './gateway/gateway.js';
import { gatewayLogger } from './gateway/gateway-logger.js';
import { planGateway } from './gateway/settings-to-options.js';

function packageVersion(): string {
  try {
    const url = new URL('../package.json', import.meta.url);
    return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

async function gateway(argv: readonly string[]): Promise<void> {
  const settings = readSettings(argv, process.env);
  if (settings.help) {
    process.stdout.write(helpText(packageVersion()));
    return;
  }
  if (settings.version) {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  const workers = (settings.workers as number | undefined) ?? 1;
  if (workers > 1 && cluster.isPrimary) {
    const format = settings['log-format'];
    const logger = gatewayLogger(format === 'json' || format === 'pretty' ? format : 'auto', 0);
    process.exit(await runWorkers(workers, logger));
  }
  const role = workerRole();
  const plan = planGateway(settings);
  const instance = createGateway(plan.options);
  const address = await instance.listen(plan.listen.port, plan.listen.host);
  const scheme = plan.options.tls ? 'https' : 'http';
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  // Through the gateway's logger, so that a JSON log stays JSON from its first line.
  const logger = plan.options.logger!;
  // Before the "listening" line, which scripts (and the tests) wait for.
  const operator = instance.operatorServer?.address();
  // In a cluster, the last worker to start says it for all (the primary starts them in turn).
  const speaks = !role || role.index === role.count;
  if (speaks && operator && typeof operator === 'object')
    logger.info(
      `ntlm-sso gateway: health, readiness and metrics on http://${operator.family === 'IPv6' ? `[${operator.address}]` : operator.address}:${operator.port}/ only`,
    );
  if (speaks)
    logger.info(
      `ntlm-sso gateway (${instance.mode} mode) listening on ${scheme}://${host}:${address.port}/ ` +
        `→ ${new URL(plan.options.upstream).origin}; ${plan.source}${role ? `; ${role.count} workers` : ''}`,
    );
  if (role) announceReady();

  let stopping = false;
  const stop = (signal: string) => {
    // A worker hears of a shutdown twice (a terminal's SIGINT and the primary's request): once is enough.
    if (stopping && role) return;
    if (stopping) {
      process.stderr.write(`ntlm-sso gateway: ${signal} again, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    logger.info(`ntlm-sso gateway: ${signal}, finishing in-flight requests`);
    instance.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`ntlm-sso gateway: shutdown failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (role) onShutdownRequest(stop);
}

/** Runs the checks and resolves with the exit code. */
async function doctor(argv: readonly string[]): Promise<number> {
  const settings = readDoctorSettings(argv, process.env);
  if (settings.help) {
    process.stdout.write(doctorHelp(packageVersion()));
    return 0;
  }
  const plan = planDoctor(settings, process.env);
  const { failed } = await runDoctor(plan, (line) => process.stdout.write(`${line}\n`));
  return failed === 0 ? 0 : 1;
}

let command: string | undefined;

async function main(argv: readonly string[]): Promise<void> {
  const rest = argv.slice(1);
  command = argv[0];
  if (command === 'gateway') return gateway(rest);
  if (command === 'doctor') {
    // Exit at once: a check's half-closed socket must not keep the process (or the shell) waiting.
    process.exit(await doctor(rest));
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(helpText(packageVersion()));
    process.stdout.write(
      '\nntlm-sso doctor [the same settings]: checks them before users do (ntlm-sso doctor --help).\n',
    );
    return;
  }
  throw new UsageError(`unknown command ${JSON.stringify(command)}: the commands are "gateway" and "doctor"`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError || error instanceof ConfigurationError) {
    // A configuration mistake names its code, so that scripts and searches can tell them apart.
    const code = error instanceof ConfigurationError ? ` [${error.code}]` : '';
    process.stderr.write(
      `ntlm-sso: ${(error as Error).message}${code}\nRun "ntlm-sso ${command === 'doctor' ? 'doctor' : 'gateway'} --help" for the options.\n`,
    );
    process.exit(2);
  }
  const code = (error as NodeJS.ErrnoException).code;
  process.stderr.write(`ntlm-sso: cannot start: ${(error as Error).message}${code ? ` (${code})` : ''}\n`);
  process.exit(1);
});
