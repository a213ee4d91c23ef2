/**
 * src/backends/ssh/ssh2-tuning.ts: the key decoded once signs exactly as ssh2's own sign does (the
 * same bytes for ed25519 and RSA, a signature the key verifies for ECDSA, the same failure for a
 * bad hash), only sshd's host key announcement is left unanswered, and only keys decoded here log
 * in with one signed request instead of a query first; the login starts at EXT_INFO, not at
 * SERVICE_ACCEPT, and only once.
 */
import { describe, expect, it, vi } from 'vitest';
import ssh2 from 'ssh2';
import type { Client, ParsedKey } from 'ssh2';
import { decodedSigner, ignoreHostKeysAnnouncement, loginWithoutServiceWait, signWithoutQuery } from '../../src/backends/ssh/ssh2-tuning.js';

const parse = (text: string): ParsedKey => {
  const k = ssh2.utils.parseKey(text);
  if (k instanceof Error) throw k;
  return Array.isArray(k) ? k[0] : k;
};

const KEYS = {
  ed25519: ssh2.utils.generateKeyPairSync('ed25519').private,
  rsa: ssh2.utils.generateKeyPairSync('rsa', { bits: 2048 }).private,
  ecdsa: ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 }).private,
};
const DATA = Buffer.from('session id and userauth request, as ssh2 signs them');

describe('decodedSigner', () => {
  it('ed25519 and RSA: the same signature bytes as ssh2, for every hash ssh2 asks for', () => {
    for (const [type, algos] of [['ed25519', [undefined]], ['rsa', [undefined, 'sha1', 'sha256', 'sha512']]] as const) {
      const plain = parse(KEYS[type]);
      const fast = decodedSigner(parse(KEYS[type]));
      expect(fast.sign).not.toBe(plain.sign);
      for (const algo of algos) {
        const want = plain.sign(DATA, algo);
        expect(want).toBeInstanceOf(Buffer);
        expect(fast.sign(DATA, algo)).toEqual(want);
      }
    }
  });

  it('ECDSA: a signature the key verifies (ECDSA signatures are randomised)', () => {
    const fast = decodedSigner(parse(KEYS.ecdsa));
    const sig = fast.sign(DATA);
    expect(sig).toBeInstanceOf(Buffer);
    expect(fast.verify(DATA, sig)).toBe(true);
    expect(fast.verify(Buffer.from('other data'), sig)).toBe(false);
  });

  it('a hash the key cannot sign with fails as ssh2 fails: an Error returned, not thrown', () => {
    const plain = parse(KEYS.rsa).sign(DATA, 'no-such-hash') as unknown;
    const fast = decodedSigner(parse(KEYS.rsa)).sign(DATA, 'no-such-hash') as unknown;
    expect(plain).toBeInstanceOf(Error);
    expect(fast).toBeInstanceOf(Error);
  });

  it('a key that is not ssh2-shaped (no private part, no hash symbol) is left as it is', () => {
    const pub = parse(parse(KEYS.ed25519).getPublicSSH().toString('base64').replace(/^/, 'ssh-ed25519 '));
    const sign = pub.sign;
    expect(decodedSigner(pub).sign).toBe(sign);
    const bare = { sign: () => Buffer.alloc(0), getPrivatePEM: () => 'x' } as unknown as ParsedKey;
    expect(decodedSigner(bare)).toBe(bare);
    expect(bare.sign(DATA).length).toBe(0);
  });
});

