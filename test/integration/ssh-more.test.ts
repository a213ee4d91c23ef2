/**
 * More of the SSH pool against a real OpenSSH cluster on loopback (test/fixtures/sshd.ts, one
 * cluster for the file): SYSSTAT:GET read over SSH, logging in through ssh-agent, closing idle
 * connections, and keepalive noticing a peer that stopped answering.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hasBinary, parentPid, sshdAvailable, sshdSessions, startSshCluster, type SshCluster } from '../fixtures/sshd.js';
import { nftUsable } from '../helpers/nft.js';
import { closeEngine, errorOf, openEngine, type Harness } from '../helpers/ssh-harness.js';
import { runJob } from '../helpers/engine.js';
import { toLine } from '../../src/protocol/events.js';
import { eventually } from '../helpers/wait.js';

const NODES = 16;
const MiB = 1024 * 1024;

/** Poll `cond` every `stepMs` until it holds or `timeoutMs` passed (bounded in time and count). */
/** End the given sshd sessions of `node` that are still there (children first), bounded. */
async function endSessions(cluster: SshCluster, node: string, pids: number[]): Promise<void> {
  const live = () => new Set(sshdSessions(cluster).get(node) ?? []);
  const left = pids.filter((p) => live().has(p));
  if (left.length === 0) return;
  const kill = (pid: number) => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  for (const e of fs.readdirSync('/proc')) {
    const pid = Number(e);
    if (Number.isInteger(pid) && pid > 1 && left.includes(parentPid(pid))) kill(pid);
  }
  if (!(await eventually(() => left.every((p) => !live().has(p)), 3000))) for (const p of left) if (live().has(p)) kill(p);
}

function totalConnections(cluster: SshCluster): number {
  let n = 0;
  for (const pids of sshdSessions(cluster).values()) n += pids.length;
  return n;
}

