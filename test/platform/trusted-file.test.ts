/**
 * src/platform/trusted-file.ts: the one check for files vacm trusts with commands or secrets.
 * A table for the pure decision, then real files (chowned to `nobody` where it matters: the tests
 * run as root) for the directory rules and for reading through the opened descriptor.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkTrustedFile, distrustReason, readTrustedFile, type TrustOptions } from '../../src/platform/trusted-file.js';
import { VacmError } from '../../src/protocol/errors.js';

const NOBODY = 65534;
const asRoot = process.geteuid?.() === 0;

const file = (uid: number, mode: number) => ({ uid, mode: 0o100000 | mode, isFile: () => true, isDirectory: () => false });
const dir = (uid: number, mode: number) => ({ uid, mode: 0o040000 | mode, isFile: () => false, isDirectory: () => true });

describe('distrustReason', () => {
  const me = 1000;
  const cases: [string, ReturnType<typeof file>, Partial<TrustOptions>, RegExp | undefined][] = [
    ['mine, 0644', file(me, 0o644), {}, undefined],
    ['root\'s, 0644', file(0, 0o644), {}, undefined],
    ['another user\'s', file(1001, 0o644), {}, /^config file \/x is owned by uid 1001, not by you \(uid 1000\) or root; chown it or remove it$/],
    ['group-writable', file(me, 0o664), {}, /^config file \/x is writable by its group \(mode 0664\); chmod go-w \/x$/],
    ['world-writable', file(0, 0o646), {}, /writable by everyone \(mode 0646\)/],
    ['a secret readable by its group', file(me, 0o640), { secret: true }, /^config file \/x is readable by its group \(mode 0640\); chmod 600 \/x$/],
    ['a secret readable by everyone', file(me, 0o604), { secret: true }, /readable by everyone/],
    ['a secret, 0600', file(me, 0o600), { secret: true }, undefined],
    ['a secret, 0400', file(0, 0o400), { secret: true }, undefined],
    ['group-readable, not a secret', file(me, 0o640), {}, undefined],
    ['a directory where a file is expected', dir(me, 0o755), {}, /is not a regular file$/],
    ['a file where a directory is expected', file(me, 0o644), { directory: true }, /is not a regular directory$/],
    ['another uid allowed by name', file(1001, 0o644), { uid: 1001 }, undefined],
  ];
  for (const [name, st, opts, want] of cases) {
    it(name, () => {
      const why = distrustReason('/x', st, { what: 'config file', uid: me, ...opts });
      if (want === undefined) expect(why).toBeUndefined();
      else expect(why).toMatch(want);
    });
  }
  it('a directory: owner and write bits as for a file', () => {
    expect(distrustReason('/d', dir(me, 0o700), { what: 'state directory', directory: true, uid: me })).toBeUndefined();
    expect(distrustReason('/d', dir(me, 0o777), { what: 'state directory', directory: true, uid: me })).toMatch(/writable by everyone \(mode 0777\)/);
    expect(distrustReason('/d', dir(7, 0o700), { what: 'state directory', directory: true, uid: me })).toMatch(/owned by uid 7/);
  });
});

let base: string;
beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-trust-'));
});
afterEach(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

function refusal(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    return err instanceof VacmError ? `${err.code}: ${err.message}` : `not a VacmError: ${(err as Error).message}`;
  }
  return undefined;
}

const opts: TrustOptions = { what: 'agent secret', secret: true };

describe('checkTrustedFile and readTrustedFile on real files', () => {
  it('accept a file of yours, 0600, in a directory of yours', () => {
    const f = path.join(base, 'secret');
    fs.writeFileSync(f, 'sixteen bytes!!!', { mode: 0o600 });
    expect(refusal(() => checkTrustedFile(f, opts))).toBeUndefined();
    expect(readTrustedFile(f, opts).toString()).toBe('sixteen bytes!!!');
  });

  it.runIf(asRoot)('refuse a file owned by nobody, with the default code ERR_UNSAFE_FILE or the one asked for', () => {
    const f = path.join(base, 'secret');
    fs.writeFileSync(f, 'x', { mode: 0o600 });
    fs.chownSync(f, NOBODY, NOBODY);
    expect(refusal(() => checkTrustedFile(f, opts))).toMatch(/^ERR_UNSAFE_FILE: agent secret .*secret is owned by uid 65534, not by you \(uid 0\) or root/);
    expect(refusal(() => readTrustedFile(f, { ...opts, code: 'ERR_CONFIG' }))).toMatch(/^ERR_CONFIG: agent secret .* owned by uid 65534/);
  });

  it('refuse a file that its group or everyone can write (and, a secret, read)', () => {
    const f = path.join(base, 'secret');
    fs.writeFileSync(f, 'x');
    for (const [mode, want] of [[0o620, /writable by its group/], [0o602, /writable by everyone/], [0o640, /readable by its group/], [0o644, /readable by everyone/]] as const) {
      fs.chmodSync(f, mode);
      expect(refusal(() => readTrustedFile(f, opts))).toMatch(want);
    }
  });

  it('refuse a file in a directory everyone can write to (not sticky), accept it in a sticky one', () => {
    const d = path.join(base, 'open');
    fs.mkdirSync(d);
    fs.chmodSync(d, 0o777);
    const f = path.join(d, 'secret');
    fs.writeFileSync(f, 'x', { mode: 0o600 });
    expect(refusal(() => checkTrustedFile(f, opts))).toMatch(/^ERR_UNSAFE_FILE: agent secret .*secret is in .*open, which everyone can write to \(mode 0777, not sticky\); move it or chmod go-w/);
    fs.chmodSync(d, 0o1777);
    expect(refusal(() => checkTrustedFile(f, opts))).toBeUndefined();
    fs.chmodSync(d, 0o775);
    expect(refusal(() => checkTrustedFile(f, opts))).toMatch(/which its group can write to \(mode 0775/);
  });

  it.runIf(asRoot)('refuse a file of yours in a directory that another user owns (they could swap it)', () => {
    const d = path.join(base, 'theirs');
    fs.mkdirSync(d, { mode: 0o755 });
    const f = path.join(d, 'secret');
    fs.writeFileSync(f, 'x', { mode: 0o600 });
    fs.chownSync(d, NOBODY, NOBODY);
    expect(refusal(() => checkTrustedFile(f, opts))).toMatch(/is in .*theirs, owned by uid 65534, who could replace it/);
  });

  it('check the directory of a symlink\'s target too', () => {
    const d = path.join(base, 'open');
    fs.mkdirSync(d);
    fs.chmodSync(d, 0o777);
    fs.writeFileSync(path.join(d, 'real'), 'x', { mode: 0o600 });
    fs.symlinkSync(path.join(d, 'real'), path.join(base, 'link'));
    expect(refusal(() => readTrustedFile(path.join(base, 'link'), opts))).toMatch(/is in .*open, which everyone can write to/);
  });

  it('say what is missing, refuse a FIFO without blocking, and refuse more than maxBytes', () => {
    expect(refusal(() => readTrustedFile(path.join(base, 'none'), opts))).toMatch(/^ERR_UNSAFE_FILE: cannot read agent secret .*none: ENOENT/);
    expect(spawnSync('mkfifo', ['-m', '600', path.join(base, 'fifo')]).status).toBe(0);
    expect(refusal(() => readTrustedFile(path.join(base, 'fifo'), opts))).toMatch(/fifo is not a regular file/);
    fs.writeFileSync(path.join(base, 'big'), Buffer.alloc(100), { mode: 0o600 });
    expect(refusal(() => readTrustedFile(path.join(base, 'big'), { ...opts, maxBytes: 99 }))).toMatch(/is 100 bytes, more than the 99 that vacm reads/);
    expect(readTrustedFile(path.join(base, 'big'), { ...opts, maxBytes: 100 })).toHaveLength(100);
  });
});
