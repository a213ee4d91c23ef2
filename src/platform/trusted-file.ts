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
 * Why the directory `dir` (holding a trusted file) is not to be trusted, or undefined: whoever can
 * write to it can replace the file, so it must be owned by you or root and not writable by group or
 * others, unless sticky (/tmp: others cannot replace a file they do not own there).
 */
function distrustDir(file: string, dir: string, what: string, uid: number | undefined): string | undefined {
  let dst: fs.Stats;
  try {
    dst = fs.statSync(dir);
  } catch {
    return undefined;
  }
  const dmode = dst.mode & 0o7777;
  const m = (dmode & 0o777).toString(8).padStart(4, '0');
  // the directory itself (distrustedPath's inclusive walk), or the one it is in
  const self = dir === file;
  const where = self ? `${what} ${file} is` : `${what} ${file} is in ${dir},`;
  if (uid !== undefined && dst.uid !== uid && dst.uid !== 0) {
    return `${where} owned by uid ${dst.uid}, who could replace it; move it to a directory owned by you or root`;
  }
  if (dmode & 0o022 && !(dmode & 0o1000)) {
    const who = dmode & 0o002 ? 'everyone' : 'its group';
    return `${where} ${self ? `writable by ${who}` : `which ${who} can write to`} (mode ${m}, not sticky); move it or chmod go-w ${dir}`;
  }
  return undefined;
}

/**
 * Why `real` (a real path: no symlink left to follow) could be swapped by someone other than you
 * and root, or undefined: each directory above it (and `real` itself when `inclusive`) owned by you
 * or root and not group/other-writable unless sticky (/tmp). Whoever can rename any of them can put
 * another tree in its place, so a directory trusted with code or with files handed to a child is
 * checked all the way up (the code cache, anonymous files).
 */
export function distrustedPath(real: string, what: string, opts: { inclusive?: boolean } = {}): string | undefined {
  const uid = effectiveUid();
  for (let d = opts.inclusive ? real : path.dirname(real); ; d = path.dirname(d)) {
    const why = distrustDir(real, d, what, uid);
    if (why) return why;
    if (path.dirname(d) === d) return undefined;
  }
}

/** The directories whose writers could swap `file`: its own, and its target's when it is a symlink. */
function dirsOf(file: string): string[] {
  const dirs = [path.dirname(path.resolve(file))];
  try {
    const real = path.dirname(fs.realpathSync(file));
    if (real !== dirs[0]) dirs.push(real);
  } catch {
    /* the stat or the open says why */
  }
  return dirs;
}

function checkDirs(file: string, opts: TrustOptions, code: ErrorCode): void {
  const uid = opts.uid ?? effectiveUid();
  for (const dir of dirsOf(file)) {
    const why = distrustDir(file, dir, opts.what, uid);
    if (why) throw new VacmError(code, why);
  }
}

/**
 * Throw unless `file` may be trusted (see the header): the file itself (distrustReason) and the
 * directory that holds it (and, for a symlink, the one that holds its target).
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
  checkDirs(file, opts, code);
}

/** The most readTrustedFile reads (a config or a secret is small; a planted /dev/zero is not). */
export const TRUSTED_FILE_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Read a trusted file whole, checking what was opened (fstat of the descriptor, so the file cannot
 * be swapped between the check and the read) and its directories. A FIFO or device is refused
 * without blocking; more than `maxBytes` is refused too.
 */
export function readTrustedFile(file: string, opts: TrustOptions & { maxBytes?: number }): Buffer {
  const code = opts.code ?? 'ERR_UNSAFE_FILE';
  const max = opts.maxBytes ?? TRUSTED_FILE_MAX_BYTES;
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (err) {
    throw new VacmError(code, `cannot read ${opts.what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const st = fs.fstatSync(fd);
    const why = distrustReason(file, st, opts);
    if (why) throw new VacmError(code, why);
    checkDirs(file, opts, code);
    if (st.size > max) throw new VacmError(code, `${opts.what} ${file} is ${st.size} bytes, more than the ${max} that vacm reads; is it the right file?`);
    const buf = Buffer.alloc(Math.min(st.size, max) + 1);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = fs.readSync(fd, buf, n, buf.length - n, null);
    if (n > max) throw new VacmError(code, `${opts.what} ${file} is more than the ${max} bytes that vacm reads; is it the right file?`);
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}
