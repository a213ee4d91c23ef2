/** Engine throughput: NEXXUS jobs per second in process (aim ≥ 100 000). Prints a table; never asserts. */
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
// the built code (npm run bench builds first): what `vacm` runs, without the TypeScript loader's helpers
import type * as EngineTs from '../src/engine/engine.js';
import type * as ConfigTs from '../src/engine/config.js';
import type * as NexxusTs from '../src/backends/nexxus.js';
const dist = (p: string): Promise<unknown> => import(new URL(`../dist/${p}`, import.meta.url).href);
const { Engine } = (await dist('engine/engine.js')) as typeof EngineTs;
const { parseConfig } = (await dist('engine/config.js')) as typeof ConfigTs;
const { nexxusModule } = (await dist('backends/nexxus.js')) as typeof NexxusTs;
import { cell, interleave, section, versusAim } from './measure.js';

async function jobsPerSecond(line: string, total: number, inFlight: number): Promise<number> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-bench-'));
  const engine = new Engine({
    config: parseConfig('cluster: bench\nnodes:\n  - names: node[0001-1024]\n    groups: [all]\n    vars: { host: "10.0.{n}" }\n'),
    modules: [nexxusModule],
    stateDir,
  });
  await engine.start();
  let events = 0;
  engine.subscribe(() => events++); // a subscriber, as the CLI printer or the screen would be
  const t0 = process.hrtime.bigint();
  let pending: Promise<unknown>[] = [];
  for (let i = 0; i < total; i++) {
    pending.push(engine.submit(line).done);
    if (pending.length >= inFlight) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await engine.stop();
  fs.rmSync(stateDir, { recursive: true, force: true });
  return total / secs;
}

const AIM = 100_000;
const ROUNDS = Math.max(1, Number(process.env.VACM_BENCH_RUNS ?? 5) || 5);

export async function bench(): Promise<void> {
  const out = section(`engine: NEXXUS jobs per second in process (1024-node nodelist, 256 in flight, 50 000 jobs a run, ${ROUNDS} rounds)`);
  const lines = ['NEXXUS:MODULES', 'NEXXUS:GET_VAR:node0001:host', 'NEXXUS:NODE_LIST:node[0001-0004]'] as const;
  for (const line of lines) await jobsPerSecond(line, 5_000, 256); // warm up the JIT
  // the requests interleaved round by round, so that a burst of load hits each of them
  const r = await interleave(Object.fromEntries(lines.map((l) => [l, () => jobsPerSecond(l, 50_000, 256)])) as Record<(typeof lines)[number], () => Promise<number>>, ROUNDS);
  out.print(
    ['request', 'jobs/s', 'aim', 'vs aim'],
    lines.map((l) => [l, cell(r[l], 0), `≥ ${AIM.toLocaleString('en-US')}`, versusAim(r[l], AIM, 'higher')]),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await bench();
