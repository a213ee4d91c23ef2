/**
 * SSH:PUSH and SSH:PULL — copy files to and from many nodes over the pooled SSH connections (SFTP,
 * one session per node on its warm connection). PUSH reads the local file once for its sha256 (the
 * audit records it) and once more for every node together (copy-source.ts: nodes share the chunks
 * they read); PULL saves `<local-dir>/<basename>.<node>` as `clush --rcopy` does, through a temporary
 * file created exclusively and renamed into place, so that nothing a node sends (names, links) nor
 * anything planted in the directory makes it write elsewhere. Events: `COPY:node:bytes:sha256` (or
 * `unchanged` with SKIP_SAME), `PROGRESS:bytes:total:done/nodes` at most twice a second, and per-node
 * errors ERR_NO_SPACE, ERR_PERMISSION, ERR_NO_SUCH_FILE, ERR_COPY. docs/files.md has the user's view.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FileEntryWithStats, SFTPWrapper, Stats as SftpStats } from 'ssh2';
import { VacmError, type ErrorCode } from '../../protocol/errors.js';
import type { CommandDef, JobContext, ModuleHost, NodeVars } from '../../protocol/module.js';
import type { Request } from '../../protocol/ipc.js';
import { expandTemplate } from '../../protocol/vars.js';
import { quoteWord } from '../../protocol/shell-words.js';
import { peerText } from '../../protocol/visible.js';
import { manifestLines, parseCopyFlags, parseSha256sumZ, posixBasename, posixJoin, pulledName, unsafeComponent, type CopyFlags } from '../../protocol/copy.js';
import type { ExecResult } from '../capabilities.js';
import { COPY_CHUNK, SharedSource, nodeWindow, identityOf, type SourceIdentity } from './copy-source.js';

/** What the copy commands need of the pool: SFTP sessions, and a command run for SKIP_SAME's hashes. */
export interface FileTransport {
  withSftp<T>(node: string, vars: NodeVars, signal: AbortSignal | undefined, fn: (sftp: SFTPWrapper) => Promise<T>): Promise<T>;
  run(node: string, vars: NodeVars, command: string, opts?: { signal?: AbortSignal; timeoutMs?: number; maxBytes?: number }): Promise<ExecResult>;
}

/** The most entries a recursive copy walks (local tree for PUSH, each node's tree for PULL). */
export const MAX_TREE_ENTRIES = 100_000;
/** The deepest a recursive copy goes. */
export const MAX_TREE_DEPTH = 64;
/** PROGRESS at most this often. */
const PROGRESS_MS = 500;

// --- errors ---------------------------------------------------------------------------------------

const SFTP_NO_SUCH_FILE = 2;
const SFTP_PERMISSION_DENIED = 3;
const SFTP_FAILURE = 4;

/** An SFTP status error from the node, with a stable code; `what` says what was being done. */
function sftpError(err: unknown, node: string, what: string): VacmError {
  if (err instanceof VacmError) return err;
  const e = err as { code?: unknown; message?: string; name?: string };
  if (e?.name === 'AbortError') return new VacmError('ERR_CANCELLED', 'cancelled');
  const msg = peerText(e?.message ?? String(err), 200);
  if (e?.code === SFTP_NO_SUCH_FILE) return new VacmError('ERR_NO_SUCH_FILE', `${node}: ${what}: no such file or directory; check the path (and that its directory exists on the node)`);
  if (e?.code === SFTP_PERMISSION_DENIED) return new VacmError('ERR_PERMISSION', `${node}: ${what}: permission denied for the login user; pick a path it may use, or set ssh_user`);
  return new VacmError('ERR_COPY', `${node}: ${what}: ${msg}`);
}

/** A local file system error with a stable code. */
function localError(err: unknown, what: string): VacmError {
  if (err instanceof VacmError) return err;
  const e = err as NodeJS.ErrnoException;
  const codes: Record<string, ErrorCode> = { ENOENT: 'ERR_NO_SUCH_FILE', ENOTDIR: 'ERR_NO_SUCH_FILE', EACCES: 'ERR_PERMISSION', EPERM: 'ERR_PERMISSION', ENOSPC: 'ERR_NO_SPACE', EDQUOT: 'ERR_NO_SPACE' };
  const code = (e?.code && codes[e.code]) || 'ERR_COPY';
  const hint = code === 'ERR_NO_SPACE' ? '; free space on this machine or pull elsewhere' : code === 'ERR_PERMISSION' ? '; check the owner and mode' : '';
  return new VacmError(code, `${what}: ${e?.message ?? String(err)}${hint}`);
}

// --- SFTP as promises -----------------------------------------------------------------------------

