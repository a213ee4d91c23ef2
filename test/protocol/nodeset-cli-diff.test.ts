/**
 * `vacm nodeset`, option for option, against ClusterShell's `nodeset` binary (Debian package
 * clustershell): generated expressions under every option, compared byte for byte (stdout, and
 * the exit status as ok / not ok), and group sources from temporary ClusterShell config dirs
 * (static YAML groups, and an upcall source backed by a small script). Skips, saying why, when
 * ClusterShell is not installed.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseWith } from '../../src/cli/fast.js';
import { NODESET_OPTIONS } from '../../src/cli/options.js';
import { nodesetMain } from '../../src/cli/nodeset-main.js';
import { tempDir } from '../helpers/engine.js';
import { makeGenerator } from './nodeset-gen.js';
import { peerAvailable } from '../helpers/peers.js';

const which = spawnSync('sh', ['-c', 'command -v nodeset'], { encoding: 'utf8' });
const NODESET = which.status === 0 ? which.stdout.trim() : '';
const reason = peerAvailable(NODESET !== '', 'ClusterShell nodeset (clustershell)') ? undefined : 'ClusterShell `nodeset` is not installed (apt-get install clustershell)';
if (reason) console.warn(`nodeset-cli-diff skipped: ${reason}`);

/** a HOME with no ClusterShell config of its own, so only /etc and $CLUSTERSHELL_CFGDIR count */
const HOME = tempDir('vacm-cshome-');

function real(args: string[], stdin = '', env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(NODESET, args, { input: stdin, encoding: 'utf8', env: { PATH: process.env.PATH, HOME, ...env } });
  return { out: r.stdout, err: r.stderr, code: r.status };
}

async function mine(args: string[], stdin = '', env: NodeJS.ProcessEnv = {}) {
  const a = parseWith(args, NODESET_OPTIONS, { haltAtNonOption: true });
  if (!a) throw new Error(`the fast path does not parse ${JSON.stringify(args)}`);
  let out = '';
  let err = '';
  const code = await nodesetMain(
    { ...a, exprs: a._ },
    { out: (s) => void (out += s), err: (s) => void (err += s), stdin: Readable.from([stdin]), stdinIsTTY: false },
    { HOME, ...env },
  );
  return { out, err, code };
}

async function same(args: string[], stdin = '', env: NodeJS.ProcessEnv = {}) {
  const want = real(args, stdin, env);
  const got = await mine(args, stdin, env);
  const label = `nodeset ${args.join(' ')}: ClusterShell said ${JSON.stringify(want.out)} ${JSON.stringify(want.err)}`;
  expect(got.code === 0, label + ` vacm said ${got.err}`).toBe(want.code === 0);
  if (want.code === 0) expect(got.out, label).toBe(want.out);
  return { want, got };
}

const gen = makeGenerator(20261201);
const exprs = (n: number): string[][] => Array.from({ length: n }, () => gen());

/** [options before the operands, how many generated cases] */
const OPTION_SETS: Array<[string[], number]> = [
  [['-f'], 6], [['-e'], 6], [['-c'], 6],
  [['-f', '-x', 'n[1-50]'], 6], [['-f', '-i', 'n[1-50],rack[1-2]-n[1-9]'], 6], [['-f', '-X', 'n[10-20]'], 6],
  [['-f', '--autostep', '3'], 8], [['-f', '--autostep', 'auto'], 4], [['-f', '--autostep', '50%'], 4],
  [['-f', '--split', '3'], 6], [['-e', '--split', '2'], 3], [['-c', '--split', '4'], 3], [['-f', '--contiguous'], 8],
  [['-f', '-I', '0-3,7'], 6], [['-e', '-I', '1'], 3],
  [['-f', '-O', 'x-%s'], 4], [['-e', '-O', '%s.ib'], 4], [['-c', '-O', 'n=%d'], 2],
  [['-e', '-S', '\\n'], 4], [['-e', '-S', ',\\t'], 2], [['-e', '-S', '\\x2d'], 2],
  [['-q', '-f'], 2], [['-d', '-c'], 2],
  [['-f', '--axis', '1'], 6], [['-f', '--axis', '2'], 6], [['-f', '--axis', '-1'], 4], [['-f', '--axis', '1-2'], 4],
];

