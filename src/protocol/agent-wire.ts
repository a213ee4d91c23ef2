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
  if (!t.startsWith('{"boot":"')) return undefined;
  i = 9;
  const bootStart = i;
  while (isAlnum(t.charCodeAt(i))) i++;
  if (i === bootStart || i - bootStart > 16) return undefined;
  const boot = t.slice(bootStart, i);
  if (!t.startsWith('","iv":', i)) return undefined;
  i += 7;
  const ivStart = i;
  i = numberEnd(t, i);
  if (i < 0) return undefined;
  const ivText = t.slice(ivStart, i);
  const iv = Number(ivText);
  // the span is the text as sent: iv must read back as it is written (the general path's rule)
  if (!(iv > 0 && iv <= 3600) || String(iv) !== ivText) return undefined;
  let kind: AgentMsgKind;
  if (t.startsWith(',"k":"status","mac":"', i)) {
    kind = 'status';
    i += 21;
  } else if (t.startsWith(',"k":"announce","mac":"', i)) {
    kind = 'announce';
    i += 23;
  } else return undefined;
  const macPairStart = i - 7; // at `"mac":"`
  const macStart = i;
  for (; i < macStart + 64; i++) {
    const c = t.charCodeAt(i);
    if (!(isDigit(c) || (c >= 0x61 && c <= 0x66))) return undefined;
  }
  const mac = t.slice(macStart, i);
  if (!t.startsWith('","node":"', i)) return undefined;
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
  if (!t.startsWith('","s":{', i)) return undefined;
  i += 7;
  const stats: Record<string, StatValue> = {};
  let count = 0;
  let prevKey = '';
  if (t.charCodeAt(i) !== C_CLOSE) {
    for (;;) {
      if (t.charCodeAt(i) !== C_QUOTE) return undefined;
      const keyStart = ++i;
      if (!isLower(t.charCodeAt(i))) return undefined;
      for (;;) {
        const c = t.charCodeAt(i);
        if (isLower(c) || isDigit(c) || c === 0x5f) i++;
        else break;
      }
      if (i - keyStart > MAX_STAT_KEY || t.charCodeAt(i) !== C_QUOTE || t.charCodeAt(i + 1) !== C_COLON) return undefined;
      const key = t.slice(keyStart, i);
      // sorted and so never repeated (a repeated key is the general path's to read)
      if (count > 0 && !(key > prevKey)) return undefined;
      prevKey = key;
      i += 2;
      if (t.charCodeAt(i) === C_QUOTE) {
        const vStart = ++i;
        for (;;) {
          const c = t.charCodeAt(i);
          if (c === C_QUOTE) break;
          // printable ASCII, no escape (past the end charCodeAt is NaN: refused too)
          if (!(c >= 0x20 && c <= 0x7e) || c === 0x5c || i - vStart >= MAX_STAT_STRING) return undefined;
          i++;
        }
        stats[key] = t.slice(vStart, i);
        i++;
      } else {
        const vStart = i;
        // a plain whole number of up to 15 digits is exact as it is summed; anything else goes through Number()
        let n = 0;
        while (isDigit(t.charCodeAt(i)) && i - vStart < 15) n = n * 10 + (t.charCodeAt(i++) - C_0);
        const c = t.charCodeAt(i);
        // (a leading zero only as the number 0 itself, as JSON has it)
        if (i > vStart && (c === C_COMMA || c === C_CLOSE) && (t.charCodeAt(vStart) !== C_0 || i === vStart + 1)) {
          stats[key] = n;
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
  if (!t.startsWith('},"seq":', i)) return undefined;
  i += 8;
  const seqStart = i;
  i = wholeEnd(t, i);
  if (i < 0) return undefined;
  const seq = Number(t.slice(seqStart, i));
  if (!t.startsWith(',"ts":', i)) return undefined;
  i += 6;
  const tsStart = i;
  i = wholeEnd(t, i);
  if (i < 0) return undefined;
  const ts = Number(t.slice(tsStart, i));
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(ts) || i + 7 !== t.length || !t.startsWith(',"v":2}', i)) return undefined;
  return { msg: { v: 2, kind, node, boot, seq, ts, iv, stats }, mac, span: t.slice(0, macPairStart) + t.slice(spanResume) };
}