function call<T>(f: (cb: (err: Error | undefined | null, v: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      f((err, v) => (err ? reject(err) : resolve(v)));
    } catch (err) {
      reject(err);
    }
  });
}

const sftpStat = (s: SFTPWrapper, p: string) => call<SftpStats>((cb) => s.stat(p, cb));
const sftpLstat = (s: SFTPWrapper, p: string) => call<SftpStats>((cb) => s.lstat(p, cb));
const sftpOpen = (s: SFTPWrapper, p: string, flags: 'r' | 'w') => call<Buffer>((cb) => s.open(p, flags, cb));
const sftpClose = (s: SFTPWrapper, h: Buffer) => call<void>((cb) => s.close(h, cb as (e?: Error | null) => void));
const sftpMkdir = (s: SFTPWrapper, p: string) => call<void>((cb) => s.mkdir(p, cb as (e?: Error | null) => void));
const sftpFchmod = (s: SFTPWrapper, h: Buffer, mode: number) => call<void>((cb) => s.fchmod(h, mode, cb as (e?: Error | null) => void));
const sftpChmod = (s: SFTPWrapper, p: string, mode: number) => call<void>((cb) => s.chmod(p, mode, cb as (e?: Error | null) => void));
const sftpFutimes = (s: SFTPWrapper, h: Buffer, at: number, mt: number) => call<void>((cb) => s.futimes(h, at, mt, cb as (e?: Error | null) => void));
const sftpUtimes = (s: SFTPWrapper, p: string, at: number, mt: number) => call<void>((cb) => s.utimes(p, at, mt, cb as (e?: Error | null) => void));
const sftpOpendir = (s: SFTPWrapper, p: string) => call<Buffer>((cb) => s.opendir(p, cb));
const sftpWrite = (s: SFTPWrapper, h: Buffer, buf: Buffer, pos: number) => call<void>((cb) => s.write(h, buf, 0, buf.length, pos, cb as (e?: Error | null) => void));
const sftpRead = (s: SFTPWrapper, h: Buffer, buf: Buffer, pos: number) => call<number>((cb) => s.read(h, buf, 0, buf.length, pos, (err, n) => cb(err, n)));

/** One batch of directory entries, or undefined at the end. */
function sftpReaddirBatch(s: SFTPWrapper, h: Buffer): Promise<FileEntryWithStats[] | undefined> {
  return new Promise((resolve, reject) => {
    try {
      s.readdir(h, (err, list) => {
        if (err) {
          if ((err as { code?: number }).code === 1) resolve(undefined); // EOF
          else reject(err);
        } else resolve(list as FileEntryWithStats[]);
      });
    } catch (err) {
      reject(err);
    }
  });
}

/** Free bytes for the login user where `p` lives, when the server tells (OpenSSH's statvfs extension). */
async function freeBytes(s: SFTPWrapper, p: string): Promise<number | undefined> {
  type Statvfs = { f_bavail: number | bigint; f_frsize: number | bigint; f_bsize: number | bigint };
  const ext = (s as unknown as { ext_openssh_statvfs?: (p: string, cb: (e: Error | undefined, r: Statvfs) => void) => void }).ext_openssh_statvfs;
  if (typeof ext !== 'function') return undefined;
  try {
    const r = await call<Statvfs>((cb) => ext.call(s, p, cb));
    return Number(r.f_bavail) * Number(r.f_frsize || r.f_bsize);
  } catch {
    return undefined;
  }
}

/** A write that failed with SFTP's generic FAILURE is a full disk when the disk says so. */
async function writeError(s: SFTPWrapper, err: unknown, node: string, remote: string, left: number): Promise<VacmError> {
  if ((err as { code?: number })?.code === SFTP_FAILURE) {
    const free = await freeBytes(s, posixDir(remote));
    if (free !== undefined && free < Math.max(left, COPY_CHUNK)) return new VacmError('ERR_NO_SPACE', `${node}: writing ${remote}: no space left on the node's file system (${free} bytes free); free space there or push elsewhere`);
  }
  return sftpError(err, node, `writing ${remote}`);
}

function posixDir(p: string): string {
  const i = p.replace(/\/+$/, '').lastIndexOf('/');
  return i < 0 ? '.' : i === 0 ? '/' : p.slice(0, i);
}

const isDir = (mode: number) => (mode & 0o170000) === 0o040000;
const isReg = (mode: number) => (mode & 0o170000) === 0o100000;

// --- progress -------------------------------------------------------------------------------------

