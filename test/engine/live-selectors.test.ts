/**
 * Live selectors (`@state=down`, `@power=off`, `@stale=S`, `@var.KEY=GLOB`) on simulated nodes: what
 * NEXXUS:NODE_LIST lists for each, after the sim module, POWER and SET_VAR changed the nodes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SimCluster } from '../../src/backends/sim/cluster.js';
import { createSimModule } from '../../src/backends/sim/module.js';
import { createPowerModules } from '../../src/backends/power/module.js';
import { NodeSet, parseLiveSelector } from '../../src/protocol/nodeset.js';
import type { Engine } from '../../src/engine/engine.js';
import { makeEngine, run } from '../helpers/engine.js';
import { createProviders } from '../../src/backends/providers.js';

const YAML = `
cluster: live
nodes:
  - names: s[01-03]
    vars: { sim: true, power: sim, rack: r1, host: "127.0.10.{n}" }
  - names: s[04-06]
    vars: { sim: true, power: sim, rack: r2, host: "127.0.11.{n}" }
  - names: box01
    vars: { host: "10.1.0.1" }
`;

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

/** s02 failed (down), s03 switched off, box01 never heard from (unknown), the rest up */
async function cluster() {
  const sim = new SimCluster({ delayScale: 0, failureRate: 0 });
  // one report at start, then only what the requests below do
  const m = await makeEngine({ yaml: YAML, modules: [createSimModule(sim, { intervalMs: 3_600_000 }), ...createPowerModules({ providers: createProviders(sim) })] });
  engine = m.engine;
  expect((await run(m.engine, 'SIM:FAIL:s02')).at(-1)).toMatch(/JOB_COMPLETED:ok=1:failed=0$/);
  expect((await run(m.engine, 'POWER:OFF:s03')).at(-1)).toMatch(/JOB_COMPLETED:ok=1:failed=0$/);
  return m.engine;
}

/** What NEXXUS:NODE_LIST lists for a node set, folded ('' for none); the error line when it is refused. */
async function listed(e: Engine, nodes: string): Promise<string> {
  const lines = await run(e, `NEXXUS:NODE_LIST:${nodes}`).catch((err: Error) => [`refused: ${err.message}`]);
  if (lines[0]?.startsWith('refused')) return lines[0];
  return NodeSet.fromNames(lines.filter((l) => l.includes(':NODELIST:')).map((l) => l.split(':').at(-1)!)).fold();
}

