/**
 * Differential test against ClusterShell's `nodeset` (Debian package clustershell): a seeded
 * generator of expressions, evaluated by ClusterShell in one python process (the oracle script
 * imports the same library the `nodeset` binary runs), plus a few runs of the binary itself to
 * show the oracle and the binary agree. Skips, saying why, when ClusterShell is not installed.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runNodesetCommand } from '../../src/cli/nodeset-cmd.js';
import { NodeSet } from '../../src/protocol/nodeset.js';
import { makeGenerator } from './nodeset-gen.js';
import { peerAvailable } from '../helpers/peers.js';

const ORACLE = fileURLToPath(new URL('./nodeset-oracle.py', import.meta.url));

interface Want {
  ok: boolean;
  fold?: string;
  count?: number;
  expand?: string[];
  error?: string;
}

/** The python that runs `nodeset` (its shebang), or why there is none. */
function findClusterShell(): { python?: string; nodeset?: string; reason?: string } {
  const which = spawnSync('sh', ['-c', 'command -v nodeset'], { encoding: 'utf8' });
  const nodeset = which.stdout.trim();
  if (which.status !== 0 || !nodeset) return { reason: 'ClusterShell `nodeset` is not installed (apt-get install clustershell)' };
  const shebang = /^#!\s*(\S+)/.exec(readFileSync(nodeset, 'utf8').split('\n', 1)[0]);
  const python = shebang?.[1] ?? 'python3';
  const probe = spawnSync(python, ['-c', 'import ClusterShell.NodeSet'], { encoding: 'utf8' });
  if (probe.status !== 0) return { reason: `${python} cannot import ClusterShell.NodeSet` };
  return { python, nodeset };
}

const cs = findClusterShell();
// a missing ClusterShell skips, except under CI=true, where it fails the run (test/helpers/peers.ts)
peerAvailable(!cs.reason, `ClusterShell nodeset (clustershell): ${cs.reason}`);
if (cs.reason) console.warn(`nodeset-diff skipped: ${cs.reason}`);

const gen = makeGenerator(20261123);
const CASES: string[][] = Array.from({ length: 500 }, () => gen());

function oracle(cases: string[][]): Want[] {
  const r = spawnSync(cs.python!, [ORACLE], { input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`oracle failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Want[];
}

function vacm(args: string[]): Want {
  try {
    const ns = NodeSet.unionOf(args);
    return { ok: true, fold: ns.fold(), count: ns.size, expand: ns.expand() };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

describe.skipIf(!!cs.reason)(`vacm vs ClusterShell nodeset${cs.reason ? ` (skipped: ${cs.reason})` : ''}`, () => {
  const wants = cs.reason ? [] : oracle(CASES);

  it('the generator covers valid and invalid input', () => {
    const valid = wants.filter((w) => w.ok).length;
    expect(valid).toBeGreaterThan(300);
    expect(wants.length - valid).toBeGreaterThan(50);
  });

  it.each(CASES.map((args, i) => [JSON.stringify(args), i] as const))('%s', (_name, i) => {
    const want = wants[i];
    const got = vacm(CASES[i]);
    if (!want.ok) {
      expect(got.ok, `ClusterShell rejects it (${want.error}); vacm gave ${got.fold}`).toBe(false);
      return;
    }
    expect(got.error).toBeUndefined();
    expect(got.fold).toBe(want.fold);
    expect(got.count).toBe(want.count);
    expect(got.expand).toEqual(want.expand);
  });

  // The oracle imports the library; check a few against the real binary, flags and all.
  const binaryCases: string[][] = [
    ['node[001-128]'],
    ['n[1-4,9,20-30]', 'n[5-8]'],
    ['rack[1-2]-n[01-16]!rack2-n[05-16]'],
    ['n[02-99/3,94-105]'],
    ['a[1-3]b[1-3]!a2b2'],
    [' n[1-10] & n[5-20] ^ n7 '],
    ['n[3-1]'],
    ['n[1-2'],
    ['n[1-4],'],
  ];
  it.each(binaryCases.map((a) => [JSON.stringify(a), a] as const))('nodeset binary: %s', (_n, args) => {
    for (const flag of ['-f', '-c', '-e'] as const) {
      const r = spawnSync(cs.nodeset!, [flag, ...args], { encoding: 'utf8' });
      const mine = runNodesetCommand(
        { fold: flag === '-f', count: flag === '-c', expand: flag === '-e', exprs: args },
        {},
      );
      expect(mine.exitCode, `${flag}: ${r.stderr}`).toBe(r.status === 0 ? 0 : 1);
      if (r.status === 0) expect(mine.stdout).toBe(r.stdout);
      else expect(mine.stderr).toMatch(/^ERR_NODESET_PARSE: /);
    }
  });
});
