/**
 * ROLLOUT:RUN on simulated nodes: waves one after another, a stop at the failure budget (nodes made
 * to fail with SIM:FAIL), cancel within a wave, the audit record, refusals.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimCluster } from '../../src/backends/sim/cluster.js';
import { createSimModule } from '../../src/backends/sim/module.js';
import { createSshModule } from '../../src/backends/ssh/module.js';
import { createPowerModules } from '../../src/backends/power/module.js';
import { SshPool } from '../../src/backends/ssh/pool.js';
import { rolloutModule } from '../../src/backends/rollout/module.js';
import type { Engine } from '../../src/engine/engine.js';
import { makeEngine, run } from '../helpers/engine.js';
import { createProviders } from '../../src/backends/providers.js';

// skip_states: [] so that the failed nodes are tried (and fail) instead of being skipped
const YAML = `
cluster: roll
exec: { skip_states: [] }
nodes:
  - names: s[01-12]
    vars: { sim: true, power: sim }
`;

let engine: Engine | undefined;
let stateDir = '';
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

async function cluster() {
  const sim = new SimCluster({ delayScale: 0, failureRate: 0 });
  const m = await makeEngine({ yaml: YAML, modules: [createSimModule(sim, { intervalMs: 3_600_000 }), createSshModule({ pool: new SshPool(), providers: createProviders(sim) }), ...createPowerModules({ providers: createProviders(sim) }), rolloutModule] });
  engine = m.engine;
  stateDir = m.stateDir;
  return m;
}

const strip = (lines: string[]) => lines.map((l) => l.replace(/^(\w+):\d+:/, '$1:J:').replace(/job=\d+/, 'job=N'));

describe('ROLLOUT:RUN', () => {
  it('runs waves one after another and stops when more than BUDGET nodes failed', async () => {
    const { engine: e, events } = await cluster();
    await run(e, 'SIM:FAIL:s[02,05-06]');
    const lines = strip(await run(e, 'ROLLOUT:RUN:s[01-12]:4:1:SSH:EXEC:true'));
    expect(lines.filter((l) => l.includes(':WAVE:'))).toEqual([
      'ROLLOUT:J:WAVE:1/3:s[01-04]:4:job=N:started',
      'ROLLOUT:J:WAVE:1/3:s[01-04]:4:job=N:done:ok=3:failed=1',
      'ROLLOUT:J:WAVE:2/3:s[05-08]:4:job=N:started',
      'ROLLOUT:J:WAVE:2/3:s[05-08]:4:job=N:done:ok=2:failed=2',
    ]);
    expect(lines.at(-1)).toBe('ROLLOUT:J:JOB_FAILED:ERR_BUDGET:3 nodes failed, over the budget of 1\\: stopped after wave 2 of 3; not run\\: s[09-12] (4)');
    // each wave was one SSH:EXEC job, the second started after the first ended; no third
    const waves = events.filter((ev) => ev.tag === 'SSH' && (ev.type === 'JOB_STARTED' || ev.type === 'JOB_COMPLETED')).map((ev) => `${ev.job}:${ev.type}`);
    expect(waves).toHaveLength(4);
    expect(waves[0].endsWith('JOB_STARTED') && waves[1].endsWith('JOB_COMPLETED') && waves[2].endsWith('JOB_STARTED')).toBe(true);
    expect(events.some((ev) => ev.tag === 'SSH' && ev.type === 'EXIT' && ev.node === 's09')).toBe(false);
    const view = e.jobs().find((j) => j.tag === 'ROLLOUT')!;
    expect({ ok: view.ok, failed: view.failed, state: view.state }).toEqual({ ok: 5, failed: 3, state: 'failed' });
  });

  it('within its budget it runs every wave and completes with the nodes\' outcomes', async () => {
    const { engine: e } = await cluster();
    await run(e, 'SIM:FAIL:s07');
    const lines = strip(await run(e, 'ROLLOUT:RUN:s[01-10]:4:1:SSH:EXEC:echo a:b'));
    expect(lines.filter((l) => l.includes(':WAVE:') && l.includes(':done:'))).toEqual([
      'ROLLOUT:J:WAVE:1/3:s[01-04]:4:job=N:done:ok=4:failed=0',
      'ROLLOUT:J:WAVE:2/3:s[05-08]:4:job=N:done:ok=3:failed=1',
      'ROLLOUT:J:WAVE:3/3:s[09-10]:2:job=N:done:ok=2:failed=0',
    ]);
    expect(lines.at(-1)).toBe('ROLLOUT:J:JOB_COMPLETED:ok=9:failed=1');
  });

  it('a rolling POWER:CYCLE, and the rollout is audited as one dangerous job with its inner request', async () => {
    const { engine: e } = await cluster();
    const lines = strip(await run(e, 'ROLLOUT:RUN:s[01-06]:3:0:POWER:CYCLE'));
    expect(lines.at(-1)).toBe('ROLLOUT:J:JOB_COMPLETED:ok=6:failed=0');
    const recs = fs.readFileSync(path.join(stateDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const mine = recs.filter((r) => r.request === 'ROLLOUT:RUN:s[01-06]:3:0:POWER:CYCLE');
    expect(mine.map((r) => r.phase)).toEqual(['attempt', 'outcome']);
    expect(mine[1]).toMatchObject({ state: 'completed', ok: 6, failed: 0, targets: 's[01-06]', count: 6 });
    // and each wave's own record names its nodes
    expect(recs.filter((r) => r.request.startsWith('POWER:CYCLE:') && r.phase === 'attempt').map((r) => r.request)).toEqual(['POWER:CYCLE:s[01-03]', 'POWER:CYCLE:s[04-06]']);
  });

  it('cancelling it cancels the running wave and starts no other', async () => {
    const { engine: e, events } = await cluster();
    const h = e.submit('ROLLOUT:RUN:s[01-06]:2:6:SSH:EXEC:sleep 30');
    const off = e.subscribe((ev) => {
      if (ev.job === h.id && ev.type === 'WAVE') h.cancel();
    });
    const view = await h.done;
    off();
    expect(view.state).toBe('cancelled');
    const ssh = events.filter((ev) => ev.tag === 'SSH' && (ev.type === 'JOB_STARTED' || ev.type === 'JOB_CANCELLED' || ev.type === 'JOB_COMPLETED')).map((ev) => ev.type);
    expect(ssh).toEqual(['JOB_STARTED', 'JOB_CANCELLED']);
  });

  it.each([
    ['ROLLOUT:RUN:s[01-04]:0:1:SSH:EXEC:true', /batch must be a whole number of nodes from 1/],
    ['ROLLOUT:RUN:s[01-04]:2:x:SSH:EXEC:true', /budget must be a whole number of failed nodes/],
    ['ROLLOUT:RUN:s[01-04]:2:1:NOPE:THING', /no module NOPE/],
    ['ROLLOUT:RUN:s[01-04]:2:1:SSH:NOPE', /SSH has no command NOPE/],
    ['ROLLOUT:RUN:s[01-04]:2:1:ROLLOUT:RUN:1:1:SSH:EXEC:true', /cannot run another rollout/],
    ['ROLLOUT:RUN:s[01-04]:2:1:NEXXUS:GROUPS', /takes no node set/],
    ['ROLLOUT:RUN:s[01-04]:2:1:SSH', /needs TAG/],
  ])('%s is refused before anything runs', async (line, why) => {
    const { engine: e, events } = await cluster();
    const lines = await run(e, line);
    expect(lines.at(-1)).toMatch(/JOB_FAILED:ERR_(BAD_ARGS|UNKNOWN_MODULE|UNKNOWN_COMMAND):/);
    expect(lines.join('\n')).toMatch(why);
    expect(events.some((ev) => ev.tag === 'SSH')).toBe(false);
  });

  it('read-only refuses it (it is dangerous whatever its inner request)', async () => {
    const sim = new SimCluster({ delayScale: 0, failureRate: 0 });
    const m = await makeEngine({ yaml: YAML, modules: [createSshModule({ pool: new SshPool(), providers: createProviders(sim) }), rolloutModule], engine: { readOnly: true } });
    engine = m.engine;
    expect(() => m.engine.submit('ROLLOUT:RUN:s[01-04]:2:1:SSH:EXEC:true')).toThrow(/ERR_READ_ONLY|changes things/);
  });
});
