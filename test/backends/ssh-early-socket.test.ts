/**
 * The pool's early TCP connection (pool.ts EarlySocket), against plain loopback TCP servers (no
 * sshd needed): none is opened when there is no key to offer; a node that closes at once, or
 * refuses, gets the same ERR_* and words whether that happened before ssh2 took the socket over or after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SshPool } from '../../src/backends/ssh/pool.js';
import { parseSshSection } from '../../src/backends/ssh/settings.js';

const ADDR = '127.0.11.230';

describe('the pool opens its TCP connection before ssh2 loads', () => {
  let dir: string;
  let server: net.Server;
  let port = 0;
  let accepted = 0;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-early-'));
    // a TCP server that closes every connection at once (sshd at MaxStartups, or not an SSH server)
    server = net.createServer((s) => {
      accepted++;
      s.destroy();
    });
    await new Promise<void>((res) => server.listen(0, ADDR, res));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((res) => server.close(() => res()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const pool = (identity: string) => new SshPool({ section: parseSshSection({ config: false, agent: false, identity, connect_timeout_ms: 5000 }), env: { HOME: dir } });
  const vars = { host: ADDR, ssh_port: '' };

  it('no key to offer: ERR_SSH_AUTH and no connection is opened', async () => {
    const p = pool(path.join(dir, 'missing_key'));
    const before = accepted;
    try {
      await expect(p.run('n1', { ...vars, ssh_port: String(port) }, 'true')).rejects.toMatchObject({ code: 'ERR_SSH_AUTH', message: expect.stringContaining('missing_key (missing)') });
      await new Promise((r) => setTimeout(r, 100));
      expect(accepted).toBe(before);
    } finally {
      await p.close();
    }
  });

  it('a key file that does not parse: the first try finds out (and connects), the next opens nothing', async () => {
    const bad = path.join(dir, 'garbage_key');
    fs.writeFileSync(bad, 'not a key\n', { mode: 0o600 });
    const p = pool(bad);
    try {
      await expect(p.run('n1', { ...vars, ssh_port: String(port) }, 'true')).rejects.toMatchObject({ code: 'ERR_SSH_AUTH', message: expect.stringContaining('garbage_key (') });
      await new Promise((r) => setTimeout(r, 100));
      const before = accepted;
      await expect(p.run('n2', { ...vars, ssh_port: String(port) }, 'true')).rejects.toMatchObject({ code: 'ERR_SSH_AUTH' });
      await new Promise((r) => setTimeout(r, 100));
      expect(accepted).toBe(before);
    } finally {
      await p.close();
    }
  });

  it('a node that closes at once, and a refused port: the same errors on every try (early or not)', async () => {
    const key = path.join(dir, 'id_ed25519');
    const ssh2 = (await import('ssh2')).default;
    fs.writeFileSync(key, ssh2.utils.generateKeyPairSync('ed25519').private, { mode: 0o600 });
    const refused = net.createServer();
    await new Promise<void>((res) => refused.listen(0, ADDR, res));
    const refusedPort = (refused.address() as net.AddressInfo).port;
    await new Promise<void>((res) => refused.close(() => res()));
    for (let i = 0; i < 3; i++) {
      const p = pool(key);
      try {
        await expect(p.run(`c${i}`, { ...vars, ssh_port: String(port) }, 'true')).rejects.toMatchObject({
          code: 'ERR_SSH_CONNECT',
          message: `SSH to ${os.userInfo().username}@${ADDR}:${port} failed: Connection lost before handshake`,
        });
        await expect(p.run(`r${i}`, { ...vars, ssh_port: String(refusedPort) }, 'true')).rejects.toMatchObject({
          code: 'ERR_SSH_REFUSED',
          message: expect.stringMatching(new RegExp(`^connection refused by ${ADDR.replace(/\./g, '\\.')}:${refusedPort} `)),
        });
      } finally {
        await p.close();
      }
    }
  });
});