describe.skipIf(!!reason)(`vacm nodeset vs ClusterShell's nodeset binary${reason ? ` (skipped: ${reason})` : ''}`, () => {
  for (const [opts, n] of OPTION_SETS) {
    it(`nodeset ${opts.join(' ')} on ${n} generated expressions`, async () => {
      for (const args of exprs(n)) await same([...opts, ...args]);
    });
  }

  it.each([
    [['-R', '-f', '1-5,7', '9'], ''], [['-R', '-e', '1-3,07'], ''], [['-R', '-c', '1-100/3'], ''],
    [['-R', '-f', '1-10', '-x', '3-4'], ''], [['-R', '--autostep', '3', '-f', '1-20/2'], ''], [['-R', '--contiguous', '-f', '1-3,5,7-8'], ''],
    [['-R', '--split', '2', '-e', '1-5'], ''], [['-R', '-I', '0-1', '-f', '5-9'], ''],
    [['-f', '-'], 'n1 n2\nn3 # comment\n\nn[5-6]\n'], [['-f'], 'n1 n2'], [['-f', 'a', '-'], 'b\n'],
    [['-f', 'n[1-9]', '-x', '-'], 'n[2-3]\n'], [['-f', '-x', 'n1', 'n[1-4]'], ''], [['-f', 'n[1-4]', '-i', 'n[2-9]', 'm1'], ''],
    [['-f', 'n[1-4]', '-X', 'n[3-6]'], ''], [['-c', '-i', 'n1', '-x', 'n2', '-X', 'n3', 'n[1-5]'], ''],
    [['-e', '-S', '\\'], ''], [['-e', '-S', "'''", 'a'], ''], [['-e', '-S', '\\u00e9', 'a', 'b'], ''], [['-e', '-S', '\\101', 'a', 'b'], ''],
    [['-f', 'cluster%s3', 'clust%ser[3-30]'], ''], [['-e', 'a%%b[1-2]'], ''], [['-O', '%%%s', '-f', 'n[1-2]'], ''],
    [['-f', 'n[1-5]', '--split', '2'], ''], // after an operand, options are node names (as ClusterShell reads them)
    [['-f', '--split', '9', 'n[1-3]'], ''], [['-e'], ''], [['-f', 'n[1-3]', 'n[1-2]'], ''],
    [['--autostep', 'x', '-f', 'n1'], ''], [['-f', '--axis', '1', 'a[1-2]b[1-2]'], ''], [['-f', '--axis', '2', 'a[1-2]b[1-2]c[1-3]'], ''],
    [['-e', '--axis', '1', 'a[1-2]'], ''], [['-R', '-f', '--axis', '1', '1-2'], ''],
  ] as const)('nodeset %j', async (args, stdin) => {
    await same([...args], stdin);
  });

  it('--pick N: N nodes, all from the set (at random, as ClusterShell)', async () => {
    for (const n of [0, 1, 3, 10, 20]) {
      const r = await mine(['--pick', String(n), '-e', 'n[1-10]']);
      const picked = r.out.trim().split(' ').filter(Boolean);
      const want = n === 0 ? 10 : Math.min(n, 10); // --pick 0 picks nothing out: ClusterShell ignores it
      expect(picked).toHaveLength(want);
      expect(new Set(picked).size).toBe(picked.length);
      for (const p of picked) expect(p).toMatch(/^n([1-9]|10)$/);
      expect(real(['--pick', String(n), '-c', 'n[1-10]']).out).toBe(`${want}\n`);
    }
  });

  it('--version names vacm and the ClusterShell it follows', async () => {
    const { main } = await import('../../src/cli/index.js');
    let out = '';
    const code = await main(['nodeset', '--version'], { out: (s) => void (out += s), err: () => {}, stdin: Readable.from(['']), stdinIsTTY: false });
    expect(code).toBe(0);
    expect(out).toBe('vacm nodeset (ClusterShell nodeset 1.9 compatible)\n');
  });
});

