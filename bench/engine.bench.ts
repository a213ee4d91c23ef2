/**
 * Engine throughput: NEXXUS jobs per second in process (aim ≥ 100 000). VACM_BENCH_BEFORE=/other/dist
 * adds another build's engine to the same rounds (a before/after of a change, interleaved in one
 * process). Prints a table; never asserts.
 */
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
// the built code (npm run bench builds first): what `vacm` runs, without the TypeScript loader's helpers
import type * as EngineTs from '../src/engine/engine.js';
import type * as ConfigTs from '../src/engine/config.js';
import type * as NexxusTs from '../src/backends/nexxus.js';
import { cell, interleave, ratio, runs, section, versusAim, type Runs } from './measure.js';

interface Build {
  Engine: typeof EngineTs.Engine;
  parseConfig: typeof ConfigTs.parseConfig;
  nexxusModule: typeof NexxusTs.nexxusModule;
}

async function loadBuild(distDir: URL): Promise<Build> {
  const get = (p: string): Promise<unknown> => import(new URL(p, distDir).href);
  const { Engine } = (await get('engine/engine.js')) as typeof EngineTs;
  const { parseConfig } = (await get('engine/config.js')) as typeof ConfigTs;
  const { nexxusModule } = (await get('backends/nexxus.js')) as typeof NexxusTs;
  return { Engine, parseConfig, nexxusModule };
}

/** Jobs per wall-clock second; `cpu` gets the jobs per CPU second of this process (steadier on a shared machine). */
async function jobsPerSecond(b: Build, line: string, total: number, inFlight: number, cpu?: number[]): Promise<number> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-bench-'));
  const engine = new b.Engine({
    config: b.parseConfig('cluster: bench\nnodes:\n  - names: node[0001-1024]\n    groups: [all]\n    vars: { host: "10.0.{n}" }\n'),
    modules: [b.nexxusModule],
    stateDir,
  });
  await engine.start();
  let events = 0;
  engine.subscribe(() => events++); // a subscriber, as the CLI printer or the screen would be
  const c0 = process.cpuUsage();
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
  const c = process.cpuUsage(c0);
  cpu?.push(total / ((c.user + c.system) / 1e6));
  await engine.stop();
  fs.rmSync(stateDir, { recursive: true, force: true });
  return total / secs;
}

const AIM = 100_000;
const ROUNDS = Math.max(1, Number(process.env.VACM_BENCH_RUNS ?? 5) || 5);
const LINES = ['NEXXUS:MODULES', 'NEXXUS:GET_VAR:node0001:host', 'NEXXUS:NODE_LIST:node[0001-0004]'] as const;

export async function bench(): Promise<void> {
  const out = section(`engine: NEXXUS jobs per second in process (1024-node nodelist, 256 in flight, 50 000 jobs a run, ${ROUNDS} interleaved rounds)`);
  const now = await loadBuild(new URL('../dist/', import.meta.url));
  const beforeDir = process.env.VACM_BENCH_BEFORE;
  const before = beforeDir ? await loadBuild(pathToFileURL(path.resolve(beforeDir) + '/')) : undefined;
  const builds: [string, Build][] = before ? [['now', now], ['before', before]] : [['now', now]];
  const cases: Record<string, () => Promise<number>> = {};
  const cpu: Record<string, number[]> = {};
  for (const line of LINES) {
    for (const [name, b] of builds) {
      await jobsPerSecond(b, line, 5_000, 256); // warm up the JIT
      const key = `${name} ${line}`;
      cpu[key] = [];
      cases[key] = () => jobsPerSecond(b, line, 50_000, 256, cpu[key]);
    }
  }
  // every request (and build) once per round, so that a burst of load hits each of them
  const r = await interleave(cases, ROUNDS);
  const c = (k: string): Runs | undefined => (cpu[k].length ? runs(cpu[k]) : undefined);
  out.print(
    ['request', 'jobs/s (wall)', 'jobs per CPU second', ...(before ? ['before: jobs/s (wall)', 'before: per CPU second', 'now / before (CPU)'] : []), 'aim', 'vs aim (wall)'],
    LINES.map((l) => [
      l, cell(r[`now ${l}`], 0), cell(c(`now ${l}`), 0),
      ...(before ? [cell(r[`before ${l}`], 0), cell(c(`before ${l}`), 0), ratio(c(`now ${l}`), c(`before ${l}`))] : []),
      `≥ ${AIM.toLocaleString('en-US')}`, versusAim(r[`now ${l}`], AIM, 'higher'),
    ]),
    [`jobs per CPU second: the jobs over the user + system time this process spent on them (process.cpuUsage): on a loaded machine the wall rate also counts the time other processes held the cores.${before ? ` before: ${beforeDir}` : ''}`],
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await bench();
