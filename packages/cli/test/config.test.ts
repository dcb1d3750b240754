import { readFileSync } from 'node:fs';
import { languagesUrl, normaliseBackendUrl } from '@jobe-balancer/core';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../src/config.js';

const one = ['http://jobe1'];

function errorsOf(raw: unknown): string[] {
  const result = parseConfig(raw);
  if (result.ok) throw new Error(`expected errors, got a valid config: ${JSON.stringify(result.config)}`);
  return result.errors;
}

describe('parseConfig rejects bad configs with messages that name the key', () => {
  const cases: Array<[string, unknown, string[]]> = [
    [
      'unknown key, close to a known one',
      { backends: one, backend: 'x' },
      ['unknown key "backend" (did you mean "backends"?)'],
    ],
    ['unknown key, nothing close', { backends: one, zzz: 1 }, ['unknown key "zzz"']],
    [
      'unknown nested key',
      { backends: one, queue: { timeout: 5 } },
      ['unknown key "queue.timeout" (did you mean "queue.timeoutMs"?)'],
    ],
    [
      'snake_case backend key',
      { backends: [{ url: 'http://a', max_concurrent: 4 }] },
      ['unknown key "backends[0].max_concurrent" (did you mean "backends[0].maxConcurrent"?)'],
    ],
    [
      'logger in a file',
      { backends: one, logger: {} },
      ['logger: cannot be set in a config file (use "logLevel" or --log-level)'],
    ],
    ['not an object', ['http://a'], ['configuration: must be an object of settings, got an array']],
    ['null document', null, ['configuration: must be an object of settings, got null']],
    [
      'backends missing',
      {},
      [
        'backends: must list at least one backend (--backend, JOBE_BALANCER_BACKENDS or "backends" in the config file)',
      ],
    ],
    [
      'backends empty',
      { backends: [] },
      [
        'backends: must list at least one backend (--backend, JOBE_BALANCER_BACKENDS or "backends" in the config file)',
      ],
    ],
    [
      'backends not an array',
      { backends: 'http://a' },
      ['backends: must be an array of backends, got "http://a"'],
    ],
    [
      'backend of the wrong type',
      { backends: [42] },
      ['backends[0]: must be a backend object, "url" or "name=url", got 42'],
    ],
    [
      'duplicate backend names',
      { backends: [{ name: 'a', url: 'http://a' }, 'http://b', { name: 'a', url: 'http://c' }] },
      ['backends[2].name: duplicate backend name "a" (also backends[0])'],
    ],
    [
      'duplicate of a default name',
      { backends: ['http://a', 'jobe1=http://b'] },
      ['backends[1].name: duplicate backend name "jobe1" (also backends[0])'],
    ],
    [
      'bad backend name',
      { backends: ['my jobe=http://a'] },
      ['backends[0].name: must match [A-Za-z0-9_.-]+, got "my jobe"'],
    ],
    [
      'backend URL with another scheme',
      { backends: ['http://a', { url: 'ftp://x' }] },
      ['backends[1].url: must be an http(s) URL or host[:port], got "ftp://x"'],
    ],
    [
      'backend URL with a query',
      { backends: ['http://a/?x=1'] },
      ['backends[0].url: must be an http(s) URL or host[:port], got "http://a/?x=1"'],
    ],
    [
      'backend URL with a bad port',
      { backends: ['jobe1:http'] },
      ['backends[0].url: must be an http(s) URL or host[:port], got "jobe1:http"'],
    ],
    [
      'backend URL not a string',
      { backends: [{ url: 80 }] },
      ['backends[0].url: must be an http(s) URL or host[:port], got 80'],
    ],
    ['backend URL missing', { backends: [{ name: 'a' }] }, ['backends[0].url: is required']],
    [
      'negative backend maxConcurrent',
      { backends: [{ url: 'http://a', maxConcurrent: -1 }] },
      ['backends[0].maxConcurrent: must be a positive integer, got -1'],
    ],
    [
      'fractional maxConcurrent',
      { backends: one, maxConcurrent: 1.5 },
      ['maxConcurrent: must be a positive integer, got 1.5'],
    ],
    [
      'maxConcurrent as text',
      { backends: one, maxConcurrent: '16' },
      ['maxConcurrent: must be a positive integer, got "16"'],
    ],
    [
      'bad admin state',
      { backends: [{ url: 'http://a', state: 'down' }] },
      ['backends[0].state: must be one of "ready", "drain", "maint", got "down"'],
    ],
    [
      'huge backend maxConcurrent',
      { backends: [{ url: 'http://a', maxConcurrent: 1e308 }] },
      ['backends[0].maxConcurrent: must be at most 10000, got 1e+308'],
    ],
    [
      'credentials in a backend URL, never repeated',
      { backends: [{ url: 'http://admin:s3cret@a:8080' }] },
      [
        'backends[0].url: must not hold a user name or password (give the key as apiKey; the URL is shown in status and logs)',
      ],
    ],
    [
      'a file: URL without slashes',
      { backends: [{ url: 'file:/etc/passwd' }] },
      ['backends[0].url: must be an http(s) URL or host[:port], got "file:/etc/passwd"'],
    ],
    [
      'an API key with a line break',
      { backends: [{ url: 'http://a', apiKey: 'k\r\nX-Evil: 1' }] },
      ['backends[0].apiKey: must match printable ASCII without line breaks'],
    ],
    [
      'zero weight',
      { backends: [{ url: 'http://a', weight: 0 }] },
      ['backends[0].weight: must be a positive number, got 0'],
    ],
    [
      'port too large',
      { backends: one, port: 70000 },
      ['port: must be an integer from 0 to 65535, got 70000'],
    ],
    [
      'port as text',
      { backends: one, port: '8080' },
      ['port: must be an integer from 0 to 65535, got "8080"'],
    ],
    ['negative port', { backends: one, port: -1 }, ['port: must be an integer from 0 to 65535, got -1']],
    ['empty host', { backends: one, host: ' ' }, ['host: must be a non-empty string, got " "']],
    [
      'basePath with a trailing slash',
      { backends: one, basePath: '/jobe/' },
      ['basePath: must be "/" or a path such as "/jobe" (no trailing "/"), got "/jobe/"'],
    ],
    [
      'negative queue timeout',
      { backends: one, queue: { timeoutMs: -5 } },
      ['queue.timeoutMs: must be a positive integer, got -5'],
    ],
    [
      'queue length below zero',
      { backends: one, queue: { maxLength: -1 } },
      ['queue.maxLength: must be a non-negative integer, got -1'],
    ],
    ['section of the wrong type', { backends: one, queue: [] }, ['queue: must be an object, got an array']],
    [
      'duration beyond what timers can wait',
      { backends: one, affinityTtlMs: 3_000_000_000 },
      ['affinityTtlMs: must be at most 2147483647, got 3000000000'],
    ],
    [
      'maximum ejection below the default base',
      { backends: one, health: { maxEjectionMs: 1000 } },
      ['health.maxEjectionMs: must not be less than health.baseEjectionMs (2000, the default), got 1000'],
    ],
    [
      'base ejection above the default maximum',
      { backends: one, health: { baseEjectionMs: 90_000 } },
      ['health.baseEjectionMs: must not exceed health.maxEjectionMs (60000, the default), got 90000'],
    ],
    [
      'canary without its required fields',
      { backends: one, health: { canary: { language_id: 'c' } } },
      ['health.canary.sourcecode: is required', 'health.canary.expectedStdout: is required'],
    ],
    [
      'outlier detection settings out of range',
      {
        backends: one,
        health: {
          outliers: { failureOutcomes: [21], significance: 1, maxEjectionPercent: 150, enforce: 'no' },
        },
      },
      [
        'health.outliers.failureOutcomes: must be a non-empty list of Jobe outcome codes other than 21 (overload)',
        'health.outliers.significance: must be a number between 0 and 1 (exclusive), got 1',
        'health.outliers.maxEjectionPercent: must be a number from 0 to 100, got 150',
        'health.outliers.enforce: must be true or false, got "no"',
      ],
    ],
    [
      'admin flag not a boolean',
      { backends: one, admin: { publicStatus: 'yes' } },
      ['admin.publicStatus: must be true or false, got "yes"'],
    ],
    [
      'short admin token, not repeated in the message',
      { backends: one, admin: { token: 'short' } },
      ['admin.token: must be a string of at least 8 characters'],
    ],
    [
      'batch share outside (0, 1] and a flag that is not a boolean',
      { backends: one, batch: { enabled: 'yes', maxRuns: 0, maxShare: 1.5 } },
      [
        'batch.enabled: must be true or false, got "yes"',
        'batch.maxRuns: must be a positive integer, got 0',
        'batch.maxShare: must be a number above 0 and at most 1, got 1.5',
      ],
    ],
    [
      'apiKeys not an array',
      { backends: one, apiKeys: 'k' },
      ['apiKeys: must be an array of strings, got "k"'],
    ],
    [
      'apiKeys empty',
      { backends: one, apiKeys: [] },
      ['apiKeys: must list at least one key (or be left out)'],
    ],
    [
      'apiKeys with an empty key',
      { backends: one, apiKeys: ['k', ''] },
      ['apiKeys[1]: must be a non-empty string, got ""'],
    ],
    [
      'cookie name with a space',
      { backends: one, cookieName: 'a b' },
      ['cookieName: must be a cookie name (letters, digits and !#$%&\'*+-.^_`|~), got "a b"'],
    ],
    [
      'log level unknown',
      { backends: one, logLevel: 'verbose' },
      ['logLevel: must be one of "debug", "info", "warn", "error", "silent", got "verbose"'],
    ],
    [
      'redis URL of another scheme',
      { backends: one, redisUrl: 'http://r' },
      ['redisUrl: must be a redis:// or rediss:// URL, got "http://r"'],
    ],
    [
      'negative shutdown timeout',
      { backends: one, shutdownTimeoutMs: -1 },
      ['shutdownTimeoutMs: must be a non-negative integer, got -1'],
    ],
  ];

  it.each(cases)('%s', (_name, raw, expected) => {
    expect(errorsOf(raw)).toEqual(expected);
  });

  it('reports every problem at once', () => {
    expect(
      errorsOf({
        backends: [{ url: 'ftp://x', state: 'off' }],
        port: 'x',
        queue: { timeoutMs: 0 },
        backend: 1,
      }),
    ).toEqual([
      'unknown key "backend" (did you mean "backends"?)',
      'backends[0].url: must be an http(s) URL or host[:port], got "ftp://x"',
      'backends[0].state: must be one of "ready", "drain", "maint", got "off"',
      'port: must be an integer from 0 to 65535, got "x"',
      'queue.timeoutMs: must be a positive integer, got 0',
    ]);
  });
});

