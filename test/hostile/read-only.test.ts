/**
 * What --read-only still does (issue 10, items 6 and 15): it runs no hooks and writes no
 * known_hosts; a one-shot `vacm ipc` runs no hooks either (decision: hooks belong to a standing
 * engine). The known_hosts part uses the real sshd fixture (under the peers lock).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeEngine, tempDir, runJob } from '../helpers/engine.js';
import { vacm } from '../helpers/cli.js';
import { closeEngine, openEngine, type Harness } from '../helpers/ssh-harness.js';
import { sshdAvailable, startSshCluster, type SshCluster } from '../fixtures/sshd.js';
import type { Engine } from '../../src/engine/engine.js';

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

function hookYaml(marker: string): string {
  return `
cluster: t
nodes:
  - names: n[1-2]
    vars: { sim: "true", power: sim }
hooks:
  - command: 'echo "$VACM_NODE $VACM_STATE" >> ${marker}'
`;
}

describe('hooks and read-only', () => {
  it.each([
    ['a standing engine runs them', { monitor: true, readOnly: false }, true],
    ['read-only runs none', { monitor: true, readOnly: true }, false],
    ['a one-shot engine (vacm ipc) runs none', { monitor: false, readOnly: false }, false],
  ])('%s', async (_name, opts, runs) => {
    const marker = path.join(tempDir(), 'hook-ran');
    const logs: string[] = [];
    ({ engine } = await makeEngine({ yaml: hookYaml(marker), engine: { ...opts, log: (_l, m) => logs.push(m) } }));
    engine.setNodeState('n1', 'up');
    engine.setNodeState('n1', 'down', 'no ping reply');
    await engine.membership.idle();
    if (runs) {
      expect(fs.readFileSync(marker, 'utf8')).toBe('n1 up\nn1 down\n');
    } else {
      expect(fs.existsSync(marker)).toBe(false);
      expect(logs).toContain(`1 hook(s) from the config not run: ${opts.readOnly ? 'vacm runs read-only' : 'hooks run only in the dashboard and vacm serve'}`);
    }
  });

  it('vacm ipc: a ping that brings a node up runs no hook', async () => {
    const dir = tempDir();
    const marker = path.join(dir, 'hook-ran');
    const cfg = path.join(dir, 'vacm.yaml');
    fs.writeFileSync(cfg, hookYaml(marker), { mode: 0o600 });
    const r = await vacm(['ipc', '--config', cfg, 'ICMP_ECHO:PING:n[1-2]'], { env: { VACM_STATE_DIR: path.join(dir, 'state') } });
    expect(r.out).toContain('ICMP_ECHO:1:PING:n1:up');
    expect(r.code).toBe(0);
    await new Promise((res) => setTimeout(res, 300)); // a detached hook would have written by now
    expect(fs.existsSync(marker)).toBe(false);
  });
});

describe.skipIf(!sshdAvailable())('read-only writes no known_hosts (needs root and openssh-server)', () => {
  let cluster: SshCluster;
  let h: Harness | undefined;

  beforeAll(async () => {
    cluster = await startSshCluster({ count: 2 });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  afterEach(async () => {
    await closeEngine(h);
    h = undefined;
  });

  const yamlWith = (knownHosts: string) =>
    cluster.vacmYaml({ ssh: { strict_host_key_checking: 'accept-new' }, nodes: `    vars: { ssh_known_hosts: "${knownHosts}" }` });

  it('accept-new under --read-only reaches the node and leaves known_hosts as it was; without it the key is written', async () => {
    for (const readOnly of [true, false]) {
      const kh = path.join(tempDir(), 'known_hosts');
      fs.writeFileSync(kh, '# empty\n');
      h = await openEngine(yamlWith(kh), 'ro.yaml', { readOnly });
      const r = await runJob(h.engine, `SYSSTAT:GET:${cluster.folded}`);
      expect(r.view.failed).toBe(0);
      expect(r.lines.filter((l) => l.includes(':STAT:'))).toHaveLength(2);
      // a second request reuses what was accepted (in memory when read-only)
      for (const n of cluster.nodes) h.backends.ssh.drop(n.name); // new connections: the keys are checked again
      expect((await runJob(h.engine, `SYSSTAT:GET:${cluster.folded}`)).view.failed).toBe(0);
      const after = fs.readFileSync(kh, 'utf8');
      if (readOnly) expect(after).toBe('# empty\n');
      else expect(after.split('\n').filter((l) => / ssh-ed25519 /.test(l))).toHaveLength(2);
      await closeEngine(h);
      h = undefined;
    }
  }, 60_000);
});
