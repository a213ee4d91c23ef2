/**
 * Stable error codes. Every error an operator or a script can see carries one of these;
 * docs/errors.md explains each and what to do next. Add new codes here, never inline strings.
 */
export const ERROR_CODES = [
  'ERR_USAGE',
  'ERR_PROTO_PARSE',
  'ERR_LINE_TOO_LONG',
  'ERR_NODESET_PARSE',
  'ERR_UNKNOWN_MODULE',
  'ERR_UNKNOWN_COMMAND',
  'ERR_BAD_ARGS',
  'ERR_NO_SUCH_NODE',
  'ERR_NO_SUCH_JOB',
  'ERR_NO_SUCH_VAR',
  'ERR_RESERVED_VAR',
  'ERR_CONFIG',
  'ERR_TIMEOUT',
  'ERR_CANCELLED',
  'ERR_MODULE',
  'ERR_UNSUPPORTED',
  'ERR_NOT_ALLOWED',
  'ERR_READ_ONLY',
  'ERR_FORBIDDEN',
  'ERR_CONTROLLER',
  'ERR_SSH_AUTH',
  'ERR_SSH_CONNECT',
  'ERR_SSH_REFUSED',
  'ERR_SSH_UNREACHABLE',
  'ERR_HOSTKEY',
  'ERR_EXEC',
  'ERR_COPY',
  'ERR_NO_SPACE',
  'ERR_PERMISSION',
  'ERR_NO_SUCH_FILE',
  'ERR_PING',
  'ERR_POWER_DRIVER',
  'ERR_IPMI_AUTH',
  'ERR_IPMI',
  'ERR_POWERMAN',
  'ERR_LIBVIRT',
  'ERR_CONSOLE_BUSY',
  'ERR_SENSORS',
  'ERR_STAT',
  'ERR_AUDIT',
  'ERR_COLLECTOR',
  'ERR_LIMIT',
  'ERR_BUDGET',
  'ERR_STATE_DIR',
  'ERR_UNSAFE_FILE',
  'ERR_INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export function isErrorCode(s: string): s is ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(s);
}

/** An error with a stable code; `position` is a 0-based character offset into the input, when one applies. */
export class VacmError extends Error {
  readonly code: ErrorCode;
  readonly position?: number;
  readonly fragment?: string;
  constructor(code: ErrorCode, message: string, opts: { position?: number; fragment?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'VacmError';
    this.code = code;
    if (opts.position !== undefined) this.position = opts.position;
    if (opts.fragment !== undefined) this.fragment = opts.fragment;
  }
}

/** Turn anything thrown into a VacmError, so nothing unclassified escapes to an operator. */
export function toVacmError(err: unknown, fallback: ErrorCode = 'ERR_INTERNAL'): VacmError {
  if (err instanceof VacmError) return err;
  if (err instanceof Error) {
    if (err.name === 'AbortError') return new VacmError('ERR_CANCELLED', 'cancelled', { cause: err });
    return new VacmError(fallback, err.message || String(err), { cause: err });
  }
  return new VacmError(fallback, String(err));
}

/**
 * The refusal of a command that changes things while vacm runs read-only: one wording for the engine
 * and the screen (`what`: the request's label, e.g. NEXXUS:SET_VAR). SSH:EXEC is refused only for the
 * commands exec.safe does not list, and says so.
 */
export function readOnlyRefusal(what: string): VacmError {
  if (what === 'SSH:EXEC') return new VacmError('ERR_READ_ONLY', 'read-only runs only the commands exec.safe lists; restart without --read-only to run others');
  return new VacmError('ERR_READ_ONLY', `${what} changes things and vacm runs read-only; restart without --read-only to do it`);
}

/** The refusal as a screen shows it: `ERR_READ_ONLY: <message>`. */
export function readOnlyText(what: string): string {
  const e = readOnlyRefusal(what);
  return `${e.code}: ${e.message}`;
}
