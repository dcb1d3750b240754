import type { CoreContext } from '../context.js';
import { gatewayError, type JobeResponse, jsonValue } from '../protocol/responses.js';

/** The union of the backends' language lists, in Jobe's `[[id, version], ...]` form, first version seen wins. */
export function mergedLanguages(ctx: CoreContext): Array<[string, string]> | null {
  const known = ctx.backends.filter((backend) => backend.languagesKnown && backend.adminState !== 'maint');
  const healthy = known.filter((backend) => backend.health === 'healthy');
  const sources = healthy.length > 0 ? healthy : known;
  if (sources.length === 0) return null;
  const merged = new Map<string, string>();
  for (const backend of sources) {
    for (const [id, version] of backend.languages) if (!merged.has(id)) merged.set(id, version);
  }
  return [...merged].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** GET languages, answered by the gateway from its health checks (CodeRunner asks on every web-service run). */
export async function handleLanguages(ctx: CoreContext): Promise<JobeResponse> {
  let languages = mergedLanguages(ctx);
  if (languages === null) {
    await ctx.health.checkAll();
    languages = mergedLanguages(ctx);
  }
  if (languages === null) return gatewayError(503, 'No Jobe server has answered its language list yet');
  return jsonValue(200, languages);
}
