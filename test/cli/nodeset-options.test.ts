/**
 * `vacm nodeset`'s options as a case table, with the text ClusterShell 1.9's `nodeset` prints
 * (runs without ClusterShell installed; nodeset-cli-diff.test.ts compares with the real one).
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseWith } from '../../src/cli/fast.js';
import { NODESET_OPTIONS } from '../../src/cli/options.js';
import { nodesetMain } from '../../src/cli/nodeset-main.js';
import { pyFormat, pyUnescape } from '../../src/cli/nodeset-cmd.js';
import { tempDir } from '../helpers/engine.js';

const HOME = tempDir('vacm-nshome-');

async function nodeset(args: string[], stdin = '') {
  const a = parseWith(args, NODESET_OPTIONS, { haltAtNonOption: true })!;
  let out = '';
  let err = '';
  const code = await nodesetMain({ ...a, exprs: a._ }, { out: (s) => void (out += s), err: (s) => void (err += s), stdin: Readable.from([stdin]), stdinIsTTY: false }, { HOME, CLUSTERSHELL_CFGDIR: HOME });
  return { out, err, code };
}

describe('vacm nodeset options (ClusterShell nodeset output)', () => {
  it.each([
    [['-f', 'n[1-10]', '--autostep', '2'], '2,--autostep,n[1-10]\n'], // after an operand, options are names
    [['--autostep', '3', '-f', 'n[1-10/2],n[20-30/5]'], 'n[1-9/2,20-30/5]\n'],
    [['--autostep', '3', '-f', 'a[1-10/3]b[1-2]'], 'a[1-10/3]b[1-2]\n'],
    [['-R', '--autostep', '3', '-f', '1-30/3,50'], '1-28/3,50\n'],
    [['-f', '--contiguous', 'n[1-3,5,7-9]', 'm1'], 'm1\nn[1-3]\nn5\nn[7-9]\n'],
    [['--split', '3', '-e', 'n[1-7]'], 'n1 n2 n3\nn4 n5\nn6 n7\n'],
    [['-I', '1-2,5', '-f', 'n[1-10]'], 'n[2-3,6]\n'],
    [['-I', '0', '-f', 'a1,b1,c1'], 'a1\n'],
    [['-O', '%s.ib', '-f', 'n[1-3]'], 'n[1-3].ib\n'],
    [['-O', '%5s', '-e', 'n1', 'n22'], '   n1   n22\n'],
    [['-O', '%d', '-c', 'n[1-3]'], '3\n'],
    [['-S', '\\n', '-e', 'n[1-3]'], 'n1\nn2\nn3\n'],
    [['-S', '\\t', '-e', 'n[1-2]'], 'n1\tn2\n'],
    [['-S', '\\x2c', '-e', 'n[1-2]'], 'n1,n2\n'],
    [['-S', '\\101', '-e', 'n[1-2]'], 'n1An2\n'],
    [['-e', '-S', ',', 'n[1-3]', '-x', 'n2'], 'n1,n3\n'],
    [['-f', 'n[1-10]', '-i', 'n[5-20]', '-X', 'n[1-6]'], 'n[1-4,7-10]\n'],
    [['-R', '-e', '1-3,07'], '1 2 3 07\n'],
    [['-R', '-c', '1-100/3'], '34\n'],
    [['-f', '--axis', '1', 'a[1-2]b[1-2]'], 'a[1-2]b1,a[1-2]b2\n'],
    [['-f', '--axis', '2', 'a[1-2]b[1-2]'], 'a1b[1-2],a2b[1-2]\n'],
    [['-f', 'cluster%s3', 'clust%ser[3-5]'], 'clust%ser[3-5],cluster%s3\n'],
    [['-e', 'a%%b[1-2]'], 'a%%b1 a%%b2\n'],
  ])('nodeset %j', async (args, want) => {
    const r = await nodeset(args);
    expect(r.err).toBe('');
    expect(r.out).toBe(want);
    expect(r.code).toBe(0);
  });

  it.each([
    [['-f', '-'], 'n1 n2\nn3 # a comment\n', 'n[1-3]\n'],
    [['-f', 'a', '-', 'c'], 'b\n', 'a,b,c\n'],
    [['-f', 'n[1-9]', '-x', '-'], 'n[2-8]\n', 'n[1,9]\n'],
    [['-c'], 'n1\nn2\n', '2\n'],
  ])('nodeset %j with %j on stdin', async (args, stdin, want) => {
    expect((await nodeset(args, stdin)).out).toBe(want);
  });

  it.each([
    [['-f', '-e', 'n1'], 2, 'ERR_USAGE: give one command only'],
    [['n1'], 2, 'ERR_USAGE: no command given'],
    [['--split', '2', '--contiguous', '-f', 'n1'], 2, 'ERR_USAGE: --split and --contiguous do not go together'],
    [['--axis', '1', '-e', 'n1'], 2, 'ERR_USAGE: --axis only works when folding'],
    [['-R', '-a', '-f'], 2, 'ERR_USAGE: -a/-r only work on node sets'],
    [['--autostep', 'lots', '-f', 'n1'], 2, 'ERR_USAGE: --autostep: invalid value "lots"'],
    [['-S', '\\', '-e', 'n1'], 1, 'ERR_BAD_ARGS: invalid separator'],
    [['-O', 'x', '-e', 'n1'], 1, 'ERR_BAD_ARGS: output format "x": not all arguments converted'],
    [['-f', 'n[-5-5]'], 1, 'ERR_NODESET_PARSE: bad range: negative or malformed range: "-5-5"'],
  ])('nodeset %j exits %d: %s', async (args, code, msg) => {
    const r = await nodeset(args);
    expect(r.code).toBe(code);
    expect(r.err.startsWith(msg)).toBe(true);
  });

  it('prints a warning for an empty left operand, unless -q', async () => {
    expect((await nodeset(['-f', '-x', 'n1', 'n2'])).err).toBe('WARNING: empty left operand for set operation\n');
    expect((await nodeset(['-q', '-f', '-x', 'n1', 'n2'])).err).toBe('');
  });
});

describe('Python escapes and formats', () => {
  it.each([
    ['\\n', '\n'], ['\\t', '\t'], ['\\\\', '\\'], ['\\x41\\u00e9\\U0001F600', 'Aé😀'], ['\\101\\0', 'A\0'], ['\\q', '\\q'], ['a\\\nb', 'ab'], ["\\'", "'"],
  ])('pyUnescape(%j)', (s, want) => {
    expect(pyUnescape(s)).toBe(want);
  });
  it.each([["'''"], ['\\'], ['a\\'], ['\\x4'], ['\\u12'], ["a'"]])('pyUnescape(%j) is an invalid separator', (s) => {
    expect(() => pyUnescape(s)).toThrow('invalid separator');
  });
  it.each([
    ['%s', 'n1', 'n1'], ['[%s]', 'n1', '[n1]'], ['%5s|', 'n1', '   n1|'], ['%-5s|', 'n1', 'n1   |'], ['%.1s', 'n1', 'n'], ['%%%s', 'n1', '%n1'],
    ['%d', 7, '7'], ['%03d', 7, '007'], ['%x', 255, 'ff'], ['%r', 'a', "'a'"],
  ] as const)('pyFormat(%j, %j)', (f, v, want) => {
    expect(pyFormat(f, v)).toBe(want);
  });
  it.each([['%s %s'], ['%d'], ['none'], ['%y']])('pyFormat(%j, "n1") is refused', (f) => {
    expect(() => pyFormat(f, 'n1')).toThrow(/output format/);
  });
});

describe('live selectors need the engine', () => {
  it.each([['-e', 'n[1-4]!@state=down'], ['-c', '@power=off'], ['-f', '@var.rack=r1'], ['-f', '@stale=60']])('vacm nodeset %s %s refuses, saying where it works', async (...args) => {
    const r = await nodeset(args);
    expect(r.out).toBe('');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/ERR_UNSUPPORTED: @\S+ is a live selector, answered from the engine's node states; there are none here: use it in a request \(vacm ipc 'NEXXUS:NODE_LIST:@/);
  });
  it('@drained is answered from the engine\'s drains, so vacm nodeset refuses it and says where it works', async () => {
    const r = await nodeset(['-e', '@drained']);
    expect(r.out).toBe('');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/ERR_UNSUPPORTED: @drained is a live selector, answered from the engine's drains; there are none here: use it in a request \(vacm ipc 'NEXXUS:DRAINED:@drained'\)/);
  });
});
