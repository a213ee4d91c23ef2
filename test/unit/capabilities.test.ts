/**
 * Simulation is a capability, not a branch (issue 12 item 1): one resolver (createProviders) picks the
 * simulated pinger, stats source, shell and power driver for `sim` nodes and none for the others,
 * and no production module asks whether a node is simulated.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createProviders } from '../../src/backends/providers.js';
import { REAL_PROVIDERS } from '../../src/backends/capabilities.js';
import { SimCluster } from '../../src/backends/sim/cluster.js';
import { createBackends } from '../../src/backends/index.js';
import { Engine } from '../../src/engine/engine.js';
import { parseConfig } from '../../src/engine/config.js';
import { run, tempDir } from '../helpers/engine.js';

const signal = new AbortController().signal;

function cluster() {
  const sim = new SimCluster({ seed: 7, delayScale: 0, failureRate: 0 });
  sim.add('s1', { power: 'on' });
  return sim;
}

describe('createProviders: the one place a node is simulated or real', () => {
  it.each(['true', 'yes', '1', 'on', 'ON', ' On '])('sim: %j gets the simulated capabilities', async (v) => {
    const p = createProviders(cluster());
    const caps = p.of('s1', { sim: v });
    expect(caps.selfReporting).toBe(true);
    expect(await caps.pinger!.ping('s1')).toMatchObject({ state: 'up', rttMs: expect.any(Number) });
    expect(await caps.stats!.read('s1', signal)).toMatchObject({ os: 'SimLinux 1.0' });
    const lines: string[] = [];
    const exit = await caps.shell!.exec('s1', { sim: v }, 'hostname', { signal, onLine: (_s, l) => lines.push(l) });
    expect({ exit, lines }).toEqual({ exit: { code: 0 }, lines: ['s1'] });
  });

  it.each([undefined, 'false', 'no', '0', 'off', 'sometimes'])('sim: %j is reached for real (nothing stands in)', (v) => {
    const p = createProviders(cluster());
    const caps = p.of('s1', v === undefined ? { host: '127.0.0.1' } : { sim: v });
    expect(caps).toEqual({ selfReporting: false });
  });

  it('a sim node that is not in the simulated cluster: PING and GET say so, SSH is tried for real', async () => {
    const caps = createProviders(cluster()).of('late', { sim: 'true' });
    expect(caps.selfReporting).toBe(true);
    expect(caps.shell).toBeUndefined();
    await expect(caps.pinger!.ping('late')).rejects.toMatchObject({ code: 'ERR_PING', message: 'late is marked sim: true but is not in the simulated cluster' });
    await expect(caps.stats!.read('late', signal)).rejects.toMatchObject({ code: 'ERR_STAT', message: 'late is not answering (simulated node down or off)' });
  });

  it('a failed simulated node answers no ping, no stats and refuses commands', async () => {
    const sim = cluster();
    sim.fail('s1');
    const caps = createProviders(sim).of('s1', { sim: 'on' });
    expect(await caps.pinger!.ping('s1')).toEqual({ state: 'down', reason: 'no reply (simulated node not answering)' });
    await expect(caps.stats!.read('s1', signal)).rejects.toMatchObject({ code: 'ERR_STAT' });
    await expect(caps.shell!.exec('s1', {}, 'true', { signal, onLine: () => {} })).rejects.toMatchObject({ code: 'ERR_SSH_REFUSED' });
  });

  it('adds the sim power driver by name, and no other', () => {
    const p = createProviders(cluster());
    expect(p.powerDriver('sim')?.name).toBe('sim');
    expect(p.powerDriver('ipmi')).toBeUndefined();
    expect(REAL_PROVIDERS.powerDriver('sim')).toBeUndefined();
    expect(REAL_PROVIDERS.of('s1', { sim: 'true' })).toEqual({ selfReporting: false });
  });
});

describe('the built-in modules, wired with the one resolver', () => {
  it('answer a `sim: On` node from the simulated cluster: EXEC, PING, GET and POWER', async () => {
    const backends = createBackends({ simSeed: 5 });
    const stateDir = tempDir();
    const engine = new Engine({ config: parseConfig('nodes:\n  - names: s[1-2]\n    vars: { sim: "On", power: sim }\n', 'test.yaml'), modules: backends.modules, stateDir, localName: 'vacm-test-host' });
    await engine.start();
    // a response line without its TAG:job: head
    const ask = async (line: string) => (await run(engine, line)).map((l) => l.replace(/^[A-Z_]+:\d+:/, ''));
    try {
      expect(await ask('SSH:EXEC:s1:hostname')).toEqual(expect.arrayContaining(['OUTPUT:s1:stdout:s1', 'EXIT:s1:0']));
      expect((await ask('ICMP_ECHO:PING:s[1-2]')).filter((l) => l.startsWith('PING:'))).toEqual([expect.stringMatching(/^PING:s[12]:up:/), expect.stringMatching(/^PING:s[12]:up:/)]);
      expect(await ask('SYSSTAT:GET:s2')).toEqual(expect.arrayContaining([expect.stringMatching(/^STAT:s2:.*os=SimLinux 1\.0/)]));
      expect(await ask('POWER:STATUS:s1')).toEqual(expect.arrayContaining(['POWER:s1:on']));
      expect(await ask('LOG:FOLLOW:s1:sshd')).toEqual(expect.arrayContaining([expect.stringMatching(/^ERROR:s1:ERR_UNSUPPORTED:simulated nodes keep no logs to follow/)]));
    } finally {
      await engine.stop();
      await backends.dispose();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});

const SRC = path.resolve(__dirname, '../../src');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.tsx?$/.test(e.name) ? [path.relative(SRC, p)] : [];
  });
}

describe('no production module branches on simulation', () => {
  const files = sources(SRC);

  it('reads the whole source tree', () => {
    expect(files).toContain('backends/icmp/module.ts');
    expect(files.length).toBeGreaterThan(100);
  });

  it('only the resolver, the sim backend and the boolean reader itself call isSimNode (the UI spares SSH:USERS a job number with it)', () => {
    const allowed = (f: string) => f.startsWith('backends/sim/') || ['backends/providers.ts', 'protocol/vars.ts', 'ui/ui-engine.ts'].includes(f);
    const callers = files.filter((f) => /\bisSimNode\b/.test(fs.readFileSync(path.join(SRC, f), 'utf8')));
    expect(callers.filter((f) => !allowed(f))).toEqual([]);
  });

  it('only the wiring (backends/index.ts, providers.ts) and the demo setup import the sim backend', () => {
    const importsSim = /from\s+'[./]*(?:backends\/)?sim\/[^']*'/;
    const allowed = (f: string) => f.startsWith('backends/sim/') || ['backends/index.ts', 'backends/providers.ts', 'cli/setup.ts'].includes(f);
    const importers = files.filter((f) => importsSim.test(fs.readFileSync(path.join(SRC, f), 'utf8')));
    expect(importers.filter((f) => !allowed(f))).toEqual([]);
    expect(importers).toContain('backends/providers.ts');
  });
});
