/**
 * `vacm ipc --diff`'s unified diff against Python's difflib.unified_diff (what clush --diff prints),
 * on hand-made and generated cases; and the order and headers of diffGathered.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { diffGathered, unifiedDiff } from '../../src/protocol/gather.js';
import { hasBinary } from '../fixtures/sshd.js';

const PY = `
import sys, json, difflib
out = []
for a, b in json.load(sys.stdin):
    out.append(list(difflib.unified_diff(a, b, fromfile='ref (3)', tofile='other', lineterm='')))
json.dump(out, sys.stdout)
`;

/** a seeded generator of line lists that share most of their lines */
function cases(count: number): [string[], string[]][] {
  let s = 7;
  const rnd = (n: number) => ((s = (s * 1103515245 + 12345) >>> 0) % n);
  const out: [string[], string[]][] = [];
  for (let c = 0; c < count; c++) {
    const len = c % 10 === 0 ? 200 + rnd(100) : rnd(30);
    const words = c % 3 === 0 ? 3 : 12; // few distinct lines: many repeats (and difflib's popular lines past 200)
    const a = Array.from({ length: len }, () => `line ${rnd(words)}`);
    const b = a.filter(() => rnd(8) !== 0).flatMap((l) => (rnd(10) === 0 ? [l, `new ${rnd(words)}`] : rnd(12) === 0 ? [`changed ${rnd(words)}`] : [l]));
    out.push([a, b]);
  }
  out.push([[], []], [['a'], []], [[], ['a']], [['a', 'b', 'c'], ['a', 'b', 'c']], [Array.from({ length: 20 }, (_, i) => `l${i}`), Array.from({ length: 20 }, (_, i) => (i === 2 || i === 17 ? 'x' : `l${i}`))]);
  return out;
}

describe.skipIf(!hasBinary('python3'))('unifiedDiff is difflib.unified_diff', () => {
  it('on 300 generated cases and a few edge ones, line for line', () => {
    const all = cases(300);
    const want = JSON.parse(execFileSync('python3', ['-c', PY], { input: JSON.stringify(all), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })) as string[][];
    const got = all.map(([a, b]) => unifiedDiff(a, b, 'ref (3)', 'other'));
    for (let i = 0; i < all.length; i++) expect(got[i], `case ${i}`).toEqual(want[i]);
    expect(want.filter((d) => d.length > 0).length).toBeGreaterThan(250);
  });
});

describe('diffGathered (clush --diff order and headers)', () => {
  it('the largest group of the lowest exit status is the reference; silent nodes diff as empty', () => {
    const per = new Map<string, string[]>([
      ['n1', ['a', 'b']], ['n2', ['a', 'b']], ['n3', ['a', 'c']], ['n4', ['a', 'b']], ['n5', ['x']],
    ]);
    const codes = new Map([['n1', 0], ['n2', 0], ['n3', 0], ['n4', 0], ['n5', 1], ['n6', 1]]);
    expect(diffGathered(per, codes)).toEqual([
      '--- n[1-2,4] (3)', '+++ n3', '@@ -1,2 +1,2 @@', ' a', '-b', '+c',
      '--- n[1-2,4] (3)', '+++ n5', '@@ -1,2 +1 @@', '-a', '-b', '+x',
      '--- n[1-2,4] (3)', '+++ n6', '@@ -1,2 +0,0 @@', '-a', '-b',
    ]);
  });
  it('one group only: nothing to diff, nothing printed', () => {
    expect(diffGathered(new Map([['n1', ['a']], ['n2', ['a']]]), new Map([['n1', 0], ['n2', 0]]))).toEqual([]);
  });
});
