/**
 * ICMP sweep of 1024 loopback addresses (127.0.30.0-127.0.33.255): vacm — in process through the
 * engine (fping path and ping-package path) and as a `vacm ipc` process with a generated config —
 * against `fping -c1 -t200 -i0` and `ping -c1 -W1` ×1024 with 64 in parallel, interleaved round by
 * round; median and range of 3 (VACM_BENCH_RUNS). Prints a table and the row's verdict, never asserts.
 *
 *   npx tsx bench/icmp.bench.ts
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine } from '../src/engine/engine.js';
import { parseConfig } from '../src/engine/config.js';
import { nexxusModule } from '../src/backends/nexxus.js';
import { createIcmpModule } from '../src/backends/icmp/module.js';
import { findBinary } from '../src/backends/icmp/fping.js';
import type { PingMethod } from '../src/backends/icmp/config.js';
import { cell, interleave, ratio, runs, section, versusAim } from './measure.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Math.max(1, Number(process.env.VACM_BENCH_RUNS ?? 3) || 3);
/** VACM_BENCH_PING=0 leaves out the two slow rows (system ping ×1024: ~5-10 s a round) */
const WITH_PING = process.env.VACM_BENCH_PING !== '0';
const ADDRESSES = [30, 31, 32, 33].flatMap((c) => Array.from({ length: 256 }, (_, d) => `127.0.${c}.${d}`));
const CONFIG = `cluster: icmp-bench\nfanout: 64\nnodes:\n${[30, 31, 32, 33]
  .map((c, i) => `  - names: ${'abcd'[i]}[0-255]\n    vars: { host: "127.0.${c}.{n}" }`)
  .join('\n')}\n`;

function exec(cmd: string, args: string[], stdin?: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}

/** one sweep in a new engine on the 1024-node config; `sweepSeconds` is told the sweep's own time (the engine already started) */
async function vacmInProcess(method: PingMethod, sweepSeconds?: (s: number) => void): Promise<number> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-bench-icmp-'));
  const engine = new Engine({ config: parseConfig(CONFIG), modules: [nexxusModule, createIcmpModule({ method })], stateDir });
  await engine.start();
  try {
    const t0 = performance.now();
    const view = await engine.submit(`ICMP_ECHO:PING:*:1:${method === 'fping' ? 200 : 1000}`).done;
    sweepSeconds?.((performance.now() - t0) / 1000);
    return view.ok;
  } finally {
    await engine.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

async function vacmProcess(cfg: string): Promise<number> {
  const r = await exec(process.execPath, [path.join(ROOT, 'bin', 'vacm.js'), 'ipc', '--config', cfg, 'ICMP_ECHO:PING:*:1:200']);
  return (r.out.match(/:PING:[^:]+:up:/g) ?? []).length;
}

async function fpingSweep(): Promise<number> {
  const r = await exec('fping', ['-c1', '-t200', '-i0', '-q', ...ADDRESSES]);
  return (r.out.match(/xmt\/rcv\/%loss = 1\/1\//g) ?? []).length;
}

/** ping -c1 -W1 per address, 64 at a time, as xargs -P64 would */
async function pingEach(): Promise<number> {
  let next = 0;
  let up = 0;
  const worker = async () => {
    while (next < ADDRESSES.length) {
      const a = ADDRESSES[next++];
      const r = await exec('ping', ['-c1', '-W1', '-n', '-q', a]);
      if (r.code === 0) up++;
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  return up;
}

export async function bench(): Promise<void> {
  const hasFping = findBinary('fping') !== undefined;
  const hasPing = findBinary('ping') !== undefined;
  const built = fs.existsSync(path.join(ROOT, 'dist'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-bench-icmp-cfg-'));
  const cfg = path.join(dir, 'vacm.yaml');
  fs.writeFileSync(cfg, CONFIG);
  process.env.VACM_STATE_DIR ??= dir;

  const out = section(`ICMP: sweep of 1024 loopback addresses (127.0.30.0-127.0.33.255), seconds, ${RUNS} interleaved rounds`);
  const sweepOnly: number[] = [];
  const cases: [string, boolean, () => Promise<number>][] = [
    ['vacm in process (fping, one process)', hasFping, () => vacmInProcess('fping', (x) => sweepOnly.push(x))],
    ['vacm ipc as a process (fping)', hasFping && built, () => vacmProcess(cfg)],
    ['vacm in process (ping package, fanout 64)', hasPing && WITH_PING, () => vacmInProcess('ping')],
    ['fping -c1 -t200 -i0', hasFping, fpingSweep],
    ['ping -c1 -W1 ×1024, 64 in parallel', hasPing && WITH_PING, pingEach],
  ];
  const up = new Map<string, number>();
  const timed = (label: string, fn: () => Promise<number>) => async () => {
    const t0 = performance.now();
    const n = await fn();
    up.set(label, Math.min(up.get(label) ?? n, n)); // the worst run's count
    return (performance.now() - t0) / 1000;
  };
  const r = await interleave(Object.fromEntries(cases.map(([label, ok, fn]) => [label, ok ? timed(label, fn) : undefined])), RUNS, { warmup: 1 });
  const fp = r['fping -c1 -t200 -i0'];
  const pe = r['ping -c1 -W1 ×1024, 64 in parallel'];
  const rows = cases.map(([label]) =>
    r[label] ? [label, cell(r[label]), `${up.get(label)}/1024`, ratio(r[label], fp), ratio(r[label], pe)] : [label, !WITH_PING && label.includes('ping') && !label.includes('fping') ? 'n/a (left out: VACM_BENCH_PING=0)' : 'n/a (missing fping/ping or dist/: npm run build)', '', '', ''],
  );
  // the same runs' sweep alone, timed inside them (the engine built and started before): what a
  // standing engine (dashboard, serve) pays for a sweep; its warm-up round dropped like the others
  const sweep = runs(sweepOnly.slice(-RUNS));
  if (sweepOnly.length) rows.splice(1, 0, ['  of which the sweep, engine started', cell(sweep), '', ratio(sweep, fp), ratio(sweep, pe)]);
  // the row's verdict in process, round by round: vacm / fping of the same round
  const byRound = (xs?: number[]) => (xs && fp ? runs(xs.map((x, i) => x / fp.samples[i]).filter(Number.isFinite)) : undefined);
  const perRound = byRound(r['vacm in process (fping, one process)']?.samples);
  const sweepRound = sweepOnly.length ? byRound(sweep.samples) : undefined;
  out.print(['what', 'seconds', 'up (worst run)', 'vs fping', 'vs ping ×1024'], rows, [
    'PEERS.md measured fping 0.028 s and ping ×1024 (64 parallel) 1.28 s on a similar machine. `vacm ipc` includes starting node and loading the config (bench/ping-process.bench.ts takes it off). Aim: ≤ 1.5× fping in process and as `vacm ipc`.',
    `Row 2 in process, aim ≤ 1.5×: the sweep in a started engine / fping, per round: ${sweepRound ? `${cell(sweepRound, 2)}×, ${versusAim(sweepRound, 1.5, 'lower')}` : 'n/a'}; with building and starting the engine on the 1024-node config: ${perRound ? `${cell(perRound, 2)}×, ${versusAim(perRound, 1.5, 'lower')}` : 'n/a'}.`,
  ]);
  fs.rmSync(dir, { recursive: true, force: true });
}

if (import.meta.url === `file://${process.argv[1]}`) await bench();
