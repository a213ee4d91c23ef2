/**
 * The agent datagram's field bounds, and a reader for the one spelling `vacm agent` sends (issue 18
 * row 3: JSON.parse and the shape checks were a third of the collector's time per datagram). Pure.
 * `parseAgentMsg` (agent-msg.ts) tries this reader first and takes the general path (JSON.parse)
 * for anything it steps aside from.
 */
import type { AgentMsg, AgentMsgKind } from './agent-msg.js';
import type { StatValue } from './events.js';

export const MAX_NODE_NAME = 64;
export const MAX_STATS = 64;
export const MAX_STAT_KEY = 32;
export const MAX_STAT_STRING = 128;

/** What the reader read: the message, its MAC as sent, and the signed span (the text less its `"mac":M,` pair). */
export interface Spelled {
  msg: AgentMsg;
  mac: string;
  span: string;
}

const C_QUOTE = 0x22;
const C_COMMA = 0x2c;
const C_MINUS = 0x2d;
const C_DOT = 0x2e;
const C_0 = 0x30;
const C_9 = 0x39;
const C_COLON = 0x3a;
const C_CLOSE = 0x7d;
/** lower-case hex digits, by character code */
const IS_HEX = Uint8Array.from({ length: 128 }, (_, c) => Number((c >= C_0 && c <= C_9) || (c >= 0x61 && c <= 0x66)));
const isDigit = (c: number) => c >= C_0 && c <= C_9;
const isLower = (c: number) => c >= 0x61 && c <= 0x7a;
const isAlnum = (c: number) => isDigit(c) || isLower(c) || (c >= 0x41 && c <= 0x5a);

/**
 * Where a JSON number spelled at `i` ends (strict JSON grammar: `-?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?`),
 * or -1. `t` is ASCII here (the reader refused anything else before).
 */
function numberEnd(t: string, i: number): number {
  if (t.charCodeAt(i) === C_MINUS) i++;
  const c = t.charCodeAt(i);
  if (c === C_0) i++;
  else if (c > C_0 && c <= C_9) while (isDigit(t.charCodeAt(i))) i++;
  else return -1;
  if (t.charCodeAt(i) === C_DOT) {
    i++;
    if (!isDigit(t.charCodeAt(i))) return -1;
    while (isDigit(t.charCodeAt(i))) i++;
  }
  const e = t.charCodeAt(i);
  if (e === 0x65 || e === 0x45) {
    i++;
    const sign = t.charCodeAt(i);
    if (sign === 0x2b || sign === C_MINUS) i++;
    if (!isDigit(t.charCodeAt(i))) return -1;
    while (isDigit(t.charCodeAt(i))) i++;
  }
  return i;
}

/** Where a whole number without sign, exponent or leading zero ends (at most 16 digits), or -1. */
function wholeEnd(t: string, i: number): number {
  const start = i;
  if (t.charCodeAt(i) === C_0) return i + 1;
  while (isDigit(t.charCodeAt(i))) i++;
  return i > start && i - start <= 16 ? i : -1;
}

/** The whole number spelled from `start` to `end` (wholeEnd's): summed when exact (15 digits at most), else by Number(). */
function wholeValue(t: string, start: number, end: number): number {
  if (end - start > 15) return Number(t.slice(start, end));
  let n = 0;
  for (let i = start; i < end; i++) n = n * 10 + (t.charCodeAt(i) - C_0);
  return n;
}

/**
 * Whether `t` spells `word` at `i`: String.prototype.startsWith is a builtin call, where a loop of
 * charCodeAt compiles to a few loads (half the reader's time was these calls and the key stores).
 */
function spells(t: string, i: number, word: string): boolean {
  const n = word.length;
  if (i + n > t.length) return false;
  for (let k = 0; k < n; k++) if (t.charCodeAt(i + k) !== word.charCodeAt(k)) return false;
  return true;
}