describe('live selectors in requests', () => {
  it('@state= lists the nodes in each shown state', async () => {
    const e = await cluster();
    expect(await listed(e, '@state=down')).toBe('s02');
    expect(await listed(e, '@state=off')).toBe('s03');
    expect(await listed(e, '@state=up')).toBe('s[01,04-06]');
    expect(await listed(e, '@state=unknown')).toBe('box01');
    expect(await listed(e, '@STATE=Down')).toBe('s02');
  });

  it('@power= is the power state, apart from the node state', async () => {
    const e = await cluster();
    expect(await listed(e, '@power=off')).toBe('s03');
    // s02 failed but is still powered
    expect(await listed(e, '@power=on')).toBe('s[01-02,04-06]');
    expect(await listed(e, '@power=unknown')).toBe('box01');
  });

  it('@var.KEY=GLOB matches a variable (the power driver too), an unset one matches nothing', async () => {
    const e = await cluster();
    expect(await listed(e, '@var.rack=r2')).toBe('s[04-06]');
    expect(await listed(e, '@var.host=127.0.1?.*')).toBe('s[01-06]');
    expect(await listed(e, '@var.power=sim')).toBe('s[01-06]');
    expect(await listed(e, '@var.rack=*')).toBe('s[01-06]');
    expect(await listed(e, '@var.nosuch=*')).toBe('');
    // the glob is the linear-time one: no regular expression, no backtracking blow-up
    expect(await listed(e, `@var.host=${'*1'.repeat(200)}*z`)).toBe('');
    // a variable changed at run time is seen by the next request (nothing cached)
    await run(e, 'NEXXUS:SET_VAR:s05:rack:r9');
    expect(await listed(e, '@var.rack=r2')).toBe('s[04,06]');
    expect(await listed(e, '@var.rack=r9')).toBe('s05');
  });

  it('@stale=SECONDS: no stats for longer than that, or none at all', async () => {
    const e = await cluster();
    // every sim node reported stats at start; box01 never did
    expect(await listed(e, '@stale=3600')).toBe('box01');
    e.recordStats('s02', { load1: 0.5 }, Date.now() - 600_000);
    expect(await listed(e, '@stale=300')).toBe('box01,s02');
    expect(await listed(e, '@stale=900')).toBe('box01');
    e.recordStats('box01', { load1: 0.5 });
    expect(await listed(e, '@stale=300')).toBe('s02');
  });

  it('combines with , ! & ^ and groups like any @group, left to right', async () => {
    const e = await cluster();
    expect(await listed(e, '@state=down,@state=off')).toBe('s[02-03]');
    expect(await listed(e, 's[01-06]!@state=up')).toBe('s[02-03]');
    expect(await listed(e, '@state=up&@var.rack=r1')).toBe('s01');
    expect(await listed(e, '@var.rack=r1^@power=on')).toBe('s[03-06]');
    expect(await listed(e, '*!@state=up!@state=unknown')).toBe('s[02-03]');
  });

  it('is resolved at each request: a node that recovers leaves @state=down (no cached answer)', async () => {
    const e = await cluster();
    expect(await listed(e, '@state=down')).toBe('s02');
    expect(e.resolve('@state=down')).toEqual(['s02']);
    await run(e, 'SIM:RECOVER:s02');
    expect(await listed(e, '@state=down')).toBe('');
    expect(e.resolve('@state=down')).toEqual([]);
    await run(e, 'POWER:ON:s03');
    expect(await listed(e, '@state=off')).toBe('');
  });

  it('a malformed selector is ERR_NODESET_PARSE naming it; @drained is the drained nodes; a secret is never matched', async () => {
    const e = await cluster();
    expect(await listed(e, '@state=sideways')).toMatch(/unknown node state \(one of up, down, off, unknown\): "@state=sideways"/);
    expect(await listed(e, '@power=maybe')).toMatch(/unknown power state/);
    expect(await listed(e, '@stale=soon')).toMatch(/@stale= takes whole seconds/);
    expect(await listed(e, '@var.=x')).toMatch(/needs a variable name/);
    // nothing drained yet: an empty set, not an error; then the drained node, and not once undrained
    expect(e.resolve('@drained')).toEqual([]);
    await run(e, 'NEXXUS:DRAIN:s05:fan noise');
    expect(e.resolve('@drained')).toEqual(['s05']);
    expect(e.resolve('s0[4-6]!@drained')).toEqual(['s04', 's06']);
    await run(e, 'NEXXUS:UNDRAIN:@drained');
    expect(e.resolve('@drained')).toEqual([]);
    expect(() => e.resolve('@var.bmc_password=a*')).toThrow(expect.objectContaining({ code: 'ERR_NOT_ALLOWED' }));
    // without `=` it is an ordinary group name: `@power` is a group (here an unknown one)
    expect(() => e.resolve('@power')).toThrow(/unknown group: "@power"/);
    // the engine keeps serving
    expect(await listed(e, '@state=down')).toBe('s02');
  });

  it('reads as one node set inside an IPC request (no colon in any selector)', async () => {
    const e = await cluster();
    const lines = await run(e, 'NEXXUS:GET_VAR:@state=up&@var.rack=r2:rack');
    expect(lines.filter((l) => l.includes(':VAR:'))).toEqual([
      expect.stringMatching(/:VAR:s04:rack:r2$/),
      expect.stringMatching(/:VAR:s05:rack:r2$/),
      expect.stringMatching(/:VAR:s06:rack:r2$/),
    ]);
  });
});

describe('parseLiveSelector (pure)', () => {
  it.each([
    ['state=down', { kind: 'state', state: 'down' }],
    ['power=on', { kind: 'power', power: 'on' }],
    ['stale=0300', { kind: 'stale', seconds: 300 }],
    ['var.power=ipmi', { kind: 'var', key: 'power', glob: 'ipmi' }],
    ['var.host=', { kind: 'var', key: 'host', glob: '' }],
    ['compute', undefined],
    ['power', undefined],
    ['rack=1', undefined],
  ])('%s', (text, want) => {
    expect(parseLiveSelector(text)).toEqual(want);
  });

  it('without the engine (vacm nodeset, a config\'s groups) a live selector is refused, saying where it works', () => {
    expect(() => NodeSet.parse('n[1-4]!@state=down')).toThrow(/@state=down is a live selector, answered from the engine's node states.*NEXXUS:NODE_LIST:@state=down/);
    expect(() => NodeSet.parse('@var.rack=r1', { resolveGroup: () => 'n1' })).toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED' }));
  });
});
