/**
 * vacm serve's SSH front door with real processes (issue 13): OpenSSH's ssh for exec, shell and the
 * vacm subsystem; roles refused in the engine; unknown keys and keys from outside their subnet
 * refused; known_hosts pinning for vacm's own client; attaching over TCP and over the local socket.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vacm } from '../helpers/cli.js';
import { hasBinary, ssh, startServe, type ServeFixture } from '../helpers/serve-door.js';

const HAVE = hasBinary('ssh') && hasBinary('ssh-keygen');

describe.skipIf(!HAVE)('vacm serve: the SSH front door', () => {
  let f: ServeFixture;
  beforeAll(async () => {
    f = await startServe([
      { name: 'alice', role: 'operator' },
      { name: 'vera', role: 'viewer', from: ['127.0.0.1/32'] },
      { name: 'root', role: 'admin' },
    ]);
  }, 60_000);
  afterAll(async () => {
    await f?.stop();
  });

  it('logs the host key fingerprint it made on first start, the key file 0600', () => {
    expect(f.log()).toMatch(/made a new host key .*serve_host_ed25519_key: SHA256:[A-Za-z0-9+/]{43}/);
    expect(fs.statSync(path.join(f.stateDir, 'serve_host_ed25519_key')).mode & 0o777).toBe(0o600);
  });

  it('an exec request prints what vacm ipc prints, with its exit status', async () => {
    const r = await ssh(f, 'alice', ['POWER:STATUS:sim[001-002]\nNEXXUS:NODE_LIST:sim003']);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines).toContain('NEXXUS:' + lines.find((l) => l.startsWith('NEXXUS:'))!.split(':')[1] + ':NODELIST:sim003');
    expect(lines.filter((l) => /^POWER:\d+:POWER:sim00[12]:on$/.test(l))).toHaveLength(2);
    expect(lines.filter((l) => l.includes('JOB_COMPLETED:ok='))).toHaveLength(2);
    // the same request through an engine of its own prints the same lines but for the job ids
    const embedded = await vacm(['ipc', '--embedded', '--config', path.join(f.dir, 'vacm.yaml'), 'NEXXUS:NODE_LIST:sim003'], { env: { VACM_STATE_DIR: path.join(f.dir, 'embedded') } });
    const strip = (s: string) => s.trim().split('\n').map((l) => l.replace(/^(\w+):\d+:/, '$1:J:'));
    expect(strip(lines.filter((l) => l.startsWith('NEXXUS:')).join('\n'))).toEqual(strip(embedded.out));
  });

  it('a request that cannot be parsed exits 2 with the ERR line on stderr', async () => {
    const r = await ssh(f, 'alice', ['NOPE:THING']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('NEXXUS:0:ERROR:ERR_UNKNOWN_MODULE');
  });

  it('a viewer is refused POWER:OFF with ERR_FORBIDDEN naming the operator role, exit 2, audited with who and where', async () => {
    const r = await ssh(f, 'vera', ['POWER:OFF:sim001']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/NEXXUS:0:ERROR:ERR_FORBIDDEN:POWER\\:OFF needs the operator role; vera is a viewer/);
    const audit = fs.readFileSync(path.join(f.stateDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const rec = audit.find((a) => a.user === 'vera' && a.state === 'refused');
    expect(rec).toMatchObject({ request: 'POWER:OFF:sim001', door: 'ssh', role: 'viewer', error: expect.stringContaining('ERR_FORBIDDEN') });
    expect(String(rec!.addr)).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(String(rec!.key)).toMatch(/^SHA256:/);
    // and the node was not touched
    const st = await ssh(f, 'vera', ['POWER:STATUS:sim001']);
    expect(st.out).toMatch(/POWER:\d+:POWER:sim001:on/);
  });

  it('an operator may power off; an admin-only request (SET_VAR, :FORCE) is refused to the operator', async () => {
    const off = await ssh(f, 'alice', ['POWER:OFF:sim008']);
    expect(off.code).toBe(0);
    expect(off.out).toMatch(/POWER:\d+:POWER:sim008:off/);
    const set = await ssh(f, 'alice', ['NEXXUS:SET_VAR:sim001:rack:r1']);
    expect(set.code).toBe(2);
    expect(set.err).toContain('ERR_FORBIDDEN:NEXXUS\\:SET_VAR needs the admin role; alice is an operator');
    const force = await ssh(f, 'alice', ['POWER:OFF:sim007:FORCE']);
    expect(force.code).toBe(2);
    expect(force.err).toContain('needs the admin role');
    const admin = await ssh(f, 'root', ['NEXXUS:SET_VAR:sim001:rack:r1']);
    expect(admin.code).toBe(0);
  });

  it('NEXXUS:JOBS says who ran each job and through which door; the audit names the user', async () => {
    await ssh(f, 'alice', ['POWER:ON:sim008']);
    const r = await ssh(f, 'vera', ['NEXXUS:JOBS']);
    expect(r.code).toBe(0);
    const on = /NEXXUS:\d+:JOB:(\d+):completed:1\/1:POWER:ON:sim008/.exec(r.out);
    expect(on).not.toBeNull();
    expect(r.out).toMatch(new RegExp(`NEXXUS:\\d+:JOB_BY:${on![1]}:alice:ssh:127\\.0\\.0\\.1\\\\:\\d+:SHA256\\\\:`));
    const audit = fs.readFileSync(path.join(f.stateDir, 'audit.jsonl'), 'utf8');
    expect(audit).toMatch(/"user":"alice".*"request":"POWER:ON:sim008".*"door":"ssh"|"door":"ssh".*"request":"POWER:ON:sim008"/);
  });

  it('an unknown key is refused, and a known key from outside its from: subnet', async () => {
    const stranger = await ssh(f, 'alice', ['NEXXUS:NODE_LIST'], { key: f.key('stranger') });
    expect(stranger.code).toBe(255);
    expect(stranger.err).toContain('Permission denied (publickey)');
    const outside = await ssh(f, 'vera', ['NEXXUS:NODE_LIST'], { bind: '127.0.0.2' });
    expect(outside.code).toBe(255);
    expect(outside.err).toContain('Permission denied (publickey)');
    expect(f.log()).toContain('vera may not log in from 127.0.0.2');
    // alice has no from: she may come from 127.0.0.2
    const alice = await ssh(f, 'alice', ['NEXXUS:NODE_LIST:sim001'], { bind: '127.0.0.2' });
    expect(alice.code).toBe(0);
  });

  it('a shell is vash: NEXXUS_READY, one request a line, quit ends it', async () => {
    const r = await ssh(f, 'alice', [], { stdin: 'NEXXUS:NODE_LIST:sim002\nNEXXUS:WHO\nquit\nNEXXUS:NODE_LIST:sim003\n', extra: ['-T'] });
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toBe('NEXXUS_READY');
    expect(r.out).toMatch(/NEXXUS:\d+:NODELIST:sim002/);
    expect(r.out).toMatch(/NEXXUS:\d+:WHO:\d+:alice:operator:ssh:127\.0\.0\.1\\:\d+:shell:/);
    expect(r.out).not.toContain('sim003');
  });

  it('a shell keeps answering, one line at a time, while another session changes things', async () => {
    const child = spawn('ssh', ['-F', '/dev/null', '-T', '-p', String(f.port), '-i', f.key('vera'), '-o', `UserKnownHostsFile=${f.knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', 'vera@127.0.0.1'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, SSH_AUTH_SOCK: '' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    try {
      for (let i = 0; i < 100 && !out.includes('NEXXUS_READY'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(out).toContain('NEXXUS_READY');
      // a node the pollers find down comes as NODE_DOWN; a power change of sim006 is job-0 news only if
      // membership says so, so ask for what is certain: the shell answers while another session works
      await ssh(f, 'alice', ['POWER:OFF:sim006']);
      child.stdin.write('POWER:STATUS:sim006\n');
      for (let i = 0; i < 100 && !/POWER:\d+:POWER:sim006:off/.test(out); i++) await new Promise((r) => setTimeout(r, 100));
      expect(out).toMatch(/POWER:\d+:POWER:sim006:off/);
      child.stdin.end();
      const code = await new Promise<number | null>((r) => child.on('close', r));
      expect(code).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await ssh(f, 'alice', ['POWER:ON:sim006']);
    }
  });

  it('the vacm subsystem speaks JSON lines: hello with the version, submit, the job\'s events, a state snapshot', async () => {
    const r = await ssh(f, 'alice', ['-s', 'vacm'], { stdin: '{"op":"submit","ref":1,"line":"NEXXUS:NODE_LIST:sim00[1-2]"}\n{"op":"subscribe"}\n{"op":"bogus"}\nnot json\n' });
    expect(r.code).toBe(0);
    const msgs = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(msgs[0]).toMatchObject({ type: 'hello', v: 1, user: 'alice', role: 'operator', cluster: 'doortest' });
    expect(msgs).toContainEqual(expect.objectContaining({ type: 'submitted', ref: 1 }));
    expect(msgs.filter((m) => m.type === 'event' && m.event === 'NODELIST').map((m) => m.node)).toEqual(['sim001', 'sim002']);
    const snap = msgs.find((m) => m.type === 'snapshot') as { nodes: { name: string; state: string }[]; jobs: { user?: string }[] } | undefined;
    expect(snap?.nodes.map((n) => n.name)).toEqual(['sim001', 'sim002', 'sim003', 'sim004', 'sim005', 'sim006', 'sim007', 'sim008']);
    expect(snap?.jobs.some((j) => j.user === 'alice')).toBe(true);
    expect(msgs.filter((m) => m.type === 'error').map((m) => m.code)).toEqual(['ERR_UNKNOWN_COMMAND', 'ERR_PROTO_PARSE']);
  });

  it('vacm ipc --attach ssh://alice@127.0.0.1:PORT uses ~/.ssh (key, known_hosts) and passes output and status through', async () => {
    const home = f.home('alice');
    const env = { HOME: home, SSH_AUTH_SOCK: '' };
    const r = await vacm(['ipc', '--attach', `ssh://alice@127.0.0.1:${f.port}`, 'POWER:STATUS:sim001'], { env });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^POWER:\d+:JOB_STARTED\nPOWER:\d+:POWER:sim001:on\nPOWER:\d+:JOB_COMPLETED:ok=1:failed=0\n$/);
    const json = await vacm(['ipc', '--json'], { env: { ...env, VACM_ATTACH: `ssh://alice@127.0.0.1:${f.port}` }, stdin: 'NEXXUS:NODE_LIST:sim004\n' });
    expect(json.code).toBe(0);
    expect(json.out.trim().split('\n').map((l) => (JSON.parse(l) as { event: string }).event)).toEqual(['JOB_STARTED', 'NODELIST', 'JOB_COMPLETED']);
    const refused = await vacm(['ipc', '--attach', `ssh://alice@127.0.0.1:${f.port}`, 'NEXXUS:SET_VAR:sim001:x:y'], { env });
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('ERR_FORBIDDEN');
  });

  it('vacm\'s client refuses a serve whose host key changed (known_hosts pinning)', async () => {
    const home = f.home('alice');
    const other = fs.readFileSync(f.key('stranger') + '.pub', 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
    fs.writeFileSync(path.join(home, '.ssh', 'known_hosts'), `[127.0.0.1]:${f.port} ${other}\n`);
    const r = await vacm(['ipc', '--attach', `ssh://alice@127.0.0.1:${f.port}`, 'NEXXUS:NODE_LIST'], { env: { HOME: home, SSH_AUTH_SOCK: '' } });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/ERR_HOSTKEY: .*has CHANGED/);
    expect(r.out).toBe('');
    fs.rmSync(path.join(home, '.ssh', 'known_hosts'));
    const unknown = await vacm(['ipc', '--attach', `ssh://alice@127.0.0.1:${f.port}`, 'NEXXUS:NODE_LIST'], { env: { HOME: home, SSH_AUTH_SOCK: '' } });
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/ERR_HOSTKEY: .*is not known/);
  });

  it('attaches over the local socket by default (the key still proves who it is); --embedded runs its own engine', async () => {
    const home = f.home('root');
    const env = { HOME: home, SSH_AUTH_SOCK: '', VACM_STATE_DIR: f.stateDir };
    const r = await vacm(['ipc', 'NEXXUS:WHO'], { env });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/NEXXUS:\d+:WHO:\d+:root:admin:socket:local:exec:/);
    const emb = await vacm(['ipc', '--embedded', 'NEXXUS:WHO'], { env: { ...env, VACM_STATE_DIR: path.join(f.dir, 'embedded2') } });
    expect(emb.code).toBe(0);
    expect(emb.out).not.toContain(':WHO:');
    // a user whose key the serve does not know is told so, not silently given another engine
    const stranger = await vacm(['ipc', 'NEXXUS:WHO'], { env: { ...env, HOME: f.home('stranger') } });
    expect(stranger.code).toBe(2);
    expect(stranger.err).toContain("ERR_SSH_AUTH: attaching to vacm serve at");
    expect(stranger.err).toContain("the serve does not know your key as root's (serve.users)");
  });
});
