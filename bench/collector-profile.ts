/**
 * Where the collector's time per datagram goes, in process (issue 18 row 3): each part the
 * collector pays for one agent datagram, timed alone over the same N signed datagrams (N agents, one
 * datagram each), then the whole `CollectorCore.handle` on a real engine (history, node state), with
 * the build before a change beside it (`VACM_BENCH_BEFORE=/old/dist`), all interleaved in rounds.
 * Reports µs per datagram of CPU (process.cpuUsage) and of wall. Prints; never asserts.
 *
 *   npx tsx bench/collector-profile.ts [agents]
 */
import { createHmac, createSecretKey } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as AgentMsgTs from '../src/protocol/agent-msg.js';
import type * as EngineTs from '../src/engine/engine.js';
import type * as ConfigTs from '../src/engine/config.js';
import type * as CollectorTs from '../src/backends/collector/module.js';
import { cell, interleave, ratio, section, type Runs } from './measure.js';

interface Build {
  msg: typeof AgentMsgTs;
  Engine: typeof EngineTs.Engine;
  parseConfig: typeof ConfigTs.parseConfig;
  collector: typeof CollectorTs;
}

async function loadBuild(dist: string): Promise<Build> {
  const get = (p: string): Promise<unknown> => import(pathToFileURL(path.join(dist, p)).href);
  return {
    msg: (await get('protocol/agent-msg.js')) as typeof AgentMsgTs,
    Engine: ((await get('engine/engine.js')) as typeof EngineTs).Engine,
    parseConfig: ((await get('engine/config.js')) as typeof ConfigTs).parseConfig,
    collector: (await get('backends/collector/module.js')) as typeof CollectorTs,
  };
}

const SECRET = 'bench-master-secret';
const name = (i: number) => `a${String(i + 1).padStart(5, '0')}`;
const stats = (i: number) => ({ load1: (i % 97) / 10, load5: 1, load15: 1, cpu: i % 100, mem_used_pct: 40, mem_total: 68719476736, mem_used: 27487790694, swap_used_pct: 0, disk_used_pct: 31.5, uptime: 123456, net_rx_bps: 1000, net_tx_bps: 2000, os: 'Debian GNU/Linux 12', kernel: '6.1.0-18-amd64' });

/** µs of CPU per datagram of `f` over `n` datagrams; `wall` gets the wall µs. */
function perDatagram(n: number, f: () => void, wall?: number[]): number {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  f();
  const w = Number(process.hrtime.bigint() - t0) / 1e3;
  const c = process.cpuUsage(c0);
  wall?.push(w / n);
  return (c.user + c.system) / n;
}

async function engineFor(b: Build, agents: number, dir: string): Promise<{ core: CollectorTs.CollectorCore; stop(): Promise<void>; recordStats: EngineTs.Engine['recordStats'] }> {
  fs.writeFileSync(path.join(dir, 'secret'), SECRET, { mode: 0o600 });
  const cfg = b.parseConfig(`cluster: bench\nnodes:\n  - names: a[00001-${String(agents).padStart(5, '0')}]\n    vars: { host: "127.0.40.1" }\nhistory:\n  step_s: 1\nping:\n  enabled: false\nsysstat:\n  enabled: false\n`);
  const engine = new b.Engine({ config: cfg, modules: [], monitor: true, stateDir: fs.mkdtempSync(path.join(dir, 'state-')) });
  await engine.start();
  // the engine is its modules' host (init(this)): the collector's core on it, without a socket
  const core = new b.collector.CollectorCore(engine, b.collector.parseCollectorSection({ secret_file: path.join(dir, 'secret'), window_s: 86400 }));
  return { core, recordStats: engine.recordStats.bind(engine), stop: () => engine.stop() };
}

