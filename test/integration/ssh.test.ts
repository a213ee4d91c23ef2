/**
 * SSH:EXEC against a real OpenSSH cluster on loopback (test/fixtures/sshd.ts): one sshd per node,
 * each answering `hostname` with its own name. Refused, silent, wrong-key and changed-host-key nodes,
 * the exec allowlist, long output, cancel, pool reuse, and the real binary end to end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, execSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { SshPool } from '../../src/backends/ssh/pool.js';
import { parseSshSection } from '../../src/backends/ssh/settings.js';
import { hasBinary, parentPid, sshdAvailable, startSshCluster, type SshCluster } from '../fixtures/sshd.js';
import { closeEngine, errorOf, openEngine, type Harness } from '../helpers/ssh-harness.js';
import { ROOT, vacm } from '../helpers/cli.js';
import { tempDir, runJob } from '../helpers/engine.js';

const NODES = 20;
const REFUSED_ADDR = '127.0.11.200';
const SILENT_ADDR = '127.0.11.201';
const UNREACHABLE_ADDR = '127.0.11.202';
const CLOSING_ADDR = '127.0.11.203';
const NFT_TABLE = 'vacm_ssh_test';

/** The sshd session processes (one per pooled connection) under the sshds this fixture started. */
function sessionsOf(cluster: SshCluster): number[] {
  const roots = new Set(cluster.pids);
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    const pid = Number(e);
    if (!Number.isInteger(pid) || pid <= 1) continue;
    let p = parentPid(pid);
    for (let depth = 0; depth < 4 && p > 1; depth++, p = parentPid(p)) {
      if (roots.has(p)) {
        out.push(pid);
        break;
      }
    }
  }
  return out;
}

function remoteProcesses(pattern: string): string {
  try {
    return execFileSync('pgrep', ['-u', 'vacmssh', '-f', pattern], { encoding: 'utf8' }).trim();
  } catch {
    return ''; // pgrep exits 1 when nothing matches
  }
}

