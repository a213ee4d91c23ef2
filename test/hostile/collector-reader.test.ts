/**
 * Hostile datagrams against the collector's hand reader (issue 18 row 3): `readAgentSpelling` reads
 * the agent's own spelling without JSON.parse, and must never accept what the general path (JSON.parse
 * and the shape checks, `parseAgentJson`) would read differently or refuse. It may only step aside
 * (undefined), never reject: these check on fuzzed datagrams that whatever it returns is exactly
 * what the general path returns for the same bytes (message, stat order, MAC, signed span, canonical
 * body), and that the whole decode still refuses what it refused before.
 */
import { describe, expect, it } from 'vitest';
import { AgentMsgValidator, decodeAgentMsg, deriveNodeKey, parseSubnet, encodeAgentMsg, parseAgentJson, parseAgentMsg, readAgentSpelling, type AgentMsg, type Parsed } from '../../src/protocol/agent-msg.js';
import { mulberry32 } from '../../src/protocol/random.js';

const MASTER = 'hostile-reader-master-secret';
const keyFor = (node: string) => deriveNodeKey(MASTER, node);
const NOW = 1_800_000_000_000;
const base: AgentMsg = { v: 2, kind: 'status', node: 'node01', boot: 'ab12', seq: 7, ts: NOW, iv: 5, stats: { load1: 0.5, cpu: 12, mem_total: 68719476736, os: 'Debian 12', kernel: '6.1.0', temp_cpu: -3.25e-2 } };

/** The reader's answer for these bytes (through parseAgentMsg), compared field by field with the general path's. */
function agreeWithGeneral(bytes: Buffer): Parsed | undefined {
  if (readAgentSpelling(bytes.toString('latin1')) === undefined) return undefined;
  const fast = parseAgentMsg(bytes);
  const full = parseAgentJson(bytes);
  expect(full.ok, `the reader accepted what JSON.parse refuses: ${bytes.toString('latin1').slice(0, 200)}`).toBe(true);
  expect(fast.ok).toBe(true);
  if (!full.ok || !fast.ok) return undefined;
  expect(fast.msg).toEqual(full.msg);
  expect(Object.keys(fast.msg.stats)).toEqual(Object.keys(full.msg.stats));
  for (const k of Object.keys(full.msg.stats)) expect(Object.is(fast.msg.stats[k], full.msg.stats[k])).toBe(true);
  expect(fast.mac).toBe(full.mac);
  expect(fast.span).toBe(full.span);
  expect(fast.canonical()).toBe(full.canonical());
  expect(fast.upgradedFrom).toBeUndefined();
  return fast;
}

const PIECES = ['"', ',', ':', '{', '}', '[', ']', '\\', '\\"', '\\u0041', ' ', '\n', '0', '-', '.', 'e', 'E', '+', '1e400', '-0', '01', '1.', '.5', 'é', '\u2028', '\u0000', '\u007f', 'null', 'true', '"mac":"', '"node":"x",', '"s":{},', '"v":1', '"v":3', '__proto__', 'A', 'z', '_'];

