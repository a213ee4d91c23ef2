/**
 * Item 2 of issue 12: modules declare what their events mean for the store (ModuleDef.facts) and
 * the engine applies the declaration; a module the engine has never heard of changes the store
 * through its own mapping alone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makeEngine, run } from '../helpers/engine.js';
import type { CommandDef, ModuleDef } from '../../src/protocol/module.js';
import { factOf, pingReach, powerState, sshUnreachable, statReading, type EventFacts } from '../../src/protocol/node-facts.js';
import type { EventBody } from '../../src/protocol/events.js';
import type { Engine } from '../../src/engine/engine.js';
import { builtinModules } from '../../src/backends/index.js';

let current: Engine | undefined;
afterEach(async () => {
  await current?.stop();
  current = undefined;
});

function cmd(name: string, run: CommandDef['run']): CommandDef {
  return { name, summary: name, nodes: 'required', args: [], lane: 'bulk', dangerous: false, run };
}

/**
 * A module the engine does not know: its THERMAL readings are SENSOR events; it declares that a
 * reading over 90 °C means the node is down, and that a reading is the node's stats.
 */
const thermal: ModuleDef = {
  tag: 'THERMAL',
  summary: 'a made-up sensor module',
  commands: [
    cmd('READ', async (ctx) => {
      for (const node of ctx.nodes) ctx.emit({ type: 'SENSOR', node, name: 'cpu', value: node.endsWith('1') ? '95' : '40', unit: 'C', status: 'ok' });
      for (const node of ctx.nodes) ctx.outcome(node, 'ok');
    }),
    cmd('OFF', async (ctx) => {
      for (const node of ctx.nodes) ctx.emit({ type: 'POWER', node, state: 'off' });
    }),
  ],
  facts: {
    SENSOR: (e) => (Number(e.value) > 90 ? { kind: 'reach', node: e.node, state: 'down', reason: `too hot: ${e.value} ${e.unit}` } : { kind: 'stats', node: e.node, stats: { [e.name]: Number(e.value) } }),
    POWER: powerState,
  },
};

/** The same events from a module that declares nothing: they change no node. */
const silent: ModuleDef = { ...thermal, tag: 'SILENT', facts: undefined };

describe('event facts: a module declares what its events mean for the store', () => {
  it("applies a new module's own mapping: reachability, stats and power, with no engine change", async () => {
    const { engine, events } = await makeEngine({ modules: [thermal] });
    current = engine;
    engine.setNodeState('node01', 'up'); // known up: going down is news
    expect(await run(engine, 'THERMAL:READ:node[01-02]')).toContain('THERMAL:1:JOB_COMPLETED:ok=2:failed=0');
    expect(engine.node('node01')).toMatchObject({ state: 'down', stateReason: 'too hot: 95 C' });
    expect(engine.node('node02')?.stats).toEqual({ cpu: 40 });
    expect(engine.node('node02')?.state).toBe('unknown'); // a reading is stats, not reachability
    await run(engine, 'THERMAL:OFF:node03');
    expect(engine.node('node03')).toMatchObject({ state: 'off', power: 'off' });
    // the node went down through membership, as any evidence does
    expect(events.filter((e) => e.type === 'NODE_DOWN').map((e) => e.type === 'NODE_DOWN' && `${e.node}: ${e.reason}`)).toEqual(['node01: too hot: 95 C']);
  });

  it('applies the mapping to the same module\'s unsolicited events', async () => {
    const { engine } = await makeEngine({ modules: [thermal] });
    current = engine;
    engine.emitUnsolicited('THERMAL', { type: 'SENSOR', node: 'node04', name: 'cpu', value: '99', unit: 'C', status: 'ok' });
    expect(engine.node('node04')).toMatchObject({ state: 'down', stateReason: 'too hot: 99 C' });
  });

  it('changes no node for the events of a module that declares nothing', async () => {
    const { engine } = await makeEngine({ modules: [silent] });
    current = engine;
    await run(engine, 'SILENT:READ:node[01-02]');
    await run(engine, 'SILENT:OFF:node03');
    expect(engine.node('node01')).toMatchObject({ state: 'unknown' });
    expect(engine.node('node02')?.stats).toBeUndefined();
    expect(engine.node('node03')).toMatchObject({ state: 'unknown', power: 'unknown' });
  });

  it('keeps what the built-in modules meant before: PING, SSH errors, POWER and STAT', () => {
    const facts = new Map(builtinModules().map((m) => [m.tag, m.facts]));
    const unreachable: EventBody = { type: 'ERROR', node: 'n1', code: 'ERR_SSH_UNREACHABLE', message: 'no route to host' };
    expect(factOf(facts.get('ICMP_ECHO'), { type: 'PING', node: 'n1', state: 'down' })).toEqual({ kind: 'reach', node: 'n1', state: 'down', reason: 'no ping reply' });
    for (const tag of ['SSH', 'SYSSTAT', 'POWER', 'EMP', 'IPMI', 'LOG']) expect(factOf(facts.get(tag), unreachable), tag).toEqual({ kind: 'reach', node: 'n1', state: 'down', reason: 'ssh: no route to host' });
    for (const tag of ['POWER', 'EMP', 'IPMI']) expect(factOf(facts.get(tag), { type: 'POWER', node: 'n1', state: 'off' }), tag).toEqual({ kind: 'power', node: 'n1', state: 'off' });
    expect(factOf(facts.get('SYSSTAT'), { type: 'STAT', node: 'n1', stats: { load1: 0.5 } })).toEqual({ kind: 'stats', node: 'n1', stats: { load1: 0.5 } });
    // NEXXUS says nothing about nodes through its events
    expect(factOf(facts.get('NEXXUS'), unreachable)).toBeUndefined();
  });
});

describe('the fact readers (table)', () => {
  const table: [string, EventFacts[keyof EventFacts], EventBody, unknown][] = [
    ['a reply', pingReach, { type: 'PING', node: 'a', state: 'up', rttMs: 1 }, { kind: 'reach', node: 'a', state: 'up', reason: undefined }],
    ['no reply, with why', pingReach, { type: 'PING', node: 'a', state: 'down', reason: 'timeout' }, { kind: 'reach', node: 'a', state: 'down', reason: 'timeout' }],
    ['no host over SSH', sshUnreachable, { type: 'ERROR', node: 'a', code: 'ERR_SSH_UNREACHABLE', message: 'x' }, { kind: 'reach', node: 'a', state: 'down', reason: 'ssh: x' }],
    ['an SSH refusal', sshUnreachable, { type: 'ERROR', node: 'a', code: 'ERR_SSH_AUTH', message: 'x' }, undefined],
    ['an error about no node', sshUnreachable, { type: 'ERROR', code: 'ERR_SSH_UNREACHABLE', message: 'x' }, undefined],
    ['a power state', powerState, { type: 'POWER', node: 'a', state: 'on' }, { kind: 'power', node: 'a', state: 'on' }],
    ['a stats reading', statReading, { type: 'STAT', node: 'a', stats: { load1: 1 } }, { kind: 'stats', node: 'a', stats: { load1: 1 } }],
  ];
  it.each(table)('%s', (_name, f, e, want) => {
    expect((f as (e: EventBody) => unknown)(e)).toEqual(want);
  });
});