describe.skipIf(!sshdAvailable())('SSH:EXEC against real sshd (needs root and openssh-server: apt-get install openssh-server)', () => {
  let cluster: SshCluster;
  let h: Harness;
  let silent: net.Server;
  const silentSockets = new Set<net.Socket>();

  beforeAll(async () => {
    cluster = await startSshCluster({ count: NODES });
    // a TCP server that accepts and never speaks: the SSH handshake can only time out
    silent = net.createServer((s) => {
      silentSockets.add(s);
      s.on('close', () => silentSockets.delete(s));
      s.on('error', () => {});
    });
    await new Promise<void>((res) => silent.listen(cluster.port, SILENT_ADDR, res));
    h = await openEngine(cluster.vacmYaml({
      ssh: { connect_timeout_ms: 2000 },
      nodes: [
        '  - names: refused01',
        `    vars: { host: "${REFUSED_ADDR}" }`,
        '  - names: silent01',
        `    vars: { host: "${SILENT_ADDR}" }`,
        '  - names: unreach01',
        `    vars: { host: "${UNREACHABLE_ADDR}" }`,
      ].join('\n'),
    }));
  });

  afterAll(async () => {
    await closeEngine(h);
    for (const s of silentSockets) s.destroy();
    await new Promise<void>((res) => (silent ? silent.close(() => res()) : res()));
    await cluster?.stop();
  });

  it(`${NODES} nodes answer with their own identity, each at its own address`, async () => {
    const { view, events } = await runJob(h.engine, `SSH:EXEC:${cluster.folded}:hostname; echo "$SSH_CONNECTION" | cut -d" " -f3`);
    expect(view.state).toBe('completed');
    expect(view.ok).toBe(NODES);
    expect(view.failed).toBe(0);
    for (const n of cluster.nodes) {
      const out = events.filter((e) => e.type === 'OUTPUT' && e.node === n.name).map((e) => (e as { line: string }).line);
      expect(out).toEqual([n.name, n.addr]);
      expect(events.some((e) => e.type === 'EXIT' && e.node === n.name && e.code === 0)).toBe(true);
    }
  });

  it('stdout and stderr stream separately; a non-zero exit fails the node with its code', async () => {
    const { view, lines } = await runJob(h.engine, 'SSH:EXEC:node[01-02]:echo out; echo err >&2; exit 3');
    expect(view.failed).toBe(2);
    expect(lines).toContain(`SSH:${view.id}:OUTPUT:node01:stdout:out`);
    expect(lines).toContain(`SSH:${view.id}:OUTPUT:node01:stderr:err`);
    expect(lines).toContain(`SSH:${view.id}:EXIT:node01:3`);
    expect(lines[lines.length - 1]).toBe(`SSH:${view.id}:JOB_COMPLETED:ok=0:failed=2`);
  });

  it('a node with no sshd is refused with ERR_SSH_REFUSED', async () => {
    const { view, events } = await runJob(h.engine, 'SSH:EXEC:refused01,node01:true');
    expect(view.ok).toBe(1);
    expect(view.failed).toBe(1);
    expect(errorOf(events, 'refused01')).toMatch(/^ERR_SSH_REFUSED: connection refused by 127\.0\.11\.200:\d+/);
  });

  it('a node that never answers times out with ERR_TIMEOUT (bounded)', async () => {
    const started = Date.now();
    const { view, events } = await runJob(h.engine, 'SSH:EXEC:silent01:true');
    expect(view.failed).toBe(1);
    expect(errorOf(events, 'silent01')).toMatch(/^ERR_TIMEOUT: no SSH answer from 127\.0\.11\.201:\d+ within 2000 ms/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it.skipIf(!hasBinary('nft'))('a node behind "host unreachable" is ERR_SSH_UNREACHABLE (needs nftables)', async () => {
    // a private nftables table answers connections to one address with ICMP host-unreachable
    execFileSync('nft', ['add', 'table', 'ip', NFT_TABLE]);
    try {
      execFileSync('nft', ['add', 'chain', 'ip', NFT_TABLE, 'out', '{ type filter hook output priority 0; }']);
      execFileSync('nft', ['add', 'rule', 'ip', NFT_TABLE, 'out', 'ip', 'daddr', UNREACHABLE_ADDR, 'tcp', 'dport', String(cluster.port), 'reject', 'with', 'icmp', 'type', 'host-unreachable']);
      const { view, events } = await runJob(h.engine, 'SSH:EXEC:unreach01:true');
      expect(view.failed).toBe(1);
      expect(errorOf(events, 'unreach01')).toMatch(/^ERR_SSH_UNREACHABLE: cannot reach 127\.0\.11\.202:\d+ \(EHOSTUNREACH\)/);
    } finally {
      execFileSync('nft', ['delete', 'table', 'ip', NFT_TABLE]);
    }
  });

  it('a key the node does not accept is ERR_SSH_AUTH naming the user and the keys tried', async () => {
    await runJob(h.engine, `NEXXUS:SET_VAR:node03:ssh_identity:${cluster.wrongKey}`);
    try {
      const { view, events } = await runJob(h.engine, 'SSH:EXEC:node03:true');
      expect(view.failed).toBe(1);
      const err = errorOf(events, 'node03')!;
      expect(err).toMatch(/^ERR_SSH_AUTH: /);
      expect(err).toContain(`authentication failed for vacmssh@127.0.10.3:${cluster.port}`);
      expect(err).toContain(cluster.wrongKey);
    } finally {
      await runJob(h.engine, 'NEXXUS:UNSET_VAR:node03:ssh_identity');
    }
    const again = await runJob(h.engine, 'SSH:EXEC:node03:hostname');
    expect(again.lines).toContain(`SSH:${again.view.id}:OUTPUT:node03:stdout:node03`);
  });

  it('a changed host key is always refused with ERR_HOSTKEY naming the file and line', async () => {
    const tampered = path.join(cluster.dir, 'known_hosts.changed');
    const wrongPub = fs.readFileSync(cluster.wrongKey + '.pub', 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
    const lines = fs.readFileSync(cluster.knownHosts, 'utf8').trim().split('\n');
    lines[3] = `[127.0.10.4]:${cluster.port} ${wrongPub}`; // node04's line, now another key
    fs.writeFileSync(tampered, lines.join('\n') + '\n');
    await runJob(h.engine, `NEXXUS:SET_VAR:node04:ssh_known_hosts:${tampered}`);
    try {
      const r = await runJob(h.engine, 'SSH:EXEC:node04:touch ' + path.join(cluster.workDir, 'hostkey-ran'));
      expect(r.view.failed).toBe(1);
      const err = errorOf(r.events, 'node04')!;
      expect(err).toMatch(/^ERR_HOSTKEY: /);
      expect(err).toContain('CHANGED');
      expect(err).toContain(`${tampered}:4`);
      expect(fs.existsSync(path.join(cluster.workDir, 'hostkey-ran'))).toBe(false);
    } finally {
      await runJob(h.engine, 'NEXXUS:UNSET_VAR:node04:ssh_known_hosts');
    }
  });

  it('an unknown host key is refused under strict checking, and accept-new records it', async () => {
    const empty = path.join(cluster.dir, 'known_hosts.empty');
    fs.writeFileSync(empty, '');
    const vars = { host: '127.0.10.5', ssh_port: String(cluster.port), ssh_user: cluster.user, ssh_identity: cluster.clientKey, ssh_known_hosts: empty };
    const strict = new SshPool({ section: parseSshSection({ config: false, agent: false, strict_host_key_checking: 'yes' }) });
    try {
      await expect(strict.run('node05', vars, 'true')).rejects.toMatchObject({ code: 'ERR_HOSTKEY', message: expect.stringContaining('is not known') });
    } finally {
      await strict.close();
    }
    const lenient = new SshPool({ section: parseSshSection({ config: false, agent: false, strict_host_key_checking: 'accept-new' }) });
    try {
      const r = await lenient.run('node05', vars, 'hostname');
      expect(r).toEqual({ stdout: 'node05', stderr: '', code: 0 });
      expect(fs.readFileSync(empty, 'utf8')).toMatch(new RegExp(`^\\[127\\.0\\.10\\.5\\]:${cluster.port} ssh-ed25519 `));
    } finally {
      await lenient.close();
    }
  });

  it('a command not on the allowlist is ERR_NOT_ALLOWED on every node and nothing runs', async () => {
    const marker = path.join(cluster.workDir, 'not-allowed-marker');
    const h2 = await openEngine(cluster.vacmYaml({ top: 'exec:\n  allow: ["hostname", "uname *"]' }));
    try {
      const r = await runJob(h2.engine, `SSH:EXEC:node[01-04]:touch ${marker}`);
      expect(r.view.failed).toBe(4);
      expect(r.lines.filter((l) => /:ERROR:node0[1-4]:ERR_NOT_ALLOWED:/.test(l))).toHaveLength(4);
      expect(r.lines.some((l) => l.includes(':OUTPUT:') || l.includes(':EXIT:'))).toBe(false);
      expect(fs.existsSync(marker)).toBe(false);
      expect(h2.backends.ssh.stats.connects).toBe(0);
      const ok = await runJob(h2.engine, 'SSH:EXEC:node[01-04]:uname -s');
      expect(ok.view.ok).toBe(4);
    } finally {
      await closeEngine(h2);
    }
    // the same command, allowed, does run: the marker proves the check above meant something
    const r = await runJob(h.engine, `SSH:EXEC:node01:touch ${marker}`);
    expect(r.view.ok).toBe(1);
    expect(fs.existsSync(marker)).toBe(true);
  });

  it('a long output (100 000 lines) arrives whole and in order', async () => {
    let n = 0;
    let inOrder = true;
    const { view } = await runJob(h.engine, 'SSH:EXEC:node06:seq 1 100000', (e) => {
      if (e.type === 'OUTPUT') {
        n++;
        if (e.line !== String(n)) inOrder = false;
      }
    });
    expect(view.ok).toBe(1);
    expect(n).toBe(100_000);
    expect(inOrder).toBe(true);
  });

  it('cancel mid-run ends the job with JOB_CANCELLED and the remote processes are gone', async () => {
    const tag = `sleep 4${Math.floor(Math.random() * 1000) + 1000}`;
    let started = 0;
    const r = await runJob(h.engine, `SSH:EXEC:node[07-09]:echo started; ${tag}; echo never`, (e, cancel) => {
      if (e.type === 'OUTPUT' && e.line === 'started' && ++started === 3) {
        expect(remoteProcesses(tag)).not.toBe('');
        cancel();
      }
    });
    expect(r.view.state).toBe('cancelled');
    expect(r.lines[r.lines.length - 1]).toBe(`SSH:${r.view.id}:JOB_CANCELLED`);
    expect(r.lines.some((l) => l.endsWith(':never'))).toBe(false);
    let left = remoteProcesses(tag);
    for (let i = 0; i < 50 && left !== ''; i++) {
      await new Promise((res) => setTimeout(res, 100));
      left = remoteProcesses(tag);
    }
    expect(left).toBe('');
  });

  it('a second job reuses the pooled connections: no new handshakes', async () => {
    await runJob(h.engine, `SSH:EXEC:${cluster.folded}:true`);
    const before = { ...h.backends.ssh.stats };
    const r = await runJob(h.engine, `SSH:EXEC:${cluster.folded}:uname -s`);
    expect(r.view.ok).toBe(NODES);
    expect(h.backends.ssh.stats.handshakes).toBe(before.handshakes);
    expect(h.backends.ssh.stats.reused).toBe(before.reused + NODES);
  });

  it('a command timeout (node variable ssh_command_timeout_ms) stops the command with ERR_TIMEOUT', async () => {
    const tag = `sleep 5${Math.floor(Math.random() * 1000) + 1000}`;
    await runJob(h.engine, 'NEXXUS:SET_VAR:node16:ssh_command_timeout_ms:700');
    try {
      const { view, events } = await runJob(h.engine, `SSH:EXEC:node16:echo begun; ${tag}`);
      expect(view.failed).toBe(1);
      expect(events.some((e) => e.type === 'OUTPUT' && e.line === 'begun')).toBe(true);
      expect(errorOf(events, 'node16')).toMatch(/^ERR_TIMEOUT: the command did not finish within 700 ms and was stopped/);
      let left = remoteProcesses(tag);
      for (let i = 0; i < 50 && left !== ''; i++) {
        await new Promise((res) => setTimeout(res, 100));
        left = remoteProcesses(tag);
      }
      expect(left).toBe('');
    } finally {
      await runJob(h.engine, 'NEXXUS:UNSET_VAR:node16:ssh_command_timeout_ms');
    }
  });

  it('changing a node\'s ssh variables drops its pooled connection', async () => {
    await runJob(h.engine, 'SSH:EXEC:node17:true');
    expect(h.backends.ssh.openNodes()).toContain('node17');
    await runJob(h.engine, `NEXXUS:SET_VAR:node17:ssh_port:${cluster.port}`);
    expect(h.backends.ssh.openNodes()).not.toContain('node17');
    const before = h.backends.ssh.stats.handshakes;
    const r = await runJob(h.engine, 'SSH:EXEC:node17:hostname');
    expect(r.lines).toContain(`SSH:${r.view.id}:OUTPUT:node17:stdout:node17`);
    expect(h.backends.ssh.stats.handshakes).toBe(before + 1);
  });

  it('a pooled connection that died is reopened by the next job', async () => {
    await runJob(h.engine, 'SSH:EXEC:node[14-15]:true');
    const before = h.backends.ssh.stats.handshakes;
    // end every session the fixture's sshds are serving, as a node reboot would
    for (const pid of sessionsOf(cluster)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    const r = await runJob(h.engine, 'SSH:EXEC:node[14-15]:hostname');
    expect(r.view.ok).toBe(2);
    expect(r.lines).toContain(`SSH:${r.view.id}:OUTPUT:node14:stdout:node14`);
    expect(h.backends.ssh.stats.handshakes).toBeGreaterThanOrEqual(before + 2);
  });

  it('concurrent jobs on the same nodes share one connect per node', async () => {
    const h3 = await openEngine(cluster.vacmYaml());
    try {
      const [a, b] = await Promise.all([runJob(h3.engine, 'SSH:EXEC:node[10-13]:true'), runJob(h3.engine, 'SSH:EXEC:node[10-13]:true')]);
      expect(a.view.ok + b.view.ok).toBe(8);
      expect(h3.backends.ssh.stats.handshakes).toBe(4);
    } finally {
      await closeEngine(h3);
    }
  });

  describe('the real binary', () => {
    beforeAll(() => {
      // build dist/ when it is missing or older than the sources (the binary runs dist/)
      const built = path.join(ROOT, 'dist', 'cli', 'index.js');
      const newest = (dir: string): number => fs.readdirSync(dir, { withFileTypes: true, recursive: true })
        .filter((d) => d.isFile() && /\.tsx?$/.test(d.name))
        .reduce((m, d) => Math.max(m, fs.statSync(path.join(d.parentPath, d.name)).mtimeMs), 0);
      if (!fs.existsSync(built) || fs.statSync(built).mtimeMs < newest(path.join(ROOT, 'src'))) {
        execSync('npx tsc -p tsconfig.build.json', { cwd: ROOT, stdio: 'ignore' });
      }
    }, 120_000);

    it("`vacm ipc 'SSH:EXEC:node[01-16]:hostname'` streams, gathers per node and exits 0", async () => {
      const state = tempDir('vacm-ssh-bin-');
      try {
        const r = await vacm(['ipc', '--config', cluster.vacmYamlPath, 'SSH:EXEC:node[01-16]:hostname'], { env: { VACM_STATE_DIR: state } });
        expect(r.err).toBe('');
        expect(r.code).toBe(0);
        expect(r.out).toContain('SSH:1:JOB_STARTED');
        expect(r.out).toContain('SSH:1:OUTPUT:node07:stdout:node07');
        expect(r.out).toContain('SSH:1:JOB_COMPLETED:ok=16:failed=0');
        // gathered, ClusterShell -b style: one block per distinct output
        const gathered = r.out.slice(r.out.indexOf('JOB_COMPLETED'));
        expect(r.out).toContain('---------------\nnode01\n---------------\nnode01\n');
        expect(gathered).toContain('---------------\nnode07\n---------------\nnode07\n');
        expect(gathered.match(/^---------------\nnode\d\d\n---------------\nnode\d\d$/gm)).toHaveLength(16);
      } finally {
        fs.rmSync(state, { recursive: true, force: true });
      }
    });

    // the pool opens its TCP connections before ssh2 is loaded (pool.ts, EarlySocket): what goes
    // wrong on them meanwhile is reported as it was, node by node, and the good nodes still answer
    it('early sockets: refused, silent, closing and bad-host-key nodes fail with their ERR_* while 16 nodes answer', async () => {
      const state = tempDir('vacm-ssh-bin-');
      const closer = net.createServer((s) => s.destroy());
      await new Promise<void>((res) => closer.listen(cluster.port, CLOSING_ADDR, res));
      const tampered = path.join(cluster.dir, 'known_hosts.bin-changed');
      const wrongPub = fs.readFileSync(cluster.wrongKey + '.pub', 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
      fs.writeFileSync(tampered, `[127.0.10.5]:${cluster.port} ${wrongPub}\n`);
      const cfg = path.join(cluster.dir, 'vacm-early.yaml');
      fs.writeFileSync(cfg, cluster.vacmYaml({
        ssh: { connect_timeout_ms: 1500 },
        nodes: [
          '  - names: refused01',
          `    vars: { host: "${REFUSED_ADDR}" }`,
          '  - names: silent01',
          `    vars: { host: "${SILENT_ADDR}" }`,
          '  - names: closing01',
          `    vars: { host: "${CLOSING_ADDR}" }`,
          '  - names: badkey01',
          `    vars: { host: "127.0.10.5", ssh_known_hosts: "${tampered}" }`,
        ].join('\n'),
      }));
      try {
        const r = await vacm(['ipc', '--config', cfg, `SSH:EXEC:node[01-16],refused01,silent01,closing01,badkey01:mktemp ${path.join(cluster.workDir, 'early-XXXXXX')} >/dev/null; hostname`], { env: { VACM_STATE_DIR: state } });
        expect(r.code, r.out + r.err).toBe(1);
        expect(r.out).toContain('SSH:1:JOB_COMPLETED:ok=16:failed=4');
        for (let i = 1; i <= 16; i++) expect(r.out).toContain(`SSH:1:OUTPUT:node${String(i).padStart(2, '0')}:stdout:node${String(i).padStart(2, '0')}`);
        expect(r.err).toMatch(/^vacm: refused01: ERR_SSH_REFUSED: connection refused by 127\.0\.11\.200:\d+/m);
        expect(r.err).toMatch(/^vacm: silent01: ERR_TIMEOUT: no SSH answer from 127\.0\.11\.201:\d+ within 1500 ms/m);
        expect(r.err).toMatch(/^vacm: closing01: ERR_SSH_CONNECT: SSH to vacmssh@127\.0\.11\.203:\d+ failed: Connection lost before handshake$/m);
        expect(r.err).toMatch(new RegExp(`^vacm: badkey01: ERR_HOSTKEY: the host key of \\[127\\.0\\.10\\.5\\]:${cluster.port} has CHANGED .*${tampered.replace(/[.]/g, '\\.')}:1`, 'm'));
        // one file per session that ran: the node behind the bad host key ran nothing
        expect(fs.readdirSync(cluster.workDir).filter((f) => f.startsWith('early-'))).toHaveLength(16);
      } finally {
        await new Promise<void>((res) => closer.close(() => res()));
        fs.rmSync(state, { recursive: true, force: true });
      }
    });

    it('identical outputs gather under one folded node set; failures exit 1 and are summed up', async () => {
      const state = tempDir('vacm-ssh-bin-');
      const cfg = path.join(cluster.dir, 'vacm-refused.yaml');
      fs.writeFileSync(cfg, cluster.vacmYaml({ nodes: `  - names: refused01\n    vars: { host: "${REFUSED_ADDR}" }` }));
      try {
        const r = await vacm(['ipc', '--config', cfg, 'SSH:EXEC:node[01-16],refused01:uname -s; [ $(hostname) = node02 ] && exit 4; true'], { env: { VACM_STATE_DIR: state } });
        expect(r.code, r.out + r.err).toBe(1);
        expect(r.out).toContain('node[01,03-16] (15)\n---------------\nLinux\n');
        expect(r.out).toContain('---------------\nnode02\n---------------\nLinux\n');
        expect(r.err).toMatch(/^vacm: node02: exited with exit code 4$/m);
        expect(r.err).toMatch(/^vacm: refused01: ERR_SSH_REFUSED: connection refused by 127\.0\.11\.200:\d+/m);
      } finally {
        fs.rmSync(state, { recursive: true, force: true });
      }
    });
  });
});

