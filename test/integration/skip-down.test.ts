/**
 * Skipping nodes known down, against the real sshd fixture (one sshd per node) and the real
 * heartbeat: node03's sshd is stopped and its power driver says it is off; node04 is dropped by
 * nftables (pings and TCP alike), so the heartbeat marks it down and an SSH connection to it could
 * only wait for its connect timeout. `SSH:EXEC:*:true` then ends at once: 2 skipped, exit 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { findBinary } from '../../src/backends/icmp/fping.js';
import { runIpc } from '../../src/cli/ipc.js';
import { Engine } from '../../src/engine/engine.js';
import { parseConfig } from '../../src/engine/config.js';
import { createBackends, type Backends } from '../../src/backends/index.js';
import { sshdAvailable, startSshCluster, type SshCluster } from '../fixtures/sshd.js';
import { IcmpDrop, nftUsable } from '../helpers/nft.js';
import { tempDir } from '../helpers/engine.js';
import { until } from '../helpers/wait.js';

const canRun = sshdAvailable() && nftUsable() && (findBinary('fping') !== undefined || findBinary('ping') !== undefined);

describe.skipIf(!canRun)('SSH:EXEC skips nodes known down (needs root, openssh-server, nftables, fping or ping)', () => {
  let cluster: SshCluster;
  let engine: Engine;
  let backends: Backends;
  const drop = new IcmpDrop('skipdown');

  beforeAll(async () => {
    cluster = await startSshCluster({ count: 4 });
    const yaml = cluster.vacmYaml({
      // a connect timeout longer than this test may take: a node that is not skipped would show
      ssh: { connect_timeout_ms: 120_000 },
      top: ['ping: { interval_ms: 200, misses: 2, timeout_ms: 200 }', 'sysstat: { enabled: false }'].join('\n'),
      nodes: '    vars: { host: "127.0.10.{n}" }\n  - names: node03\n    vars: { host: "127.0.10.3", power: sim }',
    });
    backends = createBackends();
    engine = new Engine({ config: parseConfig(yaml, 'skip.yaml'), modules: backends.modules, stateDir: tempDir('vacm-skip-state-'), localName: 'not-a-node', monitor: true });
    await engine.start();
  }, 60_000);

  afterAll(async () => {
    drop.remove();
    await engine?.stop();
    await backends?.dispose();
    await cluster?.stop();
  });

  it('node03 off (sshd stopped), node04 down (dropped): SSH:EXEC:*:true ends at once with 2 skipped, exit 0 (and :hostname answers from the two others)', async () => {
    await until('every node up by the heartbeat', () => engine.nodes().every((n) => n.state === 'up'), 15_000);
    // node03: its PDU switches it off, and its sshd goes with it
    backends.sim.add('node03');
    const off = await engine.submit('POWER:OFF:node03').done;
    expect(off.ok).toBe(1);
    process.kill(cluster.pids[2], 'SIGTERM');
    // node04: every packet dropped
    drop.drop([cluster.nodes[3].addr], { all: true });
    await until('node04 down by the heartbeat', () => engine.node('node04')?.state === 'down', 15_000);
    expect(engine.node('node03')?.state).toBe('off');

    let out = '';
    let err = '';
    const io = { out: (s: string) => void (out += s), err: (s: string) => void (err += s), stdin: Readable.from([]), stdinIsTTY: false };
    const code = await runIpc(engine, { messages: ['SSH:EXEC:*:true', 'SSH:EXEC:*:hostname'] }, io);
    const lines = out.split('\n').map((l) => l.replace(/^SSH:\d+:/, 'SSH:J:'));
    expect(lines.filter((l) => l === 'SSH:J:SKIPPED:node03:off:powered off')).toHaveLength(2);
    expect(lines.find((l) => l.startsWith('SSH:J:SKIPPED:node04:down:'))).toMatch(/no (ping )?repl/);
    expect(lines.filter((l) => l.includes(':EXIT:')).sort()).toEqual(['SSH:J:EXIT:node01:0', 'SSH:J:EXIT:node01:0', 'SSH:J:EXIT:node02:0', 'SSH:J:EXIT:node02:0']);
    expect(lines.filter((l) => l.includes('JOB_COMPLETED'))).toEqual(['SSH:J:JOB_COMPLETED:ok=2:failed=0:skipped=2', 'SSH:J:JOB_COMPLETED:ok=2:failed=0:skipped=2']);
    // the two that ran answered with their own names
    expect(out).toContain('---------------\nnode01\n---------------\nnode01\n');
    expect(out).toContain('---------------\nnode02\n---------------\nnode02\n');
    expect(err).toBe('vacm: skipped: node[03-04] (2)\n'.repeat(2));
    expect(code).toBe(0);
  }, 30_000);

  it('named one by one, node03 is tried anyway: its sshd is gone, so it is refused', async () => {
    const h = engine.submit('SSH:EXEC:node03:true');
    const view = await h.done;
    expect(view.skipped ?? 0).toBe(0);
    expect(view.failed).toBe(1);
    expect(view.events.some((e) => e.type === 'ERROR' && e.node === 'node03' && e.code === 'ERR_SSH_REFUSED')).toBe(true);
  }, 30_000);
});
