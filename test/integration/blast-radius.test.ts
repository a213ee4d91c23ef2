/**
 * Issue 15 item 7: the blast radius of a power action counts the users logged in on the up nodes
 * (`SSH:USERS`, `who` over the warm SSH pool, bounded by a timeout), asked through UiEngine as the
 * confirmation does. Real sshd on loopback (test/fixtures/sshd.ts); the "nodes" share this
 * machine's utmp, so every node sees the logins `who` shows here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { sshdAvailable, startSshCluster, type SshCluster } from '../fixtures/sshd.js';
import { closeEngine, openEngine, type Harness } from '../helpers/ssh-harness.js';
import { uiEngineOf } from '../../src/ui/ui-engine.js';

const REFUSED_ADDR = '127.0.11.203';
const whoCount = () => execFileSync('who', { encoding: 'utf8' }).split('\n').filter((l) => l.trim() !== '').length;

describe.skipIf(!sshdAvailable())('blast radius: users logged in, over real sshd (needs root and openssh-server)', () => {
  let cluster: SshCluster;
  let h: Harness;

  beforeAll(async () => {
    cluster = await startSshCluster({ count: 3 });
    h = await openEngine(cluster.vacmYaml({ ssh: { connect_timeout_ms: 1500 }, nodes: ['  - names: refused01', `    vars: { host: "${REFUSED_ADDR}" }`].join('\n') }));
  }, 60_000);

  afterAll(async () => {
    await closeEngine(h);
    await cluster?.stop();
  });

  it('counts `who` on each node over the pool (as many as `who` shows here); a refused node is left out', async () => {
    const ui = uiEngineOf(h.engine);
    const base = whoCount();
    const before = await ui.usersLoggedIn(['node01', 'node02', 'node03', 'refused01'], 3000);
    expect([...before.keys()].sort()).toEqual(['node01', 'node02', 'node03']);
    for (const n of before.values()) expect(n).toBe(base);
    // this machine keeps no utmp (containers often do not), so `who` is empty on every node here:
    // the count of a node with logins is proven with a stand-in pool in test/ui/blast-radius.test.tsx
    expect(h.engine.jobs().some((j) => j.tag === 'SSH' && j.command === 'USERS')).toBe(false); // quiet: not listed
  }, 60_000);

  it('is bounded by its timeout: a silent or refused node never holds the confirmation', async () => {
    const ui = uiEngineOf(h.engine);
    const t0 = Date.now();
    const r = await ui.usersLoggedIn(['refused01'], 500);
    expect(r.size).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000); // generous: a loaded 2-core machine
  }, 30_000);
});
