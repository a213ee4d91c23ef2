/**
 * SSH:PULL's work (copy.ts has the command): the local directory checked, each node's file or tree
 * received into a temporary file created exclusively, then renamed into place.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FileEntryWithStats, SFTPWrapper, Stats as SftpStats } from 'ssh2';
import { VacmError } from '../../protocol/errors.js';
import type { NodeVars } from '../../protocol/module.js';
import { expandTemplate } from '../../protocol/vars.js';
import { peerText } from '../../protocol/visible.js';
import { manifestLines, posixJoin, pulledName, unsafeComponent, type CopyFlags } from '../../protocol/copy.js';
import { COPY_CHUNK } from './copy-source.js';
import { type FileTransport, MAX_TREE_ENTRIES, MAX_TREE_DEPTH, sftpError, localError, sftpStat, sftpOpen, sftpClose, sftpOpendir, sftpRead, sftpReaddirBatch, isDir, isReg, Progress } from './copy-sftp.js';

// --- PULL -----------------------------------------------------------------------------------------

/** Where PULL writes: checked once per job. */
export async function pullDir(dir: string): Promise<string> {
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

export function tempName(node: string): string {
  return `.vacm-pull-${node}-${crypto.randomBytes(6).toString('hex')}`;
}

/** A new local file nobody else has: O_EXCL (a name already there, even a link, is an error) and O_NOFOLLOW. */
export async function createExclusive(file: string): Promise<fs.promises.FileHandle> {
  return fs.promises.open(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
}

/** The mode a pulled file or directory gets: the node's with PRESERVE (set-id bits never), else the umask's. */
export function localMode(remoteMode: number, preserve: boolean, dir: boolean): number {
  if (preserve) return remoteMode & 0o777;
  const umask = process.umask();
  return (dir ? 0o777 : 0o666) & ~umask;
}

/**
 * Read `remote` into the open local `fh`, pipelined; returns its bytes and sha256. At most `size`
 * bytes (its size when listed, as scp does): a file that grows meanwhile does not make it endless.
 */
export async function receiveFile(sftp: SFTPWrapper, remote: string, size: number, fh: fs.promises.FileHandle, node: string, localFile: string, window: number, signal: AbortSignal, onBytes: (n: number) => void): Promise<{ bytes: number; sha256: string }> {
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
export async function pullTree(sftp: SFTPWrapper, remoteRoot: string, localRoot: string, flags: CopyFlags, node: string, window: number, signal: AbortSignal, onBytes: (n: number) => void): Promise<{ bytes: number; files: { rel: string; sha256: string }[] }> {
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

export async function pullNode(transport: FileTransport, remotePattern: string, dir: string, flags: CopyFlags, node: string, vars: NodeVars, window: number, signal: AbortSignal, progress: Progress): Promise<{ bytes: number; sha256: string }> {
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
export async function renameInto(tmp: string, final: string): Promise<void> {
  const there = await fs.promises.lstat(final).catch(() => undefined);
  if (there?.isDirectory()) throw new VacmError('ERR_COPY', `${final} is an existing directory; remove it or pull into another directory`);
  try {
    await fs.promises.rename(tmp, final);
  } catch (err) {
    throw localError(err, `saving ${final}`);
  }
}