describe('ignoreHostKeysAnnouncement', () => {
  const fake = () => {
    const inner = vi.fn(() => 'handled');
    const requestSuccess = vi.fn();
    const client = { _protocol: { _handlers: { GLOBAL_REQUEST: inner } as Record<string, unknown>, requestSuccess } };
    ignoreHostKeysAnnouncement(client as unknown as Client);
    const handler = client._protocol._handlers.GLOBAL_REQUEST as (...a: unknown[]) => unknown;
    return { inner, requestSuccess, handler };
  };

  it('hostkeys-00@openssh.com is not proved: ssh2 never sees it; a want-reply one is answered with success', () => {
    const f = fake();
    expect(f.handler({}, 'hostkeys-00@openssh.com', false, Buffer.alloc(0))).toBeUndefined();
    expect(f.inner).not.toHaveBeenCalled();
    expect(f.requestSuccess).not.toHaveBeenCalled();
    f.handler({}, 'hostkeys-00@openssh.com', true, Buffer.alloc(0));
    expect(f.inner).not.toHaveBeenCalled();
    expect(f.requestSuccess).toHaveBeenCalledTimes(1);
  });

  it('every other global request goes to ssh2 unchanged', () => {
    const f = fake();
    const data = Buffer.from('x');
    expect(f.handler('p', 'keepalive@openssh.com', true, data)).toBe('handled');
    expect(f.inner).toHaveBeenCalledWith('p', 'keepalive@openssh.com', true, data);
    expect(f.requestSuccess).not.toHaveBeenCalled();
  });

  it('a client without the expected insides is left alone', () => {
    const odd = { _protocol: { _handlers: {} } };
    ignoreHostKeysAnnouncement(odd as unknown as Client);
    expect(odd._protocol._handlers).toEqual({});
    expect(() => ignoreHostKeysAnnouncement({} as Client)).not.toThrow();
  });
});

describe('signWithoutQuery', () => {
  type Sign = (buf: Buffer, cb: (sig: Buffer) => void) => void;
  const fake = () => {
    const sent: { args: unknown[]; signed?: Buffer }[] = [];
    const authPK = vi.fn((user: string, key: unknown, keyAlgo?: string | Sign, cbSign?: Sign) => {
      const rec: { args: unknown[]; signed?: Buffer } = { args: [user, key, keyAlgo, cbSign] };
      const sign = typeof keyAlgo === 'function' ? keyAlgo : cbSign;
      // what ssh2 does: a query is sent at once; a signed request once the callback gives the signature
      if (!sign) sent.push(rec);
      else sign(DATA, (sig) => sent.push({ ...rec, signed: sig }));
    });
    const client = { _protocol: { authPK } };
    signWithoutQuery(client as unknown as Client);
    const patched = client._protocol.authPK as unknown as (user: string, key: unknown, keyAlgo?: string | Sign, cbSign?: Sign) => void;
    return { sent, authPK, patched };
  };

  it('a key decoded here: one signed request, the signature ssh2 would make after PK_OK', () => {
    const f = fake();
    const key = decodedSigner(parse(KEYS.ed25519));
    f.patched('root', key, undefined);
    expect(f.sent).toHaveLength(1);
    expect(f.sent[0].signed).toEqual(parse(KEYS.ed25519).sign(DATA));
  });

  it('RSA: signed with the hash of the algorithm ssh2 chose (rsa-sha2-256, rsa-sha2-512, ssh-rsa)', () => {
    const plain = parse(KEYS.rsa);
    const key = decodedSigner(parse(KEYS.rsa));
    for (const [algo, hash] of [['rsa-sha2-256', 'sha256'], ['rsa-sha2-512', 'sha512'], ['ssh-rsa', 'sha1']] as const) {
      const f = fake();
      f.patched('root', key, algo);
      expect(f.sent).toHaveLength(1);
      expect(f.sent[0].args[2]).toBe(algo);
      expect(f.sent[0].signed).toEqual(plain.sign(DATA, hash));
    }
  });

  it('an agent key, a key not decoded here, and the signed request after PK_OK go as ssh2 sends them', () => {
    const f = fake();
    const other = parse(KEYS.ed25519);
    f.patched('root', other, undefined);
    expect(f.sent).toEqual([{ args: ['root', other, undefined, undefined] }]);
    f.patched('root', Buffer.from('agent public key blob'), 'ssh-ed25519');
    expect(f.sent[1]).toEqual({ args: ['root', Buffer.from('agent public key blob'), 'ssh-ed25519', undefined] });
    const mine = decodedSigner(parse(KEYS.ed25519));
    const cb = vi.fn((buf: Buffer, done: (s: Buffer) => void) => done(Buffer.from('sig')));
    f.patched('root', mine, undefined, cb);
    expect(cb).toHaveBeenCalledTimes(1);
    expect(f.sent[2].signed).toEqual(Buffer.from('sig'));
  });

  it('a signature that fails: the query is sent instead (ssh2 then meets the error on its own path)', () => {
    const f = fake();
    const key = decodedSigner(parse(KEYS.ed25519));
    key.sign = () => new Error('cannot sign') as unknown as Buffer;
    f.patched('root', key, undefined);
    expect(f.sent).toHaveLength(1);
    expect(f.sent[0].signed).toBeUndefined();
    expect(f.sent[0].args).toEqual(['root', key, undefined, undefined]);
  });

  it('a client without the expected insides is left alone', () => {
    const odd = { _protocol: {} };
    signWithoutQuery(odd as unknown as Client);
    expect(odd._protocol).toEqual({});
    expect(() => signWithoutQuery({} as Client)).not.toThrow();
  });
});

