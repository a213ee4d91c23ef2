/**
 * LOG:FOLLOW against a real OpenSSH cluster on loopback (test/fixtures/sshd.ts): lines appended to a
 * file on 4 nodes arrive as OUTPUT within a second or so, and cancelling the job leaves no `tail`
 * running under the nodes' sshds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { parentPid, sshdAvailable, startSshCluster, type SshCluster } from '../fixtures/sshd.js';
import { closeEngine, openEngine, type Harness } from '../helpers/ssh-harness.js';
import type { VacmEvent } from '../../src/protocol/events.js';

async function waitFor(cond: () => boolean, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < Math.ceil(timeoutMs / stepMs) + 1; i++) {
    if (cond()) return true;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return cond();
}

/** `tail` processes under the cluster's sshds, from /proc. */
function remoteTails(cluster: SshCluster): number[] {
  const roots = new Set(cluster.pids);
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    const pid = Number(e);
    if (!Number.isInteger(pid) || pid <= 1) continue;
    let argv0 = '';
    try {
      argv0 = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
    } catch {
      continue;
    }
    if (path.basename(argv0) !== 'tail') continue;
    for (let p = parentPid(pid), i = 0; p > 1 && i < 8; p = parentPid(p), i++) if (roots.has(p)) out.push(pid);
  }
  return out;
}

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
      expect(await waitFor(() => cluster.nodes.every((n) => lines(n.name).includes('old line')), 20_000)).toBe(true);
      expect(remoteTails(cluster)).toHaveLength(4);
      const t0 = Date.now();
      for (const n of cluster.nodes) fs.appendFileSync(path.join(cluster.workDir, `app-${n.name}.log`), `new line on ${n.name}\n`);
      expect(await waitFor(() => cluster.nodes.every((n) => lines(n.name).includes(`new line on ${n.name}`)), 5_000)).toBe(true);
      // tail -F polls once a second: a generous bound for a loaded 2-core machine
      expect(Date.now() - t0).toBeLessThan(3_000);
      job.cancel();
      expect((await job.done).state).toBe('cancelled');
      expect(await waitFor(() => remoteTails(cluster).length === 0, 5_000)).toBe(true);
    } finally {
      off();
    }
  }, 60_000);
});
