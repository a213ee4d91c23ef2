import { describe, expect, it } from 'vitest';
import {
  AgentMsgValidator,
  MAX_DATAGRAM,
  REJECT_REASONS,
  ReplayGuard,
  canonicalJson,
  decodeAgentMsg,
  deriveNodeKey,
  encodeAgentMsg,
  encodeV1,
  inSubnets,
  macOf,
  parseSubnet,
  sameAddr,
  signedSpan,
  type AgentMsg,
} from '../../src/protocol/agent-msg.js';

const SECRET = 'correct horse battery staple';
const NOW = 1_800_000_000_000;

function msg(over: Partial<AgentMsg> = {}): AgentMsg {
  return { v: 2, kind: 'status', node: 'node01', boot: 'ab12', seq: 1, ts: NOW, iv: 5, stats: { load1: 0.5, load5: 0.25, load15: 0.1, cpu: 12.5, os: 'Debian 12' }, ...over };
}

function validator(allowed: string[] = []) {
  return new AgentMsgValidator({ secret: SECRET, windowS: 30, allowed: allowed.map(parseSubnet) });
}

describe('canonical body', () => {
  it('sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: 'x' } })).toBe('{"a":{"c":"x","d":[1,{"y":2,"z":1}]},"b":1}');
  });
});

describe('encode and decode', () => {
  it('round-trips a status message with its stats', () => {
    const { bytes, dropped } = encodeAgentMsg(msg(), SECRET);
    expect(dropped).toEqual([]);
    const r = decodeAgentMsg(bytes, SECRET);
    expect(r).toEqual({ ok: true, msg: msg() });
  });

  it('stays under 1200 bytes by dropping the lowest-priority stats, never truncating', () => {
    const stats: Record<string, number | string> = { load1: 1, load5: 2, load15: 3, cpu: 4 };
    for (let i = 0; i < 60; i++) stats[`extra_${i}`] = 'x'.repeat(40);
    const { bytes, dropped } = encodeAgentMsg(msg({ stats }), SECRET);
    expect(bytes.length).toBeLessThanOrEqual(MAX_DATAGRAM);
    expect(dropped.length).toBeGreaterThan(0);
    expect(dropped.every((k) => k.startsWith('extra_'))).toBe(true);
    const r = decodeAgentMsg(bytes, SECRET);
    if (!r.ok) throw new Error(r.detail);
    expect(r.msg.stats.load1).toBe(1);
    expect(r.msg.stats.cpu).toBe(4);
    expect(JSON.parse(bytes.toString()).mac).toMatch(/^[0-9a-f]{64}$/);
  });

  it('transforms schema v1 (host, time in seconds, load array, cookie) to the current form', () => {
    const b = encodeV1({ type: 'status', host: 'old07', seq: 9, time: NOW / 1000, load: [1.5, 1, 0.5], stats: { cpu: 3 } }, SECRET);
    const r = decodeAgentMsg(b, SECRET);
    expect(r).toEqual({ ok: true, upgradedFrom: 1, msg: { v: 2, kind: 'status', node: 'old07', boot: 'v1', seq: 9, ts: NOW, iv: 5, stats: { load1: 1.5, load5: 1, load15: 0.5, cpu: 3 } } });
  });

  const good = JSON.parse(encodeAgentMsg(msg(), SECRET).bytes.toString()) as Record<string, unknown>;
  const resign = (o: Record<string, unknown>) => {
    const { mac: _m, ...body } = o;
    return Buffer.from(JSON.stringify({ ...body, mac: macOf(canonicalJson(body), SECRET) }));
  };
  const cases: [string, Buffer, string][] = [
    ['oversized', Buffer.alloc(MAX_DATAGRAM + 1, 0x20), 'size'],
    ['empty', Buffer.alloc(0), 'size'],
    ['not JSON', Buffer.from('{"v":2,'), 'json'],
    ['a JSON array', Buffer.from('[1,2]'), 'json'],
    ['no version', Buffer.from('{"node":"x"}'), 'schema'],
    ['a future version', resign({ ...good, v: 3 }), 'version'],
    ['version 0', resign({ ...good, v: 0 }), 'version'],
    ['a bad node name', resign({ ...good, node: 'a b' }), 'schema'],
    ['a negative seq', resign({ ...good, seq: -1 }), 'schema'],
    ['an unknown kind', resign({ ...good, k: 'hello' }), 'schema'],
    ['an unknown field', resign({ ...good, extra: 1 }), 'schema'],
    ['a nested stat', resign({ ...good, s: { load1: { a: 1 } } }), 'schema'],
    ['the wrong secret', Buffer.from(JSON.stringify({ ...good, mac: macOf('x', 'other') })), 'hmac'],
    ['a changed stat under the old MAC', Buffer.from(JSON.stringify({ ...good, s: { load1: 99 } })), 'hmac'],
    ['no MAC', Buffer.from(JSON.stringify({ ...good, mac: undefined })), 'hmac'],
  ];
  it.each(cases)('rejects %s', (_name, bytes, reason) => {
    const r = decodeAgentMsg(bytes, SECRET);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe(reason);
  });
});

