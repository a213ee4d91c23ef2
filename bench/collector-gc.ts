/**
 * The collector's garbage per datagram, in process (issue 18 row 3, item 1): `CollectorCore.handle`
 * on a real engine over N agents, one datagram each per round (as at 1 Hz: a node's objects live a
 * whole round, long enough to be copied by scavenges and promoted), with the GC pauses
 * (PerformanceObserver 'gc') and the heap after. `VACM_BENCH_BEFORE=/old/dist` runs the build before
 * a change in its own process, alternately (a heap is per process). Prints; never asserts.
 *
 *   npx tsx bench/collector-gc.ts [agents] [rounds]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cell, ratio, runs as runsFrom, section, type Runs } from './measure.js';

const SECRET = 'bench-master-secret';
const name = (i: number) => `a${String(i + 1).padStart(5, '0')}`;
const stats = (i: number) => ({ load1: (i % 97) / 10, load5: 1, load15: 1, cpu: i % 100, mem_used_pct: 40, mem_total: 68719476736, mem_used: 27487790694, swap_used_pct: 0, disk_used_pct: 31.5, uptime: 123456, net_rx_bps: 1000, net_tx_bps: 2000, os: 'Debian GNU/Linux 12', kernel: '6.1.0-18-amd64' });

interface Result { cpuUs: number; gcUs: number; scavenges: number; scavengeMs: number; majors: number; majorMs: number; heapMiB: number; rssMiB: number }

/** one process: `rounds` rounds over `agents` agents on the build in `dist`; prints one JSON Result */
async function child(dist: string, agents: number, rounds: number): Promise<void> {
  const get = (p: string): Promise<any> => import(pathToFileURL(path.join(dist, p)).href);
  const msg = await get('protocol/agent-msg.js');
  const { Engine } = await get('engine/engine.js');
  const { parseConfig } = await get('engine/config.js');
  const collector = await get('backends/collector/module.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-bench-collector-gc-'));
  fs.writeFileSync(path.join(dir, 'secret'), SECRET, { mode: 0o600 });
  const per = Math.ceil(agents / 200);
  const nodes = Array.from({ length: Math.ceil(agents / per) }, (_, j) => `  - names: a[${String(j * per + 1).padStart(5, '0')}-${String(Math.min(agents, (j + 1) * per)).padStart(5, '0')}]\n    vars: { host: "127.0.40.${j + 1}" }`).join('\n');
  const cfg = parseConfig(`cluster: bench\nnodes:\n${nodes}\nhistory:\n  step_s: 1\nping:\n  enabled: false\nsysstat:\n  enabled: false\n`);
  const engine = new Engine({ config: cfg, modules: [], monitor: true, stateDir: fs.mkdtempSync(path.join(dir, 'state-')) });
  await engine.start();
  const core = new collector.CollectorCore(engine, collector.parseCollectorSection({ secret_file: path.join(dir, 'secret'), allowed_subnets: ['127.0.40.0/24'] }));
  const keys = Array.from({ length: agents }, (_, i) => msg.deriveNodeKey(SECRET, name(i)));
  const from = Array.from({ length: agents }, (_, i) => `127.0.40.${Math.floor(i / per) + 1}`);
  const t0 = Date.now();
  // datagrams made per round, before it is timed (the generator's cost is not the collector's)
  const wire = (seq: number) => Array.from({ length: agents }, (_, i) => msg.encodeAgentMsg({ v: 2, kind: 'status', node: name(i), boot: 'b', seq, ts: t0, iv: 1, stats: stats(i) }, keys[i]).bytes as Buffer);
  let scavenges = 0, scavengeMs = 0, majors = 0, majorMs = 0, on = false;
  // only pauses that started inside a timed loop count (the entries arrive later)
  const windows: [number, number][] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (!windows.some(([a, b]) => e.startTime >= a && e.startTime <= b)) continue;
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) { majors++; majorMs += e.duration; } else { scavenges++; scavengeMs += e.duration; }
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  let cpu = 0;
  let ok = 0;
  const all = Array.from({ length: rounds + 2 }, (_, r) => wire(r + 1));
  for (let r = 0; r < rounds + 2; r++) {
    const d = all[r];
    if (r === 2) on = true; // two rounds to warm up: every node known, its history started
    const w0 = performance.now();
    const c0 = process.cpuUsage();
    // a fresh copy of each datagram, as the socket hands over (a Buffer per message)
    for (let i = 0; i < agents; i++) if (core.handle(Buffer.from(d[i]), from[i], t0).ok) ok++;
    const c = process.cpuUsage(c0);
    if (on) {
      cpu += c.user + c.system;
      windows.push([w0, performance.now()]);
    }
    await new Promise((res) => setImmediate(res)); // the GC observer's entries, the engine's ticks
  }
  await new Promise((res) => setTimeout(res, 50));
  if (ok !== agents * (rounds + 2)) throw new Error(`accepted ${ok} of ${agents * (rounds + 2)}: the bench's datagrams are wrong`);
  const n = agents * rounds;
  const res: Result = { cpuUs: cpu / n, gcUs: ((scavengeMs + majorMs) * 1000) / n, scavenges, scavengeMs, majors, majorMs, heapMiB: process.memoryUsage().heapUsed / 1048576, rssMiB: process.memoryUsage().rss / 1048576 };
  await engine.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  process.stdout.write(JSON.stringify(res) + '\n');
}

