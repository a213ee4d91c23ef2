/**
 * Start-up of the commands scripts call in loops, against `node -e ''` (the floor any node program
 * pays): wall time and CPU time (user + system, from /usr/bin/time when installed: on a shared
 * machine the CPU a process burns moves less than its wall time). VACM_BENCH_BEFORE=path/to/bin/vacm.js
 * adds another build's launcher to the rounds (a before/after of a change). Interleaved rounds;
 * prints a table, never asserts.
 *
 *   npx tsx bench/startup.bench.ts
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cell, interleave, ratio, runs, section, vacmCommand, versusAim, type Runs } from './measure.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Math.max(1, Number(process.env.VACM_BENCH_RUNS ?? 9) || 9);
const TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/** One start of `cmd args`: wall ms, and CPU ms when /usr/bin/time is there. */
function start([cmd, args]: [string, string[]], cwd: string): { wall: number; cpu?: number } {
  const env = { PATH: process.env.PATH, HOME: cwd, VACM_STATE_DIR: path.join(cwd, 'state') };
  const t = process.hrtime.bigint();
  const r = TIME
    ? spawnSync(TIME, ['-f', 'VACM_CPU %U %S', cmd, ...args], { cwd, env, encoding: 'utf8' })
    : spawnSync(cmd, args, { cwd, env, encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  const m = /VACM_CPU ([\d.]+) ([\d.]+)/.exec(r.stderr ?? '');
  return { wall, cpu: m ? (Number(m[1]) + Number(m[2])) * 1000 : undefined };
}

/**
 * Whether `bin` will run `vacm ipc` from its one file (dist/cli/fast.cjs, as `npm run build` leaves
 * it) or fall back to dist/ module by module (a `tsc` alone since, as some tests do): a table of the
 * fallback measures another program.
 */
function oneFileState(bin: string): string {
  const fast = path.join(path.dirname(bin), '..', 'dist', 'cli', 'fast.cjs');
  try {
    const made = fs.statSync(fast).mtimeMs;
    const list = path.join(path.dirname(fast), 'fast.inputs');
    const stale = fs.readFileSync(list, 'utf8').split('\n').filter(Boolean).find((f) => fs.statSync(path.join(path.dirname(list), f)).mtimeMs > made);
    return stale ? `STALE (dist/ rebuilt since: ${stale}; run npm run build)` : 'fresh';
  } catch {
    return 'missing (run npm run build)';
  }
}

export async function bench(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-bench-startup-'));
  try {
    const before = process.env.VACM_BENCH_BEFORE;
    const out = section(`start-up: ms from spawn to exit, from a directory with no vacm.yaml, ${RUNS} interleaved rounds`);
    const bin = path.join(ROOT, 'bin', 'vacm.js');
    const commands: Array<[string, string[], number | undefined]> = [
      ['ipc NEXXUS:MODULES', ['ipc', 'NEXXUS:MODULES'], 150],
      ['nodeset -c node[1-1000]', ['nodeset', '-c', 'node[1-1000]'], undefined],
    ];
    const rows: string[][] = [];
    for (const [label, args, aim] of commands) {
      const cpu: Record<string, number[]> = { node: [], vacm: [], before: [] };
      const timed = (key: string, a: [string, string[]]) => () => {
        const r = start(a, dir);
        if (r.cpu !== undefined) cpu[key].push(r.cpu);
        return r.wall;
      };
      const r = await interleave({ node: timed('node', [process.execPath, ['-e', '']]), vacm: timed('vacm', vacmCommand(bin, args)), before: before ? timed('before', vacmCommand(before, args)) : undefined }, RUNS, { warmup: 1 });
      const c = (k: string): Runs | undefined => (cpu[k].length ? runs(cpu[k]) : undefined);
      rows.push([label, cell(r.node, 0), cell(r.vacm, 0), before ? cell(r.before, 0) : '-', ratio(r.vacm, r.node), cell(c('vacm'), 0), before ? cell(c('before'), 0) : '-', cell(c('node'), 0), aim ? `≤ ${aim} ms: ${versusAim(r.vacm, aim, 'lower')}` : 'fast']);
    }
    out.print(['command', "node -e '' wall", 'vacm wall', 'before wall', 'vacm / node', 'vacm CPU', 'before CPU', "node -e '' CPU", 'aim (wall)'], rows, [
      `vacm: ${bin} (its one file dist/cli/fast.cjs: ${oneFileState(bin)})${before ? `; before: ${before} (${oneFileState(before)})` : ''}. Both started as programs, as the \`vacm\` on PATH is. CPU: user + system of the process (${TIME ? '/usr/bin/time' : 'n/a: /usr/bin/time is not installed'}).`,
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await bench();