/** A ClusterShell config dir: groups.conf, a static YAML source and an upcall source backed by a script. */
function clusterShellDir(): string {
  const dir = tempDir('vacm-csgroups-');
  fs.mkdirSync(path.join(dir, 'groups.d'));
  fs.mkdirSync(path.join(dir, 'groups.conf.d'));
  fs.writeFileSync(path.join(dir, 'groups.conf'), [
    '[Main]',
    'default: yml',
    'confdir: $CFGDIR/groups.conf.d',
    'autodir: $CFGDIR/groups.d',
    '',
    '[up]',
    'map: ./up.sh map $GROUP',
    'list: ./up.sh list',
    'all: ./up.sh all',
    'cache_time: 0',
    '',
  ].join('\n'));
  fs.writeFileSync(path.join(dir, 'groups.d', 'cluster.yaml'), [
    'yml:',
    '  rack1: n[1-4]',
    '  rack2: n[5-8]',
    '  gpu: [n1, n5]',
    '  login: login[1-2]',
    '  rack10: n[9-10]',
    'other:',
    '  big: x[1-100]',
    '',
  ].join('\n'));
  fs.writeFileSync(path.join(dir, 'groups.conf.d', 'slurm.conf'), [
    '[slurm]',
    'map: case $GROUP in gpu) echo g[1-2];; cpu) echo c[1-3] c7;; *) exit 1;; esac',
    'list: echo gpu cpu',
    'reverse: echo gpu',
    '',
  ].join('\n'));
  // reverse upcalls: rev's tells the truth but for u5 (also in rack2, whose map is u9) and u7 (in
  // ghost, which it cannot map); revonly cannot list its groups; slurm's says gpu for any node
  fs.writeFileSync(path.join(dir, 'groups.conf.d', 'rev.conf'), [
    '[rev]',
    'map: ./rev.sh map $GROUP',
    'list: ./rev.sh list',
    'reverse: ./rev.sh reverse $NODE',
    'cache_time: 0',
    '',
    '[revonly]',
    'map: ./rev.sh map $GROUP',
    'list: false',
    'reverse: ./rev.sh reverse $NODE',
    '',
  ].join('\n'));
  const rev = path.join(dir, 'rev.sh');
  fs.writeFileSync(rev, [
    '#!/bin/sh',
    'case "$1" in',
    '  list) echo "alpha beta rack[1-2] rack10" ;;',
    '  map) case "$2" in alpha) echo u1 u2 u3 ;; beta) echo u4 u5 ;; rack1) echo u1 u6 ;; rack2) echo u9 ;; rack10) echo u10 ;; *) exit 1 ;; esac ;;',
    '  reverse) case "$2" in u1) echo alpha rack1 ;; u2|u3) echo alpha ;; u4) echo beta ;; u5) echo beta rack2 ;; u6) echo rack1 ;; u7) echo ghost ;; u10) echo rack10 ;; esac ;;',
    'esac',
    '',
  ].join('\n'));
  fs.chmodSync(rev, 0o755);
  const script = path.join(dir, 'up.sh');
  fs.writeFileSync(script, [
    '#!/bin/sh',
    'case "$1" in',
    '  list) echo "alpha beta" ;;',
    '  all) echo "u[1-6]" ;;',
    '  map) case "$2" in alpha) echo u1 u2 u3 ;; beta) printf "u4\\nu5\\n" ;; *) exit 1 ;; esac ;;',
    'esac',
    '',
  ].join('\n'));
  fs.chmodSync(script, 0o755);
  return dir;
}

