/**
 * POWER flags WAIT and FORCE,WAIT, and POWER:BOOT, through the module with a lab driver whose
 * nodes take a while to get where an action sends them (a soft shutdown ends off after some
 * polls; a node can be made to never get there).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PowerDriver } from '../../../src/backends/capabilities.js';
import type { PowerActionName } from '../../../src/protocol/power.js';
import type { PowerState } from '../../../src/protocol/events.js';
import { messages, powerEngine, results, type Harness } from './harness.js';

const YAML = `
cluster: t
power: { drivers: { sim: { timeout_ms: 3000 } } }
nodes:
  - names: n[1-4]
    vars: { power: sim }
  - names: head01
    vars: { power: sim }
  - names: stuck
    vars: { power: sim }
`;

/** Nodes reach the state an action leads to after `settle` status reads; `stuck` never does. */
function labDriver(start: Record<string, PowerState>, settle = 2) {
  const state = new Map(Object.entries(start));
  const target = new Map<string, PowerState>();
  const reads = new Map<string, number>();
  const calls: { action: PowerActionName; node: string }[] = [];
  const driver: PowerDriver = {
    name: 'sim',
    actions: ['on', 'off', 'cycle', 'reset', 'soft', 'status'],
    async run(action, nodes, { report }) {
      for (const { node } of nodes) {
        calls.push({ action, node });
        if (action === 'status') {
          const t = target.get(node);
          const k = (reads.get(node) ?? 0) + 1;
          reads.set(node, k);
          if (t && k >= settle && node !== 'stuck') {
            state.set(node, t);
            target.delete(node);
          }
          report(node, state.get(node) ?? 'unknown');
          continue;
        }
        reads.set(node, 0);
        if (action === 'off') state.set(node, 'off');
        else if (action === 'soft') target.set(node, 'off');
        else if (action === 'on' || action === 'cycle' || action === 'reset') target.set(node, 'on');
        report(node, action === 'off' ? 'off' : action === 'soft' ? 'unknown' : 'on');
      }
    },
  };
  return { driver, calls, state };
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('POWER:…:WAIT', () => {
  it('SOFT without WAIT ends unknown; with WAIT it polls and ends off', async () => {
    const lab = labDriver({ n1: 'on', n2: 'on' });
    h = await powerEngine(YAML, { drivers: { sim: lab.driver }, waitIntervalMs: 10 });
    expect(results((await h.run('POWER:SOFT:n1')).lines)).toEqual({ n1: 'unknown' });
    const r = await h.run('POWER:SOFT:n2:WAIT');
    expect(results(r.lines)).toEqual({ n2: 'off' });
    expect(lab.calls.filter((c) => c.node === 'n2').map((c) => c.action)).toEqual(['soft', 'status', 'status']);
  });

  it('ON:WAIT ends on once the node is on; a node that never gets there ends ERR_TIMEOUT within its timeout', async () => {
    const lab = labDriver({ n3: 'off', stuck: 'off' });
    h = await powerEngine(YAML, { drivers: { sim: lab.driver }, waitIntervalMs: 50 });
    const t0 = Date.now();
    const r = await h.run('POWER:ON:n3,stuck:wait');
    expect(results(r.lines)).toEqual({ n3: 'on', stuck: 'ERR_TIMEOUT' });
    expect(messages(r.events).stuck).toMatch(/stuck: did not reach on within 3000 ms \(still off\).*power_timeout_ms/);
    expect(r.lines.at(-1)).toMatch(/JOB_COMPLETED:ok=1:failed=1$/);
    expect(Date.now() - t0).toBeLessThan(20_000); // bounded by the node's timeout, not forever
  });

  it('FORCE,WAIT passes the controller guard and waits; WAIT alone on the controller is refused as before', async () => {
    const lab = labDriver({ head01: 'on' });
    h = await powerEngine(YAML, { drivers: { sim: lab.driver }, waitIntervalMs: 10, localName: 'head01' });
    expect(results((await h.run('POWER:SOFT:head01:WAIT')).lines)).toEqual({ head01: 'ERR_CONTROLLER' });
    expect(results((await h.run('POWER:SOFT:head01:FORCE,WAIT')).lines)).toEqual({ head01: 'off' });
    // today's :FORCE still works, and needs no waiting
    expect(results((await h.run('POWER:ON:head01:FORCE')).lines)).toEqual({ head01: 'on' });
  });

  it('refuses WAIT=ssh with OFF and SOFT, and unknown flags, with usage errors', async () => {
    const lab = labDriver({});
    h = await powerEngine(YAML, { drivers: { sim: lab.driver } });
    const soft = await h.run('POWER:SOFT:n1:WAIT=ssh');
    expect(soft.lines.join('\n')).toMatch(/ERR_BAD_ARGS.*WAIT=ssh waits for a node to answer SSH again/);
    expect(() => h!.engine.submit('POWER:ON:n1:SLOWLY')).toThrow(/FORCE, WAIT, WAIT=SSH, FORCE,WAIT, FORCE,WAIT=SSH/);
    expect(lab.calls).toEqual([]);
  });

  it('WAIT=ssh without an SSH pool is ERR_UNSUPPORTED for the node, saying to use WAIT', async () => {
    const lab = labDriver({ n1: 'off' });
    h = await powerEngine(YAML, { drivers: { sim: lab.driver } });
    const r = await h.run('POWER:CYCLE:n1:WAIT=ssh');
    expect(results(r.lines)).toEqual({ n1: 'ERR_UNSUPPORTED' });
    expect(messages(r.events).n1).toMatch(/use WAIT/);
  });
});

describe('POWER:BOOT', () => {
  it('switches on the nodes that are off and resets the ones that are on', async () => {
    const lab = labDriver({ n1: 'off', n2: 'on', n3: 'off', n4: 'on' });
    h = await powerEngine(YAML, { drivers: { sim: lab.driver } });
    const r = await h.run('POWER:BOOT:n[1-4]');
    expect(results(r.lines)).toEqual({ n1: 'on', n2: 'on', n3: 'on', n4: 'on' });
    const did = (node: string) => lab.calls.filter((c) => c.node === node).map((c) => c.action);
    expect([did('n1'), did('n2'), did('n3'), did('n4')]).toEqual([['status', 'on'], ['status', 'reset'], ['status', 'on'], ['status', 'reset']]);
    expect(h.audit().some((a) => JSON.stringify(a).includes('POWER:BOOT:n[1-4]'))).toBe(true);
  });

  it('is guarded like RESET, and a driver without RESET cannot BOOT', async () => {
    const lab = labDriver({ head01: 'on' });
    h = await powerEngine(YAML, { drivers: { sim: lab.driver }, localName: 'head01' });
    expect(results((await h.run('POWER:BOOT:head01')).lines)).toEqual({ head01: 'ERR_CONTROLLER' });
    await h.close();
    const onOff: PowerDriver = { ...lab.driver, actions: ['on', 'off', 'status'] };
    h = await powerEngine(YAML, { drivers: { sim: onOff } });
    const r = await h.run('POWER:BOOT:n1');
    expect(results(r.lines)).toEqual({ n1: 'ERR_UNSUPPORTED' });
    expect(messages(r.events).n1).toMatch(/cannot do BOOT \(it needs STATUS, ON and RESET\)/);
  });
});
