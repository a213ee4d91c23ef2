import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeEngine, tempDir } from '../helpers/engine.js';
import { parseHooksSection, type Transition } from '../../src/engine/membership.js';
import { toLine } from '../../src/protocol/events.js';
import type { Engine } from '../../src/engine/engine.js';
import type { ModuleDef } from '../../src/protocol/module.js';
import { SSH_REACH_FACTS, type EventFacts } from '../../src/protocol/node-facts.js';
import { ICMP_FACTS } from '../../src/backends/icmp/module.js';

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

const YAML = (hooks = '') => `
cluster: t
nodes:
  - names: n[1-3]
${hooks}`;

describe('membership', () => {
  it('runs subscribers in band order, then registration order, on every transition', async () => {
    const m = await makeEngine({ yaml: YAML() });
    engine = m.engine;
    const calls: string[] = [];
    const hook = (name: string) => async (t: Transition) => {
      calls.push(`${name}:${t.node}:${t.from}>${t.to}`);
    };
    engine.membership.subscribe(hook('low-a'), { band: 'low' });
    engine.membership.subscribe(hook('critical'), { band: 'critical' });
    engine.membership.subscribe(hook('band5-a'), { band: 5 });
    engine.membership.subscribe(hook('band5-b'), { band: 5 });
    engine.membership.subscribe(hook('only-down'), { band: 0, states: ['down'] });
    engine.setNodeState('n1', 'up');
    engine.setNodeState('n1', 'down', 'no ping reply');
    await engine.membership.idle();
    expect(calls).toEqual([
      'critical:n1:unknown>up', 'band5-a:n1:unknown>up', 'band5-b:n1:unknown>up', 'low-a:n1:unknown>up',
      'critical:n1:up>down', 'only-down:n1:up>down', 'band5-a:n1:up>down', 'band5-b:n1:up>down', 'low-a:n1:up>down',
    ]);
    expect(m.events.map(toLine)).toEqual(['NEXXUS:0:NODE_UP:n1', 'NEXXUS:0:NODE_DOWN:n1:no ping reply']);
  });

  it('stops a hook at its timeout and goes on with the next one', async () => {
    const m = await makeEngine({ yaml: YAML() });
    engine = m.engine;
    const calls: string[] = [];
    let aborted = false;
    engine.membership.subscribe((_t, signal) => new Promise<void>((r) => signal.addEventListener('abort', () => { aborted = true; r(); })), { band: 0, timeoutMs: 100, name: 'slow' });
    engine.membership.subscribe(() => void calls.push('after'), { band: 1 });
    engine.setNodeState('n2', 'up');
    await engine.membership.idle();
    expect(aborted).toBe(true);
    expect(calls).toEqual(['after']);
  });

  it('runs shell hooks from the config with VACM_NODE, VACM_STATE, VACM_REASON, killing one that overstays', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'hooks.log');
    const m = await makeEngine({
      yaml: YAML(`hooks:
  - command: 'echo "second $VACM_NODE $VACM_STATE $VACM_PREV_STATE [$VACM_REASON]" >> ${out}'
    band: low
  - command: 'echo "first $VACM_NODE $VACM_STATE" >> ${out}'
    band: critical
  - command: 'sleep 30; echo never >> ${out}'
    band: normal
    timeout_ms: 200
    on: [down]
`),
      engine: { monitor: true }, // shell hooks run in a standing engine only
    });
    engine = m.engine;
    engine.setNodeState('n3', 'up');
    engine.setNodeState('n3', 'down', 'agent silent for 15 s');
    await engine.membership.idle();
    expect(fs.readFileSync(out, 'utf8').trim().split('\n')).toEqual([
      'first n3 up',
      'second n3 up unknown []',
      'first n3 down',
      'second n3 down up [agent silent for 15 s]',
    ]);
  });

  it('takes evidence from job events: ping replies, and SSH finding no host', async () => {
    // the evidence is what the ICMP and SSH modules declare their events mean (ModuleDef.facts)
    const declaring = (tag: string, facts: EventFacts): ModuleDef => ({ tag, summary: tag, commands: [], facts });
    const m = await makeEngine({ yaml: YAML(), modules: [declaring('ICMP_ECHO', ICMP_FACTS), declaring('SSH', SSH_REACH_FACTS)] });
    engine = m.engine;
    engine.emitUnsolicited('ICMP_ECHO', { type: 'PING', node: 'n1', state: 'up', rttMs: 0.04 });
    engine.emitUnsolicited('SSH', { type: 'ERROR', node: 'n1', code: 'ERR_SSH_AUTH', message: 'permission denied' });
    expect(engine.node('n1')?.state).toBe('up');
    engine.emitUnsolicited('SSH', { type: 'ERROR', node: 'n1', code: 'ERR_SSH_UNREACHABLE', message: 'no route to host' });
    expect(engine.node('n1')?.state).toBe('down');
    expect(m.events.map(toLine)).toContain('NEXXUS:0:NODE_DOWN:n1:ssh\\: no route to host');
    engine.emitUnsolicited('ICMP_ECHO', { type: 'PING', node: 'n1', state: 'up', rttMs: 0.04 });
    engine.setPower('n1', 'off');
    expect(engine.node('n1')?.state).toBe('off');
    engine.emitUnsolicited('ICMP_ECHO', { type: 'PING', node: 'n1', state: 'up', rttMs: 0.04 });
    expect(engine.node('n1')?.state).toBe('off'); // power off wins over a stray reply
  });

  it.each([
    ['not a list', { command: 'x' }, /hooks: must be a list/],
    ['no command', [{ band: 1 }], /hooks\[0\].command: required/],
    ['a bad band', [{ command: 'x', band: 'urgent' }], /hooks\[0\].band: must be 0-9 or one of critical, high, normal, low/],
    ['a bad timeout', [{ command: 'x', timeout_ms: -1 }], /hooks\[0\].timeout_ms/],
    ['an unknown key', [{ command: 'x', when: 'down' }], /hooks\[0\].when: unknown key/],
    ['a bad state', [{ command: 'x', on: ['sideways'] }], /hooks\[0\].on: must be a list of states/],
  ])('refuses %s in hooks:', (_n, raw, msg) => {
    expect(() => parseHooksSection(raw)).toThrow(msg);
  });
});