/** Bytes moved by the whole job, told at most twice a second. */
class Progress {
  bytes = 0;
  total = 0;
  done = 0;
  private last = -1;
  private timer?: NodeJS.Timeout;
  constructor(private readonly ctx: JobContext, private readonly nodes: number) {}
  start(): void {
    this.timer = setInterval(() => this.tell(), PROGRESS_MS);
    this.timer.unref();
  }
  private tell(): void {
    if (this.bytes === this.last) return;
    this.last = this.bytes;
    this.ctx.emit({ type: 'PROGRESS', bytes: this.bytes, total: this.total, done: this.done, nodes: this.nodes });
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

// --- PUSH -----------------------------------------------------------------------------------------

interface SourceFile {
  /** path relative to the source root ('' for a single file) */
  rel: string;
  abs: string;
  identity: SourceIdentity;
  mode: number;
  atime: number;
  mtime: number;
  sha256: string;
}

interface SourceDir {
  rel: string;
  mode: number;
  atime: number;
  mtime: number;
}

/** The local side of a push, hashed before the audit record is written. */
interface PushPlan {
  src: string;
  dst: string;
  flags: CopyFlags;
  isTree: boolean;
  files: SourceFile[];
  /** directories below the root, parents first ('' is the root itself) */
  dirs: SourceDir[];
  bytes: number;
  /** the file's sha256, or the tree's manifest's */
  sha256: string;
}

async function hashFile(abs: string, signal: AbortSignal): Promise<{ sha256: string; identity: SourceIdentity }> {
  const fh = await fs.promises.open(abs, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const before = identityOf(await fh.stat());
    const h = crypto.createHash('sha256');
    const buf = Buffer.allocUnsafe(1024 * 1024);
    for (let pos = 0; ; ) {
      if (signal.aborted) throw new VacmError('ERR_CANCELLED', 'cancelled');
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    const after = identityOf(await fh.stat());
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) throw new VacmError('ERR_COPY', `the source ${abs} changed while it was being hashed; push it again once it is stable`);
    return { sha256: h.digest('hex'), identity: before };
  } finally {
    await fh.close();
  }
}

function secs(ms: number): number {
  return Math.floor(ms / 1000);
}

async function planPush(req: Request, signal: AbortSignal): Promise<PushPlan> {
  const flags = parseCopyFlags(req.named.flags, 'PUSH');
  const src = req.named.src ?? '';
  const dst = req.named.dst ?? '';
  if (!path.isAbsolute(src)) throw new VacmError('ERR_BAD_ARGS', `SSH:PUSH needs an absolute local path, not "${src}" (the engine may run elsewhere than your shell: vacm push makes it absolute for you)`);
  if (dst === '') throw new VacmError('ERR_BAD_ARGS', 'SSH:PUSH needs a remote path: SSH:PUSH:<nodes>:<local-path>:<remote-path>[:<flags>]');
  let st: fs.Stats;
  try {
    st = await fs.promises.lstat(src);
  } catch (err) {
    throw localError(err, `cannot read the source ${src}`);
  }
  if (st.isSymbolicLink()) {
    try {
      st = await fs.promises.stat(src); // the operator named it: a link given is followed, as cp does
    } catch (err) {
      throw localError(err, `cannot read the source ${src}`);
    }
  }
  const files: SourceFile[] = [];
  const dirs: SourceDir[] = [];
  const addFile = async (abs: string, rel: string, s: fs.Stats) => {
    const { sha256, identity } = await hashFile(abs, signal).catch((err) => {
      throw localError(err, `cannot read the source ${abs}`);
    });
    files.push({ rel, abs, identity, mode: s.mode & 0o7777, atime: secs(s.atimeMs), mtime: secs(s.mtimeMs), sha256 });
  };
  if (st.isFile()) {
    await addFile(src, '', st);
  } else if (st.isDirectory()) {
    if (!flags.recursive) throw new VacmError('ERR_COPY', `the source ${src} is a directory; add the RECURSIVE flag (SSH:PUSH:<nodes>:${src}:<remote-dir>:RECURSIVE)`);
    let entries = 0;
    const walk = async (abs: string, rel: string, s: fs.Stats, depth: number): Promise<void> => {
      if (depth > MAX_TREE_DEPTH) throw new VacmError('ERR_LIMIT', `the source tree ${src} is deeper than ${MAX_TREE_DEPTH} directories`);
      dirs.push({ rel, mode: s.mode & 0o7777, atime: secs(s.atimeMs), mtime: secs(s.mtimeMs) });
      const names = (await fs.promises.readdir(abs)).sort();
      for (const name of names) {
        if (++entries > MAX_TREE_ENTRIES) throw new VacmError('ERR_LIMIT', `the source tree ${src} has more than ${MAX_TREE_ENTRIES} entries; push a smaller tree, or an archive of it`);
        const a = path.join(abs, name);
        const r = rel === '' ? name : `${rel}/${name}`;
        const cs = await fs.promises.lstat(a);
        // symbolic links and special files are not copied (a link could point anywhere on this machine)
        if (cs.isDirectory()) await walk(a, r, cs, depth + 1);
        else if (cs.isFile()) await addFile(a, r, cs);
      }
    };
    await walk(src, '', st, 0);
  } else {
    throw new VacmError('ERR_COPY', `the source ${src} is not a regular file or directory`);
  }
  const isTree = st.isDirectory();
  const bytes = files.reduce((n, f) => n + f.identity.size, 0);
  const sha256 = isTree ? crypto.createHash('sha256').update(manifestLines(files)).digest('hex') : files[0].sha256;
  return { src, dst, flags, isTree, files, dirs, bytes, sha256 };
}

/** The shared readers of a push's files, opened when first needed and closed when every node is done. */
class SourceSet {
  private readonly open = new Map<string, SharedSource>();
  constructor(private readonly plan: PushPlan) {}
  get(f: SourceFile): SharedSource {
    let s = this.open.get(f.rel);
    if (!s) this.open.set(f.rel, (s = new SharedSource(f.abs, f.identity)));
    return s;
  }
  /** every chunk read from disk, over all files (for the tests' "read once") */
  reads(): number {
    let n = 0;
    for (const s of this.open.values()) n += s.reads;
    return n;
  }
  files(): readonly SourceFile[] {
    return this.plan.files;
  }
}

/** Send one file over `sftp` from the shared source; resolves when every write is answered. */
async function sendFile(sftp: SFTPWrapper, source: SharedSource, f: SourceFile, remote: string, preserve: boolean, node: string, window: number, signal: AbortSignal, onBytes: (n: number) => void): Promise<void> {
  let handle: Buffer;
  try {
    handle = await sftpOpen(sftp, remote, 'w');
  } catch (err) {
    throw sftpError(err, node, `creating ${remote}`);
  }
  source.join();
  let closed = false;
  try {
    if (preserve) await sftpFchmod(sftp, handle, f.mode & 0o7777).catch((err) => Promise.reject(sftpError(err, node, `setting the mode of ${remote}`)));
    const pending = new Set<Promise<void>>();
    let failure: unknown;
    let sent = 0;
    for (let i = 0; i < source.chunks && failure === undefined; i++) {
      if (signal.aborted) throw new VacmError('ERR_CANCELLED', 'cancelled');
      const c = await source.acquire(i);
      const pos = source.chunkOffset(i);
      const p: Promise<void> = sftpWrite(sftp, handle, c.buf, pos).then(
        () => {
          sent += c.buf.length;
          onBytes(c.buf.length);
        },
        (err) => {
          failure ??= err;
        },
      ).finally(() => {
        c.release();
        pending.delete(p);
      });
      pending.add(p);
      if (pending.size >= window) await Promise.race(pending);
    }
    await Promise.all(pending);
    if (signal.aborted) throw new VacmError('ERR_CANCELLED', 'cancelled');
    if (failure !== undefined) throw await writeError(sftp, failure, node, remote, source.size - sent);
    if (preserve) await sftpFutimes(sftp, handle, f.atime, f.mtime).catch((err) => Promise.reject(sftpError(err, node, `setting the times of ${remote}`)));
    closed = true;
    await sftpClose(sftp, handle).catch(async (err) => Promise.reject(await writeError(sftp, err, node, remote, 0)));
  } finally {
    if (!closed) await sftpClose(sftp, handle).catch(() => {});
    await source.leave();
  }
}

/** The remote sha256 of each path (SKIP_SAME), from one `sha256sum -z` on the node; missing files are absent. */
async function remoteHashes(transport: FileTransport, node: string, vars: NodeVars, paths: readonly string[], signal: AbortSignal): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  // batches of at most ~64 KiB of arguments; the paths are quoted one by one, never spliced raw
  let batch: string[] = [];
  let len = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const cmd = `sha256sum -z -- ${batch.map(quoteWord).join(' ')} 2>/dev/null`;
    const r = await transport.run(node, vars, cmd, { signal, maxBytes: 1024 * 1024 });
    for (const [p, h] of parseSha256sumZ(r.stdout)) out.set(p, h);
    batch = [];
    len = 0;
  };
  for (const p of paths) {
    batch.push(p);
    len += p.length + 3;
    if (len > 60_000) await flush();
  }
  await flush();
  return out;
}

