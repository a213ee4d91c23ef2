/**
 * ICMP sweep of 1024 loopback addresses (127.0.30.0-127.0.33.255): vacm — in process through the
 * engine (fping path and ping-package path) and as a `vacm ipc` process with a generated config —
 * against `fping -c1 -t200 -i0` and `ping -c1 -W1` ×1024 with 64 in parallel. Median of 3; prints a
 * table, never asserts.
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
import { median, table } from './table.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = 3;
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

async function seconds(fn: () => Promise<number>): Promise<{ s: number; up: number }> {
  const t0 = performance.now();
  const up = await fn();
  return { s: (performance.now() - t0) / 1000, up };
}

async function vacmInProcess(method: PingMethod): Promise<number> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-bench-icmp-'));
  const engine = new Engine({ config: parseConfig(CONFIG), modules: [nexxusModule, createIcmpModule({ method })], stateDir });
  await engine.start();
  try {
    const view = await engine.submit(`ICMP_ECHO:PING:*:1:${method === 'fping' ? 200 : 1000}`).done;
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

  const cases: [string, boolean, () => Promise<number>][] = [
    ['vacm in process (fping, one process)', hasFping, () => vacmInProcess('fping')],
    ['vacm ipc as a process (fping)', hasFping && built, () => vacmProcess(cfg)],
    ['vacm in process (ping package, fanout 64)', hasPing, () => vacmInProcess('ping')],
    ['fping -c1 -t200 -i0', hasFping, fpingSweep],
    ['ping -c1 -W1 ×1024, 64 in parallel', hasPing, pingEach],
  ];
  const results = new Map<string, { s: number; up: number } | undefined>();
  for (const [label, ok, fn] of cases) {
    if (!ok) {
      results.set(label, undefined);
      continue;
    }
    const runs: { s: number; up: number }[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await seconds(fn));
    if (process.env.BENCH_VERBOSE) console.error(label, runs);
    const s = median(runs.map((r) => r.s));
    results.set(label, { s, up: Math.min(...runs.map((r) => r.up)) });
  }
  const ref = (label: string) => results.get(label)?.s;
  const fp = ref('fping -c1 -t200 -i0');
  const pe = ref('ping -c1 -W1 ×1024, 64 in parallel');
  const ratio = (s: number, base: number | undefined) => (base ? `${(s / base).toFixed(2)}×` : 'n/a');
  const rows = cases.map(([label]) => {
    const r = results.get(label);
    if (!r) return [label, 'n/a (missing fping/ping or dist/: npm run build)', '', '', ''];
    return [label, r.s.toFixed(3), `${r.up}/1024`, ratio(r.s, fp), ratio(r.s, pe)];
  });
  console.log(`\n### ICMP: sweep of 1024 loopback addresses (127.0.30.0-127.0.33.255), median of ${RUNS}\n`);
  console.log(table(['what', 'seconds', 'up', 'vs fping', 'vs ping ×1024'], rows));
  console.log('\nPEERS.md measured fping 0.028 s and ping ×1024 (64 parallel) 1.28 s on a similar machine. `vacm ipc` includes starting node and loading the config.');
  fs.rmSync(dir, { recursive: true, force: true });
}

if (import.meta.url === `file://${process.argv[1]}`) await bench();
