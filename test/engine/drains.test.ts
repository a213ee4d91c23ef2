/**
 * Drains (issue 16 item 2): NEXXUS:DRAIN / UNDRAIN / DRAINED, kept in the state dir across restarts;
 * dangerous requests that reach a drained node through a group, range or wildcard skip it
 * (SKIPPED:node:drained:...), unless it is named one by one or the request ends in :FORCE; hooks see
 * VACM_DRAINED=1; the header counts drained nodes apart. On simulated nodes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimCluster } from '../../src/backends/sim/cluster.js';
import { createSimModule } from '../../src/backends/sim/module.js';
import { createPowerModules } from '../../src/backends/power/module.js';
import { createSshModule } from '../../src/backends/ssh/module.js';
import { SshPool } from '../../src/backends/ssh/pool.js';
import { Engine } from '../../src/engine/engine.js';
import { parseConfig } from '../../src/engine/config.js';
import { hookEnvironment } from '../../src/engine/membership.js';
import { nexxusModule } from '../../src/backends/nexxus.js';
import { run, tempDir } from '../helpers/engine.js';
import { createProviders } from '../../src/backends/providers.js';

const YAML = `
cluster: drains
nodes:
  - names: s[01-06]
    groups: [compute]
    vars: { sim: true, power: sim }
`;

const engines: Engine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop();
});

/** An engine on `stateDir` (a fresh one by default): a new one on the same dir is a restart. */
async function start(stateDir = tempDir(), opts: { monitor?: boolean; user?: string } = {}) {
  const sim = new SimCluster({ delayScale: 0, failureRate: 0 });
  const e = new Engine({
    config: parseConfig(YAML, 'drains.yaml'),
    modules: [nexxusModule, createSimModule(sim, { intervalMs: 3_600_000 }), ...createPowerModules({ providers: createProviders(sim) }), createSshModule({ pool: new SshPool(), providers: createProviders(sim) })],
    stateDir,
    localName: 'vacm-test-host',
    monitor: opts.monitor,
  });
  engines.push(e);
  await e.start();
  return { e, stateDir };
}

const strip = (lines: string[]) => lines.map((l) => l.replace(/^(\w+):\d+:/, '$1:J:'));
const ISO = /\d{4}-\d\d-\d\dT\d\d\\:\d\d\\:\d\d\.\d{3}Z/;
const me = os.userInfo().username;