async function pushNode(transport: FileTransport, plan: PushPlan, sources: SourceSet, node: string, vars: NodeVars, window: number, signal: AbortSignal, progress: Progress): Promise<{ bytes: number; unchanged: boolean }> {
  let dst: string;
  try {
    dst = expandTemplate(plan.dst, node);
  } catch (err) {
    throw new VacmError('ERR_BAD_ARGS', `the remote path ${plan.dst}: ${(err as Error).message}`);
  }
  return transport.withSftp(node, vars, signal, async (sftp) => {
    // into an existing directory, as cp and scp do: DST/<basename of SRC>
    let root = dst;
    try {
      const st = await sftpStat(sftp, dst);
      if (isDir(st.mode)) root = posixJoin(dst, posixBasename(plan.src));
    } catch (err) {
      if ((err as { code?: number }).code !== SFTP_NO_SUCH_FILE) throw sftpError(err, node, `looking at ${dst}`);
    }
    const target = (rel: string) => (rel === '' ? root : posixJoin(root, rel));
    let todo = plan.files;
    if (plan.flags.skipSame) {
      const have = await remoteHashes(transport, node, vars, plan.files.map((f) => target(f.rel)), signal);
      todo = plan.files.filter((f) => have.get(target(f.rel)) !== f.sha256);
      if (todo.length === 0) {
        progress.total -= plan.bytes;
        return { bytes: 0, unchanged: true };
      }
      progress.total -= plan.bytes - todo.reduce((n, f) => n + f.identity.size, 0);
    }
    if (plan.isTree) {
      for (const d of plan.dirs) {
        const p = target(d.rel);
        try {
          await sftpMkdir(sftp, p);
        } catch (err) {
          // an existing directory is fine (anything else in its place is not)
          const st = await sftpLstat(sftp, p).catch(() => undefined);
          if (!st || !isDir(st.mode)) throw sftpError(err, node, `creating the directory ${p}`);
        }
      }
    }
    let bytes = 0;
    for (const f of todo) {
      await sendFile(sftp, sources.get(f), f, target(f.rel), plan.flags.preserve, node, window, signal, (n) => {
        bytes += n;
        progress.bytes += n;
      });
    }
    if (plan.isTree && plan.flags.preserve) {
      // deepest first: setting a directory's mtime after its children were written
      for (const d of [...plan.dirs].reverse()) {
        const p = target(d.rel);
        await sftpChmod(sftp, p, d.mode).catch((err) => Promise.reject(sftpError(err, node, `setting the mode of ${p}`)));
        await sftpUtimes(sftp, p, d.atime, d.mtime).catch((err) => Promise.reject(sftpError(err, node, `setting the times of ${p}`)));
      }
    }
    return { bytes, unchanged: false };
  });
}