/** exact powers of ten (every one up to 1e22 is a double exactly) */
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * The stat keys of the datagram read last, in order: the next one (another node's agent, the same
 * program) almost always has the same, and a key matched against this list is an interned string
 * already, where a key sliced out of the text must be looked up in V8's string table at the
 * property store (a quarter of the reader's time). Only ever a hint: a key is taken from here only
 * when the text spells exactly it, so what the reader returns does not depend on it.
 */
let lastKeys: string[] = [];

/**
 * The string stats of the datagrams read before, by position (`os`, `kernel`: mostly the same on
 * every node). Taken when the text spells exactly it, like the keys: no new string for the value,
 * and above all none that is a slice of this datagram's text, which would keep the whole text alive
 * for as long as the engine keeps the node's stats (a second: long enough to be copied by the young
 * generation's collections and promoted, then old-space garbage; the RSS at 10 000 agents).
 */
const lastStrings: (string | undefined)[] = [];

/**
 * The datagram exactly as `vacm agent` spells it (canonical JSON, `mac` in its sorted place,
 * stats in sorted order), read in one pass without JSON.parse:
 *
 *   {"boot":B,"iv":N,"k":K,"mac":M,"node":N,"s":{"key":number-or-string,...},"seq":N,"ts":N,"v":2}
 *
 * It never rejects: anything else (another key order or spelling, whitespace, an escape or a byte
 * outside ASCII in a string, a number spelled unlike JSON.stringify where the span depends on it, a
 * repeated or unsorted stat, a value out of bounds) gives undefined and the caller takes the general
 * path (JSON.parse and the shape checks), which accepts or rejects it as before. What it returns is
 * what that path returns for the same bytes (test/hostile/collector-reader.test.ts checks this on
 * fuzzed datagrams). `text` is the datagram decoded as latin1: every character is checked to be ASCII,
 * where latin1 and utf8 agree.
 */
export function readAgentSpelling(text: string): Spelled | undefined {
  const t = text;
  let i: number;
  if (!spells(t, 0, '{"boot":"')) return undefined;
  i = 9;
  const bootStart = i;
  while (isAlnum(t.charCodeAt(i))) i++;
  if (i === bootStart || i - bootStart > 16) return undefined;
  const boot = t.slice(bootStart, i);
  if (!spells(t, i, '","iv":')) return undefined;
  i += 7;
  const ivStart = i;
  i = numberEnd(t, i);
  if (i < 0) return undefined;
  const ivText = t.slice(ivStart, i);
  const iv = Number(ivText);
  // the span is the text as sent: iv must read back as it is written (the general path's rule)
  if (!(iv > 0 && iv <= 3600) || String(iv) !== ivText) return undefined;
  let kind: AgentMsgKind;
  if (spells(t, i, ',"k":"status","mac":"')) {
    kind = 'status';
    i += 21;
  } else if (spells(t, i, ',"k":"announce","mac":"')) {
    kind = 'announce';
    i += 23;
  } else return undefined;
  const macPairStart = i - 7; // at `"mac":"`
  const macStart = i;
  for (; i < macStart + 64; i++) if (!IS_HEX[t.charCodeAt(i)]) return undefined; // (past the end: undefined, refused)
  const mac = t.slice(macStart, i);
  if (!spells(t, i, '","node":"')) return undefined;
  const spanResume = i + 2; // after `",`: the span is the text less `"mac":"M",`
  i += 10;
  const nodeStart = i;
  if (!isAlnum(t.charCodeAt(i))) return undefined;
  for (;;) {
    const c = t.charCodeAt(i);
    if (isAlnum(c) || c === 0x5f || c === C_DOT || c === C_MINUS) i++;
    else break;
  }
  if (i - nodeStart > MAX_NODE_NAME) return undefined;
  const node = t.slice(nodeStart, i);
  if (!spells(t, i, '","s":{')) return undefined;
  i += 7;
  const stats: Record<string, StatValue> = {};
  let count = 0;
  let prevKey = '';
  let missed = false;
  if (t.charCodeAt(i) !== C_CLOSE) {
    for (;;) {
      if (t.charCodeAt(i) !== C_QUOTE) return undefined;
      const keyStart = ++i;
      let key = lastKeys[count];
      // (the hint's key was read from a datagram before, so it is a well-formed key)
      if (key !== undefined && spells(t, i, key) && t.charCodeAt(i + key.length) === C_QUOTE) i += key.length;
      else {
        if (!isLower(t.charCodeAt(i))) return undefined;
        for (;;) {
          const c = t.charCodeAt(i);
          if (isLower(c) || isDigit(c) || c === 0x5f) i++;
          else break;
        }
        if (i - keyStart > MAX_STAT_KEY || t.charCodeAt(i) !== C_QUOTE) return undefined;
        key = t.slice(keyStart, i);
        missed = true;
      }
      if (t.charCodeAt(i + 1) !== C_COLON) return undefined;
      // sorted and so never repeated (a repeated key is the general path's to read)
      if (count > 0 && !(key > prevKey)) return undefined;
      prevKey = key;
      i += 2;
      if (t.charCodeAt(i) === C_QUOTE) {
        const vStart = ++i;
        const hint = lastStrings[count];
        // (the hint was read from a datagram before, so it is a well-formed value)
        if (hint !== undefined && spells(t, i, hint) && t.charCodeAt(i + hint.length) === C_QUOTE) {
          stats[key] = hint;
          i += hint.length;
        } else {
          for (;;) {
            const c = t.charCodeAt(i);
            if (c === C_QUOTE) break;
            // printable ASCII, no escape (past the end charCodeAt is NaN: refused too)
            if (!(c >= 0x20 && c <= 0x7e) || c === 0x5c || i - vStart >= MAX_STAT_STRING) return undefined;
            i++;
          }
          const v = t.slice(vStart, i);
          stats[key] = v;
          if (count < MAX_STATS) lastStrings[count] = v;
        }
        i++;
      } else {
        const vStart = i;
        // -?digits(.digits)? of up to 15 digits in all is exact as it is summed and then divided by
        // a power of ten (both exact, one correctly rounded division: Clinger's fast path, what
        // Number() gives); anything else (an exponent, more digits) goes through Number()
        const neg = t.charCodeAt(i) === C_MINUS;
        if (neg) i++;
        const intStart = i;
        let n = 0;
        while (isDigit(t.charCodeAt(i)) && i - intStart < 15) n = n * 10 + (t.charCodeAt(i++) - C_0);
        const intEnd = i;
        let frac = 0;
        if (intEnd > intStart && t.charCodeAt(i) === C_DOT) {
          i++;
          const fracStart = i;
          while (isDigit(t.charCodeAt(i)) && i - fracStart + intEnd - intStart < 15) n = n * 10 + (t.charCodeAt(i++) - C_0);
          frac = i - fracStart;
          if (frac === 0) i = -1; // `1.` is not JSON
        }
        const c = i < 0 ? NaN : t.charCodeAt(i);
        // (a leading zero only as the number 0 itself or before the point, as JSON has it)
        if (intEnd > intStart && (c === C_COMMA || c === C_CLOSE) && (t.charCodeAt(intStart) !== C_0 || intEnd === intStart + 1)) {
          const v = frac === 0 ? n : n / POW10[frac];
          stats[key] = neg ? -v : v;
        } else {
          i = numberEnd(t, vStart);
          if (i < 0) return undefined;
          const v = Number(t.slice(vStart, i));
          if (!Number.isFinite(v)) return undefined;
          stats[key] = v;
        }
      }
      if (++count > MAX_STATS) return undefined;
      const c = t.charCodeAt(i);
      if (c === C_CLOSE) break;
      if (c !== C_COMMA) return undefined;
      i++;
    }
  }
  if (missed) lastKeys = Object.keys(stats); // (interned: they are the object's own keys now)
  if (!spells(t, i, '},"seq":')) return undefined;
  i += 8;
  const seqStart = i;
  i = wholeEnd(t, i);
  if (i < 0) return undefined;
  const seq = wholeValue(t, seqStart, i);
  if (!spells(t, i, ',"ts":')) return undefined;
  i += 6;
  const tsStart = i;
  i = wholeEnd(t, i);
  if (i < 0) return undefined;
  const ts = wholeValue(t, tsStart, i);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(ts) || i + 7 !== t.length || !spells(t, i, ',"v":2}')) return undefined;
  return { msg: { v: 2, kind, node, boot, seq, ts, iv, stats }, mac, span: t.slice(0, macPairStart) + t.slice(spanResume) };
}