describe('the signed span: the MAC over the received text, without re-serialising', () => {
  const wire = encodeAgentMsg(msg(), SECRET).bytes.toString();
  const o = JSON.parse(wire) as Record<string, unknown>;
  const { mac: _mac, ...body } = o;

  it('is the datagram less its "mac" pair, the same text as the canonical body', () => {
    expect(wire.startsWith('{"boot":"ab12","iv":5,"k":"status","mac":"')).toBe(true);
    expect(signedSpan(wire, o)).toBe(canonicalJson(body));
  });

  it('is not taken from a datagram spelled otherwise (mac last, whitespace, another first field)', () => {
    expect(signedSpan(JSON.stringify({ ...body, mac: o.mac }), o)).toBeUndefined();
    expect(signedSpan(JSON.stringify(JSON.parse(wire), null, 1), o)).toBeUndefined();
    expect(signedSpan(wire.replace('"boot":"ab12"', '"boot":"ab13"'), o)).toBeUndefined();
  });

  it('still accepts an agent that spells its JSON otherwise but signs the canonical body', () => {
    const mac = macOf(canonicalJson(body), SECRET);
    for (const text of [JSON.stringify({ ...body, mac }), JSON.stringify({ mac, ...body }, null, 2), JSON.stringify({ v: 2, s: body.s, k: 'status', node: 'node01', boot: 'ab12', iv: 5, ts: NOW, seq: 1, mac })]) {
      expect(decodeAgentMsg(Buffer.from(text), SECRET)).toEqual({ ok: true, msg: msg() });
    }
  });
});

describe('validator: time window, replay, subnets', () => {
  it('drops a replayed datagram and an old sequence number', () => {
    const v = validator();
    const a = encodeAgentMsg(msg({ seq: 5 }), SECRET).bytes;
    expect(v.check(a, '127.0.40.2', NOW).ok).toBe(true);
    expect(v.check(a, '127.0.40.2', NOW)).toMatchObject({ ok: false, reason: 'replay' });
    expect(v.check(encodeAgentMsg(msg({ seq: 4 }), SECRET).bytes, '127.0.40.2', NOW)).toMatchObject({ ok: false, reason: 'replay' });
    expect(v.check(encodeAgentMsg(msg({ seq: 6 }), SECRET).bytes, '127.0.40.2', NOW).ok).toBe(true);
  });

  it('accepts a restarted agent (new boot id, newer time) and refuses its old incarnation', () => {
    const v = validator();
    const old = encodeAgentMsg(msg({ seq: 100, boot: 'aaaa' }), SECRET).bytes;
    expect(v.check(old, '::1', NOW).ok).toBe(true);
    expect(v.check(encodeAgentMsg(msg({ seq: 0, boot: 'bbbb', ts: NOW + 1000 }), SECRET).bytes, '::1', NOW + 1000).ok).toBe(true);
    expect(v.check(encodeAgentMsg(msg({ seq: 101, boot: 'aaaa', ts: NOW }), SECRET).bytes, '::1', NOW + 1000)).toMatchObject({ ok: false, reason: 'replay' });
  });

  it('drops messages outside the time window', () => {
    const v = validator();
    expect(v.check(encodeAgentMsg(msg({ ts: NOW - 31_000 }), SECRET).bytes, '127.0.40.2', NOW)).toMatchObject({ ok: false, reason: 'stale' });
    expect(v.check(encodeAgentMsg(msg({ ts: NOW + 31_000 }), SECRET).bytes, '127.0.40.2', NOW)).toMatchObject({ ok: false, reason: 'stale' });
  });

  it('drops sources outside the allowed subnets, before reading them', () => {
    const v = validator(['127.0.40.0/24', 'fd00::/8']);
    const b = encodeAgentMsg(msg(), SECRET).bytes;
    expect(v.check(b, '127.0.41.2', NOW)).toMatchObject({ ok: false, reason: 'subnet' });
    expect(v.check(Buffer.from('junk'), '10.0.0.1', NOW)).toMatchObject({ ok: false, reason: 'subnet' });
    expect(v.check(b, '::ffff:127.0.40.9', NOW).ok).toBe(true);
  });

  it.each([
    ['127.0.40.7', '127.0.40.0/24', true],
    ['127.0.41.7', '127.0.40.0/24', false],
    ['10.1.2.3', '10.0.0.0/8', true],
    ['fd00::5', 'fd00::/8', true],
    ['fe80::1', 'fd00::/8', false],
    ['::1', '::1', true],
    ['127.0.0.1', '::1/128', false],
    ['garbage', '0.0.0.0/0', false],
  ])('%s in %s: %s', (addr, net, want) => {
    expect(inSubnets(addr, [parseSubnet(net)])).toBe(want);
  });

  it.each(['10.0.0.0/33', 'host', '1.2.3/8', '::1/129', '10.0.0.0/8/1'])('refuses the subnet %s with what to write', (s) => {
    expect(() => parseSubnet(s)).toThrow(/subnet|prefix/);
  });
});

