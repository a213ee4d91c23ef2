/** An engine with the real backends (the SSH pool among them) for the SSH tests, and running a job in it. */
import fs from 'node:fs';
import { Engine } from '../../src/engine/engine.js';
import { parseConfig } from '../../src/engine/config.js';
import { createBackends, type Backends } from '../../src/backends/index.js';
import type { VacmEvent } from '../../src/protocol/events.js';
import { tempDir } from './engine.js';

export interface Harness {
  engine: Engine;
  backends: Backends;
  stateDir: string;
}

export async function openEngine(yaml: string, file = 'ssh-test.yaml', opts: { readOnly?: boolean } = {}): Promise<Harness> {
  const stateDir = tempDir('vacm-ssh-state-');
  const backends = createBackends();
  const engine = new Engine({ config: parseConfig(yaml, file), modules: backends.modules, stateDir, localName: 'not-a-node', readOnly: opts.readOnly });
  await engine.start();
  return { engine, backends, stateDir };
}

export async function closeEngine(h: Harness | undefined): Promise<void> {
  if (!h) return;
  await h.engine.stop();
  fs.rmSync(h.stateDir, { recursive: true, force: true });
}

/** The ERROR event of a node, as `CODE: message` (unescaped, unlike the wire line). */
export function errorOf(events: VacmEvent[], node: string): string | undefined {
  const e = events.find((x) => x.type === 'ERROR' && x.node === node) as (VacmEvent & { code: string; message: string }) | undefined;
  return e ? `${e.code}: ${e.message}` : undefined;
}
