import { describe, expect, it } from 'vitest';
import { POWER_DRIVER_ACTIONS, POWER_DRIVER_EXTRAS, driverCommands, guardRefusal, guardedBecause, powerCapability } from '../../src/protocol/power.js';
import { createSimDriver } from '../../src/backends/sim/power-driver.js';
import { createIpmiDriver } from '../../src/backends/power/drivers/ipmi.js';
import { createPowermanDriver } from '../../src/backends/power/drivers/powerman.js';
import { createLibvirtDriver } from '../../src/backends/power/drivers/libvirt.js';
import { createSshDriver } from '../../src/backends/power/drivers/ssh.js';
import { SimCluster } from '../../src/backends/sim/cluster.js';

describe('power capabilities (pure)', () => {
  it('every driver does what the table says (the UI offers from the table)', () => {
    const drivers = [
      createSimDriver(new SimCluster()),
      createIpmiDriver(),
      createPowermanDriver(),
      createLibvirtDriver(),
      createSshDriver({ run: async () => ({ stdout: '', stderr: '', code: 0 }) }),
    ];
    for (const d of drivers) expect([...d.actions].sort(), d.name).toEqual([...POWER_DRIVER_ACTIONS[d.name as keyof typeof POWER_DRIVER_ACTIONS]].sort());
    // identify and boot device: the table says which drivers have the methods
    for (const d of drivers) {
      const has = [...(d.identify ? ['identify'] : []), ...(d.bootDevice ? ['bootdev'] : [])];
      expect(has, d.name).toEqual([...POWER_DRIVER_EXTRAS[d.name as keyof typeof POWER_DRIVER_EXTRAS]]);
    }
  });

  it('BOOT is offered where the driver has STATUS, ON and RESET; the extras by driver', () => {
    expect(driverCommands('powerman', POWER_DRIVER_ACTIONS.powerman)).toEqual(['on', 'off', 'cycle', 'reset', 'status', 'boot', 'identify']);
    expect(driverCommands('ssh', POWER_DRIVER_ACTIONS.ssh)).toEqual(['soft', 'reset', 'status']);
    expect(driverCommands('libvirt', POWER_DRIVER_ACTIONS.libvirt)).toContain('bootdev');
    expect(driverCommands(undefined, [])).toEqual([]);
  });

  it.each([
    [{ power: 'ipmi' }, 'ipmi', 6, undefined],
    [{ power: 'ssh' }, 'ssh', 3, undefined],
    [{ power: 'none' }, undefined, 0, /power: none; set power to one of/],
    [{}, undefined, 0, /no power variable/],
    [{ power: 'toaster' }, undefined, 0, /power: toaster, which is no driver/],
  ])('%j', (vars, driver, n, reason) => {
    const c = powerCapability(vars);
    expect(c.driver).toBe(driver);
    expect(c.actions).toHaveLength(n);
    if (reason) expect(c.reason).toMatch(reason);
    else expect(c.reason).toBeUndefined();
  });

  it.each([
    ['controller: true', { name: 'h', vars: { controller: 'true' } }, 'off', {}, 'controller'],
    ['controller: yes', { name: 'h', vars: { controller: 'yes' } }, 'soft', {}, 'controller'],
    ['controller: false', { name: 'h', vars: { controller: 'false' } }, 'off', {}, undefined],
    ['local view', { name: 'h', vars: {}, local: true }, 'cycle', {}, 'local'],
    ['local by name', { name: 'me', vars: {} }, 'reset', { localName: 'me' }, 'local'],
    ['ON is never guarded', { name: 'h', vars: { controller: 'true' } }, 'on', {}, undefined],
    ['STATUS is never guarded', { name: 'h', vars: { controller: 'true' } }, 'status', {}, undefined],
    ['FORCE', { name: 'h', vars: { controller: 'true' } }, 'off', { force: true }, undefined],
    ['other node', { name: 'n1', vars: {} }, 'off', { localName: 'me' }, undefined],
  ] as const)('guard: %s', (_n, node, action, opts, why) => {
    const msg = guardRefusal(node, action, opts);
    if (why === undefined) expect(msg).toBeUndefined();
    else {
      expect(guardedBecause(node, (opts as { localName?: string }).localName)).toBe(why);
      expect(msg).toContain(why === 'local' ? 'the machine vacm runs on' : 'controller: true');
      expect(msg).toContain(`:FORCE (e.g. POWER:${action.toUpperCase()}:${node.name}:FORCE)`);
    }
  });
});
