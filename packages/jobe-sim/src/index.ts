export {
  CACHE_CONTROL,
  HTML_404_PAGE,
  HTML_500_PAGE,
  HTML_CONTENT_TYPE,
  JSON_CONTENT_TYPE,
  MESSAGES,
  OUTCOME,
  OVERLOAD_BODY,
  OVERLOAD_TEST_SOURCECODE,
  phpJsonEncode,
  resultBody,
} from './bodies.js';
export { DEFAULT_LANGUAGES, POST_MAX_SIZE, startJobeSim } from './server.js';
export type { FaultMode, JobeSim, JobeSimOptions, JobeSimStats, RunSpec } from './types.js';
