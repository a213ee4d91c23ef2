/**
 * `vacm doctor` as an operator runs it (the real binary): each finding on its own line with its fix,
 * exit 0 when nothing needs fixing and 1 when something does. The sweep pings with fping/ping and
 * (last block) talks to the real sshd fixture: run under the lock.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vacm } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { checkPeers, checkStateDir, formatFinding } from '../../src/cli/doctor.js';
import { findBinary } from '../../src/backends/icmp/fping.js';
import { sshdAvailable, startSshCluster, type SshCluster } from '../fixtures/sshd.js';

const canPing = findBinary('fping') !== undefined || findBinary('ping') !== undefined;

describe('doctor findings', () => {
  it('print one line each, the fix indented under it, with no control character from the input', () => {
    expect(formatFinding({ level: 'fail', check: 'secret', message: 'agent secret /x is readable', fix: 'chmod 600 /x' }))
      .toBe('FAIL  secret      agent secret /x is readable\n                   fix: chmod 600 /x\n');
    expect(formatFinding({ level: 'ok', check: 'nodes', message: 'n\x1b[31m1\n(1): ok' })).toBe('ok    nodes       n?[31m1?(1): ok\n');
  });

  it('a missing state dir is a note when it can be created, a failure when it cannot', () => {
    const d = tempDir('vacm-doc-sd-');
    expect(checkStateDir(path.join(d, 'state'))).toEqual([{ level: 'note', check: 'state dir', message: `${path.join(d, 'state')} does not exist yet: vacm creates it (mode 0700) on first use` }]);
    fs.mkdirSync(path.join(d, 'shared'), { mode: 0o755 });
    fs.chmodSync(path.join(d, 'shared'), 0o750);
    const [f, audit] = checkStateDir(path.join(d, 'shared'));
    expect(f).toMatchObject({ level: 'warn', fix: `chmod 700 ${path.join(d, 'shared')}` });
    expect(audit).toMatchObject({ level: 'ok', check: 'audit' });
    fs.rmSync(d, { recursive: true, force: true });
  });

  it('a missing virsh fails only when nodes use power: libvirt; a missing fping falls back to ping', () => {
    const none = () => undefined;
    const pingOnly = (n: string) => (n === 'ping' ? '/bin/ping' : undefined);
    const libvirt = { view: { cluster: 'c', fanout: 1, exec: { allow: ['*'] }, sections: {}, groups: {} }, nodes: [{ name: 'vm1', groups: [], vars: { power: 'libvirt' } }] };
    expect(checkPeers(undefined, pingOnly).map((f) => f.level)).toEqual(['warn', 'note', 'note', 'note']);
    expect(checkPeers(libvirt, pingOnly).find((f) => f.message.startsWith('virsh'))).toMatchObject({ level: 'fail', fix: 'apt-get install libvirt-clients' });
    expect(checkPeers(undefined, none)[0]).toMatchObject({ level: 'fail', message: 'neither fping nor ping is installed: ICMP_ECHO cannot ping' });
  });
});

describe.skipIf(!canPing)('vacm doctor, the real binary (needs fping or ping)', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('vacm-doctor-');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('--demo with no config: the nodes sweep clean, no config is a warning, exit 0', async () => {
    const state = path.join(dir, 'demo-state');
    fs.mkdirSync(state, { mode: 0o700 });
    const r = await vacm(['doctor', '--demo', '--nodes', '8'], { env: { HOME: dir, VACM_STATE_DIR: state, VACM_CONFIG: '' } });
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^WARN {2}config {6}no vacm\.yaml found .*: 9 nodes, 4 groups \(with --demo\)$/m);
    expect(r.out).toContain(`ok    state dir   ${state}: owner uid ${process.getuid!()}, mode 0700\n`);
    expect(r.out).toContain(`ok    audit       ${state}/audit.jsonl is writable\n`);
    expect(r.out).toMatch(/^ok {4}peers {7}fping: |^WARN {2}peers {7}fping is not installed/m);
    expect(r.out).toContain('ok    nodes       sim[001-008] (8): ping up, stats ok, power on\n');
    expect(r.out.trimEnd().split('\n').pop()).toBe('vacm doctor: nothing to fix');
    expect(r.code).toBe(0);
    // read-only: nothing was audited
    expect(fs.existsSync(path.join(state, 'audit.jsonl'))).toBe(false);
  }, 60_000);

  it('names each problem with its fix and exits 1: state dir, secret mode, known_hosts, unreachable SSH', async () => {
    const secret = path.join(dir, 'agent.secret');
    fs.writeFileSync(secret, 'not-so-secret\n', { mode: 0o644 });
    fs.chmodSync(secret, 0o644);
    const kh = path.join(dir, 'known_hosts');
    fs.writeFileSync(kh, '');
    const state = path.join(dir, 'open-state');
    fs.mkdirSync(state);
    fs.chmodSync(state, 0o777);
    const cfg = path.join(dir, 'vacm.yaml');
    fs.writeFileSync(cfg, `cluster: doc
nodes:
  - names: dead[1-2]
    vars: { host: "127.0.33.{n}", ssh_port: "2", ssh_known_hosts: ${kh} }
  - names: box[1-2]
    vars: { sim: "true", power: sim }
agent:
  secret_file: ${secret}
`);
    const r = await vacm(['doctor', '--config', cfg, '--timeout', '20'], { env: { HOME: dir, VACM_STATE_DIR: state, VACM_CONFIG: '' }, timeoutMs: 60_000 });
    expect(r.err).toBe('');
    expect(r.out).toContain(`ok    config      ${cfg}: valid, 4 nodes, 0 groups\n`);
    expect(r.out).toContain(`FAIL  state dir   state dir ${state} is writable by everyone (mode 0777)\n                   fix: chmod go-w ${state}\n`);
    expect(r.out).toContain(`FAIL  secret      agent secret ${secret} is readable by everyone (mode 0644)\n                   fix: chmod 600 ${secret}\n`);
    expect(r.out).toContain(`FAIL  known_hosts dead[1-2] (2): no host key in ${kh}; SSH refuses them (ERR_HOSTKEY)\n                   fix: check the keys out of band, then: ssh-keyscan -p 2 127.0.33.1 127.0.33.2 >> ${kh}`);
    expect(r.out).toMatch(/^FAIL {2}nodes {7}dead\[1-2\] \(2\): ping up, stats ERR_SSH_\w+\n {19}fix: \S/m);
    expect(r.out).toContain('ok    nodes       box[1-2] (2): ping up, stats ok, power on\n');
    expect(r.out.trimEnd().split('\n').pop()).toBe('vacm doctor: some findings need a fix (FAIL above)');
    expect(r.code).toBe(1);
  }, 90_000);

  it('an invalid config is one failure naming the file and line, and exit 1', async () => {
    const cfg = path.join(dir, 'bad.yaml');
    fs.writeFileSync(cfg, 'nodes:\n  - names: n[1-\n');
    const r = await vacm(['doctor', '--config', cfg], { env: { HOME: dir, VACM_STATE_DIR: path.join(dir, 'bad-state'), VACM_CONFIG: '' } });
    expect(r.out).toMatch(new RegExp(`^FAIL {2}config {6}ERR_CONFIG: .*${cfg.replace(/[.]/g, '\\.')}`, 'm'));
    expect(r.out).toContain(`fix: correct ${cfg} at the place named (docs/config.md), then run vacm doctor again`);
    expect(r.out).not.toMatch(/^\S+ +nodes /m);
    expect(r.code).toBe(1);
  });

  describe.skipIf(!sshdAvailable())('against the real sshd fixture (needs root and openssh-server)', () => {
    let cluster: SshCluster;
    beforeAll(async () => {
      cluster = await startSshCluster({ count: 3 });
    }, 60_000);
    afterAll(async () => cluster?.stop());
    const withHosts = (yaml: string) => yaml.replace('    groups: [compute]\n', '    groups: [compute]\n    vars: { host: "127.0.10.{n}" }\n');

    it('SSH nodes with known host keys sweep clean, and a node whose key is not known is named with the ssh-keyscan fix', async () => {
      const state = path.join(dir, 'ssh-state');
      fs.mkdirSync(state, { mode: 0o700 });
      // host: the address too, so that ICMP_ECHO pings what SSH reaches (ssh_config's HostName is SSH's alone)
      const good = path.join(dir, 'ssh-good.yaml');
      fs.writeFileSync(good, withHosts(cluster.vacmYaml()));
      const ok = await vacm(['doctor', '--config', good], { env: { HOME: dir, VACM_STATE_DIR: state, VACM_CONFIG: '' }, timeoutMs: 60_000 });
      expect(ok.err).toBe('');
      expect(ok.out).toContain(`ok    known_hosts every SSH node's host key is known (3 nodes)\n`);
      expect(ok.out).toContain(`ok    nodes       ${cluster.folded} (3): ping up, stats ok\n`);
      expect(ok.code).toBe(0);

      const empty = path.join(dir, 'empty_known_hosts');
      fs.writeFileSync(empty, '');
      const cfg = path.join(dir, 'ssh-unknown.yaml');
      const n = cluster.nodes[0];
      fs.writeFileSync(cfg, withHosts(cluster.vacmYaml({ nodes: `  - names: stranger\n    vars: { host: "${n.addr}", ssh_port: "${cluster.port}", ssh_known_hosts: ${empty} }` })));
      const bad = await vacm(['doctor', '--config', cfg], { env: { HOME: dir, VACM_STATE_DIR: state, VACM_CONFIG: '' }, timeoutMs: 60_000 });
      expect(bad.out).toContain(`FAIL  known_hosts stranger (1): no host key in ${empty}; SSH refuses them (ERR_HOSTKEY)\n                   fix: check the keys out of band, then: ssh-keyscan -p ${cluster.port} ${n.addr} >> ${empty}`);
      // the generic fix, then what the engine said about the first node, which names the file and the command
      expect(bad.out).toContain('FAIL  nodes       stranger (1): ping up, stats ERR_HOSTKEY\n                   fix: add the host key to known_hosts (see the known_hosts finding) (stranger: the host key of');
      expect(bad.out).toMatch(new RegExp(`\\(stranger: the host key of .* is not known in ${empty.replace(/[.]/g, '\\.')}; add it \\(ssh-keyscan -p ${cluster.port} ${n.addr.replace(/[.]/g, '\\.')} >> `));
      expect(bad.code).toBe(1);
    }, 90_000);
  });
});
