/**
 * Files in the state directory ($VACM_STATE_DIR, else ~/.local/state/vacm): the audit log, the
 * prompt history, serve's snapshot and history, the collector's discovered hosts. vacm often runs
 * as root, so every writer goes through here, where nothing follows a symbolic link that someone
 * else planted: the directory is created 0700 and refused when another user owns it or could write
 * to it; files are opened with O_NOFOLLOW (a symlinked audit.jsonl is refused, not appended through)
 * and kept 0600; whole files are written to a fresh temp file (O_CREAT|O_EXCL, which never follows a
 * link either), fsync'd and renamed over the old one, so a reader never sees half a file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { VacmError } from '../protocol/errors.js';
import { makeDirectory } from './make-dir.js';
import { checkTrustedFile, effectiveUid } from './trusted-file.js';

export const STATE_DIR_MODE = 0o700;
export const STATE_FILE_MODE = 0o600;

const C = fs.constants;
// O_NONBLOCK: opening a FIFO planted under a state file's name must not hang the engine
const NOFOLLOW = (C.O_NOFOLLOW ?? 0) | (C.O_NONBLOCK ?? 0);
const APPEND = C.O_WRONLY | C.O_APPEND | C.O_CREAT | NOFOLLOW;
const CREATE_NEW = C.O_WRONLY | C.O_CREAT | C.O_EXCL | NOFOLLOW;
const READ = C.O_RDONLY | NOFOLLOW;

let tmpSeq = 0;

function stateError(message: string, cause?: unknown): VacmError {
  return new VacmError('ERR_STATE_DIR', message, cause === undefined ? undefined : { cause });
}

function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

/** A state file's name is one path component: nothing here may step out of the directory. */
function fileIn(dir: string, name: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new VacmError('ERR_INTERNAL', `bad state file name ${JSON.stringify(name)}`);
  }
  return path.join(dir, name);
}

/** mkdir -p that always ends (make-dir.ts says why Node's own recursive mkdir does not), as ERR_STATE_DIR. */
function makeDirs(dir: string): void {
  // something already there (a file, a symlink) is for checkStateDir to judge and name
  if (fs.existsSync(dir) || isLink(dir)) return;
  try {
    makeDirectory(dir, STATE_DIR_MODE);
  } catch (err) {
    const at = (err as NodeJS.ErrnoException).path ?? dir;
    throw stateError(`cannot create state directory ${dir}: ${errnoOf(err)} on ${at}; set $VACM_STATE_DIR to a directory you own`, err);
  }
}

function isLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Refuse `dir` unless it is a real directory that only this user (or root) can write to. */
function checkStateDir(dir: string): void {
  const uid = effectiveUid();
  let lst: fs.Stats;
  try {
    lst = fs.lstatSync(dir);
  } catch (err) {
    throw stateError(`cannot use state directory ${dir}: ${errnoOf(err)}; set $VACM_STATE_DIR to a directory you own`, err);
  }
  // a symlinked state dir is fine when you or root made the link (a sticky /tmp lets others plant one)
  if (lst.isSymbolicLink() && uid !== undefined && lst.uid !== uid && lst.uid !== 0) {
    throw stateError(`state directory ${dir} is a symbolic link owned by uid ${lst.uid}, not by you (uid ${uid}) or root; remove it or set $VACM_STATE_DIR`);
  }
  checkTrustedFile(dir, { what: 'state directory', directory: true, code: 'ERR_STATE_DIR' });
  try {
    fs.accessSync(dir, C.W_OK | C.X_OK);
  } catch (err) {
    throw stateError(`cannot write to state directory ${dir}: ${errnoOf(err)}; set $VACM_STATE_DIR to a directory you own`, err);
  }
}

/** Create the state dir (0700) when missing and check it (see the header); throws ERR_STATE_DIR. */
export function ensureStateDir(dir: string): void {
  makeDirs(dir);
  checkStateDir(dir);
}

/** Refuse an opened state file that is not a regular file of ours with one link; put its mode back to 0600. */
function checkOpened(fd: number, file: string): void {
  const st = fs.fstatSync(fd);
  const uid = effectiveUid();
  if (!st.isFile()) throw stateError(`state file ${file} is not a regular file; remove it`);
  if (uid !== undefined && st.uid !== uid && st.uid !== 0) throw stateError(`state file ${file} is owned by uid ${st.uid}, not by you (uid ${uid}) or root; remove it`);
  // a hard link to another file (say /etc/shadow) would be written through like the file itself
  if (st.nlink > 1) throw stateError(`state file ${file} has ${st.nlink} hard links, so writing it would change another file too; remove it`);
  if ((st.mode & 0o777) !== STATE_FILE_MODE) fs.fchmodSync(fd, STATE_FILE_MODE);
}

function openChecked(file: string, flags: number): number {
  let fd: number;
  try {
    fd = fs.openSync(file, flags, STATE_FILE_MODE);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ELOOP') throw stateError(`state file ${file} is a symbolic link, which vacm does not follow there; remove it`, err);
    if (code === 'ENOENT' && !(flags & C.O_CREAT)) throw err;
    throw stateError(`cannot open state file ${file}: ${code}; fix the state directory's permissions or set $VACM_STATE_DIR`, err);
  }
  try {
    checkOpened(fd, file);
  } catch (err) {
    fs.closeSync(fd);
    throw err instanceof VacmError ? err : stateError(`cannot use state file ${file}: ${errnoOf(err)}`, err);
  }
  return fd;
}

/**
 * Open `name` in the state dir for appending (the audit log, the prompt history): the dir is
 * created and checked, the file created 0600 (an existing one is set back to 0600), never through
 * a symlink or a hard link. Returns the fd; throws ERR_STATE_DIR.
 */
