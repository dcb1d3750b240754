import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.js';
import { loadConfig } from '../src/load.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jobe-balancer-cli-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

async function problems(input: Parameters<typeof loadConfig>[0]): Promise<ConfigError> {
  try {
    const config = await loadConfig(input);
    throw new Error(`expected a ConfigError, got ${JSON.stringify(config)}`);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error;
  }
}

const YAML_CONFIG = `# jobe-balancer test config
port: 1111
backends:
  - name: file1
    url: http://jobe-file:80
    apiKey: k1
    maxConcurrent: 4
admin:
  token: from-file
  publicStatus: true
queue:
  timeoutMs: 45000
`;

describe('loadConfig precedence: flags > env > file > defaults', () => {
  it('takes the defaults when nothing else says otherwise', async () => {
    const config = await loadConfig({ argv: ['--backend', 'http://a'], env: {} });
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      basePath: '/jobe',
      shutdownTimeoutMs: 30000,
    });
  });

  it('file beats defaults', async () => {
    const path = await file('precedence.yaml', YAML_CONFIG);
    const config = await loadConfig({ argv: ['--config', path], env: {} });
    expect(config.port).toBe(1111);
    expect(config.backends).toEqual([
      { name: 'file1', url: 'http://jobe-file:80', apiKey: 'k1', maxConcurrent: 4 },
    ]);
    expect(config.admin).toEqual({ token: 'from-file', publicStatus: true });
    expect(config.queue).toEqual({ timeoutMs: 45000 });
  });

  it('env beats the file', async () => {
    const path = await file('precedence-env.yaml', YAML_CONFIG);
    const config = await loadConfig({
      argv: [],
      env: {
        JOBE_BALANCER_CONFIG: path,
        JOBE_BALANCER_PORT: '2222',
        JOBE_BALANCER_BACKENDS: 'http://env-a, envb=env-b:8080',
        JOBE_BALANCER_ADMIN_TOKEN: 'from-env',
      },
    });
    expect(config.port).toBe(2222);
    expect(config.backends).toEqual([
      { name: 'jobe1', url: 'http://env-a' },
      { name: 'envb', url: 'env-b:8080' },
    ]);
    // The token is replaced; the rest of the file's admin section stays.
    expect(config.admin).toEqual({ token: 'from-env', publicStatus: true });
  });

  it('flags beat env and file', async () => {
    const path = await file('precedence-flags.yaml', YAML_CONFIG);
    const config = await loadConfig({
      argv: [
        '--config',
        path,
        '--port',
        '3333',
        '--host',
        '127.0.0.1',
        '--backend',
        'http://flag-a',
        '--backend',
        'flagb=http://flag-b',
        '--admin-token',
        'from-flag',
        '--max-concurrent',
        '24',
        '--log-level',
        'warn',
        '--redis',
        'redis://127.0.0.1:6379',
      ],
      env: {
        JOBE_BALANCER_PORT: '2222',
        JOBE_BALANCER_BACKENDS: 'http://env-a',
        JOBE_BALANCER_ADMIN_TOKEN: 'env',
      },
    });
    expect(config).toMatchObject({
      port: 3333,
      host: '127.0.0.1',
      backends: [
        { name: 'jobe1', url: 'http://flag-a' },
        { name: 'flagb', url: 'http://flag-b' },
      ],
      admin: { token: 'from-flag', publicStatus: true },
      maxConcurrent: 24,
      logLevel: 'warn',
      redisUrl: 'redis://127.0.0.1:6379',
      queue: { timeoutMs: 45000 },
    });
  });

  it('--config beats JOBE_BALANCER_CONFIG, and empty variables count as unset', async () => {
    const chosen = await file('chosen.json', JSON.stringify({ backends: ['http://chosen'], port: 4444 }));
    const config = await loadConfig({
      argv: ['--config', chosen],
      env: { JOBE_BALANCER_CONFIG: join(dir, 'missing.yaml'), JOBE_BALANCER_PORT: '' },
    });
    expect(config.port).toBe(4444);
    expect(config.backends).toEqual([{ name: 'jobe1', url: 'http://chosen' }]);
  });

  it("--enable-batch turns the batch endpoint on and keeps the file's other batch settings", async () => {
    const path = await file(
      'batch.json',
      JSON.stringify({ backends: ['http://b'], batch: { maxShare: 0.25 } }),
    );
    const config = await loadConfig({ argv: ['--config', path, '--enable-batch'], env: {} });
    expect(config.batch).toEqual({ maxShare: 0.25, enabled: true });
    expect((await loadConfig({ argv: ['--config', path], env: {} })).batch).toEqual({ maxShare: 0.25 });
    const bad = await file(
      'bad-batch.json',
      JSON.stringify({ backends: ['http://b'], batch: { maxShare: 2 } }),
    );
    const error = await problems({ argv: ['--config', bad, '--enable-batch'], env: {} });
    expect(error.errors).toEqual(['batch.maxShare: must be a number above 0 and at most 1, got 2']);
  });

  it('resolves a relative config path against cwd', async () => {
    await file('relative.yml', 'backends: [http://rel]\n');
    const config = await loadConfig({ argv: ['--config', 'relative.yml'], env: {}, cwd: dir });
    expect(config.backends).toEqual([{ name: 'jobe1', url: 'http://rel' }]);
  });
});

