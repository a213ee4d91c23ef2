/**
 * 1 000 simulated agents at 1 Hz into one collector (a real `vacm serve` process): its CPU, RSS and
 * drops, side by side with a bare UDP sink (a node process that only counts datagrams: the floor
 * any collector pays), the two interleaved (collector, sink, collector, sink: VACM_BENCH_RUNS rounds,
 * default 2, each of half the seconds). Then one real `vacm agent --interval 1`: its CPU and RSS.
 * VACM_BENCH_BEFORE=/old/bin/vacm.js adds another build's `vacm serve` to the same rounds (a
 * before/after of a change, interleaved). Needs the build (npm run build). Prints tables; never asserts.
 *
 *   npx tsx bench/collector.bench.ts [agents] [seconds]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { deriveNodeKey, encodeAgentMsg } from '../src/protocol/agent-msg.js';
// @ts-expect-error: plain JavaScript (it runs as its own process), no types
import { datagramMaker, pad, perSource, stats } from './collector-load.mjs';
import { cell, interleave, median, ratio, runs, section, versusAim } from './measure.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'vacm.js');
const GEN = path.join(ROOT, 'bench', 'collector-load.mjs');
/**
 * preloaded into every receiver measured (vacm serve and the sinks alike: it costs each a little, a
 * 10 ms timer and a GC observer, so it is in every case or the ratio would flatter the sinks): the
 * event loop's delay and GC pauses while the load runs
 */
const LOOP = pathToFileURL(path.join(ROOT, 'bench', 'collector-loop.mjs')).href;
const HOST = '127.0.40.254';
const SECRET = 'bench-master-secret';
const TICK = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;
/**
 * seconds of load before the measured window (VACM_BENCH_WARMUP, default 12): at 1000 datagrams a
 * second V8 is still compiling serve's hot paths (TurboFan on its helper threads) for ~20 s, which a
 * collector that runs for months pays once; a 3 s warm-up measured that compiling (coll20's profile)
 */
const WARMUP_S = Math.max(3, Number(process.env.VACM_BENCH_WARMUP ?? 12) || 12);

function cpuTicks(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]); // utime + stime
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A process's CPU % of one core over `seconds` (its ticks over the whole window: at 100 ticks a second,
 * a per-second sample of a process using 2 % is 1 or 3 ticks, too coarse), and its RSS, sampled each second.
 */
async function measure(pid: number, seconds: number): Promise<{ cpu: number; rss: number; maxRss: number }> {
  let maxRss = 0;
  const c0 = cpuTicks(pid);
  const t0 = performance.now();
  for (let i = 0; i < seconds; i++) {
    await sleep(1000);
    maxRss = Math.max(maxRss, rssMiB(pid));
  }
  const cpu = (((cpuTicks(pid) - c0) / TICK) * 1000 * 100) / (performance.now() - t0);
  return { cpu, rss: rssMiB(pid), maxRss };
}

/** The kernel's UDP receive-buffer overflows, machine-wide (/proc/net/snmp RcvbufErrors): where a drop happened. */
function rcvbufErrors(): number {
  const lines = fs.readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const head = lines[0]?.split(/\s+/) ?? [];
  const vals = lines[1]?.split(/\s+/) ?? [];
  return Number(vals[head.indexOf('RcvbufErrors')]);
}

/** the nodes: section, each node's host the address its agent sends from (the collector binds them) */
function nodesBySource(agents: number): string {
  const per = perSource(agents);
  const out: string[] = [];
  for (let j = 0; j * per < agents; j++) out.push(`  - names: a[${pad(j * per).slice(1)}-${pad(Math.min(agents, (j + 1) * per) - 1).slice(1)}]\n    vars: { host: "127.0.40.${j + 1}" }`);
  return `nodes:\n${out.join('\n')}`;
}

interface LoadReport {
  sent: number;
  failed: number;
  skipped: number;
  seconds: number;
  rate: number;
  cpu_s: number;
  behind_max: number;
}

/**
 * Agents a00001..aNNNNN, each one datagram a second, spread evenly, from 127.0.40.1-200: one
 * generator process per core (bench/collector-load.mjs), each with its share of the source addresses,
 * so that the generator keeps up at 10 000 a second and its timers do not starve this process's.
 * `stop()` returns what they achieved (sent, rate, their CPU).
 */
