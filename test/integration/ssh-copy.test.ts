/**
 * SSH:PUSH and SSH:PULL against a real OpenSSH cluster on loopback (test/fixtures/sshd.ts, with
 * OpenSSH's sftp-server): 64 nodes receive a 10 MB file with the right hash and mode, SKIP_SAME
 * leaves identical copies alone, a node whose sshd is stopped fails alone, cancel stops the
 * transfers, 64 suffixed files come back, and the per-node errors carry their own codes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processesUnder, sshdAvailable, startSshCluster, type SshCluster } from '../fixtures/sshd.js';
import { closeEngine, errorOf, openEngine, type Harness } from '../helpers/ssh-harness.js';
import { runJob } from '../helpers/engine.js';
import { toLine, type VacmEvent } from '../../src/protocol/events.js';
import { eventually } from '../helpers/wait.js';

const NODES = 64;
const MB = 1000 * 1000;
const SFTP_SERVER = '/usr/lib/openssh/sftp-server';

const sha = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');

const copies = (events: VacmEvent[]) => events.filter((e) => e.type === 'COPY') as (VacmEvent & { node: string; bytes: number; sha256: string })[];

describe.skipIf(!sshdAvailable() || !fs.existsSync(SFTP_SERVER))(`SSH:PUSH and SSH:PULL against real sshd (needs root, openssh-server and ${SFTP_SERVER})`, () => {
  let cluster: SshCluster;
  let h: Harness;
  let local: string;

  beforeAll(async () => {
    cluster = await startSshCluster({ count: NODES });
    h = await openEngine(cluster.vacmYaml());
    local = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-copy-local-'));
  }, 60_000);

  afterAll(async () => {
    await closeEngine(h);
    await cluster?.stop();
    if (local) fs.rmSync(local, { recursive: true, force: true });
  });

  it(`${NODES} nodes receive a 10 MB file with the right sha256 and mode (PRESERVE); the audit records the source's sha256`, async () => {
    const src = path.join(local, 'big.bin');
    const data = crypto.randomBytes(10 * MB);
    fs.writeFileSync(src, data);
    fs.chmodSync(src, 0o640);
    const mtime = new Date('2024-05-06T07:08:09Z');
    fs.utimesSync(src, mtime, mtime);
    const r = await runJob(h.engine, `SSH:PUSH:${cluster.folded}:${src}:${cluster.workDir}/big.{name}:PRESERVE`);
    expect(r.events.filter((e) => e.type === 'ERROR').map(toLine)).toEqual([]);
    expect(r.lines.at(-1)).toBe(`SSH:${r.view.id}:JOB_COMPLETED:ok=${NODES}:failed=0`);
    const want = sha(data);
    const got = copies(r.events);
    expect(got.map((e) => e.node).sort()).toEqual(cluster.nodes.map((n) => n.name));
    for (const e of got) expect(toLine(e)).toBe(`SSH:${r.view.id}:COPY:${e.node}:${10 * MB}:${want}`);
    for (const n of cluster.nodes) {
      const f = path.join(cluster.workDir, `big.${n.name}`);
      const st = fs.statSync(f);
      expect(st.mode & 0o777, n.name).toBe(0o640);
      expect(st.mtimeMs, n.name).toBe(mtime.getTime());
      expect(st.uid, n.name).toBe(Number(execFileSync('id', ['-u', cluster.user], { encoding: 'utf8' }).trim()));
      expect(sha(fs.readFileSync(f)), n.name).toBe(want);
    }
    // progress was told while it ran, never more than about twice a second
    const progress = r.events.filter((e) => e.type === 'PROGRESS');
    for (let i = 1; i < progress.length; i++) expect(progress[i].ts - progress[i - 1].ts).toBeGreaterThanOrEqual(400);
    const audit = fs.readFileSync(path.join(h.stateDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const attempt = audit.find((a) => a.job === r.view.id && a.phase === 'attempt');
    expect(attempt.detail).toEqual({ source: src, sha256: want, bytes: String(10 * MB), files: '1' });
    const outcome = audit.find((a) => a.job === r.view.id && a.phase === 'outcome');
    expect(outcome.results.node01).toBe(`copied ${10 * MB} bytes sha256:${want}`);
  }, 180_000);

  it('SKIP_SAME leaves the nodes whose copy has the same sha256 alone, and copies to the one that differs', async () => {
    const src = path.join(local, 'big.bin');
    fs.writeFileSync(path.join(cluster.workDir, 'big.node07'), 'changed on the node\n');
    const r = await runJob(h.engine, `SSH:PUSH:node[01-16]:${src}:${cluster.workDir}/big.{name}:skip_same`);
    expect(r.lines.at(-1)).toBe(`SSH:${r.view.id}:JOB_COMPLETED:ok=16:failed=0`);
    const byNode = new Map(copies(r.events).map((e) => [e.node, toLine(e)]));
    expect(byNode.get('node07')).toBe(`SSH:${r.view.id}:COPY:node07:${10 * MB}:${sha(fs.readFileSync(src))}`);
    expect(byNode.get('node01')).toBe(`SSH:${r.view.id}:COPY:node01:0:unchanged`);
    expect([...byNode.values()].filter((l) => l.endsWith(':unchanged'))).toHaveLength(15);
    expect(sha(fs.readFileSync(path.join(cluster.workDir, 'big.node07')))).toBe(sha(fs.readFileSync(src)));
  }, 120_000);

  it(`${NODES} suffixed files are pulled back as <basename>.<node>, each with its own content and sha256`, async () => {
    for (const n of cluster.nodes) {
      const d = path.join(cluster.workDir, 'logs', n.name);
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, 'app.log'), `log of ${n.name}\n`.repeat(1000));
    }
    const into = path.join(local, 'pulled');
    const r = await runJob(h.engine, `SSH:PULL:${cluster.folded}:${cluster.workDir}/logs/{name}/app.log:${into}`);
    expect(r.events.filter((e) => e.type === 'ERROR').map(toLine)).toEqual([]);
    expect(r.lines.at(-1)).toBe(`SSH:${r.view.id}:JOB_COMPLETED:ok=${NODES}:failed=0`);
    expect(fs.readdirSync(into).sort()).toEqual(cluster.nodes.map((n) => `app.log.${n.name}`));
    const byNode = new Map(copies(r.events).map((e) => [e.node, e]));
    for (const n of cluster.nodes) {
      const text = fs.readFileSync(path.join(into, `app.log.${n.name}`), 'utf8');
      expect(text).toBe(`log of ${n.name}\n`.repeat(1000));
      expect(byNode.get(n.name)?.sha256).toBe(sha(text));
      expect(byNode.get(n.name)?.bytes).toBe(Buffer.byteLength(text));
    }
  }, 120_000);

  it('a tree is pushed and pulled with RECURSIVE; links on the node are not followed', async () => {
    const tree = path.join(local, 'conf.d');
    fs.mkdirSync(path.join(tree, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'a.conf'), 'a=1\n');
    fs.writeFileSync(path.join(tree, 'sub', 'b.conf'), 'b=2\n');
    const r = await runJob(h.engine, `SSH:PUSH:node[01-04]:${tree}:${cluster.workDir}/tree.{name}:RECURSIVE`);
    expect(r.events.filter((e) => e.type === 'ERROR').map(toLine)).toEqual([]);
    expect(r.lines.at(-1)).toBe(`SSH:${r.view.id}:JOB_COMPLETED:ok=4:failed=0`);
    const manifest = `${sha('a=1\n')}  ./a.conf\n${sha('b=2\n')}  ./sub/b.conf\n`;
    for (const e of copies(r.events)) expect(e.sha256).toBe(sha(manifest));
    expect(fs.readFileSync(path.join(cluster.workDir, 'tree.node03', 'sub', 'b.conf'), 'utf8')).toBe('b=2\n');
    // a link on the node pointing out of the tree is not copied back
    fs.symlinkSync('/etc/passwd', path.join(cluster.workDir, 'tree.node02', 'passwd'));
    const into = path.join(local, 'trees');
    const p = await runJob(h.engine, `SSH:PULL:node[01-04]:${cluster.workDir}/tree.{name}:${into}:RECURSIVE`);
    expect(p.lines.at(-1)).toBe(`SSH:${p.view.id}:JOB_COMPLETED:ok=4:failed=0`);
    expect(fs.readFileSync(path.join(into, 'tree.node02.node02', 'sub', 'b.conf'), 'utf8')).toBe('b=2\n');
    expect(fs.readdirSync(path.join(into, 'tree.node02.node02')).sort()).toEqual(['a.conf', 'sub']);
    for (const e of copies(p.events)) expect(e.sha256).toBe(sha(manifest));
  }, 120_000);

  it('per-node errors have their own codes: no such directory, permission denied, no space left', async () => {
    const src = path.join(local, 'small.txt');
    fs.writeFileSync(src, 'hello\n');
    const rootOnly = fs.mkdtempSync(path.join(cluster.workDir, 'root-only-'));
    fs.chmodSync(rootOnly, 0o755);
    const r1 = await runJob(h.engine, `SSH:PUSH:node01:${src}:${cluster.workDir}/no/such/dir/x`);
    expect(errorOf(r1.events, 'node01')).toMatch(/^ERR_NO_SUCH_FILE: node01: creating .*no\/such\/dir\/x: no such file or directory/);
    const r2 = await runJob(h.engine, `SSH:PUSH:node01:${src}:${rootOnly}/x`);
    expect(errorOf(r2.events, 'node01')).toMatch(/^ERR_PERMISSION: node01: creating .*: permission denied/);
    const r3 = await runJob(h.engine, `SSH:PULL:node01:${cluster.workDir}/nothing-here:${local}/p3`);
    expect(errorOf(r3.events, 'node01')).toMatch(/^ERR_NO_SUCH_FILE: node01: looking at .*nothing-here/);
    // a tiny file system on the "node": a 3 MB file does not fit in 1 MB
    const small = path.join(cluster.workDir, 'small-fs');
    fs.mkdirSync(small, { mode: 0o777 });
    let mounted = false;
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0777', 'tmpfs', small], { stdio: 'ignore' });
      mounted = true;
    } catch {
      /* no mount here (a container without CAP_SYS_ADMIN): the other codes are still checked */
    }
    try {
      if (mounted) {
        const big = path.join(local, 'three.bin');
        fs.writeFileSync(big, crypto.randomBytes(3 * MB));
        const r4 = await runJob(h.engine, `SSH:PUSH:node01:${big}:${small}/x`);
        expect(errorOf(r4.events, 'node01')).toMatch(/^ERR_NO_SPACE: node01: writing .*: no space left/);
      }
    } finally {
      if (mounted) execFileSync('umount', [small]);
    }
  }, 60_000);

  it('cancel mid-transfer ends the job with JOB_CANCELLED and stops every transfer', async () => {
    const src = path.join(local, 'huge.bin');
    fs.writeFileSync(src, crypto.randomBytes(64 * MB));
    const r = await runJob(h.engine, `SSH:PUSH:${cluster.folded}:${src}:${cluster.workDir}/huge.{name}`, (e, cancel) => {
      if (e.type === 'PROGRESS') cancel();
    });
    expect(r.lines.at(-1)).toBe(`SSH:${r.view.id}:JOB_CANCELLED`);
    const sizes = () => cluster.nodes.map((n) => fs.statSync(path.join(cluster.workDir, `huge.${n.name}`), { throwIfNoEntry: false })?.size ?? 0);
    // the sessions end (the node's sftp-server exits) and no file grows any more
    expect(await eventually(() => processesUnder(cluster, 'sftp-server').length === 0, 10_000)).toBe(true);
    const after = sizes();
    await new Promise((res) => setTimeout(res, 1000));
    expect(sizes()).toEqual(after);
    expect(after.filter((s) => s < 64 * MB).length).toBeGreaterThan(0);
  }, 120_000);

  it('a node whose sshd is stopped fails alone; the others get the file', async () => {
    const src = path.join(local, 'small.txt');
    const victim = cluster.nodes[4];
    const pid = cluster.pids[4];
    process.kill(pid, 'SIGTERM');
    expect(await eventually(() => !fs.existsSync(`/proc/${pid}`), 5000)).toBe(true);
    h.backends.ssh.drop(victim.name); // as if the node went down between jobs
    const r = await runJob(h.engine, `SSH:PUSH:node[01-08]:${src}:${cluster.workDir}/alone.{name}`);
    expect(r.lines.at(-1)).toBe(`SSH:${r.view.id}:JOB_COMPLETED:ok=7:failed=1`);
    expect(errorOf(r.events, victim.name)).toMatch(/^ERR_SSH_REFUSED: /);
    expect(copies(r.events).map((e) => e.node).sort()).toEqual(cluster.nodes.slice(0, 8).map((n) => n.name).filter((n) => n !== victim.name));
    for (const n of cluster.nodes.slice(0, 8)) expect(fs.existsSync(path.join(cluster.workDir, `alone.${n.name}`)), n.name).toBe(n !== victim);
  }, 60_000);
});
