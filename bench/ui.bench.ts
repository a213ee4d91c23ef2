/**
 * The dashboard under load: the real `node bin/vacm.js --demo --nodes N` in a 200x60 tmux, with the
 * SIM module moving every node's load once a second. The app itself reports (VACM_PERF_LOG) its CPU
 * per second (process.cpuUsage), RSS, and the time from a key's bytes arriving on stdin to the end
 * of the next frame ink writes. No peer draws this screen, so the table compares against the aims.
 * Run: npx tsx bench/ui.bench.ts (needs tmux and a build: npm run build). Every scenario runs once per
 * round, round after round (VACM_BENCH_RUNS rounds, default 2); cells are median (lowest–highest).
 *   VACM_BENCH_UI_ONLY=4096,16384  only the scenarios whose name holds one of these (`4096 nodes, list`: that one)
 *   VACM_BENCH_UI_BEFORE=<dir>      a second built checkout (e.g. `git archive <commit>` unpacked,
 *                                   node_modules linked, built): each scenario runs before, after,
 *                                   before, after... (VACM_BENCH_UI_ROUNDS rounds, default 2) and the
 *                                   table gives both rows, cells as median (lowest–highest) of rounds
 *   VACM_BENCH_UI_NODE_OPTIONS=...  NODE_OPTIONS for the app under test (e.g. --max-semi-space-size=8)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Tmux, hasBinary } from '../test/e2e/tmux.js';
import { cell, median, runs, section, versusAim } from './measure.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Scenario {
  name: string;
  args: string;
  /** keys to send before measuring (e.g. v for the list view) */
  setup?: string[];
  ready: RegExp;
  aimCpu: number;
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sample { type: 'sample' | 'key'; ts: number; cpuPct?: number; rssMiB?: number; ms?: number; renders?: number; renderMs?: number }

function readLog(file: string): Sample[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Sample);
  } catch {
    return [];
  }
}

let runNo = 0;
async function runScenario(sc: Scenario, measureMs: number, keys: number, root = ROOT) {
  // a server of its own per run: a new one on the socket of a server still exiting fails to start
  const tmux = new Tmux(`bench-${sc.name.replace(/\W+/g, '')}-${++runNo}`);
  const log = path.join(os.tmpdir(), `vacm-ui-bench-${process.pid}-${sc.name.replace(/\W+/g, '')}.jsonl`);
  fs.rmSync(log, { force: true });
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-bench-'));
  try {
    const nodeOptions = process.env.VACM_BENCH_UI_NODE_OPTIONS;
    tmux.start(`node bin/vacm.js ${sc.args}`, { cwd: root, env: { VACM_STATE_DIR: stateDir, VACM_PERF_LOG: log, ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) } });
    await tmux.waitFor(sc.ready, 30_000);
    for (const k of sc.setup ?? []) tmux.keys(k);
    await sleep(4000); // warm up (JIT, first GC)
    const t0 = Date.now();
    await sleep(measureMs);
    const samples = readLog(log).filter((s) => s.type === 'sample' && s.ts > t0);
    // key-to-frame: move the cursor, spaced so each press gets its own frame
    for (let i = 0; i < keys; i++) {
      tmux.keys(i % 2 ? 'k' : 'j');
      await sleep(250);
    }
    await sleep(500);
    const keyMs = readLog(log).filter((s) => s.type === 'key' && s.ts > t0).map((s) => s.ms!);
    tmux.keys('q');
    await tmux.waitFor('VACM_EXITED', 15_000).catch(() => '');
    return {
      cpu: median(samples.map((s) => s.cpuPct!)),
      // when most seconds draw nothing (idle) the median is ~0: the mean is the CPU actually spent
      cpuMean: samples.reduce((a, s) => a + s.cpuPct!, 0) / samples.length,
      cpuMax: Math.max(...samples.map((s) => s.cpuPct!)),
      // the share of a core spent drawing frames (ink's render time, summed per second)
      framePct: median(samples.map((s) => (s.renderMs ?? 0) / 10)),
      fps: median(samples.map((s) => s.renders ?? 0)),
      rss: Math.max(...readLog(log).filter((s) => s.type === 'sample').map((s) => s.rssMiB!)),
      keyMed: median(keyMs),
      keyP95: pct(keyMs, 95),
      keys: keyMs.length,
    };
  } finally {
    tmux.kill();
    fs.rmSync(stateDir, { recursive: true, force: true });
    fs.rmSync(log, { force: true });
  }
}