async function startLoad(agents: number, port: number): Promise<{ stop: () => Promise<LoadReport> }> {
  // the generator's datagram is what encodeAgentMsg writes (checked, so the bench measures real datagrams)
  const ts = Date.now();
  const ref = encodeAgentMsg({ v: 2, kind: 'status', node: pad(0), boot: 'b', seq: 0, ts, iv: 1, stats: stats(0) }, deriveNodeKey(SECRET, pad(0))).bytes;
  if (!ref.equals(datagramMaker(SECRET, agents)(0, 0, ts))) throw new Error('the bench\'s datagram template differs from encodeAgentMsg: fix bench/collector-load.mjs');
  const procs = Math.max(1, Math.min(os.cpus().length, 4));
  const per = perSource(agents);
  const sources = Math.ceil(agents / per);
  const kids: { p: ChildProcess; out: () => string }[] = [];
  for (let k = 0; k < procs; k++) {
    // whole source addresses per generator: agents of one address come from one process
    const first = Math.floor((k * sources) / procs) * per;
    const last = Math.min(agents, Math.floor(((k + 1) * sources) / procs) * per);
    if (last <= first) continue;
    const p = spawn(process.execPath, [GEN, String(port), HOST, String(agents), String(first), String(last - first), SECRET], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    kids.push({ p, out: () => out });
  }
  return {
    async stop() {
      const reports = await Promise.all(kids.map(async (k) => {
        const closed = new Promise((r) => k.p.on('close', r));
        k.p.kill('SIGTERM');
        await closed;
        return JSON.parse(k.out()) as LoadReport;
      }));
      const sum = (f: (r: LoadReport) => number) => reports.reduce((a, r) => a + f(r), 0);
      return { sent: sum((r) => r.sent), failed: sum((r) => r.failed), skipped: sum((r) => r.skipped), seconds: Math.max(...reports.map((r) => r.seconds)), rate: sum((r) => r.rate), cpu_s: sum((r) => r.cpu_s), behind_max: Math.max(...reports.map((r) => r.behind_max)) };
    },
  };
}

/** what bench/collector-loop.mjs saw in serve while the load ran */
interface LoopReport {
  maxMs: number;
  p99Ms: number;
  meanMs: number;
  perSecondMaxMs: number[];
  gc: { count: number; totalMs: number; maxMs: number; major: number; majorMs: number; majorMaxMs: number };
}

async function get(url: string): Promise<string> {
  return (await fetch(url)).text();
}

function counter(text: string, re: RegExp): number {
  const m = re.exec(text);
  return m ? Number(m[1]) : NaN;
}

async function waitFor(fn: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!fn() && Date.now() < end) await sleep(100);
}

async function collectorRun(dir: string, agents: number, seconds: number, bin = BIN) {
  fs.writeFileSync(path.join(dir, 'secret'), SECRET, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'bench01.key'), deriveNodeKey(SECRET, 'bench01'), { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'vacm.yaml'), `cluster: bench
${nodesBySource(agents)}
collector:
  listen: ${HOST}:26301
  secret_file: ${path.join(dir, 'secret')}
  allowed_subnets: [127.0.40.0/24]
  miss: 5
history:
  step_s: 1
# the collector's cost alone: no pollers (with hosts set, ping would sweep the 1 000 nodes)
ping:
  enabled: false
sysstat:
  enabled: false
`);
  let err = '';
  // a fresh state dir each run: the replay memory of the run before would refuse this run's sequence numbers
  const stateDir = fs.mkdtempSync(path.join(dir, 'state-'));
  const loopFile = path.join(stateDir, '..', `${path.basename(stateDir)}.loop.json`);
  // VACM_BENCH_SERVE_ARGS: node options for the serve process (e.g. --cpu-prof --cpu-prof-dir=/tmp/p)
  const nodeArgs = (process.env.VACM_BENCH_SERVE_ARGS ?? '').split(' ').filter((x) => x !== '');
  const serve = spawn(process.execPath, ['--import', LOOP, ...nodeArgs, bin, 'serve', '--config', path.join(dir, 'vacm.yaml'), '--metrics', `${HOST}:26302`], { env: { ...process.env, VACM_STATE_DIR: stateDir, VACM_BENCH_LOOP_FILE: loopFile }, stdio: ['ignore', 'ignore', 'pipe'] });
  serve.stderr!.on('data', (d) => (err += d));
  await waitFor(() => err.includes('metrics on'), 15_000);
  await sleep(1000); // what start-up left (its last compiling, a GC) is not idle work
  const idle = rssMiB(serve.pid!);
  const idleCpu = (await measure(serve.pid!, 4)).cpu;
  const overflow0 = rcvbufErrors();
  serve.kill('SIGUSR2'); // the loop-delay window: while the load runs
  const t0 = cpuTicks(serve.pid!);
  const load = await startLoad(agents, 26301);
  await sleep(WARMUP_S * 1000); // warm-up: every agent heard from, V8 done compiling the hot paths
  const m = await measure(serve.pid!, seconds);
  const gen = await load.stop();
  serve.kill('SIGUSR2');
  await sleep(300); // the last datagrams in flight
  const loadTicks = cpuTicks(serve.pid!) - t0; // (before /metrics is read: rendering it is not the datagrams' cost)
  const overflows = rcvbufErrors() - overflow0;
  // what is still queued in the socket is not a drop: read the counters until they stop moving
  let after = await get(`http://${HOST}:26302/metrics`);
  const receivedIn = (text: string) => counter(text, /^vacm_collector_datagrams_total\{result="received"\} (\d+)/m);
  for (let k = 0; k < 20; k++) {
    await sleep(300);
    const again = await get(`http://${HOST}:26302/metrics`);
    const settled = receivedIn(again) === receivedIn(after);
    after = again;
    if (settled) break;
  }
  const received = receivedIn(after);
  const accepted = counter(after, /^vacm_collector_datagrams_total\{result="accepted"\} (\d+)/m);
  const up = counter(after, /^vacm_nodes\{cluster="bench",state="up"\} (\d+)/m);
  serve.kill('SIGTERM');
  await new Promise((r) => serve.on('close', r));
  const loop: LoopReport | undefined = fs.existsSync(loopFile) ? (JSON.parse(fs.readFileSync(loopFile, 'utf8')) as LoopReport) : undefined;
  return { ...m, idle, idleCpu, gen, overflows, received, accepted, drops: Math.max(0, gen.sent - received), up, loop, usPerDatagram: perDatagramIn(m.cpu, gen, received), usWholeLoad: ((loadTicks / TICK) * 1e6) / received };
}

