/**
 * A local file read in chunks that every node being sent it shares: a chunk is read once and kept
 * while nodes use it (and a while after, in a bounded cache), so that nodes moving together read the
 * file once between them, whatever their number. Memory is bounded by the cache and by what the
 * nodes hold at a time (their write windows), never by the file's size times the nodes.
 */
import fs from 'node:fs';
import { VacmError } from '../../protocol/errors.js';

/** The size of one chunk (one SFTP write or read). */
export const COPY_CHUNK = 64 * 1024;
/**
 * Chunks one node has in flight (writes or reads not yet answered): 16 (1 MiB) while few nodes copy,
 * fewer as more do, so that all of them together keep at most ~1024 chunks (64 MiB) in flight, and
 * never fewer than 4 (on a loaded machine every answer is late: a small window starves the link).
 */
export function nodeWindow(nodes: number): number {
  return Math.max(4, Math.min(16, Math.floor(1024 / Math.max(1, nodes))));
}
/** Chunks the shared cache keeps (32 MiB with 64 KiB chunks). */
export const CACHE_CHUNKS = 512;

/** What identifies the file's content as it was hashed: a change to any of these is a change to the file. */
export interface SourceIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

export function identityOf(st: fs.Stats): SourceIdentity {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
}

function sameIdentity(a: SourceIdentity, b: SourceIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

export function changedError(file: string): VacmError {
  return new VacmError('ERR_COPY', `the source ${file} changed after it was hashed (its size, mtime or inode differ); push it again once it is stable`);
}

interface Entry {
  buf: Promise<Buffer>;
  refs: number;
}

/** A chunk a node holds; `release()` it once its write is answered. */
export interface HeldChunk {
  buf: Buffer;
  release(): void;
}

export class SharedSource {
  private readonly cache = new Map<number, Entry>();
  private fh?: Promise<fs.promises.FileHandle>;
  /** chunk reads from the file (a test reads it: nodes in step read each chunk once) */
  reads = 0;
  /** users (nodes) still sending this file; the file is closed when the last one leaves */
  private users = 0;

  constructor(
    readonly file: string,
    readonly identity: SourceIdentity,
    private readonly chunkSize = COPY_CHUNK,
    private readonly capacity = CACHE_CHUNKS,
  ) {}

  get size(): number {
    return this.identity.size;
  }

  get chunks(): number {
    return Math.ceil(this.identity.size / this.chunkSize);
  }

  chunkOffset(i: number): number {
    return i * this.chunkSize;
  }

  join(): void {
    this.users++;
  }

  async leave(): Promise<void> {
    if (--this.users > 0) return;
    this.cache.clear();
    const fh = this.fh;
    this.fh = undefined;
    if (fh) await fh.then((h) => h.close(), () => {});
  }

  private open(): Promise<fs.promises.FileHandle> {
    this.fh ??= (async () => {
      const h = await fs.promises.open(this.file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      if (!sameIdentity(identityOf(await h.stat()), this.identity)) {
        await h.close();
        throw changedError(this.file);
      }
      return h;
    })();
    return this.fh;
  }

  private async read(i: number): Promise<Buffer> {
    const h = await this.open();
    this.reads++;
    const pos = i * this.chunkSize;
    const len = Math.min(this.chunkSize, this.identity.size - pos);
    const buf = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const { bytesRead } = await h.read(buf, got, len - got, pos + got);
      if (bytesRead === 0) throw changedError(this.file); // shorter than when it was hashed
      got += bytesRead;
    }
    return buf;
  }

  /** Chunk `i`: from the cache, or read (and cached while there is room; else held by this node alone). */
  async acquire(i: number): Promise<HeldChunk> {
    let e = this.cache.get(i);
    if (e) {
      // most recently used last (a Map keeps insertion order: the first ones are evicted first)
      this.cache.delete(i);
      this.cache.set(i, e);
    } else {
      if (this.cache.size >= this.capacity) {
        for (const [k, v] of this.cache) {
          if (v.refs === 0) {
            this.cache.delete(k);
            break;
          }
        }
      }
      const buf = this.read(i);
      buf.catch(() => this.cache.get(i)?.buf === buf && this.cache.delete(i));
      if (this.cache.size >= this.capacity) {
        // every cached chunk is in use by some node: this one is read for this node alone
        const b = await buf;
        return { buf: b, release: () => {} };
      }
      e = { buf, refs: 0 };
      this.cache.set(i, e);
    }
    const entry = e;
    entry.refs++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      entry.refs--;
    };
    try {
      return { buf: await entry.buf, release };
    } catch (err) {
      release();
      throw err;
    }
  }
}
