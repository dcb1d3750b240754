import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { tuneHeapForGateway } from '@jobe-balancer/core/heap-settings';
import { parseCliArgs, USAGE } from './args.js';
import { checkBackends, formatChecks } from './check.js';
import type { ResolvedConfig } from './config.js';
import { ConfigError } from './errors.js';
import type { Gateway } from './gateway.js';
import { formatHost } from './host.js';
import { loadConfig } from './load.js';
import { createJsonLogger } from './logger.js';

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_CONFIG = 2;

const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const printError = (line: string): void => {
  process.stderr.write(`jobe-balancer: ${line}\n`);
};

function version(): string {
  // dist/cli.js and src/cli.ts both sit one level below the package root.
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** What an admin types into CodeRunner's jobe_host: CodeRunner appends `/jobe/index.php/restapi` itself. */
function jobeHostHint(config: ResolvedConfig, port: number): string {
  const host = config.host === '0.0.0.0' || config.host === '::' ? hostname() : formatHost(config.host);
  if (config.basePath === '/' || config.basePath === '/jobe') {
    return `Set CodeRunner's jobe_host to ${host}:${port}`;
  }
  if (config.basePath.endsWith('/jobe')) {
    return `Set CodeRunner's jobe_host to ${host}:${port}${config.basePath.slice(0, -'/jobe'.length)}`;
  }
  return `CodeRunner always requests <jobe_host>/jobe/index.php/restapi/...; basePath ${config.basePath} does not end in /jobe, so put a proxy in front that maps it`;
}

async function runCheck(config: ResolvedConfig): Promise<number> {
  const checks = await checkBackends(config);
  for (const line of formatChecks(checks)) print(line);
  const failed = checks.filter((check) => !check.ok);
  if (failed.length === 0) {
    print(`check passed: configuration valid, ${checks.length} of ${checks.length} backends answered`);
    return EXIT_OK;
  }
  printError(`check failed: ${failed.map((check) => `backend "${check.name}"`).join(', ')} did not answer`);
  return EXIT_FAILURE;
}

async function serve(config: ResolvedConfig): Promise<number | undefined> {
  // The process is the gateway's alone: keep V8's heap near what it holds. Before the core is loaded,
  // while the young generation is still small.
  tuneHeapForGateway();
  let gateway: Gateway | undefined;
  let stopSignal: NodeJS.Signals | undefined;
  const shutDown = (running: Gateway, signal: NodeJS.Signals): void => {
    print(`${signal} received: shutting down gracefully (send it again to exit at once)`);
    running.close({ onStep: print }).then(
      () => {
        print('shutdown complete');
        process.exit(EXIT_OK);
      },
      (error: unknown) => {
        printError(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(EXIT_FAILURE);
      },
    );
  };
  // Installed before anything is printed, so that a signal right after the start line cannot kill the process.
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopSignal !== undefined) {
      print(`${signal} received again: exiting at once`);
      process.exit(EXIT_FAILURE);
    }
    stopSignal = signal;
    if (gateway !== undefined) shutDown(gateway, signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    // Loaded only to serve: --help, --version and --check do not need the core.
    const { startGateway } = await import('./gateway.js');
    gateway = await startGateway(config, { logger: createJsonLogger({ level: config.logLevel }) });
  } catch (error) {
    printError(`cannot start: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_FAILURE;
  }
  const { port } = gateway.server.address() as AddressInfo;
  const count = config.backends.length;
  const base = config.basePath === '/' ? '' : config.basePath;
  print(
    `jobe-balancer listening on http://${formatHost(config.host)}:${port}${base} (${count} backend${count === 1 ? '' : 's'})`,
  );
  print(jobeHostHint(config, port));
  // A signal that came while the gateway was starting.
  if (stopSignal !== undefined) shutDown(gateway, stopSignal);
  return undefined;
}

async function main(argv: readonly string[]): Promise<number | undefined> {
  let config: ResolvedConfig;
  try {
    const args = parseCliArgs(argv);
    if (args.help) {
      print(USAGE);
      return EXIT_OK;
    }
    if (args.version) {
      print(version());
      return EXIT_OK;
    }
    config = await loadConfig({ argv, env: process.env });
    if (args.check) return await runCheck(config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    printError(error.message);
    return EXIT_CONFIG;
  }
  return serve(config);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (error: unknown) => {
    printError(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = EXIT_FAILURE;
  },
);
