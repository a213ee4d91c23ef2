/**
 * Hostile datagrams against the collector's signed-span check (issue 18 row 3): the MAC is verified
 * over the received text less its "mac" pair instead of a re-serialised body, so these check that
 * no edit of a signed datagram gets a different message accepted, and that a pair slipped in
 * beside the MAC (another "node", another "mac") cannot borrow a node's signature.
 */
import { describe, expect, it } from 'vitest';
import { decodeAgentMsg, deriveNodeKey, encodeAgentMsg, type AgentMsg } from '../../src/protocol/agent-msg.js';

const MASTER = 'hostile-span-master-secret';
const keyFor = (node: string) => deriveNodeKey(MASTER, node);
const NOW = 1_800_000_000_000;
const msg: AgentMsg = { v: 2, kind: 'status', node: 'node01', boot: 'ab12', seq: 7, ts: NOW, iv: 5, stats: { load1: 0.5, cpu: 12, os: 'Debian 12', kernel: '6.1.0' } };
const signed = encodeAgentMsg(msg, keyFor('node01')).bytes;
const text = signed.toString();
const mac = (JSON.parse(text) as { mac: string }).mac;

describe('collector: the signed span under hostile edits', () => {
  it('accepts the datagram as sent', () => {
    expect(decodeAgentMsg(signed, keyFor)).toEqual({ ok: true, msg });
  });

  it('never accepts a one-byte edit with a different message', () => {
    let accepted = 0;
    for (let i = 0; i < signed.length; i++) {
      for (const b of [0x20, 0x22, 0x2c, 0x30, 0x39, 0x61, 0x7d, signed[i] ^ 1]) {
        if (b === signed[i]) continue;
        const d = Buffer.from(signed);
        d[i] = b;
        const r = decodeAgentMsg(d, keyFor);
        if (r.ok) {
          accepted++;
          expect(r.msg).toEqual(msg); // only an edit the parser cannot see (none is expected) may pass
        } else {
          expect(['json', 'schema', 'version', 'hmac']).toContain(r.reason);
        }
      }
    }
    expect(accepted).toBe(0);
  });

  it('refuses a second "node" slipped in after the first (node01 speaking for node02)', () => {
    const forged = text.replace('"node":"node01",', '"node":"node01","node":"node02",');
    expect(forged).not.toBe(text);
    expect(decodeAgentMsg(Buffer.from(forged), keyFor)).toMatchObject({ ok: false, reason: 'hmac' });
  });

  it('reads a repeated "mac" pair as the same message (the canonical body verifies), and refuses a MAC borrowed from another node', () => {
    const twice = text.replace(`"mac":"${mac}",`, `"mac":"${mac}","mac":"${mac}",`);
    expect(decodeAgentMsg(Buffer.from(twice), keyFor)).toEqual({ ok: true, msg });
    const other = deriveNodeKey(MASTER, 'node02');
    const underOther = encodeAgentMsg({ ...msg, node: 'node02' }, other).bytes.toString();
    const borrowed = underOther.replace(/"mac":"[0-9a-f]{64}"/, `"mac":"${mac}"`);
    expect(decodeAgentMsg(Buffer.from(borrowed), keyFor)).toMatchObject({ ok: false, reason: 'hmac' });
  });

  it('refuses an upper-case or short MAC in the sorted place', () => {
    for (const m of [mac.toUpperCase(), mac.slice(0, 62), `${mac}00`]) {
      expect(decodeAgentMsg(Buffer.from(text.replace(mac, m)), keyFor)).toMatchObject({ ok: false, reason: 'hmac' });
    }
  });
});
