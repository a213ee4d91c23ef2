/**
 * Files vacm trusts with commands or secrets (vacm.yaml with hooks, agent secrets, BMC password
 * files, state directories) are accepted only when nobody else could have written them, as OpenSSH
 * does with private keys and authorized_keys and git does with a repository owned by someone else:
 * owned by the invoking user or root, not writable by group or others (secrets: not readable
 * either), in a directory that others cannot replace them in.
 *
 * This floor (src/platform/) holds small operating-system helpers that the engine, the backends and
 * the CLI share; it imports only src/protocol/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { VacmError, type ErrorCode } from '../protocol/errors.js';

export interface TrustOptions {
  /** what the file is, for the message: "config file", "agent secret", "BMC password file" */
  what: string;
  /** a secret: refuse group/other read as well as write */
  secret?: boolean;
  /** a directory is expected instead of a file */
  directory?: boolean;
  /** the error code (default ERR_UNSAFE_FILE; config files use ERR_CONFIG, the state dir ERR_STATE_DIR) */
  code?: ErrorCode;
  /** the uid that may own it besides root (default: this process's effective uid) */
  uid?: number;
}

/** The effective uid, or undefined where the platform has none. */
export function effectiveUid(): number | undefined {
  return typeof process.geteuid === 'function' ? process.geteuid() : undefined;
}

/** Why `st` (of `file`) is not to be trusted, or undefined when it may be. Pure: tested with tables. */
export function distrustReason(file: string, st: Pick<fs.Stats, 'uid' | 'mode'> & { isFile(): boolean; isDirectory(): boolean }, opts: TrustOptions): string | undefined {
  const uid = opts.uid ?? effectiveUid();
  if (opts.directory ? !st.isDirectory() : !st.isFile()) return `${opts.what} ${file} is not a regular ${opts.directory ? 'directory' : 'file'}`;
  if (uid !== undefined && st.uid !== uid && st.uid !== 0) {
    return `${opts.what} ${file} is owned by uid ${st.uid}, not by you (uid ${uid}) or root; chown it or remove it`;
  }
  const mode = st.mode & 0o777;
  if (mode & 0o022) return `${opts.what} ${file} is writable by ${mode & 0o002 ? 'everyone' : 'its group'} (mode ${mode.toString(8).padStart(4, '0')}); chmod go-w ${file}`;
  if (opts.secret && mode & 0o044) return `${opts.what} ${file} is readable by ${mode & 0o004 ? 'everyone' : 'its group'} (mode ${mode.toString(8).padStart(4, '0')}); chmod 600 ${file}`;
  return undefined;
}

/**
 * Throw unless `file` may be trusted (see the header). The directory that holds it must not let
 * others swap it: not group/world-writable unless sticky (/tmp is sticky: others cannot replace a
 * file they do not own there).
 */
export function checkTrustedFile(file: string, opts: TrustOptions): void {
  const code = opts.code ?? 'ERR_UNSAFE_FILE';
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (err) {
    throw new VacmError(code, `cannot read ${opts.what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const why = distrustReason(file, st, opts);
  if (why) throw new VacmError(code, why);
  const dir = path.dirname(path.resolve(file));
  let dst: fs.Stats;
  try {
    dst = fs.statSync(dir);
  } catch {
    return;
  }
  const uid = opts.uid ?? effectiveUid();
  const dmode = dst.mode & 0o7777;
  if (dmode & 0o002 && !(dmode & 0o1000)) {
    throw new VacmError(code, `${opts.what} ${file} is in ${dir}, which everyone can write to (mode ${(dmode & 0o777).toString(8).padStart(4, '0')}, not sticky); move it or chmod o-w ${dir}`);
  }
  if (dmode & 0o020 && uid !== undefined && dst.uid !== uid && dst.uid !== 0) {
    throw new VacmError(code, `${opts.what} ${file} is in ${dir}, owned by uid ${dst.uid} and writable by its group; move it`);
  }
}
