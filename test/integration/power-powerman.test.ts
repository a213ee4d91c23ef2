/**
 * POWER through the powerman driver against a real powermand with vpcd (16 plugs), each result
 * checked with `pm -q`.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { powermanAvailable, startPowermand, type Powermand } from '../fixtures/powermand.js';
import { messages, powerEngine, results, type Harness } from '../backends/power/harness.js';
import { createSensorsModule } from '../../src/backends/sensors/module.js';

const have = powermanAvailable();
const PORT = 24010;
const DEAD_DEVICE_PORT = 24012;
const NOBODY_PORT = 24011; // nothing listens here
const PROXY_PORT = 24013;

/** A TCP proxy in front of powermand that keeps a transcript of both directions, per connection. */
async function transcriptProxy(port: number, target: number) {
  const conns: { dir: 'c' | 's'; text: string }[][] = [];
  const server = net.createServer((c) => {
    const log: { dir: 'c' | 's'; text: string }[] = [];
    conns.push(log);
    const up = net.connect({ host: '127.0.0.1', port: target });
    c.on('data', (d) => { log.push({ dir: 'c', text: d.toString() }); up.write(d); });
    up.on('data', (d) => { log.push({ dir: 's', text: d.toString() }); c.write(d); });
    c.on('close', () => up.destroy());
    up.on('close', () => c.destroy());
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { conns, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const plugs = Array.from({ length: 16 }, (_, i) => `node${String(i + 1).padStart(3, '0')}`);
const every = (state: string) => Object.fromEntries(plugs.map((p) => [p, state]));

describe.skipIf(!have)('POWER with the powerman driver against powermand + vpcd (needs powerman)', () => {
  let pm: Powermand;
  let h: Harness;

  beforeAll(async () => {
    pm = await startPowermand({ port: PORT, devices: ['node[001-016]'] });
    h = await powerEngine(`
nodes:
  - names: hack
    vars: { power: powerman, powerman_server: "127.0.0.1:${PORT}", powerman_plug: "node001\\r\\noff node[001-016]" }
  - names: node[001-016]
    vars: { power: powerman, powerman_server: "127.0.0.1:${PORT}" }
  - names: alias16
    vars: { power: powerman, powerman_server: "127.0.0.1:${PORT}", powerman_plug: node016 }
  - names: ghost
    vars: { power: powerman, powerman_server: "127.0.0.1:${PORT}", powerman_plug: node999 }
  - names: lonely
    vars: { power: powerman, powerman_server: "127.0.0.1:${NOBODY_PORT}" }
`, { extra: [createSensorsModule()] });
  }, 30000);

  afterAll(async () => {
    await h?.close();
    await pm?.stop();
  });

  it('IDENTIFY flashes and unflashes the beacon (pm -B agrees); SECONDS is refused, a bad plug fails its node only', async () => {
    const on = await h.run('POWER:IDENTIFY:node[003-004],alias16:on');
    const state = (lines: string[]) => Object.fromEntries(lines.filter((l) => l.includes(':IDENTIFY:')).map((l) => l.split(':').slice(3, 5)));
    expect(state(on.lines)).toEqual({ node003: 'on', node004: 'on', alias16: 'on' });
    expect(await pm.beacons('node[001-004,016]')).toEqual({ node001: 'off', node002: 'off', node003: 'on', node004: 'on', node016: 'on' });
    const off = await h.run('POWER:IDENTIFY:node003:off');
    expect(state(off.lines)).toEqual({ node003: 'off' });
    expect(await pm.beacons('node[003-004]')).toEqual({ node003: 'off', node004: 'on' });
    await h.run('POWER:IDENTIFY:node004,alias16:off');
    expect(await pm.beacons('node[001-016]')).toEqual(every('off'));

    const timed = await h.run('POWER:IDENTIFY:node005:15');
    expect(results(timed.lines)).toEqual({ node005: 'ERR_UNSUPPORTED' });
    expect(messages(timed.events).node005).toMatch(/beacon has no timer; use POWER:IDENTIFY:node005:on, then off/);
    const bad = await h.run('POWER:IDENTIFY:ghost,node006:on');
    expect(results(bad.lines)).toEqual({ ghost: 'ERR_POWERMAN' });
    expect(state(bad.lines)).toEqual({ node006: 'on' });
    await h.run('POWER:IDENTIFY:node006:off');
    // a plug name with a line end would be a second command to powermand: refused before it is sent
    await h.run('POWER:ON:node002');
    const before = await pm.query();
    expect(before.node002).toBe('on');
    for (const line of ['POWER:IDENTIFY:hack:on', 'POWER:STATUS:hack', 'SENSORS:GET:hack']) {
      const hack = await h.run(line);
      expect(results(hack.lines), line).toEqual({ hack: 'ERR_CONFIG' });
      expect(messages(hack.events).hack).toMatch(/powerman_plug "node001\\r\\noff node\[001-016\]" is not one plug name/);
    }
    expect(await pm.query()).toEqual(before);
    expect(await pm.beacons('node[001-016]')).toEqual(every('off'));
    await h.run('POWER:OFF:node002');
  }, 30000);

  it('SENSORS:GET reads the PDU temperatures that pm -t prints, one query per powermand', async () => {
    const truth = await pm.temps();
    expect(Object.keys(truth)).toHaveLength(16);
    const r = await h.run('SENSORS:GET:node[001-016],alias16,ghost,lonely');
    const got: Record<string, string> = {};
    for (const e of r.events) if (e.type === 'SENSOR') got[e.node] = `${e.name}=${e.value} ${e.unit} ${e.status}`;
    const want = Object.fromEntries(plugs.map((p) => [p, `powerman temp=${Number(truth[p]).toFixed(2)} C na`]));
    expect(got).toEqual({ ...want, alias16: want.node016 });
    expect(results(r.lines)).toEqual({ ghost: 'ERR_POWERMAN', lonely: 'ERR_POWERMAN' });
    expect(messages(r.events).ghost).toMatch(/has no plug node999/);
    // a type filter without temperature reads nothing
    const fans = await h.run('SENSORS:GET:node001:fan');
    expect(fans.events.filter((e) => e.type === 'SENSOR')).toEqual([]);
  }, 30000);

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

  it('speaks the protocol as powermand wants: one connection, every plug folded in one command, a prompt before each line', async () => {
    const proxy = await transcriptProxy(PROXY_PORT, PORT);
    const h2 = await powerEngine(`nodes: [{ names: "node[001-016]", vars: { power: powerman, powerman_server: "127.0.0.1:${PROXY_PORT}" } }]`);
    try {
      const r = await h2.run('POWER:ON:node[001-016]');
      expect(results(r.lines)).toEqual(every('on'));
    } finally {
      await h2.close();
      await proxy.close();
    }
    expect(proxy.conns).toHaveLength(1);
    const log = proxy.conns[0];
    const sent = log.filter((x) => x.dir === 'c').map((x) => x.text).join('');
    expect(sent).toBe('exprange\r\non node[001-016]\r\nstatus node[001-016]\r\nquit\r\n');
    // every line went out after the server's prompt
    let fromServer = '';
    for (const x of log) {
      if (x.dir === 's') fromServer += x.text;
      else expect(fromServer.endsWith('powerman> ')).toBe(true);
    }
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
