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
import { fileURLToPath } from 'node:url';
import { canonicalJson, deriveNodeKey, encodeAgentMsg, macOf } from '../src/protocol/agent-msg.js';
import { cell, interleave, median, ratio, section } from './measure.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'vacm.js');
const HOST = '127.0.40.254';
const SECRET = 'bench-master-secret';
const TICK = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

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

/** Sample a process's CPU % each second for `seconds`; returns the median CPU % and the last RSS. */
async function measure(pid: number, seconds: number): Promise<{ cpu: number; rss: number; maxRss: number }> {
  const per: number[] = [];
  let maxRss = 0;
  let prev = cpuTicks(pid);
  let t = performance.now();
  for (let i = 0; i < seconds; i++) {
    await sleep(1000);
    const now = performance.now();
    const c = cpuTicks(pid);
    per.push((((c - prev) / TICK) * 1000 * 100) / (now - t));
    prev = c;
    t = now;
    maxRss = Math.max(maxRss, rssMiB(pid));
  }
  return { cpu: median(per), rss: rssMiB(pid), maxRss };
}

/** agent i (0-based) sends from 127.0.40.(SOURCE(i)+1): consecutive agents share a source address */
const perSource = (agents: number) => Math.ceil(agents / 200);
const pad = (i: number) => `a${String(i + 1).padStart(4, '0')}`;

/** the nodes: section, each node's host the address its agent sends from (the collector binds them) */
function nodesBySource(agents: number): string {
  const per = perSource(agents);
  const out: string[] = [];
  for (let j = 0; j * per < agents; j++) out.push(`  - names: a[${pad(j * per).slice(1)}-${pad(Math.min(agents, (j + 1) * per) - 1).slice(1)}]\n    vars: { host: "127.0.40.${j + 1}" }`);
  return `nodes:\n${out.join('\n')}`;
}

/** Agents a0001..aNNNN, each one datagram a second, spread evenly; from 127.0.40.1-200. */
function startLoad(agents: number, port: number): { sent: () => number; stop: () => Promise<void> } {
  const socks = Array.from({ length: 200 }, (_, i) => {
    const s = dgram.createSocket('udp4');
    s.bind({ address: `127.0.40.${i + 1}`, port: 0 });
    return s;
  });
  const seq = new Array<number>(agents).fill(0);
  // each agent signs with its own key, sending from the address its node's host names
  const names = Array.from({ length: agents }, (_, i) => pad(i));
  const per = perSource(agents);
  const keys = names.map((n) => deriveNodeKey(SECRET, n));
  let next = 0;
  let sent = 0;
  const stats = (i: number) => ({ load1: (i % 97) / 10, load5: 1, load15: 1, cpu: i % 100, mem_used_pct: 40, mem_total: 68719476736, mem_used: 27487790694, swap_used_pct: 0, disk_used_pct: 31.5, uptime: 123456, net_rx_bps: 1000, net_tx_bps: 2000, os: 'Debian GNU/Linux 12', kernel: '6.1.0-18-amd64' });
  // what encodeAgentMsg writes, from a per-agent template (the stats do not change): a generator
  // that signs 10 000 datagrams a second through the general encoder cannot keep up on a loaded
  // machine (it falls behind and starves the timers that measure). Checked against it below.
  const statsJson = names.map((_, i) => canonicalJson(stats(i)));
  const keyBufs = keys.map((k) => Buffer.from(k, 'utf8'));
  const datagram = (i: number, sq: number, ts: number): Buffer => {
    const tail = `"node":"${names[i]}","s":${statsJson[i]},"seq":${sq},"ts":${ts},"v":2}`;
    const head = '{"boot":"b","iv":1,"k":"status",';
    return Buffer.from(`${head}"mac":"${macOf(head + tail, keyBufs[i])}",${tail}`);
  };
  {
    const ts = Date.now();
    const ref = encodeAgentMsg({ v: 2, kind: 'status', node: names[0], boot: 'b', seq: 0, ts, iv: 1, stats: stats(0) }, keys[0]).bytes;
    if (!ref.equals(datagram(0, 0, ts))) throw new Error('the bench\'s datagram template differs from encodeAgentMsg: fix startLoad');
  }
  // paced by the clock, not by timer ticks: a late tick sends what is due
  const t0 = performance.now();
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) * agents) / 1000);
    while (sent < due) {
      const i = next;
      next = (next + 1) % agents;
      socks[Math.floor(i / per)].send(datagram(i, seq[i]++, Date.now()), port, HOST);
      sent++;
    }
  }, 10);
  return {
    sent: () => sent,
    async stop() {
      clearInterval(timer);
      await sleep(300);
      for (const s of socks) s.close();
    },
  };
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
  const serve = spawn(process.execPath, [bin, 'serve', '--config', path.join(dir, 'vacm.yaml'), '--metrics', `${HOST}:26302`], { env: { ...process.env, VACM_STATE_DIR: stateDir }, stdio: ['ignore', 'ignore', 'pipe'] });
  serve.stderr!.on('data', (d) => (err += d));
  await waitFor(() => err.includes('metrics on'), 15_000);
  const idle = rssMiB(serve.pid!);
  const load = startLoad(agents, 26301);
  await sleep(3000); // warm-up: every agent heard from at least twice
  const m = await measure(serve.pid!, seconds);
  await load.stop();
  const sent = load.sent();
  const after = await get(`http://${HOST}:26302/metrics`);
  const accepted = counter(after, /^vacm_collector_datagrams_total\{result="accepted"\} (\d+)/m);
  const up = counter(after, /^vacm_nodes\{cluster="bench",state="up"\} (\d+)/m);
  serve.kill('SIGTERM');
  await new Promise((r) => serve.on('close', r));
  return { ...m, idle, sent, received: accepted, drops: Math.max(0, sent - accepted), up };
}