export function openStateFile(dir: string, name: string): number {
  const file = fileIn(dir, name);
  ensureStateDir(dir);
  return openChecked(file, APPEND);
}

/** Append `data` to `name` in the state dir (open, write, close: for rare appends like the prompt history). */
export function appendStateFile(dir: string, name: string, data: string | Buffer): void {
  const fd = openStateFile(dir, name);
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Read `name` from the state dir, or undefined when it (or the dir) does not exist. The dir is
 * checked as for writing (a snapshot or discovered-hosts file that others could have written is
 * not believed) but not created; the file is not followed through a symlink, nor read when it is
 * larger than `maxBytes`.
 */
export function readStateFile(dir: string, name: string, maxBytes = Infinity): Buffer | undefined {
  const file = fileIn(dir, name);
  if (!fs.existsSync(dir)) return undefined;
  checkStateDir(dir);
  let fd: number;
  try {
    fd = openChecked(file, READ);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw err;
  }
  try {
    // a file grown past what its reader expects is not read at all (a planted one must not fill memory)
    if (fs.fstatSync(fd).size > maxBytes) throw stateError(`${file} is larger than ${maxBytes} bytes; remove it`);
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function tmpName(name: string): string {
  tmpSeq = (tmpSeq + 1) % 1e9;
  return `${name}.${process.pid}-${tmpSeq}.tmp`;
}

/**
 * Replace `name` in the state dir with `data`, atomically: written to a temp file created fresh
 * (O_EXCL: a planted file or symlink of that name makes this fail instead of writing through it),
 * fsync'd, then renamed over `name` (rename replaces a symlink, never writes through it).
 */
export function writeStateFile(dir: string, name: string, data: string | Buffer): void {
  const file = fileIn(dir, name);
  ensureStateDir(dir);
  const tmp = fileIn(dir, tmpName(name));
  const fd = openChecked(tmp, CREATE_NEW);
  try {
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err instanceof VacmError ? err : stateError(`cannot write state file ${file}: ${errnoOf(err)}`, err);
  }
}

/** writeStateFile with the data written asynchronously (serve's snapshot and history, megabytes at times). */
export async function writeStateFileAsync(dir: string, name: string, data: string | Buffer): Promise<void> {
  const file = fileIn(dir, name);
  ensureStateDir(dir);
  const tmp = fileIn(dir, tmpName(name));
  const fd = openChecked(tmp, CREATE_NEW);
  try {
    try {
      await new Promise<void>((resolve, reject) => fs.writeFile(fd, data, (e) => (e ? reject(e) : resolve())));
      await new Promise<void>((resolve, reject) => fs.fsync(fd, (e) => (e ? reject(e) : resolve())));
    } finally {
      fs.closeSync(fd);
    }
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err instanceof VacmError ? err : stateError(`cannot write state file ${file}: ${errnoOf(err)}`, err);
  }
}

/**
 * Rename `from` to `to` in the state dir (log rotation: events.jsonl -> events.1.jsonl); a missing
 * `from` is not an error. rename(2) moves a planted symlink as a link and replaces whatever `to`
 * was without writing through it; the next open of either name is checked as usual.
 */
export function renameStateFile(dir: string, from: string, to: string): void {
  const src = fileIn(dir, from);
  const dst = fileIn(dir, to);
  ensureStateDir(dir);
  try {
    fs.renameSync(src, dst);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return;
    throw stateError(`cannot rename state file ${src} to ${dst}: ${errnoOf(err)}; fix the state directory's permissions or set $VACM_STATE_DIR`, err);
  }
}

export const JOB_SEQUENCE_FILE = 'job_seq';
/** ids reserved ahead in job_seq: one write per this many jobs, and after a crash the sequence skips at most this many */
export const JOB_SEQUENCE_STEP = 100;
const MAX_JOB_ID = 0xffffffff;

/**
 * vacm serve's job-id sequence across restarts (issue 13): job_seq holds a bound no id used so far
 * reached. The next engine goes on above it; each id taken at the bound moves the bound
 * JOB_SEQUENCE_STEP ahead first, so even a kill -9 never hands out an id again (it skips some).
 * A missing or damaged file starts at 0 (said by `problem`); a write that fails is said once and the
 * jobs still run.
 */
export function jobSequence(dir: string, log: (message: string) => void = () => {}): { last: number; taken(id: number): void } {
  let reserved = 0;
  try {
    const text = readStateFile(dir, JOB_SEQUENCE_FILE, 64)?.toString('utf8').trim();
    if (text !== undefined) {
      if (/^\d{1,10}$/.test(text) && Number(text) <= MAX_JOB_ID) reserved = Number(text);
      else log(`${path.join(dir, JOB_SEQUENCE_FILE)} does not hold a job id; job ids start again from 1`);
    }
  } catch (err) {
    log(`cannot read ${path.join(dir, JOB_SEQUENCE_FILE)}: ${(err as Error).message}; job ids start again from 1`);
  }
  let warned = false;
  const seq = {
    // wrapped at the top, as the engine's counter does
    last: reserved >= MAX_JOB_ID ? 0 : reserved,
    taken(id: number) {
      seq.last = id;
      if (id < reserved && reserved - id <= JOB_SEQUENCE_STEP) return;
      reserved = Math.min(MAX_JOB_ID, id + JOB_SEQUENCE_STEP);
      try {
        writeStateFile(dir, JOB_SEQUENCE_FILE, `${reserved}\n`);
      } catch (err) {
        if (!warned) log(`cannot keep the job-id sequence in ${path.join(dir, JOB_SEQUENCE_FILE)}: ${(err as Error).message}; a restart may use job ids again`);
        warned = true;
      }
    },
  };
  return seq;
}
