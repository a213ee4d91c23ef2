/**
 * fping's output is hostile input (issue 18 row 2 kept the sweep's defences while reading it as it
 * streams): a fake fping prints what a broken or hostile one could, and the sweep's results must be
 * what the old reader (parseFpingSummary over the whole text) gave, bounded per line and per target.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { boundedLines, MAX_FPING_LINE, parseFpingSummary, runFpingSweep } from '../../src/backends/icmp/fping.js';
import { tempDir } from '../helpers/engine.js';

/** an "fping" that ignores its arguments and stdin, prints `stderr` and `stdout` (files) and exits with `code` */
function fakeFping(stderr: string, stdout = '', code = 0): string {
  const dir = tempDir('vacm-fake-fping-');
  fs.writeFileSync(path.join(dir, 'err.txt'), stderr);
  fs.writeFileSync(path.join(dir, 'out.txt'), stdout);
  const bin = path.join(dir, 'fping');
  fs.writeFileSync(bin, `#!/bin/sh\ncat > /dev/null\ncat '${dir}/out.txt'\ncat '${dir}/err.txt' >&2\nexit ${code}\n`, { mode: 0o755 });
  return bin;
}

const CAPTURED = [
  '127.0.30.1   : xmt/rcv/%loss = 1/1/0%, min/avg/max = 0.018/0.018/0.018',
  '127.0.33.250 : xmt/rcv/%loss = 1/0/100%',
  'nosuch.invalid: Name or service not known',
  '127.0.30.2   : xmt/rcv/%loss = 1/1/0%, min/avg/max = 0.041/0.041/0.041',
  '',
].join('\n');

