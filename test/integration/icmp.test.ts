/**
 * ICMP_ECHO against real pings on loopback: 127.0.30.x answer on lo; 127.0.33.250 is made silent
 * with a private nftables table that drops ICMP echo requests to it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIcmpModule } from '../../src/backends/icmp/module.js';
import { findBinary } from '../../src/backends/icmp/fping.js';
import { SimCluster } from '../../src/backends/sim/cluster.js';
import { createSimModule } from '../../src/backends/sim/module.js';
import type { PingMethod } from '../../src/backends/icmp/config.js';
import { makeEngine, run, tempDir } from '../helpers/engine.js';
import { IcmpDrop, nftUsable } from '../helpers/nft.js';
import { createProviders } from '../../src/backends/providers.js';

const DEAD = '127.0.33.250';
const DEAD2 = '127.0.33.249';
const hasFping = findBinary('fping') !== undefined;
const hasPing = findBinary('ping') !== undefined;
const canDrop = nftUsable();

const yaml = (extra = '') => `
cluster: reach
fanout: 16
ping: { timeout_ms: 300${extra} }
nodes:
  - names: r[01-08]
    vars: { host: "127.0.30.{n}" }
  - names: dead01
    vars: { host: ${DEAD} }
  - names: dead02
    vars: { host: ${DEAD2} }
  - names: bogus01
    vars: { host: nosuch.invalid }
  - names: sim[1-2]
    vars: { sim: true }
`;

/** an fping that logs each of its runs, so a test can count the processes */
function countingFping(): { bin: string; runs: () => number } {
  const dir = tempDir('vacm-fping-');
  const log = path.join(dir, 'runs.log');
  const bin = path.join(dir, 'fping');
  fs.writeFileSync(bin, `#!/bin/sh\necho run >> '${log}'\nexec '${findBinary('fping')}' "$@"\n`, { mode: 0o755 });
  return { bin, runs: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').length : 0) };
}

async function setup(method: PingMethod, opts: { fpingBin?: string; extraYaml?: string } = {}) {
  const sim = new SimCluster({ seed: 7, failureRate: 0, delayScale: 0 });
  const ctx = await makeEngine({ yaml: yaml(opts.extraYaml), modules: [createSimModule(sim), createIcmpModule({ providers: createProviders(sim), method, fpingBin: opts.fpingBin })] });
  sim.fail('sim2', 600_000);
  return { ...ctx, sim };
}

const drop = new IcmpDrop('icmp');
beforeAll(() => {
  if (canDrop) drop.drop([DEAD, DEAD2]);
});
afterAll(() => drop.remove());

describe.each([
  ['fping', hasFping, 'needs fping: apt-get install fping'],
  ['ping', hasPing, 'needs ping: apt-get install iputils-ping'],
] as const)('ICMP_ECHO:PING with %s', (method, available, why) => {
  describe.skipIf(!available)(`(${why})`, () => {
    it('every answering node is up with its round-trip time; sim nodes answer through the SimCluster', async () => {
      const { engine } = await setup(method);
      try {
        const lines = await run(engine, 'ICMP_ECHO:PING:r[01-08],sim[1-2]');
        expect(lines[0]).toBe('ICMP_ECHO:1:JOB_STARTED');
        for (let i = 1; i <= 8; i++) expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^ICMP_ECHO:1:PING:r0${i}:up:\\d+\\.\\d+ms$`)));
        expect(lines).toContainEqual(expect.stringMatching(/^ICMP_ECHO:1:PING:sim1:up:\d+\.\d+ms$/));
        expect(lines).toContain('ICMP_ECHO:1:PING:sim2:down:no reply (simulated node not answering)');
        expect(lines.at(-1)).toBe('ICMP_ECHO:1:JOB_COMPLETED:ok=9:failed=1');
        expect(engine.node('r05')?.state).toBe('up');
        expect(engine.node('sim2')?.state).toBe('down');
      } finally {
        await engine.stop();
      }
    });

    it.skipIf(!canDrop)(`a node that does not answer is down within the timeout (nft drops echo to ${DEAD}; skipped when nft is unavailable)`, async () => {
      const { engine, events } = await setup(method);
      try {
        const t0 = Date.now();
        const lines = await run(engine, 'ICMP_ECHO:PING:dead01,r01');
        expect(Date.now() - t0).toBeLessThan(10_000); // does not hang: 300 ms timeout plus process start
        expect(lines).toContain('ICMP_ECHO:1:PING:dead01:down:no reply to 1 ping within 300 ms');
        expect(lines).toContainEqual(expect.stringMatching(/^ICMP_ECHO:1:PING:r01:up:/));
        expect(lines.at(-1)).toBe('ICMP_ECHO:1:JOB_COMPLETED:ok=1:failed=1');
        expect(engine.node('dead01')?.state).toBe('down');
        expect(engine.node('dead01')?.stateReason).toBe('no reply to 1 ping within 300 ms');
        expect(events.some((e) => e.type === 'PING' && e.node === 'dead01' && e.state === 'down')).toBe(true);
      } finally {
        await engine.stop();
      }
    });

    it('an address that cannot be resolved is an ERR_PING error naming it', async () => {
      const { engine } = await setup(method);
      try {
        const lines = await run(engine, 'ICMP_ECHO:PING:bogus01');
        expect(lines).toContainEqual(expect.stringMatching(/^ICMP_ECHO:1:ERROR:bogus01:ERR_PING:cannot resolve nosuch\.invalid.*; set the node's host variable to an address or a resolvable name$/));
        expect(lines.at(-1)).toBe('ICMP_ECHO:1:JOB_COMPLETED:ok=0:failed=1');
      } finally {
        await engine.stop();
      }
    });

    it('a host that looks like an option is refused, never handed to the pinger', async () => {
      const { engine } = await setup(method);
      try {
        engine.setVar('r08', 'host', '-f/etc/passwd');
        const lines = await run(engine, 'ICMP_ECHO:PING:r[07-08]');
        expect(lines).toContain('ICMP_ECHO:1:ERROR:r08:ERR_PING:"-f/etc/passwd" is not an address or host name; set the node\'s host variable to one');
        expect(lines).toContainEqual(expect.stringMatching(/^ICMP_ECHO:1:PING:r07:up:/));
        expect(lines.at(-1)).toBe('ICMP_ECHO:1:JOB_COMPLETED:ok=1:failed=1');
      } finally {
        await engine.stop();
      }
    });

    it.skipIf(!canDrop)('cancelling a sweep that waits on a silent node ends it at once (skipped when nft is unavailable)', async () => {
      const { engine } = await setup(method);
      try {
        const h = engine.submit('ICMP_ECHO:PING:dead01:1:8000');
        await new Promise((r) => setTimeout(r, 300));
        const t0 = Date.now();
        h.cancel();
        const view = await h.done;
        expect(view.state).toBe('cancelled');
        expect(Date.now() - t0).toBeLessThan(5000); // not the 8 s timeout
      } finally {
        await engine.stop();
      }
    });

    it('count and timeout_ms arguments: three pings each, still up', async () => {
      const { engine } = await setup(method);
      try {
        const lines = await run(engine, 'ICMP_ECHO:PING:r[01-02]:3:500');
        expect(lines.filter((l) => /:PING:r0[12]:up:/.test(l))).toHaveLength(2);
        expect(lines.at(-1)).toBe('ICMP_ECHO:1:JOB_COMPLETED:ok=2:failed=0');
      } finally {
        await engine.stop();
      }
    });
  });
});

describe.skipIf(!hasFping)('fping sweeps (needs fping: apt-get install fping)', () => {
  it('the whole node set goes to ONE fping process', async () => {
    const f = countingFping();
    const { engine } = await setup('fping', { fpingBin: f.bin });
    try {
      const lines = await run(engine, 'ICMP_ECHO:PING:r[01-08]');
      expect(lines.at(-1)).toBe('ICMP_ECHO:1:JOB_COMPLETED:ok=8:failed=0');
      expect(f.runs()).toBe(1);
    } finally {
      await engine.stop();
    }
  });

  it('ping.batch splits a sweep: one process (one bulk-lane slot) per batch', async () => {
    const f = countingFping();
    const { engine } = await setup('fping', { fpingBin: f.bin, extraYaml: ', batch: 3' });
    try {
      const lines = await run(engine, 'ICMP_ECHO:PING:r[01-08]');
      expect(lines.filter((l) => l.includes(':PING:'))).toHaveLength(8);
      expect(lines.at(-1)).toBe('ICMP_ECHO:1:JOB_COMPLETED:ok=8:failed=0');
      expect(f.runs()).toBe(3);
    } finally {
      await engine.stop();
    }
  });

  it.skipIf(!canDrop)('a sweep holds one bulk-lane slot: with fanout 2 a small bulk job started during it is not held up (skipped when nft is unavailable)', async () => {
    const sim = new SimCluster({ seed: 9, failureRate: 0, delayScale: 0 });
    const { engine, events } = await makeEngine({
      yaml: yaml().replace('fanout: 16', 'fanout: 2'),
      modules: [createSimModule(sim), createIcmpModule({ providers: createProviders(sim), method: 'fping' })],
    });
    try {
      // two silent nodes: one slot per node would block both slots of fanout 2 for 1.5 s
      const sweep = engine.submit('ICMP_ECHO:PING:dead[01-02],r[01-04]:1:1500');
      await new Promise((r) => setTimeout(r, 300));
      const small = engine.submit('ICMP_ECHO:PING:sim[1-2]');
      await Promise.all([sweep.done, small.done]);
      const seen = events.filter((e) => (e.job === small.id && e.type === 'JOB_COMPLETED') || (e.job === sweep.id && e.type === 'PING' && e.state === 'down')).map((e) => (e.type === 'PING' ? e.node : 'small done'));
      expect(seen).toEqual(['small done', 'dead01', 'dead02']);
      expect((await small.done).ok).toBe(2);
      expect((await sweep.done).ok).toBe(4);
    } finally {
      await engine.stop();
    }
  });

  it('bad arguments refuse the job with ERR_BAD_ARGS and the usage', async () => {
    const { engine } = await setup('fping');
    try {
      const lines = await run(engine, 'ICMP_ECHO:PING:r01:many');
      expect(lines).toContain('ICMP_ECHO:1:ERROR:r01:ERR_BAD_ARGS:count must be a whole number from 1 to 100, not "many" (ICMP_ECHO\\:PING\\:nodes[\\:count[\\:timeout_ms]])');
      expect(lines.at(-1)).toMatch(/^ICMP_ECHO:1:JOB_FAILED:ERR_BAD_ARGS:/);
    } finally {
      await engine.stop();
    }
  });
});

describe.skipIf(!hasPing)('the ping package never leaks LANG into vacm (needs ping: apt-get install iputils-ping)', () => {
  it.each([
    ['set', 'xx_TEST.UTF-8'],
    ['unset', undefined],
  ])('LANG %s before a sweep is the same after it', async (_label, lang) => {
    const before = process.env.LANG;
    if (lang === undefined) delete process.env.LANG;
    else process.env.LANG = lang;
    const { engine } = await setup('ping');
    try {
      const lines = await run(engine, 'ICMP_ECHO:PING:r[01-04]');
      expect(lines.at(-1)).toBe('ICMP_ECHO:1:JOB_COMPLETED:ok=4:failed=0');
      expect(process.env.LANG).toBe(lang);
      expect('LANG' in process.env).toBe(lang !== undefined);
    } finally {
      await engine.stop();
      if (before === undefined) delete process.env.LANG;
      else process.env.LANG = before;
    }
  });
});
