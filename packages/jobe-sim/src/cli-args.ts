/** The jobe-sim command line, parsed into JobeSimOptions. */
import { parseArgs } from 'node:util';
import type { JobeSimOptions } from './types.js';

export const USAGE = `Usage: jobe-sim [options]

A simulated Jobe 2.x server (REST API under /jobe/index.php/restapi/, /index.php/restapi/ and /restapi/).

Options:
  --port <n>            port to listen on (default 0: a free one below the ephemeral range)
  --host <addr>         address to listen on (default 127.0.0.1)
  --name <name>         server name, printed by the "#sim server" directive (default jobe-sim-<port>)
  --workers <n>         jobe_max_users: runs at a time (default 16)
  --poll-ms <ms>        wait between tries for a free worker (default 1000)
  --wait-timeout <n>    tries before answering overload (outcome 21) (default 10)
  --run-ms <ms>         how long a run without "#sim sleep" holds its worker (default 0)
  --cputime-limit <s>   cputime_upper_limit_secs (default 120)
  --languages <list>    e.g. python3:3.10.12,c:11.4.0 (default: Jobe's usual eight)
  -h, --help            show this help
`;

function number(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value))
    throw new Error(`--${name} must be a number, got '${text}'`);
  return value;
}

function languages(text: string | undefined): Array<[string, string]> | undefined {
  if (text === undefined) return undefined;
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item) => {
      const colon = item.indexOf(':');
      if (colon <= 0) throw new Error(`--languages entries are id:version, got '${item}'`);
      return [item.slice(0, colon), item.slice(colon + 1)] as [string, string];
    });
}

export function parseCliOptions(argv: string[]): JobeSimOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      name: { type: 'string' },
      workers: { type: 'string' },
      'poll-ms': { type: 'string' },
      'wait-timeout': { type: 'string' },
      'run-ms': { type: 'string' },
      'cputime-limit': { type: 'string' },
      languages: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const options: JobeSimOptions = {};
  const set = <K extends keyof JobeSimOptions>(key: K, value: JobeSimOptions[K] | undefined): void => {
    if (value !== undefined) options[key] = value;
  };
  set('port', number('port', values.port));
  set('host', values.host);
  set('name', values.name);
  set('workers', number('workers', values.workers));
  set('pollMs', number('poll-ms', values['poll-ms']));
  set('waitTimeout', number('wait-timeout', values['wait-timeout']));
  set('defaultRunMs', number('run-ms', values['run-ms']));
  set('cputimeUpperLimit', number('cputime-limit', values['cputime-limit']));
  set('languages', languages(values.languages));
  return options;
}
