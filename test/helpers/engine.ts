/** Building real engines for tests: a config from YAML text, a temp state dir, chosen modules. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine, type EngineOptions } from '../../src/engine/engine.js';
import { parseConfig } from '../../src/engine/config.js';
import type { JobView, ModuleDef } from '../../src/protocol/module.js';
import type { VacmEvent } from '../../src/protocol/events.js';
import { toLine } from '../../src/protocol/events.js';
import { nexxusModule } from '../../src/backends/nexxus.js';

export function tempDir(prefix = 'vacm-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export const SMALL_CLUSTER = `
cluster: testlab
fanout: 4
nodes:
  - names: node[01-08]
    groups: [compute, rack1]
    vars: { host: "127.0.10.{n}", power: sim, bmc_host: "127.0.20.{n+100}" }
  - names: head01
    vars: { controller: true, power: none }
`;

export async function makeEngine(opts: { yaml?: string; modules?: ModuleDef[]; engine?: Partial<EngineOptions> } = {}) {
  const stateDir = tempDir();
  const engine = new Engine({
    config: parseConfig(opts.yaml ?? SMALL_CLUSTER, 'test.yaml'),
    modules: [nexxusModule, ...(opts.modules ?? [])],
    stateDir,
    localName: 'vacm-test-host',
    ...opts.engine,
  });
  await engine.start();
  const events: VacmEvent[] = [];
  engine.subscribe((e) => events.push(e));
  return { engine, stateDir, events };
}

/**
 * The one submit-and-collect: run a request to its end; its events, response lines and final view.
 * `onEvent` sees each of the job's events and may cancel it.
 */
export async function runJob(engine: Engine, line: string, onEvent?: (e: VacmEvent, cancel: () => void) => void): Promise<{ view: JobView; events: VacmEvent[]; lines: string[] }> {
  const events: VacmEvent[] = [];
  let id = -1;
  let cancel = () => {};
  const early: VacmEvent[] = [];
  const off = engine.subscribe((e) => {
    if (id === -1) return void early.push(e);
    if (e.job !== id) return;
    events.push(e);
    onEvent?.(e, cancel);
  });
  try {
    const h = engine.submit(line);
    id = h.id;
    cancel = h.cancel;
    for (const e of early) if (e.job === id) events.push(e);
    const view = await h.done;
    return { view, events, lines: events.map(toLine) };
  } finally {
    off();
  }
}

/** Submit a request, wait for its terminal event, and return its response lines. */
export async function run(engine: Engine, line: string): Promise<string[]> {
  return (await runJob(engine, line)).lines;
}
