#!/usr/bin/env node
// `ntlm-sso gateway ...`: the command-line front of createGateway(). Exit codes: 0 after a clean
// shutdown, 1 when the gateway cannot start or stops on an error, 2 for a command-line mistake.
// `ntlm-sso doctor ...`: the same settings, checked (src/doctor/). Exit codes: 0 when every check
// passes, 1 when one fails, 2 for a command-line mistake.
// Every command reads its settings with one parser from one flag table (flags.ts, parse.ts);
// what the library checks (ranges, required options, files it reads) it checks itself, and its
// ConfigurationError reaches the user as exit code 2 with its code.
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { runWorkers } from '../cluster/run-workers.js';
import { announceReady, onShutdownRequest, workerRole } from '../cluster/worker-role.js';
import { runDoctor } from '../doctor/run-doctor.js';
import { ConfigurationError } from '../errors.js';
import { createGateway } from '../gateway/gateway.js';
import { gatewayLogger } from '../gateway/gateway-logger.js';
import { planDoctor } from './doctor-plan.js';
import type { Command } from './flags.js';
import { planGateway } from './gateway-plan.js';
import { helpFor } from './help.js';
import { readSettings, type Settings } from './parse.js';
import { UsageError } from './usage-error.js';

function packageVersion(): string {
  try {
    // dist/cli.js, next to the package's own package.json one folder up.
    const url = new URL('../package.json', import.meta.url);
    return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** -h/--help and -v/--version, which every command takes: true when one was answered. */
function answeredHelp(command: Command, settings: Settings): boolean {
  if (settings.help) process.stdout.write(helpFor(command, packageVersion()));
  else if (settings.version) process.stdout.write(`${packageVersion()}\n`);
  return settings.help === true || settings.version === true;
}

async function gateway(argv: readonly string[]): Promise<void> {
  const settings = readSettings('gateway', argv, process.env);
  if (answeredHelp('gateway', settings)) return;
  const workers = (settings.workers as number | undefined) ?? 1;
  // How many processes is the command line's own business: no option of the library takes it.
  if (workers < 1) throw new UsageError(`--workers must be a positive whole number, got ${workers}`);
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
  const settings = readSettings('doctor', argv, process.env);
  if (answeredHelp('doctor', settings)) return 0;
  const plan = planDoctor(settings);
  const { failed } = await runDoctor(plan, (line) => process.stdout.write(`${line}\n`));
  return failed === 0 ? 0 : 1;
}

/** The subcommand, once known: error lines name it. */
let command: Exclude<Command, 'ntlm-sso'> | undefined;

async function main(argv: readonly string[]): Promise<void> {
  const [first, ...rest] = argv;
  if (first === 'gateway' || first === 'doctor') command = first;
  if (command === 'gateway') return gateway(rest);
  if (command === 'doctor') {
    // Exit at once: a check's half-closed socket must not keep the process (or the shell) waiting.
    process.exit(await doctor(rest));
  }
  if (first === 'help') {
    const about = rest[0] === 'gateway' || rest[0] === 'doctor' ? rest[0] : 'ntlm-sso';
    process.stdout.write(helpFor(about, packageVersion()));
    return;
  }
  if (first !== undefined && !first.startsWith('-'))
    throw new UsageError(`unknown command ${JSON.stringify(first)}: the commands are "gateway" and "doctor"`);
  // No command: -h/--help and -v/--version only; bare `ntlm-sso` shows the help too.
  const settings = readSettings('ntlm-sso', argv, process.env);
  if (!answeredHelp('ntlm-sso', settings)) process.stdout.write(helpFor('ntlm-sso', packageVersion()));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError || error instanceof ConfigurationError) {
    // One line; a configuration mistake names its code, so that scripts and searches can tell them apart.
    const code = error instanceof ConfigurationError ? ` [${error.code}]` : '';
    const name = `ntlm-sso${command ? ` ${command}` : ''}`;
    // The library names its own function (`gateway: upstream is required`): not twice.
    const message = command ? error.message.replace(new RegExp(`^${command}: `), '') : error.message;
    process.stderr.write(`${name}: ${message}${code} (${name} --help lists the options)\n`);
    process.exit(2);
  }
  const code = (error as NodeJS.ErrnoException).code;
  process.stderr.write(`ntlm-sso: cannot start: ${(error as Error).message}${code ? ` (${code})` : ''}\n`);
  process.exit(1);
});