function runChild(dist: string, agents: number, rounds: number): Result {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', dist, String(agents), String(rounds)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Result;
}

export async function bench(): Promise<void> {
  const agents = Number(process.argv[2]) || 10_000;
  const rounds = Number(process.argv[3]) || 10;
  const runs = Math.max(1, Number(process.env.VACM_BENCH_RUNS ?? 3) || 3);
  const builds: [string, string][] = [['now', path.resolve('dist')]];
  if (process.env.VACM_BENCH_BEFORE) builds.push(['before', path.resolve(process.env.VACM_BENCH_BEFORE)]);
  const out = section(`collector garbage per datagram, in process: CollectorCore.handle over ${agents} agents, ${rounds} rounds of one datagram each (after 2 warm-up rounds), ${runs} interleaved runs, one process each`);
  const all = new Map<string, Result[]>(builds.map(([n]) => [n, []]));
  for (let k = 0; k < runs; k++) for (const [n, d] of builds) all.get(n)!.push(runChild(d, agents, rounds));
  const runsOf = (n: string, f: (r: Result) => number): Runs => runsFrom(all.get(n)!.map(f));
  const rows = builds.map(([n]) => [n, cell(runsOf(n, (r) => r.cpuUs), 2), cell(runsOf(n, (r) => r.gcUs), 2), cell(runsOf(n, (r) => r.scavenges), 0), cell(runsOf(n, (r) => r.scavengeMs / Math.max(1, r.scavenges)), 1), cell(runsOf(n, (r) => r.majors), 0), cell(runsOf(n, (r) => r.heapMiB), 1), cell(runsOf(n, (r) => r.rssMiB), 1)]);
  const notes = ['GC µs per datagram: the pauses the GC observer saw, over the datagrams; the pauses are part of the CPU column too. A node\'s objects from one datagram live until its next one: a whole round, as at 1 Hz.'];
  if (builds.length > 1) notes.push(`now / before: CPU ${ratio(runsOf('now', (r) => r.cpuUs), runsOf('before', (r) => r.cpuUs))}, GC ${ratio(runsOf('now', (r) => r.gcUs), runsOf('before', (r) => r.gcUs))}`);
  out.print(['build', 'µs CPU per datagram', 'GC µs per datagram', 'scavenges', 'ms per scavenge', 'major GCs', 'heap used MiB (end)', 'RSS MiB (end)'], rows, notes);
}

if (process.argv[2] === '--child') await child(process.argv[3], Number(process.argv[4]), Number(process.argv[5]));
else if (import.meta.url === `file://${process.argv[1]}`) await bench();