describe('parseConfig accepts good configs', () => {
  it('applies the gateway defaults and names backends in order', () => {
    const result = parseConfig({
      backends: ['http://jobe-a', 'jobe-b:8080', { url: 'https://jobe-c/prefix' }],
    });
    expect(result).toEqual({
      ok: true,
      config: {
        backends: [
          { name: 'jobe1', url: 'http://jobe-a' },
          { name: 'jobe2', url: 'jobe-b:8080' },
          { name: 'jobe3', url: 'https://jobe-c/prefix' },
        ],
        port: 8080,
        host: '0.0.0.0',
        basePath: '/jobe',
        shutdownTimeoutMs: 30000,
        requestReceiveTimeoutMs: 120000,
        logLevel: 'info',
      },
    });
  });

  it('keeps every balancer option as given', () => {
    const raw = {
      backends: [
        { name: 'big', url: 'http://10.0.0.1', apiKey: 'k1', maxConcurrent: 32, weight: 2, state: 'ready' },
        'small=10.0.0.2:8080',
        { name: 'spare', url: 'jobe3', state: 'maint' },
      ],
      maxConcurrent: 8,
      affinityTtlMs: 120000,
      maxAffinityEntries: 5000,
      fileStoreMaxBytes: 1048576,
      maxFileLocations: 1000,
      bodyLimitBytes: 2097152,
      bodyMemoryBytes: 4194304,
      bodyIdleTimeoutMs: 3000,
      smallBodyBytes: 131072,
      smallBodyReserveBytes: 1048576,
      apiKeys: ['secret'],
      cookieName: 'JB',
      cookieSecret: 'shared-secret',
      slowStartMs: 0,
      health: {
        intervalMs: 1000,
        timeoutMs: 500,
        failureThreshold: 3,
        baseEjectionMs: 1000,
        maxEjectionMs: 30000,
        canary: {
          language_id: 'c',
          sourcecode: 'int main(){}',
          input: '',
          expectedStdout: '',
          intervalMs: 10000,
        },
        outliers: {
          failureOutcomes: [11, 12],
          minRuns: 8,
          minPeerRuns: 20,
          significance: 0.00001,
          windowMs: 30000,
          maxEjectionPercent: 34,
          enforce: false,
        },
      },
      queue: { maxLength: 0, timeoutMs: 30000 },
      retry: { maxAttempts: 2, afterSend: 0 },
      timeouts: { connectMs: 1000, runSlackMs: 20000, requestMs: 5000 },
      admin: { token: 'admin-token', publicStatus: true, publicMetrics: false },
      batch: { enabled: true, maxRuns: 20, maxShare: 0.25 },
      port: 0,
      host: '127.0.0.1',
      basePath: '/moodle/jobe',
      shutdownTimeoutMs: 0,
      requestReceiveTimeoutMs: 0,
      logLevel: 'debug',
      redisUrl: 'redis://127.0.0.1:6379/0',
    };
    const result = parseConfig(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config).toEqual({
      ...raw,
      backends: [raw.backends[0], { name: 'small', url: '10.0.0.2:8080' }, raw.backends[2]],
    });
  });

  it("accepts the README's example config", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    const result = parseConfig(parseYaml(example ?? ''));
    expect(result.ok ? [] : result.errors).toEqual([]);
    expect(result.ok && result.config.backends.map((backend) => backend.name)).toEqual([
      'jobe1',
      'jobe2',
      'jobe-old',
      'jobe4',
    ]);
  });

  it('accepts false for the canary and outlier detection (both on by default)', () => {
    const result = parseConfig({ backends: ['jobe1'], health: { canary: false, outliers: false } });
    expect(result.ok && result.config.health).toEqual({ canary: false, outliers: false });
  });

  it('accepts "/" as basePath', () => {
    const result = parseConfig({ backends: one, basePath: '/' });
    expect(result.ok && result.config.basePath).toBe('/');
  });
});

describe('backend URLs, as CodeRunner builds them', () => {
  it.each([
    ['jobe1', 'http://jobe1/jobe/index.php/restapi/languages'],
    ['jobe1:8080', 'http://jobe1:8080/jobe/index.php/restapi/languages'],
    ['127.0.0.1:4000', 'http://127.0.0.1:4000/jobe/index.php/restapi/languages'],
    ['[::1]:4000', 'http://[::1]:4000/jobe/index.php/restapi/languages'],
    ['http://jobe1:80', 'http://jobe1:80/jobe/index.php/restapi/languages'],
    ['HTTPS://jobe1/prefix/', 'HTTPS://jobe1/prefix/jobe/index.php/restapi/languages'],
  ])('%s → %s', (url, expected) => {
    expect(languagesUrl(url)).toBe(expected);
  });

  it.each([
    '',
    'ftp://x',
    'file:///etc/passwd',
    'file:/etc/passwd',
    'http://',
    'jobe1:http',
    'http://a#frag',
    'http://user:pw@a',
    'user@a:8080',
    'jobe 1',
  ])('rejects %j', (url) => {
    expect(normaliseBackendUrl(url)).toBeUndefined();
  });
});
