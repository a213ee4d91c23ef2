/**
 * SSH:EXEC and SYSSTAT:GET skip nodes known down or off (exec.skip_states): SKIPPED at once, counted
 * neither ok nor failed, `skipped=K` in JOB_COMPLETED, `vacm: skipped: ...` from vacm ipc; a node
 * named one by one runs anyway. On simulated nodes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { SimCluster } from '../../src/backends/sim/cluster.js';
import { createSimModule } from '../../src/backends/sim/module.js';
import { createPowerModules } from '../../src/backends/power/module.js';
import { createSshModule } from '../../src/backends/ssh/module.js';
import { createSysstatModule } from '../../src/backends/sysstat/module.js';
import { SshPool } from '../../src/backends/ssh/pool.js';
import { parseConfig } from '../../src/engine/config.js';
import { runIpc } from '../../src/cli/ipc.js';
import { toJsonLine, type VacmEvent } from '../../src/protocol/events.js';
import type { Engine } from '../../src/engine/engine.js';
import { makeEngine, run } from '../helpers/engine.js';
import { createProviders } from '../../src/backends/providers.js';

const YAML = (extra = '') => `
cluster: skip
nodes:
  - names: s[01-06]
    vars: { sim: true, power: sim }
${extra}`;

let engine: Engine | undefined;
let stateDir = '';
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

/** s02 failed (down), s03 switched off, the rest up */
async function cluster(extra = '') {
  const sim = new SimCluster({ delayScale: 0, failureRate: 0 });
  const pool = new SshPool();
  const m = await makeEngine({
    yaml: YAML(extra),
    modules: [createSimModule(sim, { intervalMs: 3_600_000 }), ...createPowerModules({ providers: createProviders(sim) }), createSshModule({ pool, providers: createProviders(sim) }), createSysstatModule({ providers: createProviders(sim) })],
  });
  engine = m.engine;
  stateDir = m.stateDir;
  await run(m.engine, 'SIM:FAIL:s02');
  await run(m.engine, 'POWER:OFF:s03');
  expect(m.engine.node('s02')?.state).toBe('down');
  expect(m.engine.node('s03')?.state).toBe('off');
  return m.engine;
}

const strip = (lines: string[]) => lines.map((l) => l.replace(/^(\w+):\d+:/, '$1:J:'));

