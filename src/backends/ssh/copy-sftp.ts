/**
 * The plumbing SSH:PUSH and SSH:PULL share (copy.ts): what they need of the pool, their limits,
 * SFTP status errors as stable codes, the SFTP calls as promises, and the job's PROGRESS.
 */
import path from 'node:path';
import type { FileEntryWithStats, SFTPWrapper, Stats as SftpStats } from 'ssh2';
import { VacmError, type ErrorCode } from '../../protocol/errors.js';
import type { JobContext, NodeVars } from '../../protocol/module.js';
import { peerText } from '../../protocol/visible.js';
import type { ExecResult } from '../capabilities.js';
import { COPY_CHUNK } from './copy-source.js';

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
export const PROGRESS_MS = 500;

// --- errors ---------------------------------------------------------------------------------------

export const SFTP_NO_SUCH_FILE = 2;
export const SFTP_PERMISSION_DENIED = 3;
export const SFTP_FAILURE = 4;

/** An SFTP status error from the node, with a stable code; `what` says what was being done. */
export function sftpError(err: unknown, node: string, what: string): VacmError {
  if (err instanceof VacmError) return err;
  const e = err as { code?: unknown; message?: string; name?: string };
  if (e?.name === 'AbortError') return new VacmError('ERR_CANCELLED', 'cancelled');
  const msg = peerText(e?.message ?? String(err), 200);
  if (e?.code === SFTP_NO_SUCH_FILE) return new VacmError('ERR_NO_SUCH_FILE', `${node}: ${what}: no such file or directory; check the path (and that its directory exists on the node)`);
  if (e?.code === SFTP_PERMISSION_DENIED) return new VacmError('ERR_PERMISSION', `${node}: ${what}: permission denied for the login user; pick a path it may use, or set ssh_user`);
  return new VacmError('ERR_COPY', `${node}: ${what}: ${msg}`);
}

/** A local file system error with a stable code. */
export function localError(err: unknown, what: string): VacmError {
  if (err instanceof VacmError) return err;
  const e = err as NodeJS.ErrnoException;
  const codes: Record<string, ErrorCode> = { ENOENT: 'ERR_NO_SUCH_FILE', ENOTDIR: 'ERR_NO_SUCH_FILE', EACCES: 'ERR_PERMISSION', EPERM: 'ERR_PERMISSION', ENOSPC: 'ERR_NO_SPACE', EDQUOT: 'ERR_NO_SPACE' };
  const code = (e?.code && codes[e.code]) || 'ERR_COPY';
  const hint = code === 'ERR_NO_SPACE' ? '; free space on this machine or pull elsewhere' : code === 'ERR_PERMISSION' ? '; check the owner and mode' : '';
  return new VacmError(code, `${what}: ${e?.message ?? String(err)}${hint}`);
}

// --- SFTP as promises -----------------------------------------------------------------------------

export function call<T>(f: (cb: (err: Error | undefined | null, v: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      f((err, v) => (err ? reject(err) : resolve(v)));
    } catch (err) {
      reject(err);
    }
  });
}

export const sftpStat = (s: SFTPWrapper, p: string) => call<SftpStats>((cb) => s.stat(p, cb));
export const sftpLstat = (s: SFTPWrapper, p: string) => call<SftpStats>((cb) => s.lstat(p, cb));
export const sftpOpen = (s: SFTPWrapper, p: string, flags: 'r' | 'w') => call<Buffer>((cb) => s.open(p, flags, cb));
export const sftpClose = (s: SFTPWrapper, h: Buffer) => call<void>((cb) => s.close(h, cb as (e?: Error | null) => void));
export const sftpMkdir = (s: SFTPWrapper, p: string) => call<void>((cb) => s.mkdir(p, cb as (e?: Error | null) => void));
export const sftpFchmod = (s: SFTPWrapper, h: Buffer, mode: number) => call<void>((cb) => s.fchmod(h, mode, cb as (e?: Error | null) => void));
export const sftpChmod = (s: SFTPWrapper, p: string, mode: number) => call<void>((cb) => s.chmod(p, mode, cb as (e?: Error | null) => void));
export const sftpFutimes = (s: SFTPWrapper, h: Buffer, at: number, mt: number) => call<void>((cb) => s.futimes(h, at, mt, cb as (e?: Error | null) => void));
export const sftpUtimes = (s: SFTPWrapper, p: string, at: number, mt: number) => call<void>((cb) => s.utimes(p, at, mt, cb as (e?: Error | null) => void));
export const sftpOpendir = (s: SFTPWrapper, p: string) => call<Buffer>((cb) => s.opendir(p, cb));
export const sftpWrite = (s: SFTPWrapper, h: Buffer, buf: Buffer, pos: number) => call<void>((cb) => s.write(h, buf, 0, buf.length, pos, cb as (e?: Error | null) => void));
export const sftpRead = (s: SFTPWrapper, h: Buffer, buf: Buffer, pos: number) => call<number>((cb) => s.read(h, buf, 0, buf.length, pos, (err, n) => cb(err, n)));

/** One batch of directory entries, or undefined at the end. */
export function sftpReaddirBatch(s: SFTPWrapper, h: Buffer): Promise<FileEntryWithStats[] | undefined> {
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
export async function freeBytes(s: SFTPWrapper, p: string): Promise<number | undefined> {
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
export async function writeError(s: SFTPWrapper, err: unknown, node: string, remote: string, left: number): Promise<VacmError> {
  if ((err as { code?: number })?.code === SFTP_FAILURE) {
    const free = await freeBytes(s, posixDir(remote));
    if (free !== undefined && free < Math.max(left, COPY_CHUNK)) return new VacmError('ERR_NO_SPACE', `${node}: writing ${remote}: no space left on the node's file system (${free} bytes free); free space there or push elsewhere`);
  }
  return sftpError(err, node, `writing ${remote}`);
}

export function posixDir(p: string): string {
  const i = p.replace(/\/+$/, '').lastIndexOf('/');
  return i < 0 ? '.' : i === 0 ? '/' : p.slice(0, i);
}

export const isDir = (mode: number) => (mode & 0o170000) === 0o040000;
export const isReg = (mode: number) => (mode & 0o170000) === 0o100000;

// --- progress -------------------------------------------------------------------------------------

/** Bytes moved by the whole job, told at most twice a second. */
export class Progress {
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
