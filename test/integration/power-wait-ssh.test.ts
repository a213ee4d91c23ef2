/**
 * POWER:CYCLE:…:WAIT=ssh against the real sshd fixture: a power driver whose "cycle" freezes the
 * node's sshd (SIGSTOP: connections hang as on a rebooting machine) and thaws it later, or never.
 * The job ends a node only after its sshd answers again over a new connection (the pooled one from
 * before the cycle proves nothing); a node that never comes back ends with ERR_TIMEOUT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshdAvailable, startSshCluster, type SshCluster } from '../fixtures/sshd.js';
import { tempDir, runJob } from '../helpers/engine.js';
import { Engine } from '../../src/engine/engine.js';
import { parseConfig } from '../../src/engine/config.js';
import { nexxusModule } from '../../src/backends/nexxus.js';
import { SshPool } from '../../src/backends/ssh/pool.js';
import { SimCluster } from '../../src/backends/sim/cluster.js';
import { createSshModule } from '../../src/backends/ssh/module.js';
import { createPowerModules } from '../../src/backends/power/module.js';
import { rolloutModule } from '../../src/backends/rollout/module.js';
import type { PowerDriver } from '../../src/backends/capabilities.js';
import { toLine, type VacmEvent } from '../../src/protocol/events.js';
import { createProviders } from '../../src/backends/providers.js';

const have = sshdAvailable();

describe.skipIf(!have)('POWER:CYCLE:WAIT=ssh against sshd (needs openssh-server)', () => {
  let cluster: SshCluster;
  let engine: Engine;
  let pool: SshPool;
  const frozen = new Set<number>();
  const thawedAt = new Map<string, number>();
  const timers: NodeJS.Timeout[] = [];

  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // gone already
    }
  };

  beforeAll(async () => {
    cluster = await startSshCluster({ count: 3 });
    const pidOf = new Map(cluster.nodes.map((n, i) => [n.name, cluster.pids[i]!]));
    // node01 and node03 come back after 1.5 s, node02 never
    const backAfter: Record<string, number | undefined> = { node01: 1500, node03: 1500 };
    const freezer: PowerDriver = {
      name: 'sim',
      actions: ['on', 'off', 'cycle', 'reset', 'status'],
      async run(action, nodes, { report }) {
        for (const { node } of nodes) {
          const pid = pidOf.get(node)!;
          if (action === 'cycle') {
            signal(pid, 'SIGSTOP');
            frozen.add(pid);
            const after = backAfter[node];
            if (after !== undefined) {
              timers.push(
                setTimeout(() => {
                  thawedAt.set(node, Date.now());
                  signal(pid, 'SIGCONT');
                  frozen.delete(pid);
                }, after),
              );
            }
          }
          report(node, 'on');
        }
      },
    };
    const yaml = cluster.vacmYaml({ top: 'power: { drivers: { sim: { timeout_ms: 6000 } } }' }).replace('    groups: [compute]', '    groups: [compute]\n    vars: { power: sim }');
    pool = new SshPool();
    engine = new Engine({
      config: parseConfig(yaml, 'wait-ssh.yaml'),
      modules: [nexxusModule, createSshModule({ pool, providers: createProviders(new SimCluster({ seed: 1 })) }), ...createPowerModules({ executor: pool, drivers: { sim: freezer }, waitIntervalMs: 200 }), rolloutModule],
      stateDir: tempDir('vacm-wait-ssh-'),
      localName: 'not-a-node',
    });
    await engine.start();
  }, 60000);

  afterAll(async () => {
    for (const t of timers) clearTimeout(t);
    for (const pid of frozen) signal(pid, 'SIGCONT');
    await engine?.stop();
    await pool?.close();
    await cluster?.stop();
  });

  it('ends node01 only after its sshd is back, node02 with ERR_TIMEOUT; node03 untouched', async () => {
    // a pooled connection to every node first: WAIT=ssh must not take it as proof
    const warm = await runJob(engine, `SSH:EXEC:node[01-03]:true`);
    expect(warm.view.failed).toBe(0);

    const seenAt = new Map<string, number>();
    const r = await runJob(engine, 'POWER:CYCLE:node[01-02]:WAIT=ssh', (e: VacmEvent) => {
      if ((e.type === 'POWER' || e.type === 'ERROR') && e.node) seenAt.set(e.node, Date.now());
    });
    const lines = r.events.map(toLine);
    expect(lines.filter((l) => /:(POWER|ERROR):node0[12]:/.test(l)).map((l) => l.split(':').slice(2, 5).join(':')).sort()).toEqual(['ERROR:node02:ERR_TIMEOUT', 'POWER:node01:on']);
    expect(thawedAt.has('node01')).toBe(true);
    expect(seenAt.get('node01')!).toBeGreaterThanOrEqual(thawedAt.get('node01')!);
    const msg = r.events.find((e) => e.type === 'ERROR' && e.node === 'node02');
    expect(msg && 'message' in msg ? msg.message : '').toMatch(/node02: did not answer SSH again within 6000 ms/);
    expect(lines.at(-1)).toMatch(/JOB_COMPLETED:ok=1:failed=1$/);

    const after = await runJob(engine, 'SSH:EXEC:node[01,03]:true');
    expect(after.view.failed).toBe(0);
  }, 60000);

  it('inside a rollout: ROLLOUT:RUN:@compute:16:2:POWER:CYCLE:WAIT=ssh waits per node, and the node that stays away fails', async () => {
    thawedAt.clear();
    const r = await runJob(engine, 'ROLLOUT:RUN:@compute:16:2:POWER:CYCLE:WAIT=ssh');
    expect(r.view.failed).toBe(1);
    expect(r.lines.at(-1)).toMatch(/JOB_COMPLETED:ok=2:failed=1$/);
    expect([...thawedAt.keys()].sort()).toEqual(['node01', 'node03']);
    const after = await runJob(engine, 'SSH:EXEC:node[01,03]:true');
    expect(after.view.failed).toBe(0);
  }, 60000);
});
