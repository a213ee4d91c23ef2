/** Small parsers shared by the collector, the agent and the metrics exporter. */
import fs from 'node:fs';
import { VacmError } from '../../protocol/errors.js';
import { checkTrustedFile } from '../../platform/trusted-file.js';

export { parseListen, listenField } from '../../protocol/listen.js';

/** A secret shorter than this (after a trailing newline is cut) is refused: it could be guessed. */
export const MIN_SECRET_BYTES = 16;

const MAKE_ONE = (file: string) => `create one with \`umask 077; head -c 32 /dev/urandom | base64 > ${file}\``;

/**
 * Read an agent secret (the collector's master, or a node's key): refused, with ERR_UNSAFE_FILE and
 * what to do, unless owned by you or root and readable by nobody else (as ssh treats private keys),
 * and at least MIN_SECRET_BYTES long. The content without a trailing newline is the key.
 * `vacm doctor` reuses it to check the file.
 */
export function readSecretFile(file: string, what = 'agent secret'): Buffer {
  checkTrustedFile(file, { what, secret: true });
  let b: Buffer;
  try {
    b = fs.readFileSync(file);
  } catch (err) {
    throw new VacmError('ERR_UNSAFE_FILE', `cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; ${MAKE_ONE(file)}`);
  }
  const s = b.toString('utf8').replace(/\r?\n$/, '');
  const n = Buffer.byteLength(s, 'utf8');
  if (n < MIN_SECRET_BYTES) throw new VacmError('ERR_UNSAFE_FILE', `${what} ${file} holds ${n} bytes, fewer than ${MIN_SECRET_BYTES}: ${n === 0 ? 'put a secret in it' : 'a short secret can be guessed'}; ${MAKE_ONE(file)}`);
  return Buffer.from(s, 'utf8');
}

/** `readSecretFile` as a check: the problem with the file, or undefined when it is fit to use. */
export function secretFileProblem(file: string, what = 'agent secret'): string | undefined {
  try {
    readSecretFile(file, what);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
