/**
 * How the pool logs in with an identity file (ssh2-tuning.ts signWithoutQuery), seen from the server:
 * an in-process ssh2 server on loopback records every publickey request. A key of a file goes out
 * signed at once (no query first); a key the server does not take is refused as a query would be and
 * the next one is tried; no accepted key is still ERR_SSH_AUTH naming the keys tried.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import type { ParsedKey } from 'ssh2';
import { SshPool } from '../../src/backends/ssh/pool.js';
import { parseSshSection } from '../../src/backends/ssh/settings.js';

const ADDR = '127.0.11.231';
const parse = (text: string | Buffer): ParsedKey => {
  const k = ssh2.utils.parseKey(text);
  if (k instanceof Error) throw k;
  return Array.isArray(k) ? k[0] : k;
};

describe('logging in with a key file: one signed request, as the server sees it', () => {
  let dir: string;
  let server: ssh2.Server;
  let port = 0;
  /** every publickey request the server got: the key's file name and whether it was signed */
  const seen: { key: string; signed: boolean }[] = [];
  /** the signature algorithm of each signed request */
  const algos: string[] = [];
  /** the services the server was asked for */
  const services: string[] = [];
  const files: Record<string, string> = {};
  const pubs: Record<string, ParsedKey> = {};
  const authorized = new Set<string>();

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-authreq-'));
    for (const [name, type] of [['ed', 'ed25519'], ['rsa', 'rsa'], ['other', 'ed25519']] as const) {
      const pair = type === 'rsa' ? ssh2.utils.generateKeyPairSync('rsa', { bits: 2048 }) : ssh2.utils.generateKeyPairSync('ed25519');
      files[name] = path.join(dir, `id_${name}`);
      fs.writeFileSync(files[name], pair.private, { mode: 0o600 });
      pubs[name] = parse(pair.public);
    }
    const hostKey = ssh2.utils.generateKeyPairSync('ed25519');
    const nameOf = (blob: Buffer) => Object.keys(pubs).find((n) => pubs[n].getPublicSSH().equals(blob)) ?? '?';
    server = new ssh2.Server({ hostKeys: [hostKey.private] }, (client) => {
      client.on('authentication', (ctx) => {
        if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
        const name = nameOf(ctx.key.data);
        seen.push({ key: name, signed: ctx.signature !== undefined });
        if (ctx.signature !== undefined) algos.push(`${ctx.key.algo} ${ctx.hashAlgo ?? ''}`.trim());
        if (!authorized.has(name)) return ctx.reject(['publickey']);
        if (ctx.signature === undefined) return ctx.accept(); // PK_OK to a query
        if (pubs[name].verify(ctx.blob!, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(['publickey']);
        ctx.accept();
      });
      client.on('ready', () => {
        client.on('session', (accept) => {
          accept().on('exec', (acceptExec, _reject, info) => {
            const ch = acceptExec();
            ch.write(`ran ${info.command}\n`);
            ch.exit(0);
            ch.end();
          });
        });
      });
      client.on('error', () => undefined);
    });
    await new Promise<void>((res) => server.listen(0, ADDR, res));
    port = (server.address() as net.AddressInfo).port;
    fs.writeFileSync(path.join(dir, 'known_hosts'), `[${ADDR}]:${port} ${parse(hostKey.public).type} ${parse(hostKey.public).getPublicSSH().toString('base64')}\n`);
  });
  afterAll(async () => {
    await new Promise<void>((res) => server.close(() => res()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const pool = (...identity: string[]) => new SshPool({
    section: parseSshSection({ config: false, agent: false, identity: identity.map((k) => files[k]), known_hosts: path.join(dir, 'known_hosts'), connect_timeout_ms: 10_000 }),
    env: { HOME: dir },
  });
  const run = async (p: SshPool) => {
    try {
      return await p.run('n1', { host: ADDR, ssh_port: String(port) }, 'true');
    } finally {
      await p.close();
    }
  };

  it('ed25519 and RSA keys: one signed request each, no query, and the command runs', async () => {
    for (const k of ['ed', 'rsa']) {
      authorized.clear();
      authorized.add(k);
      seen.length = 0;
      algos.length = 0;
      expect(await run(pool(k))).toEqual({ stdout: 'ran true', stderr: '', code: 0 });
      expect(seen).toEqual([{ key: k, signed: true }]);
      // the login starts before SERVICE_ACCEPT but after EXT_INFO: RSA signs with SHA-2 as the
      // server's server-sig-algs allow (ssh-rsa, SHA-1, is what ssh2 would pick without them)
      expect(algos).toEqual([k === 'rsa' ? 'ssh-rsa sha256' : 'ssh-ed25519']);
    }
  });

  it('a first key the server refuses: the next key is tried and logs in', async () => {
    authorized.clear();
    authorized.add('ed');
    seen.length = 0;
    expect(await run(pool('other', 'ed'))).toMatchObject({ stdout: 'ran true', code: 0 });
    expect(seen).toEqual([{ key: 'other', signed: true }, { key: 'ed', signed: true }]);
  });

  it('no key the server takes: ERR_SSH_AUTH naming the keys tried, as before', async () => {
    authorized.clear();
    seen.length = 0;
    await expect(run(pool('other'))).rejects.toMatchObject({
      code: 'ERR_SSH_AUTH',
      message: expect.stringContaining(files.other),
    });
    expect(seen).toEqual([{ key: 'other', signed: true }]);
  });
});
