/**
 * CodeRunner 5.9's runs for the benchmarks and the demo, made by @jobe-balancer/client (the protocol: job id,
 * cookie jar, 404 → PUT each file → POST once, `servers[jobId % n]` for `;` lists, PHP JSON bodies) over one
 * shared undici transport that opens a new TCP connection per request, as Moodle's curl does. A thin adapter
 * to the result shape the benchmarks read; nothing of the protocol lives here.
 */
import { CODERUNNER_DEFAULT_API_KEY, JobeClient, undiciTransport } from '@jobe-balancer/client';

export { CODERUNNER_DEFAULT_API_KEY, md5, newJobId, phpJsonEncode } from '@jobe-balancer/client';

const transport = undiciTransport({ keepAlive: false });

/**
 * One test run as CodeRunner's execute() makes it. `files`: `[{ name, contents, id? }]` in CodeRunner's order
 * (`id` may carry a precomputed md5 of the contents, to spare the load generator's CPU). `jobId` may be given
 * so that every contender of a benchmark sees the same ids; `trace`, an array, receives one entry per exchange.
 * Never throws for HTTP-level problems.
 */
export async function runLikeCodeRunner(jobeHost, input) {
  const trace = input.trace;
  const client = new JobeClient({
    host: jobeHost,
    apiKey: input.apiKey === undefined ? CODERUNNER_DEFAULT_API_KEY : input.apiKey,
    transport,
    ...(input.timeoutMs !== undefined ? { timeoutMs: input.timeoutMs } : {}),
    ...(trace
      ? {
          onExchange: ({ method, url, status, sentAt, answeredAt }) =>
            trace.push({ method, resource: url.split('/restapi/')[1], status, sentAt, answeredAt }),
        }
      : {}),
  });
  const report = await client.execute(
    {
      language_id: input.language_id,
      sourcecode: input.sourcecode,
      input: input.input,
      sourcefilename: input.sourcefilename,
      parameters: input.parameters ?? {},
    },
    input.files ?? [],
    input.jobId !== undefined ? { jobId: input.jobId } : {},
  );
  return { ...report, transportError: report.transportError?.message };
}