describe('the fping sweep reads hostile output line by line, bounded', () => {
  it('gives the results the whole-text parser gave, for our targets only', async () => {
    const targets = ['127.0.30.1', '127.0.33.250', 'nosuch.invalid', '127.0.30.2', '127.0.30.1'];
    const extra = '10.9.9.9     : xmt/rcv/%loss = 1/1/0%, min/avg/max = 0.001/0.001/0.001\nelsewhere: not ours\n';
    const got = await runFpingSweep(targets, { count: 1, timeoutMs: 200, bin: fakeFping(CAPTURED + extra) });
    const old = parseFpingSummary(CAPTURED + extra, 200);
    expect([...got.keys()].sort()).toEqual([...new Set(targets)].sort());
    for (const t of new Set(targets)) expect(got.get(t)).toEqual(old.get(t));
    expect(got.get('127.0.30.2')).toEqual({ state: 'up', rttMs: 0.041 });
  });

  it('drops a line longer than the bound (40 000 characters) and still reads the lines after it', async () => {
    const huge = `127.0.30.1 : xmt/rcv/%loss = 1/1/0%, min/avg/max = 9/9/9 ${'A'.repeat(40_000)}\n`;
    const got = await runFpingSweep(['127.0.30.1', '127.0.30.2'], { count: 1, timeoutMs: 200, bin: fakeFping(huge + CAPTURED) });
    expect(got.get('127.0.30.1')).toEqual({ state: 'up', rttMs: 0.018 });
    expect(got.get('127.0.30.2')).toEqual({ state: 'up', rttMs: 0.041 });
  });

  it('reads at most 64 KiB + 1 KiB a target of what fping prints: past 4 MiB of junk, the targets have no answer', async () => {
    const junk = `${'junk line\n'.repeat(400_000)}`;
    const got = await runFpingSweep(['127.0.30.1', '127.0.30.2'], { count: 1, timeoutMs: 200, bin: fakeFping(junk + CAPTURED) });
    expect(got.get('127.0.30.1')).toEqual({ state: 'down', reason: 'fping gave no answer for this address', error: true });
    expect(got.size).toBe(2);
    // within the budget the same lines are read
    const near = await runFpingSweep(['127.0.30.1', '127.0.30.2'], { count: 1, timeoutMs: 200, bin: fakeFping('junk line\n'.repeat(5000) + CAPTURED) });
    expect(near.get('127.0.30.1')).toEqual({ state: 'up', rttMs: 0.018 });
  });

  it('a line cut between stdout and stderr is never read as one', async () => {
    // the old reader appended both streams to one text: a partial stdout line could join a stderr one
    const got = await runFpingSweep(['127.0.30.1'], { count: 1, timeoutMs: 200, bin: fakeFping('127.0.30.1 : xmt/rcv/%loss = 1/1/0%, min/avg/max = 0.5/0.5/0.5\n', '127.0.30.1: bogus without a newline') });
    expect(got.get('127.0.30.1')).toEqual({ state: 'up', rttMs: 0.5 });
  });

  it('an fping that fails says so with its first line; an fping that says nothing leaves each target down with a reason', async () => {
    await expect(runFpingSweep(['127.0.30.1'], { count: 1, timeoutMs: 200, bin: fakeFping('\n  fping: can\'t create socket (must run as root?)\nmore\n', '', 4) }))
      .rejects.toThrow("fping failed (exit 4): fping: can't create socket (must run as root?)");
    const silent = await runFpingSweep(['127.0.30.1', 'x.invalid'], { count: 1, timeoutMs: 200, bin: fakeFping('', '', 2) });
    expect(silent.get('x.invalid')).toEqual({ state: 'down', reason: "cannot resolve x.invalid; set the node's host variable to an address or a resolvable name", error: true });
  });

  it('leaves no descriptor and no file behind: after a sweep, a cancelled one and an fping that cannot start', async () => {
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    const before = fds();
    const tmpBefore = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('vacm-fping-')).length;
    for (let i = 0; i < 5; i++) {
      await runFpingSweep(['127.0.30.1'], { count: 1, timeoutMs: 200, bin: fakeFping(CAPTURED) });
      const ac = new AbortController();
      const slow = path.join(tempDir('vacm-slow-fping-'), 'fping');
      fs.writeFileSync(slow, '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
      const p = runFpingSweep(['127.0.30.1'], { count: 1, timeoutMs: 200, bin: slow, signal: ac.signal });
      setTimeout(() => ac.abort(), 50);
      await expect(p).rejects.toThrow('cancelled');
      await expect(runFpingSweep(['127.0.30.1'], { count: 1, timeoutMs: 200, bin: '/nonexistent/fping' })).rejects.toThrow('cannot run /nonexistent/fping');
    }
    expect(fds()).toBe(before);
    expect(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('vacm-fping-')).length).toBe(tmpBefore);
  });

  it('reads through pipes, the same results, when no temporary file can be made (TMPDIR missing)', async () => {
    const saved = process.env.TMPDIR;
    const bin = fakeFping(CAPTURED);
    process.env.TMPDIR = '/nonexistent/vacm-tmp';
    try {
      const got = await runFpingSweep(['127.0.30.1', '127.0.33.250'], { count: 1, timeoutMs: 200, bin });
      expect(got.get('127.0.30.1')).toEqual({ state: 'up', rttMs: 0.018 });
      expect(got.get('127.0.33.250')).toEqual({ state: 'down', reason: 'no reply to 1 ping within 200 ms' });
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });

  it('boundedLines: chunks split anywhere give the same lines; an over-long line is dropped whole', () => {
    const text = `a\nbb\n${'x'.repeat(50)}\nccc\nlast`;
    for (const size of [1, 2, 3, 7, 100]) {
      const lines: string[] = [];
      const s = boundedLines((l) => lines.push(l), 10);
      for (let i = 0; i < text.length; i += size) s.push(text.slice(i, i + size));
      s.end();
      expect(lines).toEqual(['a', 'bb', 'ccc', 'last']);
    }
    const kept: string[] = [];
    const s = boundedLines((l) => kept.push(l));
    s.push('y'.repeat(MAX_FPING_LINE) + '\n' + 'z'.repeat(MAX_FPING_LINE + 1) + '\nok\n');
    expect(kept.map((l) => l.length)).toEqual([MAX_FPING_LINE, 2]);
  });
});
