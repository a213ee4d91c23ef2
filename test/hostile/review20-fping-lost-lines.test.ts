/**
 * review20: fping's output goes into anonymous files; when the disk fills during a sweep, fping's
 * writes into them fail and lines are lost (exit 0 or 1 all the same). With -q -c fping prints a
 * line for every target it resolved, so a target with no line is asked once more, through pipes,
 * instead of being reported "fping gave no answer".
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runFpingSweep } from '../../src/backends/icmp/fping.js';
import { tempDir } from '../helpers/engine.js';

/**
 * An "fping" whose lines about the targets listed in `lose` are lost whenever its stderr is not a
 * file (on a disk that is full); it logs each run's targets and how its stderr was reached.
 */
function losingFping(lose: string[], code: number): { bin: string; log: string } {
  const dir = tempDir('vacm-r20-fping-');
  const log = path.join(dir, 'runs.log');
  const bin = path.join(dir, 'fping');
  const lost = lose.map((t) => `[ "$t" = '${t}' ] && [ -f /dev/stderr ] && continue`).join('\n    ');
  fs.writeFileSync(bin, [
    '#!/bin/sh',
    // node's 'pipe' is a socket pair; an anonymous file is a regular file
    `if [ -f /dev/stderr ]; then how=file; else how=pipe; fi`,
    'targets=$(cat)',
    `echo "$how $(echo $targets)" >> '${log}'`,
    'for t in $targets; do',
    `    ${lost || ':'}`,
    `    printf '%s : xmt/rcv/%%loss = 1/1/0%%, min/avg/max = 0.020/0.020/0.020\\n' "$t" >&2`,
    'done',
    `exit ${code}`,
    '',
  ].join('\n'), { mode: 0o755 });
  return { bin, log };
}

it('targets whose lines were lost from the files are asked again through pipes, once', async () => {
  const targets = ['127.0.30.1', '127.0.30.2', '127.0.30.3'];
  const { bin, log } = losingFping(['127.0.30.2'], 0);
  const got = await runFpingSweep(targets, { count: 1, timeoutMs: 200, bin });
  for (const t of targets) expect(got.get(t)).toEqual({ state: 'up', rttMs: 0.02 });
  const runs = fs.readFileSync(log, 'utf8').trim().split('\n');
  // the first run through files (where anonymous files can be made), the second through pipes with the lost one only
  expect(runs.at(-1)).toBe('pipe 127.0.30.2');
  expect(runs.length).toBeLessThanOrEqual(2);
});

it('an fping that gives no line at all through pipes either: the target reads "no answer", no third run', async () => {
  const dir = tempDir('vacm-r20-fping-');
  const log = path.join(dir, 'runs.log');
  const bin = path.join(dir, 'fping');
  fs.writeFileSync(bin, `#!/bin/sh\ncat > /dev/null\necho run >> '${log}'\nexit 1\n`, { mode: 0o755 });
  const got = await runFpingSweep(['127.0.30.9'], { count: 1, timeoutMs: 200, bin });
  expect(got.get('127.0.30.9')).toEqual({ state: 'down', reason: 'fping gave no answer for this address', error: true });
  expect(fs.readFileSync(log, 'utf8').trim().split('\n').length).toBeLessThanOrEqual(2);
});
