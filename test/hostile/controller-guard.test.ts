/**
 * The controller guard by address (issue 10, item 14): a node named otherwise whose `host` is this
 * machine (any loopback address, an interface address, `localhost`, this hostname — in any
 * spelling the resolver accepts) or whose `bmc_host` this machine serves is refused OFF, CYCLE,
 * RESET and SOFT without FORCE. BMCs on 127.x aliases (ipmi_sim in the tests) and `power: sim`
 * nodes are not this machine.
 */
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalHost, guardRefusal, guardedBecause, isThisMachine, type PowerActionName, type ThisMachine } from '../../src/protocol/power.js';
import { thisMachine } from '../../src/platform/this-machine.js';
import type { PowerDriver } from '../../src/backends/capabilities.js';
import { SimCluster } from '../../src/backends/sim/cluster.js';
import { messages, powerEngine, results, type Harness } from '../backends/power/harness.js';
import { createProviders } from '../../src/backends/providers.js';

const SELF: ThisMachine = { addresses: new Set(['127.0.0.1', '::1', '10.1.0.1', 'fe80::1', '2001:db8::7']), names: new Set(['head01', 'head01.lab.example']) };

describe('canonicalHost: the spellings the resolver accepts', () => {
  it.each([
    ['127.0.0.1', 'ipv4', '127.0.0.1'],
    ['127.1', 'ipv4', '127.0.0.1'],
    ['2130706433', 'ipv4', '127.0.0.1'],
    ['0x7f.0.0.1', 'ipv4', '127.0.0.1'],
    ['0177.0.0.1', 'ipv4', '127.0.0.1'],
    [' 10.1.0.1 ', 'ipv4', '10.1.0.1'],
    ['[::1]', 'ipv6', '::1'],
    ['0:0:0:0:0:0:0:1', 'ipv6', '::1'],
    ['::ffff:127.0.0.1', 'ipv6', '::ffff:7f00:1'],
    ['FE80::1%eth0', 'ipv6', 'fe80::1'],
    ['HEAD01.', 'name', 'head01'],
    ['node01', 'name', 'node01'],
  ])('%j → %s %s', (raw, kind, value) => {
    expect(canonicalHost(raw)).toEqual({ kind, value });
  });
});

describe('isThisMachine and guardedBecause (pure)', () => {
  it.each([
    ['127.0.0.1', true, true],
    ['127.1', true, true],
    ['2130706433', true, true],
    ['127.0.10.5', true, false], // a loopback alias: this kernel for a host, a simulated BMC for bmc_host
    ['::1', true, true],
    ['[0:0:0:0:0:0:0:1]', true, true],
    ['::ffff:127.0.0.1', true, true],
    ['::ffff:127.0.20.1', true, false],
    ['0.0.0.0', true, true],
    ['::', true, true],
    ['10.1.0.1', true, true],
    ['fe80::1%lo', true, true],
    ['2001:db8::7', true, true],
    ['localhost', true, true],
    ['LocalHost.', true, true],
    ['ip6-localhost', true, true],
    ['x.localhost', true, true],
    ['head01', true, true],
    ['HEAD01.lab.example', true, true],
    ['head01.other.example', false, false], // no DNS: another domain's head01 is another machine
    ['10.1.0.2', false, false],
    ['node01', false, false],
    ['', false, false],
  ])('%j: as host %s, as bmc_host %s', (h, asHost, asBmc) => {
    expect(isThisMachine(h, SELF, true)).toBe(asHost);
    expect(isThisMachine(h, SELF, false)).toBe(asBmc);
  });

  it.each([
    [{ host: '127.0.0.1', power: 'ipmi' }, 'host'],
    [{ host: 'localhost', power: 'ssh' }, 'host'],
    [{ host: '127.0.10.9', power: 'ssh' }, 'host'],
    [{ host: '10.9.9.9', bmc_host: '10.1.0.1', power: 'ipmi' }, 'bmc_host'],
    [{ bmc_host: '127.0.0.1', power: 'ipmi' }, 'bmc_host'],
    [{ bmc_host: '127.0.20.4', power: 'ipmi' }, undefined], // ipmi_sim on an alias
    [{ host: '127.0.0.1', power: 'sim' }, undefined], // the sim driver switches nothing real
    [{ host: '10.9.9.9', bmc_host: '10.9.9.10', power: 'ipmi' }, undefined],
    [{ host: '127.0.0.1', power: 'ipmi', controller: 'true' }, 'controller'],
  ])('%j → %s', (vars, why) => {
    expect(guardedBecause({ name: 'node17', vars }, 'head01', SELF)).toBe(why);
  });

  it('says which address made it this machine, and how to go ahead', () => {
    expect(guardRefusal({ name: 'node17', vars: { host: '127.1', power: 'ipmi' } }, 'off', { self: SELF })).toBe(
      'refused: node17 is the machine vacm runs on (its host 127.1 is this machine), and OFF would take down the machine that controls the cluster; end the request with :FORCE (e.g. POWER:OFF:node17:FORCE) if you mean it',
    );
    expect(guardRefusal({ name: 'node18', vars: { bmc_host: '10.1.0.1', power: 'ipmi' } }, 'cycle', { self: SELF })).toMatch(/^refused: node18 is powered through a BMC that this machine serves \(bmc_host 10\.1\.0\.1\), and CYCLE/);
    expect(guardRefusal({ name: 'node17', vars: { host: '127.1', power: 'ipmi' } }, 'off', { self: SELF, force: true })).toBeUndefined();
    expect(guardRefusal({ name: 'node17', vars: { host: '127.1', power: 'ipmi' } }, 'on', { self: SELF })).toBeUndefined();
  });

  it('thisMachine() reads this machine: its loopback address and its hostname', () => {
    const me = thisMachine();
    expect(me.addresses.has('127.0.0.1')).toBe(true);
    expect(me.names.has(os.hostname().toLowerCase())).toBe(true);
    expect(isThisMachine(os.hostname(), me, true)).toBe(true);
  });
});