describe('collector: the hand reader against the general path', () => {
  it('reads what vacm agent sends, the same as JSON.parse does', () => {
    const kinds: AgentMsg[] = [
      base,
      { ...base, kind: 'announce', stats: {} },
      { ...base, iv: 0.25, seq: 0, ts: 0, boot: 'Z9', node: 'a.b-c_d', stats: { a: 'x'.repeat(128), b: -0, c: 1e21, d: 5e-324, e: '' } },
      { ...base, node: 'n'.repeat(64), boot: 'b'.repeat(16), seq: Number.MAX_SAFE_INTEGER, stats: Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`s${String(i).padStart(2, '0')}`, i])) },
    ];
    for (const m of kinds) {
      const bytes = encodeAgentMsg(m, keyFor(m.node)).bytes;
      const p = agreeWithGeneral(bytes);
      expect(p, bytes.toString()).toBeDefined();
      expect(decodeAgentMsg(bytes, keyFor)).toEqual({ ok: true, msg: { ...m, stats: JSON.parse(bytes.toString()).s } });
    }
  });

  it('steps aside for other spellings, which the general path still reads', () => {
    const text = encodeAgentMsg(base, keyFor('node01')).bytes.toString();
    const others = [
      text.replace('{', '{ '), // whitespace
      text.replace('"os":"Debian 12"', '"os":"Debian\\u002012"'), // an escape
      text.replace('"iv":5', '"iv":5.0'), // iv spelled otherwise: the span would differ
      text.replace('"seq":7', '"seq":7e0'),
      text.replace('"os":"Debian 12",', '').replace('"cpu":12', '"os":"Debian 12","cpu":12'), // stats out of order
      text.replace('"cpu":12,', '"cpu":12,"cpu":13,'), // a repeated stat
      text.replace('"os":"Debian 12"', '"os":"Débian 12"'), // not ASCII
    ];
    for (const o of others) {
      expect(readAgentSpelling(Buffer.from(o).toString('latin1')), o).toBeUndefined();
      expect(parseAgentJson(Buffer.from(o)).ok, o).toBe(true);
    }
  });

  it('on 20 000 fuzzed datagrams never answers otherwise than the general path', () => {
    const rnd = mulberry32(18);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
    const seeds = [base, { ...base, kind: 'announce' as const, stats: {} }, { ...base, stats: { a: 1, b: 'two', c: -3.5e7 } }].map((m) => encodeAgentMsg(m, keyFor(m.node)).bytes.toString('latin1'));
    let read = 0;
    let differs = 0;
    for (let n = 0; n < 20_000; n++) {
      let t = pick(seeds);
      const edits = 1 + Math.floor(rnd() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rnd() * (t.length + 1));
        const op = rnd();
        if (op < 0.3) t = t.slice(0, at) + pick(PIECES) + t.slice(at); // insert
        else if (op < 0.55) t = t.slice(0, at) + t.slice(at + 1 + Math.floor(rnd() * 4)); // delete
        else if (op < 0.8) t = t.slice(0, at) + String.fromCharCode(Math.floor(rnd() * 256)) + t.slice(at + 1); // replace a byte
        else t = t.slice(0, at) + String(Math.floor(rnd() * 1e6) * (rnd() < 0.5 ? -1 : 1) / 1000) + t.slice(at + 1); // a number
      }
      const bytes = Buffer.from(t, 'latin1');
      if (agreeWithGeneral(bytes)) read++;
      // the whole parse (reader, else general) answers as the general path alone, accepted or refused
      const whole = parseAgentMsg(bytes);
      const full = parseAgentJson(bytes);
      if (whole.ok !== full.ok || (!whole.ok && !full.ok && whole.reason !== full.reason)) differs++;
    }
    expect(differs).toBe(0);
    // the fuzz reaches the reader's accepting path too (edits inside values it still reads)
    expect(read).toBeGreaterThan(100);
  });

  it('reads numbers exactly as JSON.parse does: every spelling of decimals, signs, zeros, long and short', () => {
    const rnd = mulberry32(1818);
    const text = encodeAgentMsg(base, keyFor('node01')).bytes.toString('latin1');
    const spellings: string[] = ['0', '-0', '0.0', '-0.0', '0.5', '1.50', '00', '01', '-01', '0.', '1.', '-', '-.5', '.5', '1e5', '1E-5', '1.5e3', '123456789012345', '1234567890123456', '12345678901234.5', '1234567890123.45', '0.000000000000001', '0.0000000000000001', '9007199254740993', '-123456789012345', '3.14159265358979', '2.718281828459045'];
    for (let n = 0; n < 3000; n++) {
      const digits = 1 + Math.floor(rnd() * 17);
      let d = '';
      for (let k = 0; k < digits; k++) d += String(Math.floor(rnd() * 10));
      const point = Math.floor(rnd() * (digits + 1));
      const sign = rnd() < 0.3 ? '-' : '';
      spellings.push(sign + (point === 0 || point === digits ? d : `${d.slice(0, point)}.${d.slice(point)}`), JSON.stringify((rnd() - 0.5) * 10 ** Math.floor(rnd() * 24 - 8)));
    }
    let read = 0;
    for (const x of spellings) {
      const t = text.replace('"load1":0.5', `"load1":${x}`);
      const bytes = Buffer.from(t, 'latin1');
      const p = agreeWithGeneral(bytes);
      if (p) {
        read++;
        expect(Object.is(p.msg.stats.load1, JSON.parse(t).s.load1), x).toBe(true);
      } else {
        const whole = parseAgentMsg(bytes);
        const full = parseAgentJson(bytes);
        expect(whole.ok, x).toBe(full.ok);
      }
    }
    expect(read).toBeGreaterThan(2000);
  });

  it('reads keys and strings the same whatever the datagram before had (its keys and strings are only hints)', () => {
    const sets: AgentMsg['stats'][] = [
      { load1: 1, load15: 2, load5: 3 },
      { load: 1, load15: 2, load5: 3 },
      { load15: 1, load150: 2, load5: 3 },
      { load1: 1 },
      { a: 1, load1: 2, load15: 'x', z_9: 4 },
      {},
      { load1: 1, load15: 2, load5: 3, zz: 4 },
      { kernel: '6.1.0-18-amd64', os: 'Debian GNU/Linux 12' },
      { kernel: '6.1.0-18-amd64-rt', os: 'Debian GNU/Linux 1' },
      { kernel: '6.1.0-18', os: 1 },
      { kernel: '', os: 'Debian GNU/Linux 12 (bookworm)' },
      { a: 'Debian GNU/Linux 12', kernel: 'Debian GNU/Linux 12', os: '6.1.0-18-amd64' },
    ];
    const texts = sets.map((st) => encodeAgentMsg({ ...base, stats: st }, keyFor('node01')).bytes);
    const rnd = mulberry32(7);
    for (let n = 0; n < 300; n++) {
      const k = Math.floor(rnd() * texts.length);
      const p = agreeWithGeneral(texts[k]);
      expect(p?.msg.stats).toEqual(sets[k]);
      expect(Object.keys(p!.msg.stats)).toEqual(Object.keys(sets[k]).sort());
    }
  });

  it('never accepts a one-byte edit of a signed datagram with a different message', () => {
    const signed = encodeAgentMsg(base, keyFor('node01')).bytes;
    const want = decodeAgentMsg(signed, keyFor);
    expect(want.ok).toBe(true);
    for (let i = 0; i < signed.length; i++) {
      for (let b = 0; b < 256; b += 7) {
        if (b === signed[i]) continue;
        const d = Buffer.from(signed);
        d[i] = b;
        const r = decodeAgentMsg(d, keyFor);
        if (r.ok) expect(r).toEqual(want);
        else expect(['json', 'schema', 'version', 'hmac', 'size']).toContain(r.reason);
      }
    }
  });

  it('bounds what it reads: over-long names, boots, keys, strings and too many stats step aside or are refused', () => {
    const text = encodeAgentMsg(base, keyFor('node01')).bytes.toString();
    const cases = [
      text.replace('"node":"node01"', `"node":"${'n'.repeat(65)}"`),
      text.replace('"boot":"ab12"', `"boot":"${'b'.repeat(17)}"`),
      text.replace('"cpu":12', `"${'c'.repeat(33)}":12`),
      text.replace('"os":"Debian 12"', `"os":"${'x'.repeat(129)}"`),
      text.replace('"seq":7', `"seq":${'9'.repeat(17)}`),
      text.replace('"s":{', `"s":{${Array.from({ length: 65 }, (_, i) => `"a${String(i).padStart(2, '0')}":1`).join(',')},`),
    ];
    for (const c of cases) {
      expect(readAgentSpelling(c), c.slice(0, 120)).toBeUndefined();
      const r = parseAgentMsg(Buffer.from(c));
      expect(r.ok, c.slice(0, 120)).toBe(false);
    }
  });

  it('keeps the subnet answer per source address bounded under a flood of addresses, and still right', () => {
    const v = new AgentMsgValidator({ secret: keyFor, windowS: 30, allowed: [parseSubnet('10.1.0.0/16')] });
    const signed = encodeAgentMsg({ ...base, ts: NOW }, keyFor('node01')).bytes;
    let refused = 0;
    for (let i = 0; i < 70_000; i++) {
      const from = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`; // 10.0.x.x refused, 10.1.x.x allowed
      const r = v.check(Buffer.from('x'), from, NOW);
      if (!r.ok && r.reason === 'subnet') refused++;
      expect(v.sources).toBeLessThanOrEqual(65_536);
    }
    expect(refused).toBe(65_536);
    // after the memory was cleared, an allowed address passes and a refused one is refused again
    expect(v.check(signed, '10.1.0.1', NOW)).toMatchObject({ ok: true });
    expect(v.check(signed, '10.0.0.1', NOW)).toMatchObject({ ok: false, reason: 'subnet' });
  });
});