export async function bench(): Promise<void> {
  const agents = Number(process.argv[2]) || 10_000;
  const rounds = Math.max(1, Number(process.env.VACM_BENCH_RUNS ?? 5) || 5);
  const now = await loadBuild(path.resolve('dist'));
  const beforeDir = process.env.VACM_BENCH_BEFORE;
  const before = beforeDir ? await loadBuild(path.resolve(beforeDir)) : undefined;
  const m = now.msg;
  const keys = Array.from({ length: agents }, (_, i) => m.deriveNodeKey(SECRET, name(i)));
  const t0 = Date.now();
  const wire = (seq: number) => Array.from({ length: agents }, (_, i) => m.encodeAgentMsg({ v: 2, kind: 'status', node: name(i), boot: 'b', seq, ts: t0 + seq * 1000, iv: 1, stats: stats(i) }, keys[i]).bytes);
  const first = wire(0);
  const texts = first.map((b) => b.toString('utf8'));
  const parsed = texts.map((t) => JSON.parse(t) as Record<string, unknown>);
  const bodies = parsed.map(({ mac: _mac, ...body }) => body);
  const canon = bodies.map((b) => m.canonicalJson(b));
  const keyBufs = keys.map((k) => Buffer.from(k, 'utf8'));
  const keyObjs = keyBufs.map((k) => createSecretKey(k));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-bench-collector-profile-'));
  const builds: [string, Build][] = before ? [['now', now], ['before', before]] : [['now', now]];
  const cores = new Map<string, Awaited<ReturnType<typeof engineFor>>>();
  for (const [n, b] of builds) cores.set(n, await engineFor(b, agents, dir));
  let seq = 1;
  let sink = 0;
  const wallOf: Record<string, number[]> = {};
  const w = (k: string) => (wallOf[k] ??= []);
  const parts: Record<string, () => number> = {
    'Buffer → string (utf8)': () => perDatagram(agents, () => { for (const b of first) sink += b.toString('utf8').length; }, w('Buffer → string (utf8)')),
    'JSON.parse': () => perDatagram(agents, () => { for (const t of texts) sink += (JSON.parse(t) as { seq: number }).seq; }, w('JSON.parse')),
    'canonicalJson of the body (re-serialise)': () => perDatagram(agents, () => { for (const b of bodies) sink += m.canonicalJson(b).length; }, w('canonicalJson of the body (re-serialise)')),
    'HMAC-SHA256, key as a Buffer (hex digest)': () => perDatagram(agents, () => { for (let i = 0; i < agents; i++) sink += createHmac('sha256', keyBufs[i]).update(canon[i]).digest('hex').length; }, w('HMAC-SHA256, key as a Buffer (hex digest)')),
    'HMAC-SHA256, key as a KeyObject': () => perDatagram(agents, () => { for (let i = 0; i < agents; i++) sink += createHmac('sha256', keyObjs[i]).update(canon[i]).digest().length; }, w('HMAC-SHA256, key as a KeyObject')),
    'deriveNodeKey (a key not cached)': () => perDatagram(agents, () => { for (let i = 0; i < agents; i++) sink += m.deriveNodeKey(SECRET, name(i)).length; }, w('deriveNodeKey (a key not cached)')),
    'parseAgentMsg (size, the agent spelling\'s reader, shape)': () => perDatagram(agents, () => { for (const b of first) sink += m.parseAgentMsg(b).ok ? 1 : 0; }, w('parseAgentMsg (size, the agent spelling\'s reader, shape)')),
    ...(m.parseAgentJson ? { 'parseAgentJson (size, JSON.parse, shape: the general path)': () => perDatagram(agents, () => { for (const b of first) sink += m.parseAgentJson(b).ok ? 1 : 0; }, w('parseAgentJson (size, JSON.parse, shape: the general path)')) } : {}),
  };
  const recordKey = 'engine.recordStats (history, node view)';
  parts[recordKey] = () => {
    const c = cores.get('now')!;
    const s = bodies.map((b) => b.s as Record<string, number>);
    const ts = Date.now();
    return perDatagram(agents, () => { for (let i = 0; i < agents; i++) c.recordStats(name(i), s[i], ts); }, w(recordKey));
  };
  // the whole path: fresh sequence numbers every round (or the replay guard would drop them)
  const datagrams = new Map<number, Buffer[]>();
  const handleCase = (build: string) => () => {
    const c = cores.get(build)!;
    const d = datagrams.get(seq) ?? wire(seq);
    datagrams.set(seq, d);
    const r = perDatagram(agents, () => { for (const b of d) sink += c.core.handle(b, '127.0.40.1', t0 + seq * 1000).ok ? 1 : 0; }, w(`handle ${build}`));
    return r;
  };
  for (const [n] of builds) parts[`CollectorCore.handle, whole (${n})`] = handleCase(n);
  const out = section(`collector per datagram, in process: ${agents} agents' signed status datagrams (14 stats, ~${first[0].length} bytes), ${rounds} interleaved rounds; µs of CPU per datagram`);
  // warm up the JIT once, then measure
  for (const f of Object.values(parts)) f();
  const r = await interleave(Object.fromEntries(Object.entries(parts).map(([k, f]) => [k, () => { const v = f(); if (k.startsWith('CollectorCore')) seq++; return v; }])), rounds);
  const whole = r[`CollectorCore.handle, whole (now)`];
  const rows = Object.keys(parts).map((k) => {
    const wk = k.startsWith('CollectorCore') ? `handle ${k.includes('before') ? 'before' : 'now'}` : k;
    const wr = wallOf[wk] ?? [];
    return [k, cell(r[k], 2), wr.length ? `${(wr.sort((a, b) => a - b)[wr.length >> 1]).toFixed(2)}` : '', whole && r[k] ? `${((100 * r[k]!.median) / whole.median).toFixed(0)} %` : ''];
  });
  const notes = [`At 10 000 agents × 1 Hz, 1 µs per datagram is 1 % of a core. (sink ${sink > 0 ? 'ok' : '0'})`];
  if (before) notes.push(`now / before (CPU): ${ratio(r['CollectorCore.handle, whole (now)'] as Runs, r['CollectorCore.handle, whole (before)'] as Runs)}`);
  out.print(['part', 'µs CPU per datagram', 'µs wall (median)', 'of the whole (now)'], rows, notes);
  for (const c of cores.values()) await c.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}

if (import.meta.url === `file://${process.argv[1]}`) await bench();