describe('per-node keys and the source address', () => {
  const MASTER = 'master secret of the head node';
  const keyOf = (n: string) => Buffer.from(deriveNodeKey(MASTER, n));
  const hosts: Record<string, string> = { node01: '127.0.40.1', node02: '127.0.40.2' };
  const v = (legacy?: string) => new AgentMsgValidator({ secret: keyOf, legacySecret: legacy, windowS: 30, allowed: [], boundAddress: (n) => hosts[n] });

  it('derives HMAC-SHA256(master, "vacm-agent-v2:" + node) as hex, different per node', () => {
    expect(deriveNodeKey(MASTER, 'node01')).toBe(macOf('vacm-agent-v2:node01', MASTER));
    expect(deriveNodeKey(MASTER, 'node01')).toMatch(/^[0-9a-f]{64}$/);
    expect(deriveNodeKey(MASTER, 'node01')).not.toBe(deriveNodeKey(MASTER, 'node02'));
    expect(deriveNodeKey('another master', 'node01')).not.toBe(deriveNodeKey(MASTER, 'node01'));
  });

  it('accepts a node signing with its own key from its own address', () => {
    expect(v().check(encodeAgentMsg(msg({ node: 'node01' }), keyOf('node01')).bytes, '127.0.40.1', NOW)).toMatchObject({ ok: true, msg: { node: 'node01' } });
  });

  it('refuses node01\'s key claiming node02, and the master itself', () => {
    expect(v().check(encodeAgentMsg(msg({ node: 'node02' }), keyOf('node01')).bytes, '127.0.40.2', NOW)).toMatchObject({ ok: false, reason: 'hmac', detail: expect.stringContaining('--print-key node02') });
    expect(v().check(encodeAgentMsg(msg({ node: 'node02' }), MASTER).bytes, '127.0.40.2', NOW)).toMatchObject({ ok: false, reason: 'hmac' });
  });

  it('refuses a node\'s own datagram from another address, and binds nothing for a node without an address', () => {
    expect(v().check(encodeAgentMsg(msg({ node: 'node01' }), keyOf('node01')).bytes, '127.0.0.99', NOW)).toMatchObject({ ok: false, reason: 'address', detail: expect.stringContaining('127.0.40.1') });
    expect(v().check(encodeAgentMsg(msg({ node: 'node01' }), keyOf('node01')).bytes, '::ffff:127.0.40.1', NOW).ok).toBe(true);
    expect(v().check(encodeAgentMsg(msg({ node: 'newbox' }), keyOf('newbox')).bytes, '127.0.0.99', NOW).ok).toBe(true);
  });

  it('accepts the legacy shared secret only when configured, and says so', () => {
    const b = encodeAgentMsg(msg({ node: 'node01' }), 'the old shared secret').bytes;
    expect(v().check(b, '127.0.40.1', NOW)).toMatchObject({ ok: false, reason: 'hmac' });
    expect(v('the old shared secret').check(b, '127.0.40.1', NOW)).toMatchObject({ ok: true, legacy: true });
    expect(v('the old shared secret').check(encodeAgentMsg(msg({ node: 'node01', seq: 2 }), keyOf('node01')).bytes, '127.0.40.1', NOW)).toEqual({ ok: true, msg: msg({ node: 'node01', seq: 2 }) });
  });

  it.each([
    ['127.0.40.1', '::ffff:127.0.40.1', true],
    ['fd00::1', 'fd00:0:0:0:0:0:0:1', true],
    ['127.0.40.1', '127.0.40.2', false],
    ['node01', 'node01', false],
  ])('sameAddr(%s, %s) is %s', (a, b, want) => {
    expect(sameAddr(a, b)).toBe(want);
  });
});