export async function bench(): Promise<void> {
  if (!hasBinary('tmux')) {
    console.log('ui bench skipped: needs tmux (apt-get install tmux)');
    return;
  }
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'tui.js'))) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' });
  const scenarios: Scenario[] = [
    { name: 'idle (no --demo: the local node only)', args: '', ready: /1 nodes: 1 up/, aimCpu: 1 },
    { name: '1024 nodes, overview (default)', args: '--demo --nodes 1024', ready: /NODES 1025 · overview/, aimCpu: 10 },
    { name: '1024 nodes, list', args: '--demo --nodes 1024', setup: ['v'], ready: /NODES 1025 · overview/, aimCpu: 10 },
    { name: '4096 nodes, overview (default)', args: '--demo --nodes 4096', ready: /NODES 4097 · overview/, aimCpu: 15 },
    { name: '4096 nodes, list', args: '--demo --nodes 4096', setup: ['v'], ready: /NODES 4097 · overview/, aimCpu: 15 },
    { name: '16384 nodes, overview (default)', args: '--demo --nodes 16384', ready: /NODES 16385 · overview/, aimCpu: 15 },
    { name: '16384 nodes, list', args: '--demo --nodes 16384', setup: ['v'], ready: /NODES 16385 · overview/, aimCpu: 15 },
  ];
  // a comma followed by a space is part of a name (`4096 nodes, list`), one without separates names
  const only = (process.env.VACM_BENCH_UI_ONLY ?? '').split(/,(?! )/).filter(Boolean);
  const chosen = scenarios.filter((sc) => only.length === 0 || only.some((o) => sc.name.includes(o)));
  const measureMs = Number(process.env.VACM_BENCH_MS ?? 8000);
  const before = process.env.VACM_BENCH_UI_BEFORE;
  if (before) return compare(chosen, measureMs, path.resolve(before), Number(process.env.VACM_BENCH_UI_ROUNDS ?? 2));
  const rounds = Math.max(1, Number(process.env.VACM_BENCH_RUNS ?? 2) || 2);
  const out = section(`vacm dashboard, 200x60 tmux, SIM loads updating at 1 Hz (${os.cpus()[0]?.model ?? ''}), ${rounds} interleaved rounds`);
  // round by round over every scenario (1 2 3 … 1 2 3 …), so that a burst of someone else's load
  // lands on every scenario rather than on one
  const got = new Map<Scenario, Awaited<ReturnType<typeof runScenario>>[]>(chosen.map((sc) => [sc, []]));
  for (let i = 0; i < rounds; i++) for (const sc of chosen) got.get(sc)!.push(await runScenario(sc, measureMs, 16));
  const rows: string[][] = [];
  for (const sc of chosen) {
    const rs = got.get(sc)!;
    const r = (f: (x: (typeof rs)[number]) => number) => runs(rs.map(f));
    const cpu = r((x) => x.cpu);
    const rss = r((x) => x.rss);
    const key = r((x) => x.keyMed);
    rows.push([
      sc.name,
      cell(cpu, 1),
      cell(r((x) => x.cpuMean), 1),
      cell(r((x) => x.cpuMax), 1),
      `${cell(r((x) => x.framePct), 1)} (${cell(r((x) => x.fps), 0)}/s)`,
      `≤ ${sc.aimCpu}`,
      versusAim(cpu, sc.aimCpu, 'lower'),
      cell(rss, 0),
      versusAim(rss, 200, 'lower'),
      `${cell(key, 1)} / ${cell(r((x) => x.keyP95), 1)}`,
      versusAim(key, 50, 'lower'),
    ]);
  }
  out.print(
    ['scenario', 'CPU % (median of each run\'s 1 s samples)', 'CPU % mean of the seconds', 'worst second CPU %', 'of which drawing frames % (frames/s)', 'aim CPU %', 'CPU vs aim', 'RSS MiB max', 'RSS vs ≤ 200', 'key-to-frame ms median / p95', 'key vs ≤ 50 ms'],
    rows,
    [
      'No peer draws this screen: the columns compare against the aims of issue 5. Each cell is the median (lowest–highest) over the rounds of one number per run: CPU is % of one core, the median of the run\'s 1 s samples of process.cpuUsage inside the app (the whole process: the engine and every module\'s pollers on the simulated nodes), with the mean of the seconds (the CPU actually spent when most seconds draw nothing, as idle) and the worst second beside it; "drawing frames" is ink\'s render time alone; RSS the largest 1 s sample of the run (start-up included); key-to-frame from a key\'s bytes on stdin to the end of the next frame (16 cursor keys a run: median / p95). VACM_BENCH_RUNS sets the rounds (default 2).',
    ],
  );
}

/** Before and after, interleaved per scenario (B A B A ...): each cell the median (lowest–highest) of the rounds' numbers. */
async function compare(scenarios: Scenario[], measureMs: number, before: string, rounds: number): Promise<void> {
  const out = section(`vacm dashboard before (${before}) and after (${ROOT}), 200x60 tmux, SIM loads at 1 Hz, ${rounds} interleaved rounds${process.env.VACM_BENCH_UI_NODE_OPTIONS ? `, NODE_OPTIONS=${process.env.VACM_BENCH_UI_NODE_OPTIONS}` : ''}`);
  const rows: string[][] = [];
  for (const sc of scenarios) {
    const got = { before: [] as Awaited<ReturnType<typeof runScenario>>[], after: [] as Awaited<ReturnType<typeof runScenario>>[] };
    for (let i = 0; i < rounds; i++) {
      got.before.push(await runScenario(sc, measureMs, 16, before));
      got.after.push(await runScenario(sc, measureMs, 16, ROOT));
    }
    for (const which of ['before', 'after'] as const) {
      const rs = got[which];
      const c = (f: (r: (typeof rs)[number]) => number, d = 1) => cell(runs(rs.map(f)), d);
      rows.push([`${sc.name}, ${which}`, c((r) => r.rss, 0), c((r) => r.cpu), c((r) => r.cpuMean), c((r) => r.fps, 0), c((r) => r.keyMed), c((r) => r.keyP95)]);
    }
  }
  out.print(['scenario', 'RSS MiB max', 'CPU % median', 'CPU % mean', 'frames/s', 'key-to-frame ms median', 'key-to-frame p95'], rows, [
    'Each round runs the scenario once with each checkout, before first. RSS is the largest 1 s sample of the run (start-up included); CPU is % of one core from the app\'s 1 s samples (median and mean of a run); frames/s the median of its 1 s samples; key-to-frame from 16 cursor keys.',
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) await bench();
