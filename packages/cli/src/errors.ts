/** A problem with the command line or the configuration; `errors` holds one message per problem. */
export class ConfigError extends Error {
  readonly errors: readonly string[];

  constructor(errors: readonly string[], context = '') {
    super(`invalid configuration${context}:\n${errors.map((error) => `  - ${error}`).join('\n')}`);
    this.name = 'ConfigError';
    this.errors = errors;
  }
}
