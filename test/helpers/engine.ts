/** Building real engines for tests: a config from YAML text, a temp state dir, chosen modules. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine, type EngineOptions } from '../../src/engine/engine.js';
import { parseConfig } from '../../src/engine/config.js';
import type { ModuleDef } from '../../src/protocol/module.js';
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

/** Submit a request, wait for its terminal event, and return its response lines. */
export async function run(engine: Engine, line: string): Promise<string[]> {
  const lines: string[] = [];
  let id = -1;
  const buffered: VacmEvent[] = [];
  const off = engine.subscribe((e) => (id === -1 ? buffered.push(e) : e.job === id && lines.push(toLine(e))));
  try {
    const h = engine.submit(line);
    id = h.id;
    for (const e of buffered) if (e.job === id) lines.push(toLine(e));
    await h.done;
  } finally {
    off();
  }
  return lines;
}