describe('skipping nodes known down', () => {
  it('SSH:EXEC skips the down and off nodes at once: SKIPPED first, neither ok nor failed, skipped=2', async () => {
    const e = await cluster();
    const lines = strip(await run(e, 'SSH:EXEC:s[01-06]:true'));
    expect(lines.slice(0, 3)).toEqual([
      'SSH:J:JOB_STARTED',
      'SSH:J:SKIPPED:s02:down:no heartbeat (simulated failure)',
      'SSH:J:SKIPPED:s03:off:powered off',
    ]);
    expect(lines.filter((l) => l.includes(':EXIT:'))).toEqual(['SSH:J:EXIT:s01:0', 'SSH:J:EXIT:s04:0', 'SSH:J:EXIT:s05:0', 'SSH:J:EXIT:s06:0']);
    expect(lines.at(-1)).toBe('SSH:J:JOB_COMPLETED:ok=4:failed=0:skipped=2');
    const view = e.jobs().at(-1)!;
    expect({ ok: view.ok, failed: view.failed, skipped: view.skipped, done: view.done }).toEqual({ ok: 4, failed: 0, skipped: 2, done: 6 });
  });

  it('the audit record says which nodes were skipped and why', async () => {
    const e = await cluster();
    await run(e, 'SSH:EXEC:*:true');
    const recs = fs.readFileSync(path.join(stateDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const outcome = recs.filter((r) => r.request === 'SSH:EXEC:*:true' && r.phase === 'outcome').at(-1);
    expect(outcome).toMatchObject({ ok: 4, failed: 0, targets: 's[01-06]', count: 6 });
    expect(outcome.results).toMatchObject({ s02: 'skipped: down', s03: 'skipped: off', s01: 'exit 0' });
  });

  it('SYSSTAT:GET skips them too', async () => {
    const e = await cluster();
    const lines = strip(await run(e, 'SYSSTAT:GET:*'));
    expect(lines.filter((l) => l.includes(':SKIPPED:'))).toEqual(['SYSSTAT:J:SKIPPED:s02:down:no heartbeat (simulated failure)', 'SYSSTAT:J:SKIPPED:s03:off:powered off']);
    expect(lines.filter((l) => l.includes(':STAT:')).map((l) => l.split(':')[3])).toEqual(['s01', 's04', 's05', 's06']);
    expect(lines.at(-1)).toBe('SYSSTAT:J:JOB_COMPLETED:ok=4:failed=0:skipped=2');
  });

  it('a node named one by one still runs (and fails as it would)', async () => {
    const e = await cluster();
    const alone = strip(await run(e, 'SSH:EXEC:s02:true'));
    expect(alone.some((l) => l.includes('SKIPPED'))).toBe(false);
    expect(alone).toContain('SSH:J:ERROR:s02:ERR_SSH_REFUSED:connection refused (the simulated node is down)');
    expect(alone.at(-1)).toBe('SSH:J:JOB_COMPLETED:ok=0:failed=1');
    // named among others: s03 runs, s02 (only inside the range) is skipped
    const mixed = strip(await run(e, 'SSH:EXEC:s[01-04],s03:true'));
    expect(mixed.filter((l) => l.includes('SKIPPED'))).toEqual(['SSH:J:SKIPPED:s02:down:no heartbeat (simulated failure)']);
    expect(mixed.at(-1)).toBe('SSH:J:JOB_COMPLETED:ok=2:failed=1:skipped=1');
  });

  it('exec.skip_states: [] runs every node as before; [unknown] skips only unknown ones', async () => {
    const e = await cluster('exec: { skip_states: [] }');
    const lines = strip(await run(e, 'SSH:EXEC:*:true'));
    expect(lines.some((l) => l.includes('SKIPPED'))).toBe(false);
    expect(lines.at(-1)).toBe('SSH:J:JOB_COMPLETED:ok=4:failed=2');
    await e.stop();
    const e2 = await cluster('exec: { skip_states: [unknown] }');
    expect(strip(await run(e2, 'SSH:EXEC:*:true')).at(-1)).toBe('SSH:J:JOB_COMPLETED:ok=4:failed=2');
  });

  it('a bad skip_states is ERR_CONFIG saying what to write', () => {
    expect(() => parseConfig('exec: { skip_states: [up] }\nnodes: [{names: n1}]\n', 'v.yaml')).toThrow(/exec\.skip_states.*down, off, unknown \(default \[down, off\]; \[\] runs on every node\)/);
    expect(() => parseConfig('exec: { skip_states: down }\nnodes: [{names: n1}]\n', 'v.yaml')).toThrow(/ERR_CONFIG|skip_states/);
  });

  it('commands that do not skip (POWER, NEXXUS) reach down nodes as before', async () => {
    const e = await cluster();
    expect(strip(await run(e, 'POWER:STATUS:*')).at(-1)).toBe('POWER:J:JOB_COMPLETED:ok=6:failed=0');
  });

  it('SKIPPED in JSON lines: node first, then state and reason', async () => {
    const e = await cluster();
    const seen: VacmEvent[] = [];
    const off = e.subscribe((ev) => ev.type === 'SKIPPED' && seen.push(ev));
    await run(e, 'SSH:EXEC:s[02-03]!s03,s01:true');
    off();
    expect(seen.map((ev) => JSON.parse(toJsonLine(ev)))).toEqual([expect.objectContaining({ tag: 'SSH', event: 'SKIPPED', node: 's02', fields: ['s02', 'down', 'no heartbeat (simulated failure)'] })]);
  });

  it('vacm ipc: the gathered summary lists the skipped nodes as a node set, and exits 0', async () => {
    const e = await cluster();
    let out = '';
    let err = '';
    const io = { out: (s: string) => void (out += s), err: (s: string) => void (err += s), stdin: Readable.from([]), stdinIsTTY: false };
    expect(await runIpc(e, { messages: ['SSH:EXEC:*:echo hi'] }, io)).toBe(0);
    expect(out).toContain('---------------\ns[01,04-06] (4)\n---------------\nhi\n');
    expect(out).toMatch(/JOB_COMPLETED:ok=4:failed=0:skipped=2\n/);
    expect(err).toBe('vacm: skipped: s[02-03] (2)\n');
  });
});
