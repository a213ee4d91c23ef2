/** An engine with POWER wired to chosen drivers, and the events of the jobs it runs. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../../../src/engine/engine.js';
import { parseConfig } from '../../../src/engine/config.js';
import type { VacmEvent } from '../../../src/protocol/events.js';
import { runJob } from '../../helpers/engine.js';
import type { JobView, ModuleDef } from '../../../src/protocol/module.js';
import { createPowerModules, type PowerModuleOptions } from '../../../src/backends/power/module.js';

export interface Harness {
  engine: Engine;
  stateDir: string;
  /** submit and wait: the job's response lines, its view */
  run(line: string): Promise<{ lines: string[]; view: JobView; events: VacmEvent[] }>;
  audit(): Record<string, unknown>[];
  close(): Promise<void>;
}

export async function powerEngine(yaml: string, opts: PowerModuleOptions & { localName?: string; extra?: ModuleDef[]; readOnly?: boolean } = {}): Promise<Harness> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-power-'));
  const engine = new Engine({
    config: parseConfig(yaml),
    modules: [...createPowerModules(opts), ...(opts.extra ?? [])],
    stateDir,
    localName: opts.localName ?? 'head01',
    readOnly: opts.readOnly,
  });
  await engine.start();
  return {
    engine,
    stateDir,
    run: (line) => runJob(engine, line),
    audit() {
      const f = path.join(stateDir, 'audit.jsonl');
      if (!fs.existsSync(f)) return [];
      return fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    async close() {
      await engine.stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** node → the last field after the node of its POWER or ERROR line */
export function results(lines: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of lines) {
    const m = /^[A-Z_]+:\d+:(POWER|ERROR):([^:]+):([A-Za-z_]+)/.exec(l);
    if (m) out[m[2]] = m[3];
  }
  return out;
}

/** node → message of its ERROR event */
export function messages(events: VacmEvent[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of events) if (e.type === 'ERROR' && e.node !== undefined) out[e.node] = e.message;
  return out;
}
