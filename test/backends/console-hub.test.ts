/** The engine's consoles: one connection per node, one writer at a time, FORCE takes it over. */
import { describe, expect, it } from 'vitest';
import { ConsoleHub } from '../../src/backends/console/hub.js';
import { CONSOLE_DEFAULTS } from '../../src/backends/console/settings.js';
import type { ConsoleConnection, ConsoleDriver } from '../../src/backends/console/driver.js';
import { tempDir } from '../helpers/engine.js';

function fake() {
  let opens = 0;
  const written: string[] = [];
  const driver: ConsoleDriver = {
    name: 'ipmi',
    async open() {
      opens++;
      let end!: (e: undefined) => void;
      const ended = new Promise<undefined>((r) => (end = r));
      const c: ConsoleConnection = { write: (d) => void written.push(d.toString()), sendBreak: () => undefined, drained: async () => undefined, ended, close: async () => end(undefined) };
      return c;
    },
  };
  return { driver, written, opens: () => opens };
}

describe('console hub', () => {
  it('a second operator watches read-only; with force they type and the first reads only', async () => {
    const f = fake();
    const hub = new ConsoleHub({ drivers: { ipmi: f.driver }, vars: () => ({ console: 'ipmi' }), settings: CONSOLE_DEFAULTS, stateDir: tempDir() });
    const alice = await hub.attach('n1');
    const bob = await hub.attach('n1');
    expect(f.opens()).toBe(1); // one connection, shared
    expect(alice.readOnly).toBe(false);
    expect(bob.readOnly).toBe(true);
    expect(() => bob.write(Buffer.from('x'))).toThrow(/being typed on by another operator; you are watching read-only/);
    alice.write(Buffer.from('a'));
    const roles: boolean[] = [];
    alice.onRole((ro) => roles.push(ro));
    const carol = await hub.attach('n1', { force: true });
    expect(carol.readOnly).toBe(false);
    expect(alice.readOnly).toBe(true);
    expect(roles).toEqual([true]);
    carol.write(Buffer.from('c'));
    expect(f.written).toEqual(['a', 'c']);
    await carol.release();
    await bob.release();
    await alice.release();
    await hub.dispose();
  });

  it('a node without a console is ERR_UNSUPPORTED naming the variable', async () => {
    const f = fake();
    const hub = new ConsoleHub({ drivers: { ipmi: f.driver }, vars: () => ({}), settings: CONSOLE_DEFAULTS, stateDir: tempDir() });
    await expect(hub.acquire('n2')).rejects.toThrow(/n2 has no serial console: set its console variable to ipmi/);
    expect(f.opens()).toBe(0);
    await hub.dispose();
  });
});
