/**
 * SSH:PUSH's work (copy.ts has the command): the local side planned and hashed once, then sent to
 * every node from shared readers (copy-source.ts), SKIP_SAME's remote hashes, and one node's push.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import { VacmError } from '../../protocol/errors.js';
import type { NodeVars } from '../../protocol/module.js';
import type { Request } from '../../protocol/ipc.js';
import { expandTemplate } from '../../protocol/vars.js';
import { quoteWord } from '../../protocol/shell-words.js';
import { manifestLines, parseCopyFlags, parseSha256sumZ, posixBasename, posixJoin, type CopyFlags } from '../../protocol/copy.js';
import { SharedSource, identityOf, type SourceIdentity } from './copy-source.js';
import { type FileTransport, MAX_TREE_ENTRIES, MAX_TREE_DEPTH, SFTP_NO_SUCH_FILE, sftpError, localError, sftpStat, sftpLstat, sftpOpen, sftpClose, sftpMkdir, sftpFchmod, sftpChmod, sftpFutimes, sftpUtimes, sftpWrite, writeError, isDir, Progress } from './copy-sftp.js';

// --- PUSH -----------------------------------------------------------------------------------------

export interface SourceFile {
  /** path relative to the source root ('' for a single file) */
  rel: string;
  abs: string;
  identity: SourceIdentity;
  mode: number;
  atime: number;
  mtime: number;
  sha256: string;
}

export interface SourceDir {
  rel: string;
  mode: number;
  atime: number;
  mtime: number;
}

/** The local side of a push, hashed before the audit record is written. */
export interface PushPlan {
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

export async function hashFile(abs: string, signal: AbortSignal): Promise<{ sha256: string; identity: SourceIdentity }> {
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

export function secs(ms: number): number {
  return Math.floor(ms / 1000);
}

export async function planPush(req: Request, signal: AbortSignal): Promise<PushPlan> {
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
export class SourceSet {
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
export async function sendFile(sftp: SFTPWrapper, source: SharedSource, f: SourceFile, remote: string, preserve: boolean, node: string, window: number, signal: AbortSignal, onBytes: (n: number) => void): Promise<void> {
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
export async function remoteHashes(transport: FileTransport, node: string, vars: NodeVars, paths: readonly string[], signal: AbortSignal): Promise<Map<string, string>> {
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

export async function pushNode(transport: FileTransport, plan: PushPlan, sources: SourceSet, node: string, vars: NodeVars, window: number, signal: AbortSignal, progress: Progress): Promise<{ bytes: number; unchanged: boolean }> {
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