describe.skipIf(!sshdAvailable())('the SSH pool against real sshd, more (needs root and openssh-server: apt-get install openssh-server)', () => {
  let cluster: SshCluster;

  beforeAll(async () => {
    cluster = await startSshCluster({ count: NODES });
  });

  afterAll(async () => {
    // let the sshds see their sessions end before they stop, so none outlives its sshd
    if (cluster) await eventually(() => totalConnections(cluster) === 0, 10_000);
    await cluster?.stop();
  });

  it(`SYSSTAT:GET reads ${NODES} nodes over SSH with sane numbers; a second GET reuses the pooled connections`, async () => {
    const h = await openEngine(cluster.vacmYaml({ top: 'sysstat:\n  timeout_ms: 60000' }));
    try {
      const r = await runJob(h.engine, `SYSSTAT:GET:${cluster.folded}`);
      expect(r.events.filter((e) => e.type === 'ERROR').map(toLine)).toEqual([]);
      expect(r.view.state).toBe('completed');
      expect(r.lines.at(-1)).toBe(`SYSSTAT:${r.view.id}:JOB_COMPLETED:ok=${NODES}:failed=0`);
      // the "nodes" are this machine, seen through each node's own sshd
      for (const n of cluster.nodes) {
        const stats = r.events.filter((e) => e.type === 'STAT' && e.node === n.name).map((e) => (e as { stats: Record<string, string | number> }).stats);
        expect(stats, n.name).toHaveLength(1);
        const s = stats[0];
        expect(Number(s.load1)).toBeGreaterThanOrEqual(0);
        expect(Math.abs(Number(s.mem_total_mib) - os.totalmem() / MiB)).toBeLessThanOrEqual(1);
        expect(Number(s.mem_used_mib)).toBeLessThanOrEqual(Number(s.mem_total_mib));
        expect(Number(s.cpus)).toBe(os.cpus().length);
        expect(s.kernel).toBe(os.release());
        expect(Number(s.cpu_pct)).toBeGreaterThanOrEqual(0);
        expect(Number(s.cpu_pct)).toBeLessThanOrEqual(100);
        expect(Math.abs(Number(s.uptime_s) - os.uptime())).toBeLessThan(60);
        // the engine keeps them for the screen
        expect(h.engine.node(n.name)?.stats?.kernel).toBe(os.release());
      }
      expect(h.backends.ssh.stats.handshakes).toBe(NODES);

      const before = { ...h.backends.ssh.stats };
      const again = await runJob(h.engine, `SYSSTAT:GET:${cluster.folded}`);
      expect(again.lines.at(-1)).toBe(`SYSSTAT:${again.view.id}:JOB_COMPLETED:ok=${NODES}:failed=0`);
      expect(again.events.filter((e) => e.type === 'STAT')).toHaveLength(NODES);
      expect(h.backends.ssh.stats.handshakes).toBe(before.handshakes);
      expect(h.backends.ssh.stats.reused).toBe(before.reused + NODES);
    } finally {
      await closeEngine(h);
    }
  });

  describe.skipIf(!hasBinary('ssh-agent') || !hasBinary('ssh-add'))('ssh-agent (needs ssh-agent and ssh-add: apt-get install openssh-client)', () => {
    let agentDir: string;
    let sock: string;
    let agent: ChildProcess | undefined;
    let agentConfig: string;
    const saved = { sock: process.env.SSH_AUTH_SOCK, home: process.env.HOME };
    const restoreEnv = () => {
      for (const [k, v] of [['SSH_AUTH_SOCK', saved.sock], ['HOME', saved.home]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    };

    beforeAll(async () => {
      agentDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-agent-'));
      sock = path.join(agentDir, 'agent.sock');
      // a private agent in the foreground (-D), so its pid is ours to kill
      agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
      const up = await eventually(() => fs.existsSync(sock) || agent!.exitCode !== null, 10_000);
      if (!up || !fs.existsSync(sock)) throw new Error(`ssh-agent did not create ${sock} (exit ${agent.exitCode})`);
      // an OpenSSH client config with no IdentityFile and no IdentitiesOnly: the agent is the only key source
      agentConfig = path.join(cluster.dir, 'ssh_config.agent');
      fs.writeFileSync(agentConfig, [
        ...cluster.nodes.flatMap((n) => [`Host ${n.name}`, `  HostName ${n.addr}`]),
        'Host *',
        `  Port ${cluster.port}`,
        `  User ${cluster.user}`,
        `  UserKnownHostsFile ${cluster.knownHosts}`,
        '',
      ].join('\n'));
    });

    afterAll(async () => {
      restoreEnv();
      if (agent && agent.exitCode === null && agent.signalCode === null && agent.pid) {
        const gone = new Promise<void>((res) => agent!.once('exit', () => res()));
        const pid = agent.pid;
        process.kill(pid, 'SIGTERM');
        const ended = await Promise.race([gone.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 3000))]);
        if (!ended) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone meanwhile */
          }
        }
      }
      fs.rmSync(agentDir, { recursive: true, force: true });
    });

    it('SSH:EXEC logs in with the key held by ssh-agent (no identity file); with the agent emptied every node is ERR_SSH_AUTH', async () => {
      const agentEnv = { ...process.env, SSH_AUTH_SOCK: sock };
      execFileSync('ssh-add', ['-q', cluster.clientKey], { env: agentEnv, stdio: ['ignore', 'ignore', 'pipe'] });
      expect(execFileSync('ssh-add', ['-l'], { env: agentEnv, encoding: 'utf8' })).toContain('id_ed25519');
      const yaml = cluster.vacmYaml({ ssh: { config: agentConfig, agent: true } });
      expect(yaml).not.toContain('identity');
      expect(yaml).not.toContain(cluster.clientKey);
      // the pool reads SSH_AUTH_SOCK and HOME from process.env when it resolves a node (each job);
      // HOME is an empty directory so no default ~/.ssh/id_* can log in instead of the agent
      const home = path.join(agentDir, 'home');
      fs.mkdirSync(home);
      process.env.SSH_AUTH_SOCK = sock;
      process.env.HOME = home;
      try {
        const h = await openEngine(yaml);
        try {
          const r = await runJob(h.engine, `SSH:EXEC:${cluster.folded}:hostname`);
          expect(r.events.filter((e) => e.type === 'ERROR').map(toLine)).toEqual([]);
          expect(r.view.ok).toBe(NODES);
          for (const n of cluster.nodes) {
            expect(r.events.filter((e) => e.type === 'OUTPUT' && e.node === n.name).map((e) => (e as { line: string }).line)).toEqual([n.name]);
          }
        } finally {
          await closeEngine(h);
        }

        // the same request with the agent's keys removed: nothing else could have logged in
        execFileSync('ssh-add', ['-q', '-D'], { env: agentEnv, stdio: ['ignore', 'ignore', 'pipe'] });
        const h2 = await openEngine(yaml);
        try {
          const r = await runJob(h2.engine, `SSH:EXEC:${cluster.folded}:hostname`);
          expect(r.view.ok).toBe(0);
          expect(r.view.failed).toBe(NODES);
          expect(r.events.some((e) => e.type === 'OUTPUT')).toBe(false);
          for (const n of cluster.nodes) {
            const err = errorOf(r.events, n.name) ?? '';
            expect(err, n.name).toMatch(/^ERR_SSH_AUTH: authentication failed for /);
            expect(err, n.name).toContain(`tried: ssh-agent (${sock})`);
          }
        } finally {
          await closeEngine(h2);
        }
      } finally {
        restoreEnv();
      }
    });
  });

  it('ssh.idle_close_ms closes unused connections (client and sshd side); the next job opens new ones and succeeds', async () => {
    // connections of the engines of the tests above are closed when those engines stop
    expect(await eventually(() => totalConnections(cluster) === 0, 15_000)).toBe(true);
    const h = await openEngine(cluster.vacmYaml({ ssh: { idle_close_ms: 300 } }));
    try {
      const first = await runJob(h.engine, `SSH:EXEC:${cluster.folded}:true`);
      expect(first.view.ok).toBe(NODES);
      expect(h.backends.ssh.stats.handshakes).toBe(NODES);
      // idle past 300 ms: the pool forgets them and the sshds end their sessions
      expect(await eventually(() => h.backends.ssh.openNodes().length === 0, 10_000)).toBe(true);
      expect(await eventually(() => totalConnections(cluster) === 0, 15_000)).toBe(true);

      const second = await runJob(h.engine, `SSH:EXEC:${cluster.folded}:hostname`);
      expect(second.view.ok).toBe(NODES);
      expect(second.lines).toContain(`SSH:${second.view.id}:OUTPUT:node05:stdout:node05`);
      expect(h.backends.ssh.stats.handshakes).toBe(2 * NODES);
      expect(h.backends.ssh.stats.reused).toBe(0);
    } finally {
      await closeEngine(h);
    }
  });

  it.skipIf(!nftUsable())('keepalive notices a pooled connection whose peer stopped answering; a job then fails fast instead of hanging, and recovers (needs nftables: apt-get install nftables)', async () => {
    const table = `vacm_test_sshka_${process.pid}`;
    const nft = (...args: string[]) => execFileSync('nft', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const dead = cluster.nodes[0];
    let stale: number[] = [];
    const h = await openEngine(cluster.vacmYaml({ ssh: { keepalive_ms: 1000, connect_timeout_ms: 3000 } }));
    try {
      const warm = await runJob(h.engine, 'SSH:EXEC:node[01-02]:true');
      expect(warm.view.ok).toBe(2);
      expect(h.backends.ssh.openNodes().sort()).toEqual(['node01', 'node02']);
      stale = sshdSessions(cluster).get(dead.name) ?? [];
      expect(stale).toHaveLength(1);
      // node01 stops answering: every packet to its sshd is dropped (only this cluster's port)
      nft('add', 'table', 'ip', table);
      try {
        nft('add', 'chain', 'ip', table, 'input', '{ type filter hook input priority -10; }');
        nft('add', 'rule', 'ip', table, 'input', 'ip', 'daddr', dead.addr, 'tcp', 'dport', String(cluster.port), 'drop');
        // 1 s x (3 missed + 1): about 4 s; node02 answers its keepalives and stays
        expect(await eventually(() => !h.backends.ssh.openNodes().includes('node01'), 15_000)).toBe(true);
        expect(h.backends.ssh.openNodes()).toEqual(['node02']);
        // a job now connects afresh and meets the connect timeout, rather than waiting on the dead connection
        const during = await runJob(h.engine, 'SSH:EXEC:node01:true');
        expect(during.view.failed).toBe(1);
        expect(errorOf(during.events, 'node01')).toMatch(/^ERR_TIMEOUT: no SSH answer from 127\.0\.10\.1:\d+ within 3000 ms/);
      } finally {
        nft('delete', 'table', 'ip', table);
      }
      const before = h.backends.ssh.stats.handshakes;
      const after = await runJob(h.engine, 'SSH:EXEC:node[01-02]:hostname');
      expect(after.view.ok).toBe(2);
      expect(after.lines).toContain(`SSH:${after.view.id}:OUTPUT:node01:stdout:node01`);
      expect(h.backends.ssh.stats.handshakes).toBe(before + 1);
    } finally {
      await closeEngine(h);
      // the sshd session of the dropped connection only hears of its end when the client's FIN gets
      // through (kernel retransmits, seconds later): end it now, its own child first so that it
      // exits and its sshd (this fixture's) reaps it
      await endSessions(cluster, dead.name, stale);
    }
  }, 60_000);
});