describe.skipIf(!!reason)('group sources from ClusterShell config dirs, against the real nodeset', () => {
  const dir = clusterShellDir();
  const env = { CLUSTERSHELL_CFGDIR: dir };
  it.each([
    [['-f', '@rack1']], [['-f', '@rack[1-2]']], [['-f', '@rack1,@gpu']], [['-e', '@yml:gpu']], [['-c', '@other:big']],
    [['-f', '@slurm:gpu', '@slurm:cpu']], [['-f', '@up:alpha', '@up:beta']], [['-f', '-s', 'up', '@alpha']],
    [['-f', '@rack1!@gpu']], [['-f', '@rack1', '-x', '@gpu']],
    [['-a', '-f']], [['-a', '-s', 'up', '-f']], [['-a', '-s', 'other', '-c']],
    [['-l']], [['-ll']], [['-lll']], [['-l', '-s', 'up']], [['-ll', '-s', 'slurm']], [['-lll', '-s', 'other']],
    [['-l', 'n1']], [['-ll', 'n[1-5]']], [['-lll', 'n[1-5]']], [['-ll', '-s', 'up', 'u[2-4]']], [['-l', '-G', '-s', 'up', 'u1']], [['-ll', '-s', 'up', 'u1']],
    [['-r', 'n[1-8]']], [['-r', 'n[1-8],login[1-2],zz']], [['-r', '-s', 'up', 'u[1-5]']], [['-r', '-G', '-s', 'up', 'u[1-6]']], [['-r', 'n[1-3]']],
    [['--list-sources']], [['-q', '--list-sources']], [['-f', '@nosuch:x']], [['-L']], [['-LL', '-s', 'up']],
    // @@source: the names of a source's groups, as nodes
    [['-f', '@@yml']], [['-e', '@@other']], [['-f', '@@up']], [['-c', '@@rev']], [['-f', '-s', 'rev', '@@']], [['-f', '@@yml,n1']],
    [['-f', '@@slurm!gpu']], [['-f', '@@nosuch']], [['-f', '@@rev', '-x', '@@up']],
    // reverse upcalls: used when the source has as many groups as the set has nodes (or cannot list)
    [['-l', '-s', 'rev']], [['-lll', '-s', 'rev']], [['-lll', '-s', 'rev', 'u1']], [['-lll', '-s', 'rev', 'u5']], [['-lll', '-s', 'rev', 'u[4-5]']],
    [['-ll', '-s', 'rev', 'u[1-6]']], [['-lll', '-s', 'rev', 'u[1-6,9]']], [['-l', '-s', 'rev', 'u7']], [['-lll', '-s', 'rev', 'u8']],
    [['-r', '-s', 'rev', 'u[4-5]']], [['-r', '-s', 'rev', 'u5']], [['-r', '-s', 'rev', 'u5,u9']], [['-r', '-s', 'rev', 'u[1-3]']],
    [['-r', '-s', 'rev', 'u[1-6,9]']], [['-r', '-G', '-s', 'rev', 'u[1-3,10]']], [['-r', '-s', 'rev', 'u7']],
    [['-ll', '-s', 'revonly', 'u[1-2]']], [['-lll', '-s', 'revonly', 'u[1-6]']], [['-r', '-s', 'revonly', 'u[1-6]']], [['-l', '-s', 'revonly']],
    [['-lll', '-s', 'slurm', 'c1']], [['-lll', '-s', 'slurm', 'c[1-3],g1']], [['-r', '-s', 'slurm', 'g[1-2]']],
    [['-LLL', 'n[1-5]']], [['-LL', 'u[1-3]']], [['-LLL', '-s', 'rev', 'u[4-5]']], [['-r', 'n[1-10]']], [['-lll', 'n[8-10]']],
  ] as const)('nodeset %j', async (args) => {
    await same([...args], '', env);
  });

  it('an unknown group is an error in vacm (ClusterShell makes it empty): the deliberate difference', async () => {
    expect(real(['-f', '@rack9'], '', env)).toMatchObject({ out: '\n', code: 0 });
    const got = await mine(['-f', '@rack9'], '', env);
    expect(got.code).toBe(1);
    expect(got.err).toBe('ERR_NODESET_PARSE: unknown group: "@rack9"\n');
  });
});