// --- PULL -----------------------------------------------------------------------------------------

/** Where PULL writes: checked once per job. */
async function pullDir(dir: string): Promise<string> {
  if (!path.isAbsolute(dir)) throw new VacmError('ERR_BAD_ARGS', `SSH:PULL needs an absolute local directory, not "${dir}" (vacm pull makes it absolute for you)`);
  try {
    await fs.promises.mkdir(dir, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw localError(err, `cannot create the local directory ${dir}`);
  }
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(dir);
  } catch (err) {
    throw localError(err, `cannot use the local directory ${dir}`);
  }
  if (!st.isDirectory()) throw new VacmError('ERR_COPY', `${dir} is not a directory; SSH:PULL saves <basename>.<node> files into a directory`);
  // others who can write into it, and are not held back by the sticky bit, could swap files we wrote
  if ((st.mode & 0o002) !== 0 && (st.mode & 0o1000) === 0) throw new VacmError('ERR_UNSAFE_FILE', `${dir} is writable by everyone and not sticky (mode ${(st.mode & 0o7777).toString(8)}); pull into a directory of yours (chmod o-w ${dir})`);
  return dir;
}

function tempName(node: string): string {
  return `.vacm-pull-${node}-${crypto.randomBytes(6).toString('hex')}`;
}

