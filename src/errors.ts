/**
 * trellis errors: one hierarchy, used everywhere.
 *
 * Messages follow "<scope>: <what> must be <expectation> (got <actual>)." and
 * add a hint where one helps. The CLI prints `message` (plus `hint`) of any
 * TrellisError and exits with its `exitCode`; anything else is a bug and gets
 * a stack trace with exit 1.
 */
export class TrellisError extends Error {
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number = 1;
  /** Optional one-line advice on how to fix the problem. */
  readonly hint?: string;

  constructor(message: string, hint?: string) {
    super(message);
    this.name = new.target.name;
    this.hint = hint;
  }

  /** The single line the CLI prints. */
  toLine(): string {
    return this.hint ? `${this.message} ${this.hint}` : this.message;
  }
}

/** Wrong command-line usage or an invalid option value (exit 2). */
export class UsageError extends TrellisError {
  override readonly exitCode = 2;
}

/** Bad input data: a file that is missing, malformed or inconsistent (exit 2). */
export class DataError extends TrellisError {
  override readonly exitCode = 2;
  readonly file?: string;
  readonly line?: number;

  constructor(message: string, options: { file?: string; line?: number; hint?: string } = {}) {
    const where = options.file ? `${options.file}${options.line !== undefined ? `:${options.line}` : ''}: ` : '';
    super(`${where}${message}`, options.hint);
    this.file = options.file;
    this.line = options.line;
  }
}

/** A configuration file or options object that is invalid (exit 2). */
export class ConfigError extends TrellisError {
  override readonly exitCode = 2;
}

/** A model or index artifact that is missing, corrupt or does not match (exit 2). */
export class ArtifactError extends TrellisError {
  override readonly exitCode = 2;
}

/** An external service (Neo4j) that cannot be reached or refused the request (exit 1). */
export class ServiceError extends TrellisError {}