describe('NEXXUS:DRAIN, UNDRAIN and DRAINED', () => {
  it('drains with who, since and reason; DRAINED lists them; a new engine on the same state dir still has them', async () => {
    const { e, stateDir } = await start();
    const before = Date.now();
    const lines = strip(await run(e, 'NEXXUS:DRAIN:s[02-03]:disk swap: ticket 4711'));
    expect(lines.filter((l) => l.includes(':DRAINED:'))).toEqual([
      expect.stringMatching(new RegExp(`^NEXXUS:J:DRAINED:s02:${me}:${ISO.source}:disk swap\\\\: ticket 4711$`)),
      expect.stringMatching(/^NEXXUS:J:DRAINED:s03:/),
    ]);
    expect(lines.at(-1)).toBe('NEXXUS:J:JOB_COMPLETED:ok=2:failed=0');
    const d = e.node('s02')!.drain!;
    expect(d).toMatchObject({ who: me, reason: 'disk swap: ticket 4711' });
    expect(d.since).toBeGreaterThanOrEqual(before);
    expect(e.node('s01')!.drain).toBeUndefined();

    // the restart: a new engine reads drains.json back
    await e.stop();
    const { e: again } = await start(stateDir);
    expect(again.node('s02')!.drain).toEqual(d);
    expect(again.node('s03')!.drain).toEqual(d);
    expect(again.node('s04')!.drain).toBeUndefined();
    const listed = strip(await run(again, 'NEXXUS:DRAINED'));
    expect(listed.filter((l) => l.includes(':DRAINED:')).map((l) => l.split(':')[3])).toEqual(['s02', 's03']);
    expect(strip(await run(again, 'NEXXUS:DRAINED:s03,s05')).filter((l) => l.includes(':DRAINED:')).map((l) => l.split(':')[3])).toEqual(['s03']);

    // undrain one, and the next restart agrees
    const undone = strip(await run(again, 'NEXXUS:UNDRAIN:s[01-03]'));
    expect(undone.filter((l) => l.includes('UNDRAINED'))).toEqual([`NEXXUS:J:UNDRAINED:s02:${me}`, `NEXXUS:J:UNDRAINED:s03:${me}`]);
    expect(undone.at(-1)).toBe('NEXXUS:J:JOB_COMPLETED:ok=2:failed=0');
    await again.stop();
    const { e: third } = await start(stateDir);
    expect(third.nodes().filter((n) => n.drain).map((n) => n.name)).toEqual([]);
  });

  it('a new reason replaces the old one; DRAIN and UNDRAIN are audited before and after', async () => {
    const { e, stateDir } = await start();
    await run(e, 'NEXXUS:DRAIN:s04:fan');
    await run(e, 'NEXXUS:DRAIN:@compute:rack move');
    expect(e.node('s04')!.drain!.reason).toBe('rack move');
    await run(e, 'NEXXUS:UNDRAIN:s04');
    const recs = fs.readFileSync(path.join(stateDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(recs.map((r) => `${r.phase} ${r.request} ${r.targets}`)).toEqual([
      'attempt NEXXUS:DRAIN:s04:fan s04',
      'outcome NEXXUS:DRAIN:s04:fan s04',
      'attempt NEXXUS:DRAIN:@compute:rack move s[01-06]',
      'outcome NEXXUS:DRAIN:@compute:rack move s[01-06]',
      'attempt NEXXUS:UNDRAIN:s04 s04',
      'outcome NEXXUS:UNDRAIN:s04 s04',
    ]);
    expect(recs.at(-1)).toMatchObject({ state: 'completed', ok: 1, user: me });
  });

  it('refuses an empty or long reason, saying what to do, and drains nothing', async () => {
    const { e } = await start();
    expect(() => e.submit('NEXXUS:DRAIN:s01:   ')).toThrow(/NEXXUS:DRAIN is missing <reason>.*usage: NEXXUS:DRAIN:<nodes>:<reason...>/);
    expect(strip(await run(e, `NEXXUS:DRAIN:s01:${'x'.repeat(300)}`)).at(-1)).toMatch(/JOB_FAILED:ERR_BAD_ARGS:the drain reason is 300 characters; at most 256/);
    expect(e.nodes().some((n) => n.drain)).toBe(false);
  });

  it('the user a serve fills in (SubmitOptions.user) is who drained', async () => {
    const { e } = await start();
    await e.submit('NEXXUS:DRAIN:s01:bios update', { user: 'alice' }).done;
    expect(e.node('s01')!.drain!.who).toBe('alice');
  });
});

describe('dangerous requests skip drained nodes', () => {
  it('through a group, a range or a wildcard: SKIPPED:node:drained with who, since and why; skipped=K', async () => {
    const { e } = await start();
    await run(e, 'NEXXUS:DRAIN:s03:disk swap');
    for (const set of ['@compute', 's[01-06]', 's0*']) {
      const lines = strip(await run(e, `SSH:EXEC:${set}:true`));
      expect(lines[1]).toMatch(new RegExp(`^SSH:J:SKIPPED:s03:drained:drained by ${me} since ${ISO.source}\\\\: disk swap$`));
      expect(lines.filter((l) => l.includes(':EXIT:')).map((l) => l.split(':')[3])).toEqual(['s01', 's02', 's04', 's05', 's06']);
      expect(lines.at(-1)).toBe('SSH:J:JOB_COMPLETED:ok=5:failed=0:skipped=1');
    }
    // POWER too: s03 stays on
    const power = strip(await run(e, 'POWER:OFF:@compute'));
    expect(power.filter((l) => l.includes('SKIPPED'))).toEqual([expect.stringMatching(/^POWER:J:SKIPPED:s03:drained:/)]);
    expect(power.at(-1)).toBe('POWER:J:JOB_COMPLETED:ok=5:failed=0:skipped=1');
    expect(e.node('s03')!.power).not.toBe('off');
    expect(e.node('s02')!.power).toBe('off');
  });

  it('a drained node named one by one is run; :FORCE reaches it through a group', async () => {
    const { e } = await start();
    await run(e, 'NEXXUS:DRAIN:s03:disk swap');
    const named = strip(await run(e, 'SSH:EXEC:s03:true'));
    expect(named.some((l) => l.includes('SKIPPED'))).toBe(false);
    expect(named.at(-1)).toBe('SSH:J:JOB_COMPLETED:ok=1:failed=0');
    const mixed = strip(await run(e, 'SSH:EXEC:s[01-02],s03:true'));
    expect(mixed.at(-1)).toBe('SSH:J:JOB_COMPLETED:ok=3:failed=0');
    const forced = strip(await run(e, 'POWER:OFF:@compute:FORCE'));
    expect(forced.some((l) => l.includes('SKIPPED'))).toBe(false);
    expect(forced.at(-1)).toBe('POWER:J:JOB_COMPLETED:ok=6:failed=0');
    expect(e.node('s03')!.power).toBe('off');
  });

  it('requests that change nothing (POWER:STATUS, NODE_LIST) and UNDRAIN through a group still reach them', async () => {
    const { e } = await start();
    await run(e, 'NEXXUS:DRAIN:s0[1-2]:bad dimm');
    expect(strip(await run(e, 'POWER:STATUS:@compute')).at(-1)).toBe('POWER:J:JOB_COMPLETED:ok=6:failed=0');
    expect(strip(await run(e, 'NEXXUS:UNDRAIN:@compute')).at(-1)).toBe('NEXXUS:J:JOB_COMPLETED:ok=2:failed=0');
    expect(e.nodes().some((n) => n.drain)).toBe(false);
  });

  it('the audit outcome says which nodes were skipped as drained', async () => {
    const { e, stateDir } = await start();
    await run(e, 'NEXXUS:DRAIN:s05:psu');
    await run(e, 'SSH:EXEC:*:true');
    const recs = fs.readFileSync(path.join(stateDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(recs.filter((r) => r.request === 'SSH:EXEC:*:true' && r.phase === 'outcome').at(-1).results).toMatchObject({ s05: 'skipped: drained', s01: 'exit 0' });
  });
});

describe('drained nodes elsewhere', () => {
  it('count apart in the snapshot header counts', async () => {
    const { e } = await start();
    await run(e, 'SIM:FAIL:s02');
    await run(e, 'NEXXUS:DRAIN:s0[2-3]:repair');
    const c = e.getSnapshot().counts;
    expect(c.drained).toBe(2);
    expect(c.up + c.down + c.off + c.unknown + c.drained).toBe(6);
    expect(c.down).toBe(0); // s02 is down and drained: counted as drained
  });

  it('membership events still flow for a drained node, and its hooks get VACM_DRAINED=1', async () => {
    const { e } = await start();
    const seen: { node: string; to: string; drained?: boolean }[] = [];
    e.membership.subscribe((t) => void seen.push({ node: t.node, to: t.to, drained: t.drained }));
    await run(e, 'NEXXUS:DRAIN:s02:repair');
    const events: string[] = [];
    e.subscribe((ev) => (ev.type === 'NODE_DOWN' || ev.type === 'NODE_UP') && events.push(`${ev.type}:${ev.node}`));
    await run(e, 'SIM:FAIL:s02');
    await run(e, 'SIM:FAIL:s04');
    await e.membership.idle();
    expect(events).toContain('NODE_DOWN:s02');
    expect(seen.filter((t) => t.to === 'down')).toEqual([{ node: 's02', to: 'down', drained: true }, { node: 's04', to: 'down', drained: false }]);
    const env = hookEnvironment({ PATH: '/bin' }, { node: 's02', from: 'up', to: 'down', reason: 'x', ts: 0, drained: true });
    expect(env.VACM_DRAINED).toBe('1');
    expect(hookEnvironment({ PATH: '/bin' }, { node: 's04', from: 'up', to: 'down', ts: 0 }).VACM_DRAINED).toBe('');
  });

  it('a damaged drains.json is reported and no node is taken as drained; the next DRAIN refuses to overwrite it', async () => {
    const dir = tempDir();
    fs.chmodSync(dir, 0o700);
    fs.writeFileSync(path.join(dir, 'drains.json'), '{ not json', { mode: 0o600 });
    const { e } = await start(dir);
    expect(e.nodes().some((n) => n.drain)).toBe(false);
    expect(strip(await run(e, 'NEXXUS:DRAIN:s01:x')).at(-1)).toMatch(/JOB_FAILED:ERR_STATE_DIR:drains\.json is not JSON; fix or remove it/);
  });
});
