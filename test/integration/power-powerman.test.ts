/**
 * POWER through the powerman driver against a real powermand with vpcd (16 plugs), each result
 * checked with `pm -q`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { powermanAvailable, startPowermand, type Powermand } from '../fixtures/powermand.js';
import { messages, powerEngine, results, type Harness } from '../backends/power/harness.js';

const have = powermanAvailable();
const PORT = 24010;
const DEAD_DEVICE_PORT = 24012;
const NOBODY_PORT = 24011; // nothing listens here

const plugs = Array.from({ length: 16 }, (_, i) => `node${String(i + 1).padStart(3, '0')}`);
const every = (state: string) => Object.fromEntries(plugs.map((p) => [p, state]));

describe.skipIf(!have)('POWER with the powerman driver against powermand + vpcd (needs powerman)', () => {
  let pm: Powermand;
  let h: Harness;

  beforeAll(async () => {
    pm = await startPowermand({ port: PORT, devices: ['node[001-016]'] });
    h = await powerEngine(`
nodes:
  - names: node[001-016]
    vars: { power: powerman, powerman_server: "127.0.0.1:${PORT}" }
  - names: alias16
    vars: { power: powerman, powerman_server: "127.0.0.1:${PORT}", powerman_plug: node016 }
  - names: ghost
    vars: { power: powerman, powerman_server: "127.0.0.1:${PORT}", powerman_plug: node999 }
  - names: lonely
    vars: { power: powerman, powerman_server: "127.0.0.1:${NOBODY_PORT}" }
`);
  }, 30000);

  afterAll(async () => {
    await h?.close();
    await pm?.stop();
  });

  it('switches 16 plugs on, off, cycles and resets them, and pm -q agrees', async () => {
    expect(await pm.query()).toEqual(every('off'));
    const on = await h.run('POWER:ON:node[001-016]');
    expect(results(on.lines)).toEqual(every('on'));
    expect(await pm.query()).toEqual(every('on'));

    const off = await h.run('POWER:OFF:node[001-004,009]');
    expect(results(off.lines)).toEqual({ node001: 'off', node002: 'off', node003: 'off', node004: 'off', node009: 'off' });
    const truth = await pm.query();
    expect(truth.node003).toBe('off');
    expect(truth.node009).toBe('off');
    expect(truth.node005).toBe('on');

    const st = await h.run('POWER:STATUS:node[001-016],alias16');
    expect(results(st.lines)).toEqual({ ...truth, alias16: truth.node016 });

    const cyc = await h.run('POWER:CYCLE:node[001-002]');
    expect(results(cyc.lines)).toEqual({ node001: 'on', node002: 'on' });
    expect((await pm.query()).node001).toBe('on');
    const reset = await h.run('EMP:RESET:node010');
    expect(results(reset.lines)).toEqual({ node010: 'on' });
  }, 30000);

  it('an unknown plug fails its node only; an unreachable powermand says so; SOFT is refused', async () => {
    const r = await h.run('POWER:OFF:node[005-006],ghost,lonely');
    expect(results(r.lines)).toEqual({ node005: 'off', node006: 'off', ghost: 'ERR_POWERMAN', lonely: 'ERR_POWERMAN' });
    const msg = messages(r.events);
    expect(msg.ghost).toMatch(/has no plug node999; set powerman_plug/);
    expect(msg.lonely).toMatch(/cannot reach powermand at 127\.0\.0\.1:24011: connection refused/);
    expect((await pm.query()).node005).toBe('off');

    const soft = await h.run('POWER:SOFT:node001');
    expect(results(soft.lines)).toEqual({ node001: 'ERR_UNSUPPORTED' });
    expect(messages(soft.events).node001).toBe('the powerman power driver cannot do SOFT; it does ON, OFF, CYCLE, RESET, STATUS');
  }, 30000);

  it('a PDU that powermand cannot reach fails its nodes with powermand\'s reason', async () => {
    const dead = await startPowermand({ port: DEAD_DEVICE_PORT, devices: ['ok[01-16]'], dead: 'gone[1-2]' });
    const h2 = await powerEngine(`
nodes:
  - names: ok[01-02]
    vars: { power: powerman, powerman_server: "127.0.0.1:${DEAD_DEVICE_PORT}" }
  - names: gone[1-2]
    vars: { power: powerman, powerman_server: "127.0.0.1:${DEAD_DEVICE_PORT}" }
`);
    try {
      const r = await h2.run('POWER:ON:ok[01-02],gone[1-2]');
      expect(results(r.lines)).toEqual({ ok01: 'on', ok02: 'on', gone1: 'ERR_POWERMAN', gone2: 'ERR_POWERMAN' });
      expect(messages(r.events).gone1).toMatch(/could not switch plug gone1 on \(dead0: .*\); it is unknown/);
    } finally {
      await h2.close();
      await dead.stop();
    }
  }, 40000);
});