describe('replay memory carried across a restart', () => {
  it('refuses, after load(), what the saved memory had seen; skips malformed entries', () => {
    const g = new ReplayGuard();
    expect(g.accept({ node: 'n1', boot: 'b1', seq: 7, ts: NOW })).toBe(true);
    const saved = JSON.parse(JSON.stringify(g.entries()));
    const h = new ReplayGuard();
    expect(h.load([...saved, ['bad name', { boot: 'x', seq: 1, ts: 1 }], ['n2', { boot: 'x', seq: 'a', ts: 1 }], 'junk'])).toBe(1);
    expect(h.size).toBe(1);
    expect(h.accept({ node: 'n1', boot: 'b1', seq: 7, ts: NOW })).toBe(false);
    expect(h.accept({ node: 'n1', boot: 'b1', seq: 8, ts: NOW })).toBe(true);
    expect(h.load({ not: 'a list' })).toBe(0);
  });
});

/** xorshift32: the fuzz is the same on every run */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

describe('fuzz: 10 000 mutated datagrams', () => {
  it('never throws, and classifies every one', () => {
    const r = rng(20261123);
    const v = validator(['127.0.0.0/8']);
    const counts: Record<string, number> = { accepted: 0 };
    for (const reason of REJECT_REASONS) counts[reason] = 0;
    const base = [
      encodeAgentMsg(msg(), SECRET).bytes,
      encodeV1({ type: 'announce', host: 'n2', seq: 1, time: NOW / 1000 }, SECRET),
      Buffer.from('{"v":2,"k":"status","node":"n","s":{}}'),
    ];
    const N = 10_000;
    for (let i = 0; i < N; i++) {
      let b = Buffer.from(base[Math.floor(r() * base.length)]);
      const ops = 1 + Math.floor(r() * 4);
      for (let k = 0; k < ops; k++) {
        const op = Math.floor(r() * 6);
        const at = Math.floor(r() * Math.max(1, b.length));
        if (op === 0 && b.length) b[at] = Math.floor(r() * 256); // flip a byte
        else if (op === 1) b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + Math.floor(r() * 8))]); // delete
        else if (op === 2) b = Buffer.concat([b.subarray(0, at), Buffer.from(['"', '{', '}', ':', ',', '9', 'e', '\\', '[', 'null'][Math.floor(r() * 10)]), b.subarray(at)]);
        else if (op === 3) b = b.subarray(0, at); // truncate
        else if (op === 4) b = Buffer.concat([b, Buffer.alloc(Math.floor(r() * 1500), 0x61)]); // grow
        else {
          // a valid, re-signed message with a random field value
          const o = JSON.parse(base[0].toString()) as Record<string, unknown>;
          const keys = ['v', 'k', 'node', 'boot', 'seq', 'ts', 'iv', 's'];
          const vals = [null, -1, 0, 1e308, 'x', '', [], {}, true, 'a'.repeat(70), NOW, 2, 1];
          o[keys[Math.floor(r() * keys.length)]] = vals[Math.floor(r() * vals.length)];
          delete o.mac;
          b = Buffer.from(JSON.stringify({ ...o, mac: macOf(canonicalJson(o), SECRET) }));
        }
      }
      const from = r() < 0.05 ? '192.0.2.1' : '127.0.40.3';
      const res = v.check(b, from, NOW);
      if (res.ok) counts.accepted++;
      else counts[res.reason]++;
    }
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    expect(total).toBe(N);
    expect(counts.subnet).toBeGreaterThan(0);
    expect(counts.json).toBeGreaterThan(0);
    expect(counts.hmac).toBeGreaterThan(0);
    expect(counts.schema).toBeGreaterThan(0);
    expect(counts.size).toBeGreaterThan(0);
  });
});