/**
 * µs of CPU per datagram in the measured window (after the warm-up): the window's CPU over the
 * datagrams received in it, the generators' achieved rate less the share of all their datagrams that
 * never arrived
 */
function perDatagramIn(cpuPct: number, gen: LoadReport, received: number): number {
  return (cpuPct * 1e4) / (gen.rate * Math.min(1, received / Math.max(1, gen.sent)));
}

/** What a bare sink does per datagram: count it (the floor), and optionally the wire's two unavoidable costs. */
const SINKS = {
  sink: '',
  'sink + JSON.parse': 'JSON.parse(m.toString());',
  'sink + HMAC-SHA256': "createHmac('sha256',key).update(m).digest();",
  'sink + JSON.parse + HMAC': "JSON.parse(m.toString());createHmac('sha256',key).update(m).digest();",
} as const;
type SinkKind = keyof typeof SINKS;

async function sinkRun(agents: number, seconds: number, kind: SinkKind) {
  const code = `const {createHmac}=require('crypto');const key=Buffer.alloc(64,7);const d=require('dgram').createSocket({type:'udp4',recvBufferSize:4<<20});let n=0;d.on('message',(m)=>{n++;${SINKS[kind]}});d.bind(26303,'${HOST}');process.on('SIGTERM',()=>{process.stdout.write(String(n));process.exit(0)});`;
  const loopFile = path.join(os.tmpdir(), `vacm-bench-sink-${process.pid}-${Date.now()}.loop.json`);
  const sink: ChildProcess = spawn(process.execPath, ['--import', LOOP, '-e', code], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, VACM_BENCH_LOOP_FILE: loopFile } });
  let out = '';
  sink.stdout!.on('data', (d) => (out += d));
  await sleep(1500);
  const idle = rssMiB(sink.pid!);
  const idleCpu = (await measure(sink.pid!, 4)).cpu;
  const overflow0 = rcvbufErrors();
  sink.kill('SIGUSR2');
  const t0 = cpuTicks(sink.pid!);
  const load = await startLoad(agents, 26303);
  await sleep(WARMUP_S * 1000);
  const m = await measure(sink.pid!, seconds);
  const gen = await load.stop();
  sink.kill('SIGUSR2');
  await sleep(300);
  const loadTicks = cpuTicks(sink.pid!) - t0;
  const overflows = rcvbufErrors() - overflow0;
  sink.kill('SIGTERM');
  await new Promise((r) => sink.on('close', r));
  const received = Number(out);
  const loop: LoopReport | undefined = fs.existsSync(loopFile) ? (JSON.parse(fs.readFileSync(loopFile, 'utf8')) as LoopReport) : undefined;
  fs.rmSync(loopFile, { force: true });
  return { ...m, idle, idleCpu, gen, overflows, received, accepted: NaN, drops: Math.max(0, gen.sent - received), up: NaN, loop, usPerDatagram: perDatagramIn(m.cpu, gen, received), usWholeLoad: ((loadTicks / TICK) * 1e6) / received };
}

