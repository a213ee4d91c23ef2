/**
 * An anonymous temporary file: open read-write, already gone from every directory, so only the
 * descriptors of this process (and of a child it hands them to) reach it, and it is freed when the
 * last one closes. Made in a fresh 0700 directory (mkdtemp: a random name that cannot already exist)
 * with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, then unlinked with its directory at once: nothing
 * another user planted is ever opened, and nothing is left behind if vacm dies.
 *
 * Only in a temporary directory (TMPDIR, else /tmp; by its real path) that nobody else can swap the
 * fresh directory in: it and every directory above it owned by you or root, and not
 * group/other-writable unless sticky (/tmp). And only where some space is free: on a full
 * filesystem (a shared /tmp anyone can fill) the files are still made, an empty file needs no
 * block, but every write into them fails; a caller with pipes to fall back on (fping's sweep) gets
 * an error instead, as when no file can be made at all.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { distrustedPath } from './trusted-file.js';

const C = fs.constants;

/** the least free space (for whoever is not root) the temporary directory must have: 4 MiB */
export const MIN_FREE_BYTES = 4 * 1024 * 1024;

/**
 * Throw unless `base` (a real path) is a directory the files may be made in (see the header): it
 * and every directory above it, since whoever can rename one of those can swap the fresh directory.
 */
function checkTempBase(base: string, minFree: number): void {
  if (!fs.statSync(base).isDirectory()) throw Object.assign(new Error(`the temporary directory ${base} is not a directory`), { code: 'ENOTDIR' });
  const why = distrustedPath(base, 'the temporary directory', { inclusive: true });
  if (why) throw Object.assign(new Error(why), { code: 'EACCES' });
  const space = fs.statfsSync(base);
  if (space.bavail * space.bsize < minFree) {
    throw Object.assign(new Error(`the temporary directory ${base} has less than ${minFree} bytes of free space`), { code: 'ENOSPC' });
  }
}

/**
 * The descriptors of `count` new anonymous files; throws (ENOSPC, EACCES...) when they cannot be
 * made, or the temporary directory may not be used or has less than `minFree` bytes free.
 */
export function anonymousFiles(count: number, prefix = 'vacm-', minFree = MIN_FREE_BYTES): number[] {
  // its real path: a symlink on the way is not followed again later
  const base = fs.realpathSync(os.tmpdir());
  checkTempBase(base, minFree);
  const dir = fs.mkdtempSync(path.join(base, prefix));
  const fds: number[] = [];
  let failure: unknown;
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
      // anonymous: the name unlinked was the only one
      if (fs.fstatSync(fds[fds.length - 1]).nlink !== 0) throw Object.assign(new Error(`${file} still has a name`), { code: 'EEXIST' });
    }
  } catch (err) {
    failure = err;
  }
  try {
    fs.rmdirSync(dir);
  } catch (err) {
    // not removed (someone swapped it): the descriptors are not handed out either
    failure ??= err;
  }
  if (failure !== undefined) {
    for (const fd of fds) fs.closeSync(fd);
    throw failure;
  }
  return fds;
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
