/**
 * CodeRunner 5.9 as the tests drive it: @jobe-balancer/client's protocol (job id, cookie jar, 404→PUT→POST,
 * status mapping, run_spec bytes) over a transport that behaves like Moodle's libcurl on the wire (one TCP
 * connection per request, `Expect: 100-continue` above 1 MiB, every encoding offered and decoded). A thin
 * adapter to the shape the tests were written against; the protocol itself lives in the client only.
 */
import {
  CODERUNNER_DEFAULT_API_KEY,
  JobeClient,
  type JobeExchange,
  type JobeResult,
  jobeUrl,
  type Transport,
} from '@jobe-balancer/client';
import { CURL_EXPECT_100_THRESHOLD, sendOnNewConnection } from './http.js';

export {
  CODERUNNER_DEFAULT_API_KEY,
  javaPublicClass,
  md5,
  newJobId as newCodeRunnerJobId,
} from '@jobe-balancer/client';

export interface SupportFile {
  name: string;
  contents: string | Buffer;
}

export interface CodeRunnerRunInput {
  language_id: string;
  sourcecode: string;
  input?: string;
  /** Attachments and support files, in CodeRunner's order (PUTs follow it). */
  files?: SupportFile[];
  /** CodeRunner's sandbox params (`sourcefilename`, `debug`, `jobeserver`, `jobeapikey` change the request). */
  parameters?: Record<string, unknown>;
  sourcefilename?: string;
  /** `run_spec.jobeserver`: default the host setting (CodeRunner 5.7+); null leaves it out (< 5.7). */
  jobeserver?: string | null;
  /** Default {@link CODERUNNER_DEFAULT_API_KEY}; null or '' sends no X-API-KEY. */
  apiKey?: string | null;
  /** Abort each request after this long (transport failure, status -1). Default: none, like Moodle. */
  timeoutMs?: number;
}

export type JobeRunResult = JobeResult;
export type CodeRunnerError =
  | 'SERVER_OVERLOAD'
  | 'JOBE_400_ERROR'
  | 'SUBMISSION_LIMIT_EXCEEDED'
  | 'AUTH_ERROR'
  | 'UNKNOWN_SERVER_ERROR';
export type CodeRunnerExchange = Pick<
  JobeExchange,
  'method' | 'url' | 'status' | 'cookie' | 'responseHeaders'
>;

export interface CodeRunnerRunResult {
  /** Final HTTP status CodeRunner saw; -1 for a transport failure, 0 if CodeRunner sent nothing. */
  httpStatus: number;
  body: string;
  result: JobeRunResult | null;
  error: null | CodeRunnerError;
  graded: { outcome: number; output: string; stderr: string; cmpinfo: string } | null;
  jobId: string;
  posts: number;
  puts: number;
  exchanges: CodeRunnerExchange[];
  requestBody: string;
  latencyMs: number;
}

/** libcurl as Moodle configures it (CURLOPT_ENCODING ''), one connection per request. */
export const curlTransport: Transport = async (request) => {
  const response = await sendOnNewConnection({
    url: request.url,
    method: request.method,
    headers: { ...request.headers, 'Accept-Encoding': 'deflate, gzip, br' },
    ...(request.body !== undefined ? { body: request.body } : {}),
    decompress: true,
    expectContinueOver: CURL_EXPECT_100_THRESHOLD,
    ...(request.timeoutMs !== undefined ? { timeoutMs: request.timeoutMs } : {}),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: response.body.toString('utf8'),
    ...(response.error ? { error: response.error } : {}),
  };
};

/** The URL CodeRunner builds for `resource` (a `;` list picks `servers[jobId % n]` during a run). */
export const coderunnerUrl = jobeUrl;

/** One run exactly as CodeRunner's execute() makes it (grade cache off). Never throws for HTTP-level problems. */
export async function runLikeCodeRunner(
  jobeHost: string,
  input: CodeRunnerRunInput,
): Promise<CodeRunnerRunResult> {
  const exchanges: CodeRunnerExchange[] = [];
  const client = new JobeClient({
    host: jobeHost,
    apiKey: input.apiKey === undefined ? CODERUNNER_DEFAULT_API_KEY : input.apiKey,
    ...(input.jobeserver !== undefined ? { jobeserver: input.jobeserver } : {}),
    ...(input.timeoutMs !== undefined ? { timeoutMs: input.timeoutMs } : {}),
    transport: curlTransport,
    onExchange: ({ method, url, status, cookie, responseHeaders }) =>
      exchanges.push({ method, url, status, cookie, responseHeaders }),
  });
  const report = await client.execute(
    {
      language_id: input.language_id,
      sourcecode: input.sourcecode,
      ...(input.input !== undefined ? { input: input.input } : {}),
      ...(input.sourcefilename !== undefined ? { sourcefilename: input.sourcefilename } : {}),
      ...(input.parameters !== undefined ? { parameters: input.parameters } : {}),
    },
    input.files ?? [],
  );
  return {
    httpStatus: report.httpStatus,
    body: report.body,
    result: report.result,
    error: report.error,
    graded: report.graded,
    jobId: report.jobId,
    posts: report.posts,
    puts: report.puts,
    exchanges,
    requestBody: report.requestBody,
    latencyMs: report.latencyMs,
  };
}

export interface CodeRunnerLanguages {
  status: number;
  body: string;
  /** `[lang[0] for lang in body]` when the status is 200 and the body an array, else [] (as CodeRunner). */
  languages: string[];
  error: CodeRunnerError | null;
}

/** GET languages as CodeRunner's get_languages(): CodeRunner's headers but no job id and no cookie jar. */
export async function getLanguages(
  jobeHost: string,
  options: { apiKey?: string | null; timeoutMs?: number } = {},
): Promise<CodeRunnerLanguages> {
  const client = new JobeClient({
    host: jobeHost,
    apiKey: options.apiKey === undefined ? CODERUNNER_DEFAULT_API_KEY : options.apiKey,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    transport: curlTransport,
  });
  const report = await client.languagesReport();
  return {
    status: report.httpStatus,
    body: report.body,
    languages: report.languages?.map(([id]) => id) ?? [],
    error: report.error,
  };
}