async function agentRun(dir: string, seconds: number) {
  // a sink to send to, so that the agent's sends succeed
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(26304, HOST, () => r()));
  let got = 0;
  s.on('message', () => got++);
  const agent = spawn(process.execPath, [BIN, 'agent', '--collector', `${HOST}:26304`, '--secret-file', path.join(dir, 'bench01.key'), '--interval', '1', '--name', 'bench01'], { stdio: 'ignore' });
  await sleep(3000);
  const m = await measure(agent.pid!, seconds);
  agent.kill('SIGTERM');
  await new Promise((r) => agent.on('close', r));
  s.close();
  return { ...m, got };
}

function loopCell(loops: (LoopReport | undefined)[]): string {
  const ls = loops.filter((l): l is LoopReport => l !== undefined);
  if (ls.length === 0) return '';
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const gcs = sum(ls.map((l) => l.gc.count));
  const major = sum(ls.map((l) => l.gc.major));
  return `max ${ls.map((l) => l.maxMs.toFixed(0)).join(', ')} ms; p99 ${median(ls.map((l) => l.p99Ms)).toFixed(0)} ms; GC ${gcs} (${sum(ls.map((l) => l.gc.totalMs)).toFixed(0)} ms), ${major} major (${sum(ls.map((l) => l.gc.majorMs)).toFixed(0)} ms, longest ${Math.max(...ls.map((l) => l.gc.majorMaxMs)).toFixed(0)} ms)`;
}