describe('loadConfig errors', () => {
  it('names the file and line of a YAML syntax error', async () => {
    const tabs = await file('tabs.yaml', 'port: 8080\nbackends:\n\t- http://a\n');
    expect((await problems({ argv: ['--config', tabs], env: {} })).errors).toEqual([
      `${tabs}:3:1: invalid YAML: Tabs are not allowed as indentation`,
    ]);
    const nested = await file(
      'nested.yaml',
      'backends: [http://a]\nqueue:\n  timeoutMs: 1\n    maxLength: 2\n',
    );
    expect((await problems({ argv: ['--config', nested], env: {} })).errors).toEqual([
      `${nested}:3:14: invalid YAML: Nested mappings are not allowed in compact mappings`,
    ]);
  });

  it('names the line of a duplicate YAML key', async () => {
    const path = await file('duplicate.yaml', 'backends: [http://a]\nport: 1\nport: 2\n');
    const error = await problems({ argv: ['--config', path], env: {} });
    expect(error.errors[0]).toMatch(/duplicate\.yaml:3:1: invalid YAML: Map keys must be unique/);
  });

  it('names the file and line of a JSON syntax error', async () => {
    const path = await file('broken.json', '{\n  "backends": ["http://a"],\n  "port": 80,\n}\n');
    const error = await problems({ argv: ['--config', path], env: {} });
    expect(error.errors[0]).toMatch(/broken\.json:4:1: invalid JSON: /);
  });

  it('names a missing file, an empty one and an unsupported type', async () => {
    const missing = join(dir, 'nope.yaml');
    expect((await problems({ argv: ['--config', missing], env: {} })).errors[0]).toMatch(
      `${missing}: cannot read the config file (ENOENT`,
    );
    const empty = await file('empty.yaml', '\n');
    expect((await problems({ argv: ['--config', empty], env: {} })).errors).toEqual([
      `${empty}: the config file is empty`,
    ]);
    const toml = await file('config.toml', 'port = 1\n');
    expect((await problems({ argv: ['--config', toml], env: {} })).errors).toEqual([
      `${toml}: unsupported config file type ".toml" (use .yaml, .yml or .json)`,
    ]);
  });

  it('says where a bad value came from', async () => {
    const path = await file('bad-values.yaml', 'backends: [http://a]\nqueue:\n  timeoutMs: -1\nbackend: x\n');
    const error = await problems({
      argv: ['--config', path, '--port', 'eighty', '--backend', 'ftp://x', '--max-concurrent', '0'],
      env: { JOBE_BALANCER_ADMIN_TOKEN: ' ' },
    });
    expect(error.errors).toEqual([
      'unknown key "backend" (did you mean "backends"?)',
      'backends[0].url: must be an http(s) URL or host[:port], got "ftp://x" (from --backend)',
      'port: must be an integer from 0 to 65535, got "eighty" (from --port)',
      'maxConcurrent: must be a positive integer, got 0 (from --max-concurrent)',
      'queue.timeoutMs: must be a positive integer, got -1',
    ]);
    expect(error.message).toBe(
      [`invalid configuration (config file ${path}):`, ...error.errors.map((line) => `  - ${line}`)].join(
        '\n',
      ),
    );
  });

  it('names environment variables', async () => {
    const error = await problems({
      argv: [],
      env: { JOBE_BALANCER_PORT: '65536', JOBE_BALANCER_BACKENDS: 'http://a,a b=http://b' },
    });
    expect(error.errors).toEqual([
      'backends[1].name: must match [A-Za-z0-9_.-]+, got "a b" (from JOBE_BALANCER_BACKENDS)',
      'port: must be an integer from 0 to 65535, got 65536 (from JOBE_BALANCER_PORT)',
    ]);
  });

  it('rejects a bad --redis URL and --log-level', async () => {
    const error = await problems({
      argv: ['--backend', 'http://a', '--redis', 'localhost:6379', '--log-level', 'trace'],
      env: {},
    });
    expect(error.errors).toEqual([
      'logLevel: must be one of "debug", "info", "warn", "error", "silent", got "trace" (from --log-level)',
      'redisUrl: must be a redis:// or rediss:// URL, got "localhost:6379" (from --redis)',
    ]);
  });

  it.each([
    [['--backends', 'http://a'], 'unknown option "--backends" (did you mean "--backend"?)'],
    [['--max_concurrent=4'], 'unknown option "--max_concurrent" (did you mean "--max-concurrent"?)'],
    [['http://a'], 'unexpected argument "http://a" (every setting is a --flag; see --help)'],
    [['--port'], '--port: needs a value (e.g. --port=VALUE)'],
    [['--check=yes'], '--check: takes no value'],
  ])('rejects the command line %j', async (argv, message) => {
    const error = await problems({ argv, env: {} });
    expect(error.errors).toEqual([message]);
  });

  it('keeps a file whose top level is not an object from being merged', async () => {
    const path = await file('list.yaml', '- http://a\n- http://b\n');
    const error = await problems({ argv: ['--config', path, '--port', '1'], env: {} });
    expect(error.errors).toEqual(['configuration: must be an object of settings, got an array']);
  });
});
