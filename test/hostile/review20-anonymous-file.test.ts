/**
 * review20, an attacker's pass over fping's anonymous output files (src/platform/anonymous-file.ts):
 * - a full TMPDIR (a shared /tmp any local user can fill) still lets the files be made, since a new
 *   empty file needs no block, but then fping's every write fails and the sweep said "fping gave
 *   no answer" for every node; pipes, as the sweep used before, answer right;
 * - a TMPDIR that somebody else can write to (owned by another user, or group/other-writable and
 *   not sticky) lets them swap the fresh directory for a symlink between mkdtemp and the open or the
 *   unlink: files are made where they are not ours to make; so such a TMPDIR is not used either;
 * - what is returned is anonymous: no name reaches it (link count 0).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFpingSweep } from '../../src/backends/icmp/fping.js';
import { anonymousFiles } from '../../src/platform/anonymous-file.js';
import { tempDir } from '../helpers/engine.js';

const asRoot = process.geteuid?.() === 0;
const NOBODY = 65534;

const CAPTURED = '127.0.30.1   : xmt/rcv/%loss = 1/1/0%, min/avg/max = 0.018/0.018/0.018\n127.0.33.250 : xmt/rcv/%loss = 1/0/100%\n';

/** an "fping" that reads its targets and prints CAPTURED on stderr, as fping -q does */
function fakeFping(): string {
  const dir = tempDir('vacm-r20-fping-');
  fs.writeFileSync(path.join(dir, 'err.txt'), CAPTURED);
  const bin = path.join(dir, 'fping');
  fs.writeFileSync(bin, `#!/bin/sh\ncat > /dev/null\ncat '${dir}/err.txt' >&2\nexit 1\n`, { mode: 0o755 });
  return bin;
}

async function withTmpdir<T>(dir: string, run: () => Promise<T> | T): Promise<T> {
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    return await run();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}

async function sweep(tmp: string) {
  const bin = fakeFping();
  return withTmpdir(tmp, () => runFpingSweep(['127.0.30.1', '127.0.33.250'], { count: 1, timeoutMs: 200, bin }));
}

const RIGHT = [
  ['127.0.30.1', { state: 'up', rttMs: 0.018 }],
  ['127.0.33.250', { state: 'down', reason: 'no reply to 1 ping within 200 ms' }],
];

/** a 64 KiB tmpfs, filled up: a /tmp that another user filled (root only: it is mounted) */
let full: string | undefined;
beforeAll(() => {
  if (!asRoot) return;
  const dir = tempDir('vacm-r20-full-');
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=1777', 'tmpfs', dir]).status !== 0) return;
  full = dir;
  spawnSync('dd', ['if=/dev/zero', `of=${path.join(dir, 'fill')}`, 'bs=4096'], { stdio: 'ignore' });
});
afterAll(() => {
  if (full) spawnSync('umount', [full]);
});

describe('review20: where fping writes its output', () => {
  it('a full TMPDIR: the sweep reads through pipes and gives the right answers, not "no answer" for every node', async (ctx) => {
    // mounting needs root (and a mount namespace that allows it): a real full filesystem, not a mock
    if (!full) return ctx.skip();
    expect(fs.statfsSync(full).bavail).toBe(0);
    expect([...(await sweep(full))]).toEqual(RIGHT);
    await expect(withTmpdir(full!, () => anonymousFiles(2))).rejects.toThrow(/free space/);
  });

  it('a TMPDIR that others may write to (mode 0777, not sticky) is not used; the sweep answers through pipes', async () => {
    const open = tempDir('vacm-r20-open-');
    fs.chmodSync(open, 0o777);
    await expect(withTmpdir(open, () => anonymousFiles(2))).rejects.toThrow(/writable by everyone \(mode 0777, not sticky\)/);
    expect([...(await sweep(open))]).toEqual(RIGHT);
    expect(fs.readdirSync(open)).toEqual([]);
  });

  it('a TMPDIR inside a directory that others may write to is not used either (they could rename it away)', async () => {
    const open = tempDir('vacm-r20-open-');
    fs.chmodSync(open, 0o777);
    const inner = path.join(open, 'tmp');
    fs.mkdirSync(inner, { mode: 0o700 });
    await expect(withTmpdir(inner, () => anonymousFiles(2))).rejects.toThrow(/which everyone can write to \(mode 0777, not sticky\)/);
    // reached through a symlink of yours: its real place is what counts
    const link = path.join(tempDir('vacm-r20-link-'), 'tmp');
    fs.symlinkSync(inner, link);
    await expect(withTmpdir(link, () => anonymousFiles(2))).rejects.toThrow(/which everyone can write to \(mode 0777, not sticky\)/);
    expect([...(await sweep(inner))]).toEqual(RIGHT);
    expect(fs.readdirSync(inner)).toEqual([]);
  });

  it.runIf(asRoot)("a TMPDIR owned by another user is not used (root's files are not made where that user can swap the directory)", async () => {
    const theirs = tempDir('vacm-r20-theirs-');
    fs.chownSync(theirs, NOBODY, NOBODY);
    fs.chmodSync(theirs, 0o755);
    await expect(withTmpdir(theirs, () => anonymousFiles(2))).rejects.toThrow(/owned by uid/);
    expect([...(await sweep(theirs))]).toEqual(RIGHT);
  });

  it('a sticky, world-writable TMPDIR (/tmp) is used, and what it gives is anonymous: no name, nothing left behind', async () => {
    const sticky = tempDir('vacm-r20-sticky-');
    fs.chmodSync(sticky, 0o1777);
    const fds = await withTmpdir(sticky, () => anonymousFiles(2, 'vacm-r20-'));
    try {
      expect(fds).toHaveLength(2);
      for (const fd of fds) expect(fs.fstatSync(fd)).toMatchObject({ nlink: 0, mode: expect.any(Number) });
      for (const fd of fds) expect(fs.fstatSync(fd).mode & 0o777).toBe(0o600);
      expect(fs.readdirSync(sticky)).toEqual([]);
    } finally {
      for (const fd of fds) fs.closeSync(fd);
    }
    expect([...(await sweep(sticky))]).toEqual(RIGHT);
  });
});
