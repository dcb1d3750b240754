export {
  CODERUNNER_DEFAULT_API_KEY,
  type GradedResult,
  interpretAnswer,
  JobeClient,
  type JobeClientOptions,
  type JobeExchange,
  type JobeResult,
  type LanguagesReport,
  MISSING_FILES_BODY,
  md5,
  type RunAllOptions,
  type RunOptions,
  type RunReport,
  type RunSettlement,
  type RunSpec,
  type SupportFile,
} from './client.js';
export { CookieJar } from './cookie-jar.js';
export {
  errorForStatus,
  JobeAuthError,
  JobeBadRequestError,
  JobeError,
  type JobeErrorCode,
  JobeOverloadError,
  JobeServerError,
  JobeSubmissionLimitError,
  JobeTransportError,
  jobeError,
} from './errors.js';
export { jobeBase, jobeServers, jobeUrl, newJobId, RESTAPI_SUFFIX } from './host-list.js';
export { phpJsonEncode } from './php-json.js';
export { defaultSourceFilename, javaPublicClass } from './source-filename.js';
export {
  type Transport,
  type TransportRequest,
  type TransportResponse,
  type UndiciTransportOptions,
  undiciTransport,
} from './transport.js';
