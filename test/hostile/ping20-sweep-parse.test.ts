/**
 * Issue 18 row 2 (ping20) made the sweep's reading of fping cheaper: the summary line's regex captures
 * four fields instead of seven, and the address check uses one RegExp instead of a new one a call.
 * Both read hostile text, so they are pinned against the reader they replaced: the old regex and
 * the old parse are kept here as the reference, and seeded random lines (fping's own, and broken,
 * padded, Unicode-spaced, truncated ones) must give the same results.
 */
import { describe, expect, it } from 'vitest';
import { parseFpingSummary } from '../../src/backends/icmp/fping.js';
import { checkAddress } from '../../src/backends/icmp/address.js';
import type { ProbeResult } from '../../src/backends/icmp/fping.js';
import { mulberry32 } from '../../src/protocol/random.js';

/** the summary parser as it was before this round (seven captures, array destructuring) */
const OLD_SUMMARY_RE = /^(\S+)\s+:\s+xmt\/rcv\/%loss = (\d+)\/(\d+)\/(\d+)%(?:, min\/avg\/max = ([\d.]+)\/([\d.]+)\/([\d.]+))?/;
const OLD_TARGET_ERROR_RE = /^(\S+?):\s+(.+)$/;
function oldParse(text: string, timeoutMs: number): Map<string, ProbeResult> {
  const out = new Map<string, ProbeResult>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const m = OLD_SUMMARY_RE.exec(line);
    if (m) {
      const [, target, xmt, rcv] = m;
      if (Number(rcv) > 0) out.set(target, { state: 'up', rttMs: Number(m[6]) });
      else out.set(target, { state: 'down', reason: `no reply to ${xmt} ping${xmt === '1' ? '' : 's'} within ${timeoutMs} ms` });
      continue;
    }
    const e = OLD_TARGET_ERROR_RE.exec(line);
    if (e && !out.has(e[1])) out.set(e[1], { state: 'down', reason: e[2], error: true });
  }
  return out;
}

/** the address check as it was (a RegExp literal evaluated on every call) */
function oldCheck(addr: string): string | undefined {
  if (addr.startsWith('-') || /\s/.test(addr)) return `"${addr}" is not an address or host name; set the node's host variable to one`;
  return undefined;
}

const SPACES = [' ', '  ', '\t', '\u00a0', '\u2028', '\ufeff', '\u3000', ''];
const TARGETS = ['127.0.30.1', '::1', 'fe80::1%eth0', 'node-a.example', 'x:y', '-f', 'a\u00a0b', 'ünï.example', ''];
const NUMS = ['0', '1', '3', '10', '007', '', 'x', '1.5', '-1'];
const RTTS = ['0.026', '1', '12.5', '.', '..', '1.2.3', '', 'NaN', '1e3'];

function randomLine(r: () => number): string {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const kind = r();
  const lead = r() < 0.2 ? pick(SPACES) : '';
  const target = pick(TARGETS);
  if (kind < 0.15) return `${lead}${target}:${pick(SPACES)}${pick(['Name or service not known', 'Temporary failure', ''])}`;
  if (kind < 0.2) return `${lead}${'z'.repeat(Math.floor(r() * 300))}`;
  const loss = `${pick(NUMS)}/${pick(NUMS)}/${pick(NUMS)}%`;
  const stats = r() < 0.7 ? `, min/avg/max = ${pick(RTTS)}/${pick(RTTS)}/${pick(RTTS)}` : r() < 0.5 ? ', min/avg/max = ' : '';
  const tail = r() < 0.1 ? pick([' junk', ':x', '\r', ' : xmt/rcv/%loss = 1/1/0%']) : '';
  return `${lead}${target}${pick(SPACES)}:${pick(SPACES)}xmt/rcv/%loss = ${loss}${stats}${tail}`;
}

describe('the sweep reads fping as before this round (ping20)', () => {
  it('gives the results of the old seven-capture parser on 20 000 seeded lines, captured and broken ones', () => {
    const r = mulberry32(20261201);
    const real = [
      '127.0.30.1   : xmt/rcv/%loss = 1/1/0%, min/avg/max = 0.018/0.018/0.018',
      '127.0.33.250 : xmt/rcv/%loss = 1/0/100%',
      '127.0.30.9   : xmt/rcv/%loss = 3/2/33%, min/avg/max = 0.011/0.020/0.031',
      'nosuch.invalid: Name or service not known',
    ];
    for (let round = 0; round < 200; round++) {
      const lines = Array.from({ length: 100 }, () => (r() < 0.3 ? real[Math.floor(r() * real.length)] : randomLine(r)));
      const text = lines.join('\n');
      const now = parseFpingSummary(text, 200);
      const old = oldParse(text, 200);
      expect([...now.entries()]).toEqual([...old.entries()]);
    }
    // and the lines fping really prints are read as such (not only "the same as before")
    expect(parseFpingSummary(real.join('\n'), 200).get('127.0.30.9')).toEqual({ state: 'up', rttMs: 0.02 });
  });

  it('refuses the same addresses as the old check, call after call (one RegExp, no state between calls)', () => {
    const r = mulberry32(7);
    const alphabet = ['a', '1', '.', ':', '-', ' ', '\t', '\n', '\u00a0', '\u2003', '\ufeff', '%', 'é'];
    for (let i = 0; i < 5000; i++) {
      const s = Array.from({ length: 1 + Math.floor(r() * 6) }, () => alphabet[Math.floor(r() * alphabet.length)]).join('');
      expect(checkAddress(s)).toBe(oldCheck(s));
    }
    for (const bad of ['-f', '--help', 'a b', 'a\tb', 'host\n-x', 'a\u00a0b', ' 127.0.0.1']) expect(checkAddress(bad)).toMatch(/is not an address or host name/);
    for (const good of ['127.0.30.1', '::1', 'node-a.example']) expect(checkAddress(good)).toBeUndefined();
  });
});
