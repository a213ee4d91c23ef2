/**
 * src/backends/ssh/ssh2-tuning.ts: the key decoded once signs exactly as ssh2's own sign does (the
 * same bytes for ed25519 and RSA, a signature the key verifies for ECDSA, the same failure for a
 * bad hash), and only sshd's host key announcement is left unanswered.
 */
import { describe, expect, it, vi } from 'vitest';
import ssh2 from 'ssh2';
import type { Client, ParsedKey } from 'ssh2';
import { decodedSigner, ignoreHostKeysAnnouncement } from '../../src/backends/ssh/ssh2-tuning.js';

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
