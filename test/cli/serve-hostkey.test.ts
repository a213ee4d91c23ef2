/**
 * vacm serve's host key: ssh2's generator writes about one ed25519 key in 256 in a form its own
 * parser refuses (mscdex/ssh2 issues 1390, 1513), which stopped a first `vacm serve` with
 * ERR_STATE_DIR. newHostKeyPair makes such a key again: 1500 keys in a row all parse (without it,
 * 1500 in a row parse with a chance of 0.3 %).
 */
import { describe, expect, it } from 'vitest';
import { loadSsh2, newHostKeyPair } from '../../src/cli/serve-hostkey.js';

describe('the serve host key', () => {
  it('every key made parses back, private and public half', async () => {
    const { utils } = await loadSsh2();
    let bad = 0;
    for (let i = 0; i < 1500; i++) {
      const pair = newHostKeyPair(utils);
      if (utils.parseKey(pair.private) instanceof Error || utils.parseKey(pair.public) instanceof Error) bad++;
    }
    expect(bad).toBe(0);
  });

  it('a generator that never makes a key that parses: ERR_STATE_DIR after its tries, no endless loop', async () => {
    const { utils } = await loadSsh2();
    let made = 0;
    const broken = { ...utils, generateKeyPairSync: () => (made++, { private: 'not a key', public: 'not a key' }) } as unknown as typeof utils;
    expect(() => newHostKeyPair(broken)).toThrow(/ERR_STATE_DIR|could not make a serve host key/);
    expect(made).toBe(16);
  });
});