/** A driver that records which nodes it was asked to switch. */
function spyDriver(name: string): { driver: PowerDriver; switched: string[] } {
  const switched: string[] = [];
  const driver: PowerDriver = {
    name,
    actions: ['on', 'off', 'cycle', 'reset', 'soft', 'status'] as PowerActionName[],
    async run(action, nodes, { report }) {
      for (const n of nodes) {
        if (action !== 'status') switched.push(n.node);
        report(n.node, action === 'on' ? 'on' : 'off');
      }
    },
  };
  return { driver, switched };
}

describe('POWER refuses nodes that are this machine by address (the real module, this machine read from the OS)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  const external = Object.values(os.networkInterfaces()).flat().find((a) => a && !a.internal && a.family === 'IPv4')?.address;

  it('OFF, CYCLE, RESET, SOFT are ERR_CONTROLLER; FORCE runs them; ON and STATUS are not guarded', async () => {
    const ipmi = spyDriver('ipmi');
    const ssh = spyDriver('ssh');
    const guarded = {
      lo: { host: '127.0.0.1', power: 'ipmi', bmc_host: '10.77.0.1' },
      short: { host: '127.1', power: 'ipmi', bmc_host: '10.77.0.2' },
      mapped: { host: '::ffff:127.0.0.1', power: 'ssh' },
      v6: { host: '[::1]', power: 'ssh' },
      alias: { host: '127.0.10.77', power: 'ssh' },
      named: { host: os.hostname(), power: 'ipmi', bmc_host: '10.77.0.3' },
      localhost: { host: 'localhost', power: 'ssh' },
      bmclo: { power: 'ipmi', bmc_host: '127.0.0.1' },
      ...(external ? { iface: { host: external, power: 'ssh' }, bmciface: { power: 'ipmi', bmc_host: external } } : {}),
    };
    const free = {
      rack1: { host: '10.77.1.1', power: 'ipmi', bmc_host: '10.77.2.1' },
      simbmc: { power: 'ipmi', bmc_host: '127.0.20.77' },
      simnode: { host: '127.0.0.1', power: 'sim' },
    };
    const entries = Object.entries({ ...guarded, ...free }).map(([name, vars]) => `  - names: ${name}\n    vars: ${JSON.stringify(vars)}`);
    h = await powerEngine(`nodes:\n${entries.join('\n')}\n`, { drivers: { ipmi: ipmi.driver, ssh: ssh.driver }, providers: createProviders(new SimCluster({ delayScale: 0, failureRate: 0 })) });
    const all = Object.keys({ ...guarded, ...free }).join(',');
    for (const action of ['OFF', 'CYCLE', 'RESET', 'SOFT']) {
      ipmi.switched.length = 0;
      ssh.switched.length = 0;
      const r = await h.run(`POWER:${action}:${all}`);
      const res = results(r.lines);
      for (const n of Object.keys(guarded)) {
        expect(res[n], `${action} ${n}`).toBe('ERR_CONTROLLER');
        expect(messages(r.events)[n]).toMatch(new RegExp(`^refused: ${n} is .*:FORCE \\(e\\.g\\. POWER:${action}:${n}:FORCE\\)`));
      }
      for (const n of Object.keys(free)) expect(res[n], `${action} ${n}`).not.toBe('ERR_CONTROLLER');
      expect([...ipmi.switched, ...ssh.switched].sort()).toEqual(['rack1', 'simbmc']);
    }
    const forced = await h.run(`POWER:OFF:${Object.keys(guarded).join(',')}:FORCE`);
    expect(Object.values(results(forced.lines)).every((x) => x === 'off')).toBe(true);
    const on = await h.run(`POWER:ON:${Object.keys(guarded).join(',')}`);
    expect(Object.values(results(on.lines)).every((x) => x === 'on')).toBe(true);
  });
});
