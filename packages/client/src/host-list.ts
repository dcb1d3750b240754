/** Where every CodeRunner request goes under a host: the suffix it always appends. */
export const RESTAPI_SUFFIX = '/jobe/index.php/restapi/';

/** The servers of a CodeRunner `jobe_host` setting: a `;` list, trimmed, empty parts dropped. */
export function jobeServers(hostSetting: string): string[] {
  if (!hostSetting.includes(';')) return [hostSetting.trim()];
  return hostSetting
    .split(';')
    .map((server) => server.trim())
    .filter((server) => server !== '');
}

/**
 * The base URL CodeRunner picks from its host setting: in a run, `servers[intval(jobId, 16) % n]` (the same
 * server for the whole run); outside one (`jobId` null), a random server. `http://` is prefixed unless the
 * string starts with `http`.
 */
export function jobeBase(
  hostSetting: string,
  jobId: string | null,
  random: () => number = Math.random,
): string {
  const servers = jobeServers(hostSetting);
  const pick = jobId !== null ? Number.parseInt(jobId, 16) : Math.floor(random() * 0x80000000);
  const host = servers[pick % servers.length] ?? '';
  return host.startsWith('http') ? host : `http://${host}`;
}

/** The URL of a Jobe resource (`runs`, `languages`, `files/<id>`) exactly as CodeRunner builds it. */
export function jobeUrl(hostSetting: string, resource: string, jobId: string | null): string {
  return `${jobeBase(hostSetting, jobId)}${RESTAPI_SUFFIX}${resource}`;
}

/** `sprintf('%08x', mt_rand())`: mt_rand() is 0..2^31-1, so 8 lowercase hex digits, the first one 0-7. */
export function newJobId(random: () => number = Math.random): string {
  return Math.floor(random() * 0x80000000)
    .toString(16)
    .padStart(8, '0');
}