describe('loginWithoutServiceWait', () => {
  const fake = () => {
    const calls: string[] = [];
    const accept = vi.fn((_p: unknown, name: string) => calls.push(`accept ${name}`));
    const extInfo = vi.fn(() => calls.push('ext-info'));
    const service = vi.fn((name: string) => calls.push(`service ${name}`));
    const client = { _protocol: { _handlers: { SERVICE_ACCEPT: accept, EXT_INFO: extInfo } as Record<string, unknown>, service } };
    loginWithoutServiceWait(client as unknown as Client);
    const p = client._protocol;
    const h = p._handlers as Record<string, (...a: unknown[]) => unknown>;
    return { calls, p, h };
  };

  it('the login starts when EXT_INFO has come after the service request; the accept is not acted on twice', () => {
    const f = fake();
    f.p.service('ssh-userauth');
    f.h.EXT_INFO(f.p, [{ name: 'server-sig-algs', algs: ['rsa-sha2-256'] }]);
    expect(f.calls).toEqual(['service ssh-userauth', 'ext-info', 'accept ssh-userauth']);
    f.h.SERVICE_ACCEPT(f.p, 'ssh-userauth');
    f.h.EXT_INFO(f.p, []); // OpenSSH may send a second one during the login
    f.h.SERVICE_ACCEPT(f.p, 'ssh-userauth'); // a server repeating itself does not start it again
    expect(f.calls).toEqual(['service ssh-userauth', 'ext-info', 'accept ssh-userauth', 'ext-info']);
  });

  it('no EXT_INFO, or one before the service request: the accept starts the login, as before', () => {
    const f = fake();
    f.p.service('ssh-userauth');
    f.h.SERVICE_ACCEPT(f.p, 'ssh-userauth');
    expect(f.calls).toEqual(['service ssh-userauth', 'accept ssh-userauth']);
    const g = fake();
    g.h.EXT_INFO(g.p, []);
    g.p.service('ssh-userauth');
    g.h.SERVICE_ACCEPT(g.p, 'ssh-userauth');
    expect(g.calls).toEqual(['ext-info', 'service ssh-userauth', 'accept ssh-userauth']);
  });

  it('other services are left to ssh2', () => {
    const f = fake();
    f.p.service('ssh-connection');
    f.h.EXT_INFO(f.p, []);
    f.h.SERVICE_ACCEPT(f.p, 'ssh-connection');
    expect(f.calls).toEqual(['service ssh-connection', 'ext-info', 'accept ssh-connection']);
  });

  it('a client without the expected insides is left alone', () => {
    const odd = { _protocol: { _handlers: { SERVICE_ACCEPT: () => undefined } } };
    const before = { ...odd._protocol._handlers };
    loginWithoutServiceWait(odd as unknown as Client);
    expect(odd._protocol._handlers).toEqual(before);
    expect(() => loginWithoutServiceWait({} as Client)).not.toThrow();
  });
});
