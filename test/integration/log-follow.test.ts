/**
 * LOG:FOLLOW against a real OpenSSH cluster on loopback (test/fixtures/sshd.ts): lines appended to a
 * file on 4 nodes arrive as OUTPUT within a second or so, and cancelling the job leaves no `tail`
 * running under the nodes' sshds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { processesUnder, sshdAvailable, startSshCluster, type SshCluster } from '../fixtures/sshd.js';
import { closeEngine, openEngine, type Harness } from '../helpers/ssh-harness.js';
import type { VacmEvent } from '../../src/protocol/events.js';
import { eventually } from '../helpers/wait.js';

describe.skipIf(!sshdAvailable())('LOG:FOLLOW against real sshd (needs root and openssh-server)', () => {
  let cluster: SshCluster;
  let h: Harness;

  beforeAll(async () => {
    cluster = await startSshCluster({ count: 4 });
    h = await openEngine(cluster.vacmYaml());
  }, 60_000);

  afterAll(async () => {
    await closeEngine(h);
    await cluster?.stop();
  });

  it('lines appended on 4 nodes arrive as they are written; cancel leaves no remote tail running', async () => {
    for (const n of cluster.nodes) fs.writeFileSync(path.join(cluster.workDir, `app-${n.name}.log`), 'old line\n');
    const seen: VacmEvent[] = [];
    const off = h.engine.subscribe((e) => seen.push(e));
    try {
      const job = h.engine.submit(`LOG:FOLLOW:${cluster.folded}:${cluster.workDir}/app-{name}.log`);
      const lines = (node: string) => seen.filter((e) => e.job === job.id && e.type === 'OUTPUT' && e.node === node).map((e) => (e as { line: string }).line);
      expect(await eventually(() => cluster.nodes.every((n) => lines(n.name).includes('old line')), 20_000)).toBe(true);
      expect(processesUnder(cluster, 'tail')).toHaveLength(4);
      const t0 = Date.now();
      for (const n of cluster.nodes) fs.appendFileSync(path.join(cluster.workDir, `app-${n.name}.log`), `new line on ${n.name}\n`);
      expect(await eventually(() => cluster.nodes.every((n) => lines(n.name).includes(`new line on ${n.name}`)), 5_000)).toBe(true);
      // tail -F polls once a second: a generous bound for a loaded 2-core machine
      expect(Date.now() - t0).toBeLessThan(3_000);
      job.cancel();
      expect((await job.done).state).toBe('cancelled');
      expect(await eventually(() => processesUnder(cluster, 'tail').length === 0, 5_000)).toBe(true);
    } finally {
      off();
    }
  }, 60_000);
});
