/**
 * Hostile clients at vacm serve's front door (issue 13): floods of login attempts, control
 * characters in user names and requests, oversized lines, a client that never reads. The serve
 * keeps serving everyone else, and its memory stays bounded.
 */
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ssh2 from 'ssh2';
import { hasBinary, ssh, startServe, type ServeFixture } from '../helpers/serve-door.js';

const HAVE = hasBinary('ssh') && hasBinary('ssh-keygen');

/** Log in with ssh2's client (any user name, any key); resolves with 'ready' or the error's text. */
function tryLogin(f: ServeFixture, username: string, keyFile: string, localAddress?: string): Promise<string> {
  return new Promise((resolve) => {
    const c = new ssh2.Client();
    const t = setTimeout(() => (c.end(), resolve('timeout')), 15_000);
    c.on('ready', () => (clearTimeout(t), c.end(), resolve('ready')));
    c.on('error', (e) => (clearTimeout(t), resolve(e.message)));
    c.on('close', () => (clearTimeout(t), resolve('closed')));
    c.connect({ host: '127.0.0.1', port: f.port, username, privateKey: fs.readFileSync(keyFile), localAddress, readyTimeout: 10_000, hostVerifier: () => true });
  });
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

describe.skipIf(!HAVE)('vacm serve front door: hostile clients', () => {
  let f: ServeFixture;
  beforeAll(async () => {
    f = await startServe([{ name: 'alice', role: 'operator' }], {
      nodes: 'sim[0001-2048]',
      extra: '  max_auth_per_minute: 5\n  max_unread_bytes: 262144\n',
    });
  }, 60_000);
  afterAll(async () => {
    await f?.stop();
  });

  it('control characters in a user name are refused, and the log shows none of them raw', async () => {
    const r = await tryLogin(f, 'al\x1b]0;PWNED\x07ice\nroot', f.key('alice'), '127.0.0.3');
    expect(r).toBe('All configured authentication methods failed');
    await new Promise((res) => setTimeout(res, 300));
    const log = f.log();
    expect(log).toContain('is not one of');
    expect(log).not.toContain('\x1b');
    expect(log).not.toContain('\x07');
  });

  it('a flood of failed logins from one address is cut off; another address still logs in', async () => {
    const results: string[] = [];
    for (let i = 0; i < 12; i++) results.push(await tryLogin(f, 'alice', f.key('stranger'), '127.0.0.4'));
    expect(results.every((r) => r !== 'ready')).toBe(true);
    expect(f.log()).toContain('127.0.0.4');
    expect(f.log()).toMatch(/refused: more than 5 failed logins in a minute \(serve\.max_auth_per_minute\)/);
    // even the right key is not heard from that address this minute
    expect(await tryLogin(f, 'alice', f.key('alice'), '127.0.0.4')).not.toBe('ready');
    expect(await tryLogin(f, 'alice', f.key('alice'), '127.0.0.1')).toBe('ready');
  });

  it('an oversized line on the subsystem is refused without ending the session; a hostile op name comes back escaped', async () => {
    const big = JSON.stringify({ op: 'submit', line: 'NEXXUS:NODE_LIST:' + 'x'.repeat(200_000) });
    const r = await ssh(f, 'alice', ['-s', 'vacm'], { stdin: `${big}\n{"op":"\\u001b]0;x\\u0007"}\n{"op":"ping","ref":7}\n` });
    expect(r.code).toBe(0);
    expect(r.out).not.toContain('\x1b');
    const msgs = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(msgs.find((m) => m.type === 'error' && m.code === 'ERR_LINE_TOO_LONG')).toBeDefined();
    expect(msgs.find((m) => m.type === 'error' && m.code === 'ERR_UNKNOWN_COMMAND')).toBeDefined();
    expect(msgs.at(-1)).toEqual({ type: 'pong', ref: 7 });
  });

  it('a request line over 64 KiB through exec is refused with ERR_LINE_TOO_LONG, exit 2', async () => {
    const r = await ssh(f, 'alice', ['-'], { stdin: 'NEXXUS:NODE_LIST:' + 'y'.repeat(100_000) + '\nNEXXUS:NODE_LIST:sim0001\n' });
    expect(r.code).toBe(2);
    expect(r.err).toContain('ERR_LINE_TOO_LONG');
    expect(r.out).toMatch(/NEXXUS:\d+:NODELIST:sim0001/);
  });

  it('a client that never reads is dropped at serve.max_unread_bytes, others are served meanwhile, RSS stays bounded', async () => {
    const before = rssKb(f.child.pid!);
    const line = 'z'.repeat(2000);
    const child = spawn('ssh', ['-F', '/dev/null', '-p', String(f.port), '-i', f.key('alice'), '-o', `UserKnownHostsFile=${f.knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', 'alice@127.0.0.1', `SSH:EXEC:sim[0001-2048]:echo ${line}`], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SSH_AUTH_SOCK: '' } });
    child.stdout.pause(); // never read: ssh blocks on its stdout, stops reading the socket
    try {
      let dropped = false;
      let servedMeanwhile = false;
      for (let i = 0; i < 120 && !dropped; i++) {
        await new Promise((r) => setTimeout(r, 500));
        dropped = /alice at 127\.0\.0\.1:\d+ left more than 262144 bytes unread \(serve\.max_unread_bytes\): disconnected/.test(f.log());
        if (!servedMeanwhile) {
          const other = await ssh(f, 'alice', ['NEXXUS:NODE_LIST:sim0002']);
          servedMeanwhile = other.code === 0 && /NODELIST:sim0002/.test(other.out);
        }
      }
      expect(dropped).toBe(true);
      expect(servedMeanwhile).toBe(true);
      const after = rssKb(f.child.pid!);
      // 2048 nodes x 2 KB is 4 MB of output; the serve holds far less than it would have to queue
      expect(after - before).toBeLessThan(256 * 1024);
      const still = await ssh(f, 'alice', ['NEXXUS:NODE_LIST:sim0003']);
      expect(still.code).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 90_000);

  it('kill -9 of a client leaves the serve serving', async () => {
    const child = spawn('ssh', ['-F', '/dev/null', '-T', '-p', String(f.port), '-i', f.key('alice'), '-o', `UserKnownHostsFile=${f.knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', 'alice@127.0.0.1'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, SSH_AUTH_SOCK: '' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    for (let i = 0; i < 100 && !out.includes('NEXXUS_READY'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(out).toContain('NEXXUS_READY');
    child.stdin.write('SSH:EXEC:sim[0001-0004]:sleep 1\n');
    for (let i = 0; i < 100 && !/SSH:\d+:JOB_STARTED/.test(out); i++) await new Promise((r) => setTimeout(r, 100));
    expect(out).toMatch(/SSH:\d+:JOB_STARTED/);
    child.kill('SIGKILL');
    const r = await ssh(f, 'alice', ['NEXXUS:JOBS']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/NEXXUS:\d+:JOB:\d+:\w+:\d+\/4:SSH:EXEC:sim\[0001-0004\]:sleep 1/);
  });
});

describe.skipIf(!HAVE)('vacm serve front door: session limits', () => {
  let f: ServeFixture;
  beforeAll(async () => {
    f = await startServe([{ name: 'alice', role: 'operator' }], { extra: '  max_sessions: 1\n  idle_s: 2\n' });
  }, 60_000);
  afterAll(async () => {
    await f?.stop();
  });

  it('past serve.max_sessions a session is told ERR_LIMIT and exit 2; an idle one is closed after serve.idle_s, then others may come', async () => {
    const idle = spawn('ssh', ['-F', '/dev/null', '-p', String(f.port), '-i', f.key('alice'), '-o', `UserKnownHostsFile=${f.knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-s', 'alice@127.0.0.1', 'vacm'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, SSH_AUTH_SOCK: '' } });
    let out = '';
    let err = '';
    idle.stdout.on('data', (d) => (out += d));
    idle.stderr.on('data', (d) => (err += d));
    const closed = new Promise<number | null>((r) => idle.on('close', r));
    try {
      for (let i = 0; i < 100 && !out.includes('"hello"'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(out).toContain('"type":"hello"');
      const second = await ssh(f, 'alice', ['NEXXUS:NODE_LIST:sim001']);
      expect(second.code).toBe(2);
      expect(second.err).toContain('NEXXUS:0:ERROR:ERR_LIMIT:vacm serve has 1 sessions already (serve.max_sessions)');
      // the idle subsystem session sends nothing: closed within idle_s and a check interval or so
      await Promise.race([closed, new Promise((r) => setTimeout(r, 20_000))]);
      expect(idle.exitCode ?? idle.signalCode).not.toBeNull();
      expect(err + f.log()).toContain('was idle for more than 2 s (serve.idle_s): disconnected');
      const third = await ssh(f, 'alice', ['NEXXUS:NODE_LIST:sim001']);
      expect(third.code).toBe(0);
    } finally {
      idle.kill('SIGKILL');
    }
  }, 60_000);
});
