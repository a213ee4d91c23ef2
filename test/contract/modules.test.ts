/**
 * The module contract (issue 12 item 6, STYLE.md point 10): every registered module (the registry
 * is iterated, not a hand list) keeps it for every command. Simulated nodes only; a command that
 * needs a real peer is driven to its error path, which must keep the contract too:
 * - a request is either refused before it is a job, with a stable ERR_* code, or becomes a job
 *   whose first event is JOB_STARTED and whose last is its one terminal event;
 * - a job still running when cancelled ends JOB_CANCELLED (cancel honoured);
 * - nothing a module does throws past the engine (the job always ends; the engine keeps serving);
 * - arguments a command does not take are ERR_BAD_ARGS;
 * - a dangerous command that ran is in the audit log.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEngine } from '../helpers/engine.js';
import { builtinModules } from '../../src/backends/index.js';
import { isDangerous, type CommandDef, type ModuleDef } from '../../src/protocol/module.js';
import { parseRequest } from '../../src/protocol/ipc.js';
import { VacmError } from '../../src/protocol/errors.js';
import type { VacmEvent } from '../../src/protocol/events.js';
import type { Engine } from '../../src/engine/engine.js';

const YAML = `
cluster: contract
nodes:
  - names: sim[01-02]
    vars: { sim: "true", power: sim, console: none }
`;

/** The modules as vacm registers them (NEXXUS comes with the test engine). */
const modules: ModuleDef[] = builtinModules({ simSeed: 7 }).filter((m) => m.tag !== 'NEXXUS');
const commands = [...modules.flatMap((m) => m.commands.map((c) => [`${m.tag}:${c.name}`, m.tag, c] as const))];

let engine: Engine;
let stateDir: string;
let events: VacmEvent[];

beforeAll(async () => {
  ({ engine, stateDir, events } = await makeEngine({ yaml: YAML, modules, engine: { cancelGraceMs: 300 } }));
});
afterAll(async () => {
  await engine.stop();
});

/** Arguments for the commands that refuse to run without them (every other command runs bare). */
const SAMPLE_ARGS: Readonly<Record<string, readonly string[]>> = {
  'SSH:EXEC': ['sleep 30'], // still running after a moment: cancelled
  'POWER:IDENTIFY': ['on'],
  'CONSOLE:SEND': ['hello'],
};

function line(tag: string, c: CommandDef, args: readonly string[] = SAMPLE_ARGS[`${tag}:${c.name}`] ?? []): string {
  const nodes = c.nodes === 'none' ? '' : 'sim01';
  return [tag, c.name, nodes, ...args].join(':').replace(/:+$/, '');
}

/** Submit, cancel if still running after a moment, and return the job's events and whether it was cancelled. */
async function drive(l: string): Promise<{ refused?: VacmError; jobEvents: VacmEvent[]; cancelled: boolean; id: number }> {
  let h;
  try {
    h = engine.submit(l);
  } catch (err) {
    return { refused: err as VacmError, jobEvents: [], cancelled: false, id: 0 };
  }
  let cancelled = false;
  const timer = setTimeout(() => {
    cancelled = engine.cancel(h.id);
  }, 1500);
  await h.done;
  clearTimeout(timer);
  return { jobEvents: events.filter((e) => e.job === h.id && e.tag === l.split(':')[0]), cancelled, id: h.id };
}

describe('every registered module keeps the contract', () => {
  it('covers every module of the registry', () => {
    expect(modules.length).toBeGreaterThan(5);
    for (const m of modules) expect(m.tag).toMatch(/^[A-Z][A-Z0-9_]*$/);
  });

  it.each(commands)('%s: refused with a code, or JOB_STARTED first and one terminal event last; cancel honoured; dangerous ones audited', async (_name, tag, c) => {
    const { refused, jobEvents, cancelled, id } = await drive(line(tag, c));
    if (refused) {
      expect(refused).toBeInstanceOf(VacmError);
      expect(refused.code).toMatch(/^ERR_[A-Z_]+$/);
      return;
    }
    expect(jobEvents[0]?.type).toBe('JOB_STARTED');
    const terminal = jobEvents.filter((e) => e.type === 'JOB_COMPLETED' || e.type === 'JOB_FAILED' || e.type === 'JOB_CANCELLED');
    expect(terminal).toHaveLength(1);
    expect(jobEvents.at(-1)).toBe(terminal[0]);
    if (cancelled) expect(terminal[0].type).toBe('JOB_CANCELLED');
    const req = parseRequest(line(tag, c), (t, n) => engine.registry.command(t, n), (t) => engine.registry.has(t));
    if (isDangerous(c, req)) {
      const audit = fs.readFileSync(path.join(stateDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((x) => JSON.parse(x) as { job: number; phase: string });
      expect(audit.some((r) => r.job === id), `${tag}:${c.name} job ${id} audited`).toBe(true);
    }
    // the engine keeps serving after whatever the module did
    const after = engine.submit('NEXXUS:MODULES');
    expect((await after.done).state).toBe('completed');
  });

  it.each(commands.filter(([, , c]) => !c.args.some((a) => a.rest)))('%s: arguments it does not take are ERR_BAD_ARGS', async (_name, tag, c) => {
    const extra = Array.from({ length: c.args.length + 2 }, (_, i) => `x${i}`);
    const { refused, jobEvents } = await drive(line(tag, c, extra));
    const code = refused?.code ?? jobEvents.find((e) => e.type === 'ERROR' || e.type === 'JOB_FAILED')?.code;
    expect(code).toBe('ERR_BAD_ARGS');
  });
});