export async function bench(): Promise<void> {
  const agents = Number(process.argv[2]) || 1000;
  const seconds = Number(process.argv[3]) || 20;
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'index.js'))) {
    console.log('\n(collector bench: run `npm run build` first; it drives the real vacm binary)');
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-bench-collector-'));
  const rounds = Math.max(1, Number(process.env.VACM_BENCH_RUNS ?? 2) || 2);
  const each = Math.max(3, Math.round(seconds / rounds));
  try {
    const out = section(`collector: ${agents} simulated agents at 1 Hz (${Math.min(os.cpus().length, 4)} generator processes); vacm serve and bare UDP sinks interleaved, ${rounds} rounds of ${each} s measured after ${WARMUP_S} s of load`);
    type Run = Awaited<ReturnType<typeof collectorRun>>;
    const beforeBin = process.env.VACM_BENCH_BEFORE ? path.resolve(process.env.VACM_BENCH_BEFORE) : undefined;
    // VACM_BENCH_SINKS=bare: only the bare sink beside vacm serve (a quicker run, for profiling)
    const sinks = process.env.VACM_BENCH_SINKS === 'bare' ? ['sink'] : Object.keys(SINKS);
    const names = ['vacm serve (collector)', ...(beforeBin ? ['before: vacm serve'] : []), ...sinks];
    const all = new Map<string, Run[]>(names.map((n) => [n, []]));
    const runOf = (n: string): Promise<Run> => (n === 'vacm serve (collector)' ? collectorRun(dir, agents, each) : n === 'before: vacm serve' ? collectorRun(dir, agents, each, beforeBin) : sinkRun(agents, each, n as SinkKind));
    const r = await interleave(Object.fromEntries(names.map((n) => [n, async () => {
      const x = await runOf(n);
      all.get(n)!.push(x);
      return x.cpu;
    }])), rounds);
    const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    // CPU per datagram received, over the whole load (warm-up included): the measure that a starved
    // receiver cannot flatter (its CPU % is what it was given; this is what each datagram cost it)
    const perDatagram = Object.fromEntries(names.map((n) => [n, runs(all.get(n)!.map((x) => x.usPerDatagram))]));
    const rows = names.map((n) => {
      const xs = all.get(n)!;
      const sent = sum(xs.map((x) => x.gen.sent));
      const drops = sum(xs.map((x) => x.drops));
      const rates = xs.map((x) => x.gen.rate);
      const isVacm = n.includes('vacm serve');
      return [
        n,
        cell(r[n], 1),
        ratio(r[n], r.sink),
        cell(perDatagram[n], 1),
        ratio(perDatagram[n], perDatagram.sink),
        f(median(xs.map((x) => x.idleCpu))),
        `${f(median(xs.map((x) => x.idle)))} → ${f(median(xs.map((x) => x.rss)))} (${f(Math.max(...xs.map((x) => x.maxRss)))})`,
        `${f(Math.min(...rates), 0)}–${f(Math.max(...rates), 0)}/s, ${f(median(xs.map((x) => (100 * x.gen.cpu_s) / x.gen.seconds)))} % CPU, behind ≤ ${Math.max(...xs.map((x) => x.gen.behind_max))}, skipped ${sum(xs.map((x) => x.gen.skipped))}, send errors ${sum(xs.map((x) => x.gen.failed))}`,
        String(sent),
        `${drops} (${f((100 * drops) / Math.max(1, sent), 2)} %); kernel ${sum(xs.map((x) => x.overflows))}`,
        isVacm ? `${sum(xs.map((x) => x.accepted))}; up ${Math.min(...xs.map((x) => x.up))}/${agents}` : '',
        loopCell(xs.map((x) => x.loop)),
      ];
    });
    const notes = ['Aim: vacm serve ≤ 2× the bare sink\'s CPU, and 0 drops. The sink + rows are the floor of this wire format: a sink that also parses the JSON, or computes the one HMAC, per datagram.',
      'drops: datagrams the generators sent that the receiver never got (the collector\'s own `received` counter; the sink counts its own); kernel: receive-buffer overflows in /proc/net/snmp during the runs (machine-wide). accepted: datagrams that passed every check (all runs).',
      'event loop delay (every receiver, while the load ran; bench/collector-loop.mjs, preloaded into the sinks too so that its small cost is in every case): the longest the loop was held (the process could not read its socket; the collector also leaves it unread for up to 50 ms after a wake-up that emptied it, by design, while its loop is free), each run, and the median run\'s 99th percentile (10 ms resolution); GC: pauses of all runs, the major (mark-compact) ones and the longest.',
      'generators: the rate they achieved (lowest–highest run, all generator processes together), their CPU, the most datagrams they were ever behind their schedule, what they skipped of it (more than 20 ms behind: no bursts), and send errors.'];
    for (const n of names.filter((x) => x.includes('vacm serve'))) {
      notes.push(`${n}, the longest loop delay in each second of the load (ms; warm-up first), run by run: ${all.get(n)!.map((x) => `[${x.loop?.perSecondMaxMs.map((v) => v.toFixed(0)).join(' ') ?? '–'}]`).join(' ')}`);
    }
    {
      const v = all.get('vacm serve (collector)')!;
      const sinkMedian = perDatagram.sink.median;
      const drops = v.reduce((a, x) => a + x.drops, 0);
      notes.push(`Verdict: vacm serve's CPU per datagram ${ratio(perDatagram['vacm serve (collector)'], perDatagram.sink)} the bare sink's, aim ≤ 2×: ${versusAim(runs(v.map((x) => x.usPerDatagram / sinkMedian)), 2, 'lower')}; drops ${drops}, aim 0: ${drops === 0 ? 'meets' : 'misses'} (worst loop delay ${Math.max(...v.map((x) => x.loop?.maxMs ?? NaN)).toFixed(0)} ms: drops with short loop delays are a process given less CPU than its datagrams need, which falls behind without any long stall, libuv returning to its timers every 32 datagrams, until the buffer overflows).`);
    }
    notes.push('µs CPU per datagram received: the process\'s user + system time in the measured window (after the warm-up) over the datagrams it received in it (the generators\' achieved rate less the share that never arrived); a receiver starved of CPU drops datagrams and shows a lower CPU %, but not a lower cost per datagram.');
    if (beforeBin) notes.push(`now / before: CPU % ${ratio(r['vacm serve (collector)'], r['before: vacm serve'])}; µs CPU per datagram ${ratio(perDatagram['vacm serve (collector)'], perDatagram['before: vacm serve'])}`);
    out.print(['case', 'CPU % of one core (loaded)', 'vs sink', 'µs CPU per datagram received', 'vs sink (per datagram)', 'idle CPU % (no datagrams)', 'RSS MiB (idle → loaded, max)', 'generators achieved', 'sent (all runs)', 'drops', 'accepted; nodes up (worst run)', 'event loop delay: max per run; p99 (median); GC pauses'], rows, notes);
    if (process.env.VACM_BENCH_SINKS === 'bare') return;
    const agentOut = section('vacm agent --interval 1 (systeminformation; df and temperatures every 30 s)');
    const a = await agentRun(dir, Math.min(seconds, 15));
    agentOut.print(['', 'vacm agent'], [
      ['CPU % of one core (over the run)', f(a.cpu, 2)],
      ['RSS MiB', f(a.rss)],
      ['datagrams received by the sink', String(a.got)],
    ], ['No peer here: one run.'], { legend: false });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await bench();
