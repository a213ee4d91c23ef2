/** Engine throughput: NEXXUS jobs per second in process (aim ≥ 50 000). Prints a table; never asserts. */
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
import { table } from './table.js';

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

export async function bench(): Promise<void> {
  const rows: string[][] = [];
  for (const [label, line] of [
    ['NEXXUS:MODULES', 'NEXXUS:MODULES'],
    ['NEXXUS:GET_VAR:node0001:host', 'NEXXUS:GET_VAR:node0001:host'],
    ['NEXXUS:NODE_LIST:node[0001-0004]', 'NEXXUS:NODE_LIST:node[0001-0004]'],
  ] as const) {
    await jobsPerSecond(line, 5_000, 256); // warm up the JIT
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await jobsPerSecond(line, 50_000, 256));
    runs.sort((a, b) => a - b);
    rows.push([label, Math.round(runs[1]).toLocaleString('en-US'), '≥ 50,000']);
  }
  console.log('\n### engine: jobs per second in process (1024-node nodelist, 256 in flight, median of 3)\n');
  console.log(table(['request', 'jobs/s', 'aim'], rows));
}

if (import.meta.url === `file://${process.argv[1]}`) await bench();
