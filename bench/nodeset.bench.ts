/**
 * Node sets: vacm against ClusterShell's `nodeset`, both as whole processes (startup
 * included), plus vacm in-process; vacm and nodeset interleaved, median and range of 5 runs.
 * Prints a table; never asserts.
 *
 *   npx tsx bench/nodeset.bench.ts
 *
 * vacm's process is the real `node bin/vacm.js nodeset` from dist/ (npm run bench builds first),
 * startup included, exactly as a script would call it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { NodeSet, foldNodeSet } from '../src/protocol/nodeset.js';
import { cell, interleave, ratio, section, type Runs } from './measure.js';

export interface Row {
  case: string;
  vacmInProcessMs: Runs | undefined;
  vacmProcessMs: Runs | undefined;
  /** The same process with NODE_EXTRA_CA_CERTS removed from its environment (when this machine sets it). */
  vacmNoExtraCaMs: Runs | undefined;
  nodesetMs: Runs | undefined;
}

const RUNS = 5;

function timeIt(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

function timeProcess(cmd: string, args: string[], input?: string, env?: NodeJS.ProcessEnv): number {
  return timeIt(() => {
    const r = spawnSync(cmd, args, { input, env, cwd: env?.HOME, encoding: 'utf8', maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  });
}

/** Deterministic scattered names: several prefixes, gaps, some padding. */
export function scatteredNames(n: number): string[] {
  const names: string[] = [];
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const prefix = ['node', 'cn', 'gpu'][x % 3];
    const idx = (x >>> 4) % 200_000;
    names.push(prefix + (x % 7 === 0 ? String(idx).padStart(6, '0') : String(idx)));
  }
  return names;
}

const VACM = fileURLToPath(new URL('../bin/vacm.js', import.meta.url));

export async function benchNodeset(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'vacm-bench-nodeset-'));
  try {
    // no vacm.yaml in the way: the process reads only its arguments
    const env = { ...process.env, VACM_CONFIG: '', HOME: dir };
    const vacm = (args: string[], input?: string) => timeProcess(process.execPath, [VACM, 'nodeset', ...args], input, env);
    // Node reads every certificate named by NODE_EXTRA_CA_CERTS before any user code runs (~150 ms
    // on the 2-core machine, which sets it for its registry proxy); a head node normally does not.
    const noCaEnv: NodeJS.ProcessEnv = { ...env };
    delete noCaEnv.NODE_EXTRA_CA_CERTS;
    const vacmNoCa = (args: string[], input?: string) => timeProcess(process.execPath, [VACM, 'nodeset', ...args], input, noCaEnv);
    const extraCa = process.env.NODE_EXTRA_CA_CERTS !== undefined;
    const names = scatteredNames(50_000);
    const namesText = names.join('\n') + '\n';
    const haveNodeset = spawnSync('sh', ['-c', 'command -v nodeset']).status === 0;

    const cases: Array<{ name: string; inProc: () => void; vacm: () => number; vacmNoCa: () => number; cs: () => number }> = [
      {
        name: 'count node[1-1000000]',
        inProc: () => void NodeSet.parse('node[1-1000000]').size,
        vacm: () => vacm(['-c', 'node[1-1000000]']),
        vacmNoCa: () => vacmNoCa(['-c', 'node[1-1000000]']),
        cs: () => timeProcess('nodeset', ['-c', 'node[1-1000000]']),
      },
      {
        name: 'expand node[1-100000]',
        inProc: () => void NodeSet.parse('node[1-100000]').expand().join(' '),
        vacm: () => vacm(['-e', 'node[1-100000]']),
        vacmNoCa: () => vacmNoCa(['-e', 'node[1-100000]']),
        cs: () => timeProcess('nodeset', ['-e', 'node[1-100000]']),
      },
      {
        name: 'fold 50 000 scattered names',
        inProc: () => void foldNodeSet(names),
        vacm: () => vacm(['-f'], namesText),
        vacmNoCa: () => vacmNoCa(['-f'], namesText),
        cs: () => timeProcess('nodeset', ['-f'], namesText),
      },
    ];

    const rows: Row[] = [];
    for (const c of cases) {
      c.inProc(); // warm up the JIT once, as a long-running console would be
      const r = await interleave({ inProc: () => timeIt(c.inProc), vacm: c.vacm, noCa: extraCa ? c.vacmNoCa : undefined, cs: haveNodeset ? c.cs : undefined }, RUNS);
      rows.push({ case: c.name, vacmInProcessMs: r.inProc, vacmProcessMs: r.vacm, vacmNoExtraCaMs: r.noCa, nodesetMs: r.cs });
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function bench(): Promise<void> {
  const out = section(`node sets: vacm vs ClusterShell nodeset, whole processes (ms, ${RUNS} interleaved rounds)`);
  const rows = await benchNodeset();
  const extraCa = rows.some((r) => r.vacmNoExtraCaMs !== undefined);
  const notes: string[] = [];
  if (rows.some((r) => r.nodesetMs === undefined)) notes.push('(nodeset not installed: apt-get install clustershell)');
  if (extraCa) {
    notes.push(
      'This environment sets NODE_EXTRA_CA_CERTS, which node loads before any code runs; "no extra CA" is the same vacm process ' +
        'with that variable removed, as on a head node that does not set it. ClusterShell (Python) does not read it.',
    );
  }
  out.print(
    ['case', 'vacm in-process ms', 'vacm process ms', ...(extraCa ? ['no extra CA ms'] : []), 'nodeset ms', 'vacm/nodeset', ...(extraCa ? ['no extra CA/nodeset'] : []), 'aim'],
    rows.map((r) => [
      r.case, cell(r.vacmInProcessMs, 1), cell(r.vacmProcessMs, 1), ...(extraCa ? [cell(r.vacmNoExtraCaMs, 1)] : []), cell(r.nodesetMs, 1),
      ratio(r.vacmProcessMs, r.nodesetMs), ...(extraCa ? [ratio(r.vacmNoExtraCaMs, r.nodesetMs)] : []), '≤ 0.30×',
    ]),
    notes,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await bench();
