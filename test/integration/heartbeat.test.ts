/**
 * The heartbeat against real pingers on loopback: nodes come up, an address silenced with nftables
 * goes down (NODE_DOWN), comes back (NODE_UP) when the drop is removed; a pinger that dies is
 * restarted; dispose kills the pingers.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createIcmpModule } from '../../src/backends/icmp/module.js';
import { findBinary } from '../../src/backends/icmp/fping.js';
import type { Heartbeat } from '../../src/backends/icmp/heartbeat.js';
import { SimCluster } from '../../src/backends/sim/cluster.js';
import { createSimModule } from '../../src/backends/sim/module.js';
import type { VacmEvent } from '../../src/protocol/events.js';
import { makeEngine } from '../helpers/engine.js';
import { IcmpDrop, nftUsable } from '../helpers/nft.js';
import { createProviders } from '../../src/backends/providers.js';
import { until } from '../helpers/wait.js';

const SILENCED = '127.0.33.251';
const hasFping = findBinary('fping') !== undefined;
const hasPing = findBinary('ping') !== undefined;
const canDrop = nftUsable();

const yaml = (method: string) => `
cluster: hb
ping: { interval_ms: 200, misses: 2, method: ${method} }
nodes:
  - names: hb[01-03]
    vars: { host: "127.0.31.{n}" }
  - names: hb04
    vars: { host: ${SILENCED} }
  - names: nohost01
  - names: simhb1
    vars: { sim: true }
`;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function start(method: 'fping' | 'ping') {
  let hb: Heartbeat | undefined;
  const sim = new SimCluster({ seed: 3, failureRate: 0 });
  const ctx = await makeEngine({
    yaml: yaml(method),
    modules: [createSimModule(sim), createIcmpModule({ providers: createProviders(sim), onHeartbeat: (h) => (hb = h) })],
    engine: { monitor: true },
  });
  if (!hb) throw new Error('the heartbeat did not start');
  return { ...ctx, hb };
}

const nodeEvents = (events: VacmEvent[], type: 'NODE_UP' | 'NODE_DOWN', node: string) => events.filter((e) => e.type === type && e.node === node);

const drop = new IcmpDrop('heartbeat');
afterAll(() => drop.remove());

describe.skipIf(!hasFping)('heartbeat with fping -l (needs fping: apt-get install fping)', () => {
  it('one long-lived fping covers the real nodes; they come up', async () => {
    const { engine, events, hb } = await start('fping');
    try {
      expect(hb.pids()).toHaveLength(1);
      await until('hb01-04 up', () => ['hb01', 'hb02', 'hb03', 'hb04'].every((n) => engine.node(n)?.state === 'up'));
      expect(nodeEvents(events, 'NODE_UP', 'hb02')).toHaveLength(1);
      expect(events.find((e) => e.type === 'NODE_UP' && e.node === 'hb01')?.tag).toBe('NEXXUS');
      // no host: not covered; the sim node is reported by SIM, not pinged
      expect(engine.node('nohost01')?.state).toBe('unknown');
    } finally {
      await engine.stop();
    }
  });

  it.skipIf(!canDrop)(`a silenced address goes down after the misses and comes back (nft drops echo to ${SILENCED}; skipped when nft is unavailable)`, async () => {
    const { engine, events, hb } = await start('fping');
    try {
      await until('hb04 up', () => engine.node('hb04')?.state === 'up');
      drop.drop([SILENCED]);
      await until('NODE_DOWN hb04', () => nodeEvents(events, 'NODE_DOWN', 'hb04').length === 1);
      const down = nodeEvents(events, 'NODE_DOWN', 'hb04')[0];
      expect(down).toMatchObject({ tag: 'NEXXUS', job: 0, reason: 'no reply to 2 heartbeat pings in a row' });
      expect(engine.node('hb04')?.state).toBe('down');
      expect(engine.node('hb01')?.state).toBe('up');
      drop.remove();
      await until('NODE_UP hb04 again', () => nodeEvents(events, 'NODE_UP', 'hb04').length === 2);
      expect(engine.node('hb04')?.state).toBe('up');
      expect(hb.pids()).toHaveLength(1);
    } finally {
      drop.remove();
      await engine.stop();
    }
  });

  it('a pinger that dies is restarted; dispose kills it', async () => {
    const { engine, hb } = await start('fping');
    let pid = -1;
    try {
      await until('hb01 up', () => engine.node('hb01')?.state === 'up');
      const [first] = hb.pids();
      process.kill(first, 'SIGKILL'); // our own child, by pid
      await until('a new fping', () => hb.pids().length === 1 && hb.pids()[0] !== first);
      expect(hb.restarts()).toBe(1);
      pid = hb.pids()[0];
      expect(alive(pid)).toBe(true);
      // still fed by the new pinger: the nodes stay up
      expect(engine.node('hb01')?.state).toBe('up');
    } finally {
      await engine.stop();
    }
    await until('the fping gone after dispose', () => !alive(pid), 5000);
    expect(hb.pids()).toEqual([]);
  });
});

describe.skipIf(!hasPing)('heartbeat with ping -O per node (needs ping: apt-get install iputils-ping)', () => {
  it('one ping process per address; the nodes come up; dispose kills them all', async () => {
    const { engine, hb } = await start('ping');
    let pids: number[] = [];
    try {
      pids = hb.pids();
      expect(pids).toHaveLength(4);
      await until('hb01-04 up', () => ['hb01', 'hb02', 'hb03', 'hb04'].every((n) => engine.node(n)?.state === 'up'));
      if (canDrop) {
        drop.drop([SILENCED]);
        await until('hb04 down', () => engine.node('hb04')?.state === 'down');
        drop.remove();
        await until('hb04 up again', () => engine.node('hb04')?.state === 'up');
      }
    } finally {
      drop.remove();
      await engine.stop();
    }
    await until('every ping gone after dispose', () => pids.every((p) => !alive(p)), 5000);
  });
});

describe('heartbeat off', () => {
  it('no pingers without monitor (one-shot vacm ipc), nor with ping.enabled: false', async () => {
    let started = false;
    const a = await makeEngine({ yaml: yaml('auto'), modules: [createIcmpModule({ onHeartbeat: () => (started = true) })] });
    await a.engine.stop();
    const b = await makeEngine({
      yaml: yaml('auto').replace('method: auto', 'method: auto, enabled: false'),
      modules: [createIcmpModule({ onHeartbeat: () => (started = true) })],
      engine: { monitor: true },
    });
    await b.engine.stop();
    expect(started).toBe(false);
  });
});

describe('a pinger that cannot start', () => {
  it('is retried with a growing, bounded pause and a warning, and stop() ends the retries', async () => {
    const { Heartbeat } = await import('../../src/backends/icmp/heartbeat.js');
    const warnings: string[] = [];
    const { engine } = await makeEngine({ yaml: yaml('auto'), engine: { log: (level, msg) => level === 'warn' && warnings.push(msg) } });
    const hb = new Heartbeat(engine, { intervalMs: 200, misses: 2, method: 'fping', fpingBin: '/nonexistent/fping', minBackoffMs: 20, maxBackoffMs: 80 });
    try {
      hb.start();
      await until('three restarts', () => hb.restarts() >= 3, 5000);
      expect(warnings[0]).toBe('heartbeat: /nonexistent/fping could not start (spawn /nonexistent/fping ENOENT); restarting in 20 ms');
      expect(warnings.some((w) => w.endsWith('restarting in 80 ms'))).toBe(true);
      expect(warnings.some((w) => w.endsWith('restarting in 160 ms'))).toBe(false); // bounded
    } finally {
      await hb.stop();
      await engine.stop();
    }
    const after = hb.restarts();
    await new Promise((r) => setTimeout(r, 300));
    expect(hb.restarts()).toBe(after);
  });
});
