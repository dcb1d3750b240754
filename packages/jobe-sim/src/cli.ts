import { parseCliOptions, USAGE } from './cli-args.js';
import { startJobeSim } from './server.js';
import type { JobeSimOptions } from './types.js';

async function main(): Promise<void> {
  let options: JobeSimOptions | 'help';
  try {
    options = parseCliOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`jobe-sim: ${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const sim = await startJobeSim(options);
  process.stdout.write(`jobe-sim ${sim.name} listening on ${sim.url}\n`);
  const stop = (): void => {
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`jobe-sim: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
