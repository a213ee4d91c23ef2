/**
 * An anonymous temporary file: open read-write, already gone from every directory, so only the
 * descriptors of this process (and of a child it hands them to) reach it, and it is freed when the
 * last one closes. Made in a fresh 0700 directory (mkdtemp: a random name that cannot already exist)
 * with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, then unlinked with its directory at once: nothing
 * another user planted is ever opened, and nothing is left behind if vacm dies.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const C = fs.constants;

/** The descriptors of `count` new anonymous files; throws (ENOSPC, EACCES...) when they cannot be made. */
export function anonymousFiles(count: number, prefix = 'vacm-'): number[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const fds: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const file = path.join(dir, String(i));
      try {
        fds.push(fs.openSync(file, C.O_RDWR | C.O_CREAT | C.O_EXCL | (C.O_NOFOLLOW ?? 0), 0o600));
      } finally {
        try {
          fs.unlinkSync(file);
        } catch {
          // not created
        }
      }
    }
    return fds;
  } catch (err) {
    for (const fd of fds) fs.closeSync(fd);
    throw err;
  } finally {
    fs.rmdirSync(dir);
  }
}

/**
 * Read a file from its start through `onChunk`, 64 KiB at a time, at most `maxBytes` in all (the
 * rest is not read): what the file holds costs one chunk of memory. Returns the bytes read.
 */
export function readBounded(fd: number, maxBytes: number, onChunk: (s: string) => void): number {
  const buf = Buffer.allocUnsafe(65_536);
  const decoder = new TextDecoder('utf-8');
  let pos = 0;
  while (pos < maxBytes) {
    const n = fs.readSync(fd, buf, 0, Math.min(buf.length, maxBytes - pos), pos);
    if (n <= 0) break;
    pos += n;
    onChunk(decoder.decode(buf.subarray(0, n), { stream: true }));
  }
  const rest = decoder.decode();
  if (rest) onChunk(rest);
  return pos;
}