/** A new local file nobody else has: O_EXCL (a name already there, even a link, is an error) and O_NOFOLLOW. */
async function createExclusive(file: string): Promise<fs.promises.FileHandle> {
  return fs.promises.open(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
}

/** The mode a pulled file or directory gets: the node's with PRESERVE (set-id bits never), else the umask's. */
function localMode(remoteMode: number, preserve: boolean, dir: boolean): number {
  if (preserve) return remoteMode & 0o777;
  const umask = process.umask();
  return (dir ? 0o777 : 0o666) & ~umask;
}

/**
 * Read `remote` into the open local `fh`, pipelined; returns its bytes and sha256. At most `size`
 * bytes (its size when listed, as scp does): a file that grows meanwhile does not make it endless.
 */
async function receiveFile(sftp: SFTPWrapper, remote: string, size: number, fh: fs.promises.FileHandle, node: string, localFile: string, window: number, signal: AbortSignal, onBytes: (n: number) => void): Promise<{ bytes: number; sha256: string }> {
  let handle: Buffer;
  try {
    handle = await sftpOpen(sftp, remote, 'r');
  } catch (err) {
    throw sftpError(err, node, `opening ${remote}`);
  }
  try {
    const hash = crypto.createHash('sha256');
    // chunks that came back out of order, until the hash reaches them (bounded by the window)
    const early = new Map<number, Buffer>();
    let hashed = 0;
    let next = 0;
    let eof = Infinity;
    let failure: unknown;
    const pending = new Set<Promise<void>>();
    const readAt = (pos: number, len: number): Promise<void> => {
      const buf = Buffer.allocUnsafe(len);
      const p: Promise<void> = sftpRead(sftp, handle, buf, pos).then(
        async (n) => {
          if (n === 0) {
            eof = Math.min(eof, pos);
            return;
          }
          const data = buf.subarray(0, n);
          try {
            await fh.write(data, 0, n, pos);
          } catch (err) {
            failure ??= localError(err, `writing ${localFile}`);
            return;
          }
          onBytes(n);
          early.set(pos, data);
          while (early.has(hashed)) {
            const d = early.get(hashed)!;
            early.delete(hashed);
            hash.update(d);
            hashed += d.length;
          }
          // a short read before the end: ask for the rest of this chunk
          if (n < len && pos + n < size) queue.push([pos + n, len - n]);
        },
        (err) => {
          failure ??= sftpError(err, node, `reading ${remote}`);
        },
      ).finally(() => pending.delete(p));
      pending.add(p);
      return p;
    };
    const queue: [number, number][] = [];
    const end = () => Math.min(eof, size);
    while (failure === undefined) {
      if (signal.aborted) throw new VacmError('ERR_CANCELLED', 'cancelled');
      const q = queue.shift();
      if (q) void readAt(q[0], q[1]);
      else if (next < end()) {
        void readAt(next, Math.min(COPY_CHUNK, size - next));
        next += COPY_CHUNK;
      } else if (pending.size === 0) break;
      if (pending.size >= window || (next >= end() && queue.length === 0 && pending.size > 0)) await Promise.race(pending);
    }
    await Promise.allSettled([...pending]);
    if (signal.aborted) throw new VacmError('ERR_CANCELLED', 'cancelled');
    if (failure !== undefined) throw failure;
    if (hashed !== end()) throw new VacmError('ERR_COPY', `${node}: reading ${remote}: the node's answers left a gap at byte ${hashed}; pull it again`);
    return { bytes: hashed, sha256: hash.digest('hex') };
  } finally {
    await sftpClose(sftp, handle).catch(() => {});
  }
}

/** One remote tree entry to fetch, with the local path (inside the job's own temporary directory). */
async function pullTree(sftp: SFTPWrapper, remoteRoot: string, localRoot: string, flags: CopyFlags, node: string, window: number, signal: AbortSignal, onBytes: (n: number) => void): Promise<{ bytes: number; files: { rel: string; sha256: string }[] }> {
  const files: { rel: string; sha256: string }[] = [];
  const dirModes: { local: string; mode: number; atime: number; mtime: number }[] = [];
  let entries = 0;
  let bytes = 0;
  const walk = async (remote: string, local: string, rel: string, depth: number, st: SftpStats): Promise<void> => {
    if (depth > MAX_TREE_DEPTH) throw new VacmError('ERR_LIMIT', `${node}: ${remoteRoot} is deeper than ${MAX_TREE_DEPTH} directories`);
    if (rel !== '') await fs.promises.mkdir(local, { mode: 0o700 }).catch((err) => Promise.reject(localError(err, `creating ${local}`)));
    dirModes.push({ local, mode: localMode(st.mode, flags.preserve, true), atime: st.atime, mtime: st.mtime });
    let h: Buffer;
    try {
      h = await sftpOpendir(sftp, remote);
    } catch (err) {
      throw sftpError(err, node, `listing ${remote}`);
    }
    const list: FileEntryWithStats[] = [];
    try {
      for (;;) {
        if (signal.aborted) throw new VacmError('ERR_CANCELLED', 'cancelled');
        const batch = await sftpReaddirBatch(sftp, h).catch((err) => Promise.reject(sftpError(err, node, `listing ${remote}`)));
        if (!batch) break;
        for (const e of batch) {
          if (e.filename === '.' || e.filename === '..') continue;
          if (++entries > MAX_TREE_ENTRIES) throw new VacmError('ERR_LIMIT', `${node}: ${remoteRoot} has more than ${MAX_TREE_ENTRIES} entries; pull a smaller tree`);
          // the node names these: one safe component each, or the node fails (it would write elsewhere)
          const bad = unsafeComponent(e.filename);
          if (bad) throw new VacmError('ERR_COPY', `${node} listed ${bad} in ${peerText(remote, 200)} (${JSON.stringify(peerText(e.filename, 80))}); nothing of it was written outside the pull directory`);
          list.push(e);
        }
      }
    } finally {
      await sftpClose(sftp, h).catch(() => {});
    }
    list.sort((a, b) => Buffer.compare(Buffer.from(a.filename), Buffer.from(b.filename)));
    for (const e of list) {
      const r = rel === '' ? e.filename : `${rel}/${e.filename}`;
      const rp = posixJoin(remote, e.filename);
      const lp = path.join(local, e.filename);
      // the listing's attributes are lstat's: links and special files are not followed nor copied
      if (isDir(e.attrs.mode)) await walk(rp, lp, r, depth + 1, e.attrs);
      else if (isReg(e.attrs.mode)) {
        const fh = await createExclusive(lp).catch((err) => Promise.reject(localError(err, `creating ${lp}`)));
        try {
          const got = await receiveFile(sftp, rp, e.attrs.size, fh, node, lp, window, signal, (n) => {
            bytes += n;
            onBytes(n);
          });
          await fh.chmod(localMode(e.attrs.mode, flags.preserve, false));
          if (flags.preserve) await fh.utimes(e.attrs.atime, e.attrs.mtime);
          files.push({ rel: r, sha256: got.sha256 });
        } finally {
          await fh.close();
        }
      }
    }
  };
  const top = await sftpStat(sftp, remoteRoot).catch((err) => Promise.reject(sftpError(err, node, `looking at ${remoteRoot}`)));
  await walk(remoteRoot, localRoot, '', 0, top);
  for (const d of dirModes.reverse()) {
    await fs.promises.chmod(d.local, d.mode);
    if (flags.preserve) await fs.promises.utimes(d.local, d.atime, d.mtime);
  }
  return { bytes, files };
}

async function pullNode(transport: FileTransport, remotePattern: string, dir: string, flags: CopyFlags, node: string, vars: NodeVars, window: number, signal: AbortSignal, progress: Progress): Promise<{ bytes: number; sha256: string }> {
  let remote: string;
  try {
    remote = expandTemplate(remotePattern, node);
  } catch (err) {
    throw new VacmError('ERR_BAD_ARGS', `the remote path ${remotePattern}: ${(err as Error).message}`);
  }
  const final = path.join(dir, pulledName(remote, node));
  return transport.withSftp(node, vars, signal, async (sftp) => {
    const st = await sftpStat(sftp, remote).catch((err) => Promise.reject(sftpError(err, node, `looking at ${remote}`)));
    const tmp = path.join(dir, tempName(node));
    if (isDir(st.mode)) {
      if (!flags.recursive) throw new VacmError('ERR_COPY', `${node}: ${remote} is a directory; add the RECURSIVE flag`);
      await fs.promises.mkdir(tmp, { mode: 0o700 }).catch((err) => Promise.reject(localError(err, `creating ${tmp}`)));
      try {
        const r = await pullTree(sftp, remote, tmp, flags, node, window, signal, (n) => (progress.bytes += n));
        progress.total += r.bytes;
        await renameInto(tmp, final);
        return { bytes: r.bytes, sha256: crypto.createHash('sha256').update(manifestLines(r.files)).digest('hex') };
      } catch (err) {
        await fs.promises.rm(tmp, { recursive: true, force: true }).catch(() => {});
        throw err;
      }
    }
    if (!isReg(st.mode)) throw new VacmError('ERR_COPY', `${node}: ${remote} is not a regular file (a device or pipe could be endless); name a file`);
    progress.total += st.size;
    const fh = await createExclusive(tmp).catch((err) => Promise.reject(localError(err, `creating ${tmp}`)));
    let ok = false;
    try {
      const got = await receiveFile(sftp, remote, st.size, fh, node, final, window, signal, (n) => (progress.bytes += n));
      await fh.chmod(localMode(st.mode, flags.preserve, false));
      if (flags.preserve) await fh.utimes(st.atime, st.mtime);
      await fh.close();
      await renameInto(tmp, final);
      ok = true;
      return got;
    } finally {
      if (!ok) {
        await fh.close().catch(() => {});
        await fs.promises.rm(tmp, { force: true }).catch(() => {});
      }
    }
  });
}

/**
 * Put the finished temporary file or tree at `final`. rename() replaces a file or a link that is
 * there (the link itself, never what it points to); an existing directory is refused.
 */
async function renameInto(tmp: string, final: string): Promise<void> {
  const there = await fs.promises.lstat(final).catch(() => undefined);
  if (there?.isDirectory()) throw new VacmError('ERR_COPY', `${final} is an existing directory; remove it or pull into another directory`);
  try {
    await fs.promises.rename(tmp, final);
  } catch (err) {
    throw localError(err, `saving ${final}`);
  }
}

// --- the commands ---------------------------------------------------------------------------------

const FLAGS_ARG = { name: 'flags', optional: true } as const;

export function createCopyCommands(caps: { transport: FileTransport; isSim: (node: string, vars: NodeVars) => boolean }): CommandDef[] {
  const { transport, isSim } = caps;
  /** the plan PUSH's prepare made (hashes and all), for its run */
  const plans = new WeakMap<Request, PushPlan>();

  const simRefusal = () => new VacmError('ERR_UNSUPPORTED', 'simulated nodes have no file system: SSH:PUSH and SSH:PULL copy over SSH to real nodes');

  const push: CommandDef = {
    name: 'PUSH',
    summary: 'copy a local file (or tree, with RECURSIVE) to the nodes over SFTP; flags RECURSIVE, PRESERVE, SKIP_SAME',
    nodes: 'required',
    args: [{ name: 'src' }, { name: 'dst' }, FLAGS_ARG],
    lane: 'bulk',
    dangerous: true,
    skipKnownDown: true,
    validate(req) {
      parseCopyFlags(req.named.flags, 'PUSH');
    },
    async prepare(req, _nodes, _host: ModuleHost, signal) {
      const plan = await planPush(req, signal);
      plans.set(req, plan);
      return { source: plan.src, sha256: plan.sha256, bytes: String(plan.bytes), files: String(plan.files.length) };
    },
    async run(ctx) {
      const plan = plans.get(ctx.request) ?? (await planPush(ctx.request, ctx.signal));
      const sources = new SourceSet(plan);
      const window = nodeWindow(Math.min(ctx.nodes.length, ctx.host.config.fanout));
      const progress = new Progress(ctx, ctx.nodes.length);
      progress.total = plan.bytes * ctx.nodes.length;
      progress.start();
      try {
        await ctx.forEachNode(ctx.nodes, async ({ node, vars, signal }) => {
          try {
            if (isSim(node, vars)) throw simRefusal();
            const r = await pushNode(transport, plan, sources, node, vars, window, signal, progress);
            if (signal.aborted) throw signal.reason ?? new VacmError('ERR_CANCELLED', 'cancelled');
            ctx.emit({ type: 'COPY', node, bytes: r.bytes, sha256: r.unchanged ? 'unchanged' : plan.sha256 });
            return 'ok';
          } finally {
            progress.done++;
          }
        });
      } finally {
        progress.stop();
        plans.delete(ctx.request);
      }
    },
  };

  const pull: CommandDef = {
    name: 'PULL',
    summary: 'copy a file (or tree, with RECURSIVE) from each node into LOCAL-DIR/<basename>.<node>; flags RECURSIVE, PRESERVE',
    nodes: 'required',
    args: [{ name: 'src' }, { name: 'dir' }, FLAGS_ARG],
    lane: 'bulk',
    // it writes only into the operator's own directory on this machine: nothing on the nodes changes
    dangerous: false,
    skipKnownDown: true,
    validate(req) {
      parseCopyFlags(req.named.flags, 'PULL');
      if ((req.named.src ?? '') === '') throw new VacmError('ERR_BAD_ARGS', 'SSH:PULL needs a remote path: SSH:PULL:<nodes>:<remote-path>:<local-dir>[:<flags>]');
    },
    async prepare(req) {
      await pullDir(req.named.dir ?? '');
    },
    async run(ctx) {
      const flags = parseCopyFlags(ctx.args.flags, 'PULL');
      const dir = await pullDir(ctx.args.dir ?? '');
      const window = nodeWindow(Math.min(ctx.nodes.length, ctx.host.config.fanout));
      const progress = new Progress(ctx, ctx.nodes.length);
      progress.start();
      try {
        await ctx.forEachNode(ctx.nodes, async ({ node, vars, signal }) => {
          try {
            if (isSim(node, vars)) throw simRefusal();
            const r = await pullNode(transport, ctx.args.src, dir, flags, node, vars, window, signal, progress);
            if (signal.aborted) throw signal.reason ?? new VacmError('ERR_CANCELLED', 'cancelled');
            ctx.emit({ type: 'COPY', node, bytes: r.bytes, sha256: r.sha256 });
            return 'ok';
          } finally {
            progress.done++;
          }
        });
      } finally {
        progress.stop();
      }
    },
  };

  return [push, pull];
}