async function sinkRun(agents: number, seconds: number) {
  const code = `const d=require('dgram').createSocket({type:'udp4',recvBufferSize:4<<20});let n=0;d.on('message',()=>n++);d.bind(26303,'${HOST}');process.on('SIGTERM',()=>{process.stdout.write(String(n));process.exit(0)});`;
  const sink: ChildProcess = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  sink.stdout!.on('data', (d) => (out += d));
  await sleep(500);
  const idle = rssMiB(sink.pid!);
  const load = startLoad(agents, 26303);
  await sleep(3000);
  const m = await measure(sink.pid!, seconds);
  await load.stop();
  const total = load.sent();
  sink.kill('SIGTERM');
  await new Promise((r) => sink.on('close', r));
  const received = Number(out);
  return { ...m, idle, sent: total, received: NaN, drops: Math.max(0, total - received), up: NaN };
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
    const out = section(`collector: ${agents} simulated agents at 1 Hz; vacm serve and a bare UDP sink interleaved, ${rounds} rounds of ${each} s measured`);
    const cs: Awaited<ReturnType<typeof collectorRun>>[] = [];
    const ks: Awaited<ReturnType<typeof sinkRun>>[] = [];
    const bs: Awaited<ReturnType<typeof collectorRun>>[] = [];
    const beforeBin = process.env.VACM_BENCH_BEFORE ? path.resolve(process.env.VACM_BENCH_BEFORE) : undefined;
    const r = await interleave({
      collectorCpu: async () => (cs.push(await collectorRun(dir, agents, each)), cs.at(-1)!.cpu),
      sinkCpu: async () => (ks.push(await sinkRun(agents, each)), ks.at(-1)!.cpu),
      beforeCpu: beforeBin ? async () => (bs.push(await collectorRun(dir, agents, each, beforeBin)), bs.at(-1)!.cpu) : undefined,
    }, rounds);
    const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const rss = (xs: { rss: number }[]) => median(xs.map((x) => x.rss));
    const cSent = sum(cs.map((c) => c.sent));
    const kSent = sum(ks.map((k) => k.sent));
    const cDrops = sum(cs.map((c) => c.drops));
    const kDrops = sum(ks.map((k) => k.drops));
    const bSent = sum(bs.map((c) => c.sent));
    const bDrops = sum(bs.map((c) => c.drops));
    const withBefore = (row: string[], b: string): string[] => (beforeBin ? [...row.slice(0, 3), b, ...row.slice(3)] : row);
    out.print(withBefore(['', 'vacm serve (collector)', 'bare UDP sink', 'ratio'], 'before: vacm serve'), [
      withBefore(['CPU % of one core (per-second median of each run)', cell(r.collectorCpu, 1), cell(r.sinkCpu, 1), ratio(r.collectorCpu, r.sinkCpu)], cell(r.beforeCpu, 1)),
      withBefore(['RSS MiB (idle → loaded, max; median run)', `${f(median(cs.map((c) => c.idle)))} → ${f(rss(cs))} (${f(Math.max(...cs.map((c) => c.maxRss)))})`, `${f(median(ks.map((k) => k.idle)))} → ${f(rss(ks))} (${f(Math.max(...ks.map((k) => k.maxRss)))})`, f(rss(cs) / rss(ks), 2)], bs.length ? `${f(median(bs.map((c) => c.idle)))} → ${f(rss(bs))} (${f(Math.max(...bs.map((c) => c.maxRss)))})` : ''),
      withBefore(['datagrams sent (warm-up included, all runs)', String(cSent), String(kSent), ''], String(bSent)),
      withBefore(['accepted', String(sum(cs.map((c) => c.received))), '(counted only)', ''], String(sum(bs.map((c) => c.received)))),
      withBefore(['drops', `${cDrops} (${f((100 * cDrops) / Math.max(1, cSent), 2)} %)`, `${kDrops} (${f((100 * kDrops) / Math.max(1, kSent), 2)} %)`, ''], `${bDrops} (${f((100 * bDrops) / Math.max(1, bSent), 2)} %)`),
      withBefore(['nodes up at the end (worst run)', `${Math.min(...cs.map((c) => c.up))} / ${agents}`, '', ''], bs.length ? `${Math.min(...bs.map((c) => c.up))} / ${agents}` : ''),
    ], ['Aim: ≤ 2× the sink\'s CPU.', ...(beforeBin ? [`before / sink (CPU): ${ratio(r.beforeCpu, r.sinkCpu)}; now / before (CPU): ${ratio(r.collectorCpu, r.beforeCpu)}`] : [])]);
    const agentOut = section('vacm agent --interval 1 (systeminformation; df and temperatures every 30 s)');
    const a = await agentRun(dir, Math.min(seconds, 15));
    agentOut.print(['', 'vacm agent'], [
      ['CPU % of one core (per-second median)', f(a.cpu, 2)],
      ['RSS MiB', f(a.rss)],
      ['datagrams received by the sink', String(a.got)],
    ], ['No peer here: one run.'], { legend: false });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await bench();
