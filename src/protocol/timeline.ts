/**
 * The events timeline's pure parts: what one entry is, how a stored line is read back (anything
 * malformed is dropped, text is made safe and bounded), and the time bounds of NEXXUS:EVENTS
 * (`-1h`, an ISO time). The engine keeps the entries (src/engine/timeline.ts); nothing here does I/O.
 */
import { VacmError } from './errors.js';
import { escapeControls } from './visible.js';
import { safeBlackBox, type BlackBox } from './sensors.js';

/**
 * What an entry is about. A closed list: a module that records something new adds its kind here
 * (docs/events.md lists them with who records each).
 */
export const TIMELINE_KINDS = ['membership', 'discovery', 'power', 'exec', 'copy', 'job', 'drain', 'sel', 'console'] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

export type TimelineFields = Readonly<Record<string, string | number>>;

export interface TimelineEntry {
  /** ms since the epoch */
  readonly at: number;
  /** the order entries were recorded in, within one process (ties of `at` keep it) */
  readonly seq: number;
  readonly kind: TimelineKind;
  /** a node name, a folded node set (a job's targets), or '' when the entry is about no node */
  readonly node: string;
  /** one line for people: controls escaped, at most MAX_TEXT characters */
  readonly text: string;
  /** a few machine-readable facts (who, outcome, counts); keys and values bounded like the text */
  readonly fields: TimelineFields;
  /** a NODE_DOWN record's "last words": console lines, recent SEL, last stats (bounded, safeBlackBox) */
  readonly blackBox?: BlackBox;
}

export const MAX_TEXT = 512;
export const MAX_NODE_TEXT = 4096;
export const MAX_FIELDS = 16;
const MAX_FIELD_KEY = 32;
const MAX_FIELD_VALUE = 256;

const KIND_SET: ReadonlySet<string> = new Set(TIMELINE_KINDS);

export function isTimelineKind(k: unknown): k is TimelineKind {
  return typeof k === 'string' && KIND_SET.has(k);
}

/** One line of text that came from anywhere (a reason, an error, a node): controls escaped, cut at `max`. */
export function safeText(s: string, max = MAX_TEXT): string {
  // escaping only grows text: max+1 characters in are enough for max out (and to know it was cut)
  const cut = s.length > max ? s.slice(0, max + 1) : s;
  const e = escapeControls(cut);
  return e.length > max ? e.slice(0, max - 1) + '…' : e;
}

/** The fields as they are kept: at most MAX_FIELDS, keys plain words, values bounded text or finite numbers. */
export function safeFields(raw: unknown): TimelineFields {
  const out: Record<string, string | number> = Object.create(null);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return out;
  let n = 0;
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (n >= MAX_FIELDS) break;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || k.length > MAX_FIELD_KEY) continue;
    if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
    else if (typeof v === 'string') out[k] = safeText(v, MAX_FIELD_VALUE);
    else continue;
    n++;
  }
  return out;
}

/** A stored line read back, or undefined when it is not a timeline entry (a torn last line, a foreign file). */
export function entryFromJson(line: string, seq: number): TimelineEntry | undefined {
  if (line.length === 0 || line.length > 64 * 1024) return undefined;
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return undefined;
  const r = o as Record<string, unknown>;
  const at = typeof r.at === 'string' ? Date.parse(r.at) : NaN;
  if (!Number.isFinite(at) || !isTimelineKind(r.kind) || typeof r.text !== 'string') return undefined;
  const node = typeof r.node === 'string' ? safeText(r.node, MAX_NODE_TEXT) : '';
  const box = r.blackBox === undefined ? undefined : safeBlackBox(r.blackBox);
  return { at, seq, kind: r.kind, node, text: safeText(r.text), fields: safeFields(r.fields), ...(box ? { blackBox: box } : {}) };
}

/** The stored form of an entry: one JSON line (no seq: it is per process). */
export function entryToJson(e: TimelineEntry): string {
  const o: Record<string, unknown> = { at: new Date(e.at).toISOString(), kind: e.kind, node: e.node, text: e.text };
  if (Object.keys(e.fields).length > 0) o.fields = e.fields;
  if (e.blackBox) o.blackBox = e.blackBox;
  return JSON.stringify(o);
}

const RELATIVE = /^-(\d{1,9})([smhdw])$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
// 2026-12-01, 2026-12-01T10:00, 2026-12-01T10:00:30.5, 2026-12-01T1000Z, ... with Z or ±hh[:]mm
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):?(\d{2})(?::?(\d{2})(?:\.(\d{1,3}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * A time bound of NEXXUS:EVENTS (decision, docs/events.md): `now`; relative to now, `-90s`, `-30m`,
 * `-1h`, `-2d`, `-1w`; or an ISO 8601 date or time, `2026-12-01`, `2026-12-01T10:00` (colons
 * escaped inside an IPC line, or written without them: `2026-12-01T1000`), in local time unless it
 * ends in `Z` or an offset. Returns ms since the epoch; ERR_BAD_ARGS for anything else.
 */
export function parseTimeBound(text: string, now: number, what = 'time'): number {
  const t = text.trim();
  if (t.toLowerCase() === 'now') return now;
  const rel = RELATIVE.exec(t);
  if (rel) return now - Number(rel[1]) * UNIT_MS[rel[2]];
  const m = ISO.exec(t);
  if (m) {
    const [, y, mo, d, h, mi, s, ms, zone] = m;
    const parts = [Number(y), Number(mo) - 1, Number(d), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0), Number((ms ?? '0').padEnd(3, '0'))] as const;
    let at: number;
    if (zone) {
      at = Date.UTC(...parts);
      if (zone !== 'Z') {
        const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
        at -= (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3])) * 60_000;
      }
    } else at = new Date(...parts).getTime();
    // 2026-02-30 or 25:00 is a typo, not a date JavaScript quietly rolls over
    const day = new Date(Date.UTC(parts[0], parts[1], parts[2]));
    const valid = day.getUTCMonth() === parts[1] && day.getUTCDate() === parts[2] && parts[3] <= 23 && parts[4] <= 59 && parts[5] <= 59;
    if (valid && Number.isFinite(at)) return at;
  }
  throw new VacmError('ERR_BAD_ARGS', `bad ${what} "${safeText(t, 64)}": give now, a time back from now (-90s, -30m, -1h, -2d, -1w) or an ISO time (2026-12-01, 2026-12-01T10\\:00, 2026-12-01T1000Z)`);
}
