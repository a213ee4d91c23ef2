/**
 * Row 2 of issue 18 as a process: `vacm ipc --config <1024 nodes> ICMP_ECHO:PING:*:1:200` against
 * `fping -c1 -t200 -i0` of the same 1024 loopback addresses, with vacm's start-up on that config
 * (`NEXXUS:MODULES`) and `node -e ''` beside them, interleaved round by round; wall and CPU (user +
 * system of the child and the children it waited for, from bash's `time`: 1 ms resolution, where
 * /usr/bin/time's 10 ms were as large as the difference measured). VACM_BENCH_BEFORE=/old/bin/vacm.js adds
 * another build to the same rounds. Children get a clean environment (PATH, HOME: no
 * NODE_EXTRA_CA_CERTS, as bench/startup.bench.ts). Prints; never asserts.
 *
 *   npx tsx bench/ping-process.bench.ts
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cell, interleave, ratio, runs, section, vacmCommand, versusAim, type Runs } from './measure.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ADDRESSES = [30, 31, 32, 33].flatMap((c) => Array.from({ length: 256 }, (_, d) => `127.0.${c}.${d}`));
const CONFIG = `cluster: icmp-bench\nfanout: 64\nnodes:\n${[30, 31, 32, 33].map((c, i) => `  - names: ${'abcd'[i]}[0-255]\n    vars: { host: "127.0.${c}.{n}" }`).join('\n')}\n`;

/**
 * wall s and CPU s of one child: bash runs it and says its wall, user and system time, to the ms, on
 * the last line. Without rc files and with stdin closed: bash -c whose stdin is a socket (node's
 * pipes are socket pairs) reads ~/.bashrc as if rshd had started it, which here ran `pyenv init`
 * (~170 ms) around every case, fping's too. The wall is bash's own of the child, so bash's start and
 * exit are not in it.
 */
function timed(cmd: string, args: string[], cpu: number[]): number {
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', 'TIMEFORMAT="TIMED %3R %3U %3S"; time "$@"', 'bash', cmd, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: os.homedir() }, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  const m = /TIMED ([\d.]+) ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
  cpu.push(m ? Number(m[2]) + Number(m[3]) : NaN);
  return m ? Number(m[1]) : NaN;
}

export async function bench(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-bench-ping-process-'));
  const cfg = path.join(dir, 'vacm.yaml');
  fs.writeFileSync(cfg, CONFIG);
  const rounds = Math.max(1, Number(process.env.VACM_BENCH_RUNS ?? 7) || 7);
  const before = process.env.VACM_BENCH_BEFORE ? path.resolve(process.env.VACM_BENCH_BEFORE) : undefined;
  const now = path.join(ROOT, 'bin', 'vacm.js');
  const cpu: Record<string, number[]> = {};
  const c = (k: string) => (cpu[k] ??= []);
  const cases: Record<string, (() => number) | undefined> = {
    fping: () => timed('fping', ['-c1', '-t200', '-i0', '-q', ...ADDRESSES], c('fping')),
    'vacm sweep': () => timed(...vacmCommand(now, ['ipc', '--config', cfg, 'ICMP_ECHO:PING:*:1:200']), c('vacm sweep')),
    'before sweep': before ? () => timed(...vacmCommand(before, ['ipc', '--config', cfg, 'ICMP_ECHO:PING:*:1:200']), c('before sweep')) : undefined,
    'vacm start-up': () => timed(...vacmCommand(now, ['ipc', '--config', cfg, 'NEXXUS:MODULES']), c('vacm start-up')),
    'before start-up': before ? () => timed(...vacmCommand(before, ['ipc', '--config', cfg, 'NEXXUS:MODULES']), c('before start-up')) : undefined,
    "node -e ''": () => timed(process.execPath, ['-e', ''], c("node -e ''")),
  };
  const out = section(`ping sweep of 1024 addresses as a process: vacm ipc on a 1024-node config vs fping, ${rounds} interleaved rounds (seconds)`);
  const r = await interleave(cases, rounds, { warmup: 1 });
  const rows: string[][] = [];
  const cpuRuns = (k: string): Runs | undefined => {
    const xs = (cpu[k] ?? []).slice(-rounds).filter(Number.isFinite);
    return xs.length ? runs(xs) : undefined;
  };
  for (const k of Object.keys(cases)) {
    if (!r[k]) continue;
    rows.push([k, cell(r[k], 3), cell(cpuRuns(k), 3), ratio(r[k], r.fping)]);
  }
  const less = (a?: Runs, b?: Runs) => (a && b ? (a.median - b.median).toFixed(3) : 'n/a');
  // the row's verdict, round by round: (sweep − start-up of the same round) / fping of that round
  const perRound = (sweep: string, start: string, xs: (k: string) => number[] | undefined): Runs | undefined => {
    const a = xs(sweep), b = xs(start), f = xs('fping');
    if (!a || !b || !f) return undefined;
    const n = Math.min(a.length, b.length, f.length);
    return runs(Array.from({ length: n }, (_, i) => (a[i] - b[i]) / f[i]).filter((x) => Number.isFinite(x)));
  };
  const wallOf = (k: string) => r[k]?.samples;
  const cpuOf = (k: string) => (cpu[k] ? cpu[k].slice(-rounds) : undefined);
  const verdict = (sweep: string, start: string, what: string) => {
    const w = perRound(sweep, start, wallOf);
    const c = perRound(sweep, start, cpuOf);
    return `${what}: (sweep − start-up) / fping, per round: wall ${w ? `${cell(w, 2)}×, ${versusAim(w, 1.5, 'lower')}` : 'n/a'}; CPU ${c ? `${cell(c, 2)}× (the aim is on time; CPU shows the work, vacm's including its fping's)` : 'n/a'}`;
  };
  out.print(['case', 'wall s', 'CPU s', 'wall / fping'], rows, [
    `vacm sweep less its start-up on the same config (medians): ${less(r['vacm sweep'], r['vacm start-up'])} s wall, against fping's ${r.fping ? r.fping.median.toFixed(3) : 'n/a'} s${before ? `; before: ${less(r['before sweep'], r['before start-up'])} s` : ''}. Aim ≤ 1.5× fping.`,
    `the same by CPU (medians): ${less(cpuRuns('vacm sweep'), cpuRuns('vacm start-up'))} s, against fping's ${cpuRuns('fping')?.median.toFixed(3) ?? 'n/a'} s${before ? `; before: ${less(cpuRuns('before sweep'), cpuRuns('before start-up'))} s` : ''}.`,
    verdict('vacm sweep', 'vacm start-up', 'Row 2 as a process, aim ≤ 1.5×'),
    ...(before ? [verdict('before sweep', 'before start-up', 'the same for before')] : []),
    ...(before ? [`now / before, start-up on the config (CPU): ${ratio(cpuRuns('vacm start-up'), cpuRuns('before start-up'))}; sweep (CPU): ${ratio(cpuRuns('vacm sweep'), cpuRuns('before sweep'))}`] : []),
  ]);
  fs.rmSync(dir, { recursive: true, force: true });
}

if (import.meta.url === `file://${process.argv[1]}`) await bench();
