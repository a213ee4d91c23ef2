/**
 * ClusterShell-compatible node sets: parse, expand, fold, count and set operations.
 * Pure code, no I/O. See docs/nodeset.md for the syntax and the few deliberate differences.
 *
 * Model (same as ClusterShell's): a node set maps a *pattern* ("node%s-ib%s", with "%%" for a
 * literal percent) to either nothing (a name without digits), a 1D RangeSet or an nD
 * RangeSetND (a list of vectors of RangeSets). A RangeSet element is a digit string such as
 * "7", "07" or "007": its identity is (width, value), so mixed padding is kept apart. We store
 * each width as sorted, disjoint integer intervals, so size and fold of huge ranges are cheap.
 */
import { VacmError } from './errors.js';
import { globMatch, hasWildcard } from './glob.js';
import { isSecretVar } from './vars.js';

export type GroupResolver = (group: string) => string[] | string | undefined;

/**
 * A live selector: an `@` atom answered from the engine's node states, not from a group source
 * (`@state=down`, `@power=off`, `@stale=300`, `@var.power=ipmi`). No colon in any of them: the IPC
 * grammar splits fields on `:`.
 */
export type LiveSelector =
  | { kind: 'state'; state: 'up' | 'down' | 'off' | 'unknown' }
  | { kind: 'power'; power: 'on' | 'off' | 'unknown' }
  | { kind: 'stale'; seconds: number }
  | { kind: 'var'; key: string; glob: string }
  // `@drained`: the nodes drained now (NEXXUS:DRAIN); a group named drained wins over it
  | { kind: 'drained' };
/** The names a live selector matches now (the engine answers it; pure code only asks). */
export type LiveResolver = (sel: LiveSelector, text: string) => Iterable<string>;

const LIVE_STATES = ['up', 'down', 'off', 'unknown'] as const;
const LIVE_POWERS = ['on', 'off', 'unknown'] as const;
/** ten years: past this a stale bound is a typo */
const MAX_STALE_S = 315_360_000;

/**
 * The live selector a group name (without its `@`) is, undefined when it is an ordinary group (no
 * `=`: group names never hold one, so `@power` stays a group); ERR_NODESET_PARSE for one that is
 * recognised but malformed.
 */
export function parseLiveSelector(group: string): LiveSelector | undefined {
  const text = `@${group}`;
  const eq = group.indexOf('=');
  if (eq < 0) return undefined;
  const word = group.slice(0, eq).toLowerCase();
  const isVar = word.startsWith('var.');
  if (!isVar && word !== 'state' && word !== 'power' && word !== 'stale') return undefined;
  const value = group.slice(eq + 1);
  if (isVar) {
    const key = group.slice(4, eq);
    if (key === '') throw parseError('live selector @var.KEY=GLOB needs a variable name', text);
    // a glob over a password would tell its characters one guess at a time
    if (isSecretVar(key)) throw new VacmError('ERR_NOT_ALLOWED', `@var.${key}=: ${key} holds a secret, which no selector matches against`, { fragment: text });
    return { kind: 'var', key, glob: value };
  }
  const v = value.toLowerCase();
  if (word === 'state') {
    const state = LIVE_STATES.find((s) => s === v);
    if (!state) throw parseError(`unknown node state (one of ${LIVE_STATES.join(', ')})`, text);
    return { kind: 'state', state };
  }
  if (word === 'power') {
    const power = LIVE_POWERS.find((s) => s === v);
    if (!power) throw parseError(`unknown power state (one of ${LIVE_POWERS.join(', ')})`, text);
    return { kind: 'power', power };
  }
  if (!/^\d{1,10}$/.test(value) || Number(value) > MAX_STALE_S) throw parseError('@stale= takes whole seconds (e.g. @stale=300)', text);
  return { kind: 'stale', seconds: Number(value) };
}

/**
 * The names an expression writes out one by one: its terms (split at operators outside brackets)
 * that hold no bracket, wildcard or group. `node03,node[05-06],@rack1&node09` gives node03 and
 * node09. The engine runs these even when a command skips nodes known down.
 */
export function plainNamesIn(expr: string): Set<string> {
  const out = new Set<string>();
  let depth = 0;
  let start = 0;
  const term = (end: number) => {
    const t = expr.slice(start, end).trim();
    if (t !== '' && !/[[\]*?@%]/.test(t)) out.add(t);
  };
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (c === '[') depth++;
    else if (c === ']') depth = Math.max(0, depth - 1);
    else if (depth === 0 && (c === ',' || c === '!' || c === '&' || c === '^')) {
      term(i);
      start = i + 1;
    }
  }
  term(expr.length);
  return out;
}

export interface NodeSetOptions {
  resolveGroup?: GroupResolver;
  /**
   * Answers live selectors (`@state=down`, ...): the engine gives it. Without one, a live selector
   * is an error (there is no node state to read: `vacm nodeset`, a config's groups).
   */
  resolveLive?: LiveResolver;
  /** Names (or node-set expressions) that `*` and `?` wildcards match against. */
  universe?: () => Iterable<string>;
  /** The most names a set may be expanded to (DEFAULT_MAX_NODES unless given): see nodeLimitError. */
  maxNodes?: number;
}

const MAX_WIDTH = 15; // digit strings longer than this do not fit a double exactly

/**
 * The most names a node set is expanded to, by default: every expansion (a config's `names:`, a
 * request's targets, ADOPT, group names, wildcard masks, stepped ranges) is checked against it
 * before any string is built, so `n[1-99999999]` is a clear error instead of an out-of-memory
 * crash. Counting and folding never expand. vacm.yaml's `limits.max_nodes` raises it.
 */
export const DEFAULT_MAX_NODES = 1_048_576;

/** Wildcard matching tests at most this many (mask, name) pairs per max_nodes. */
const WILDCARD_PAIRS_PER_NODE = 16;

export function nodeLimitError(what: string, count: number, limit: number): VacmError {
  return new VacmError(
    'ERR_LIMIT',
    `${what} is ${count} nodes, over the limit of ${limit}; raise limits.max_nodes in vacm.yaml if you mean it`,
  );
}

function checkLimit(what: string, count: number, limit: number): void {
  if (count > limit) throw nodeLimitError(what, count, limit);
}

function parseError(msg: string, fragment: string | undefined, position?: number): VacmError {
  const text = fragment ? `${msg}: "${fragment}"` : msg;
  const opts: { fragment?: string; position?: number } = {};
  if (fragment !== undefined) opts.fragment = fragment;
  if (position !== undefined && position >= 0) opts.position = position;
  return new VacmError('ERR_NODESET_PARSE', text, opts);
}

const POW10: number[] = [];
for (let i = 0, p = 1; i <= MAX_WIDTH + 1; i++, p *= 10) POW10.push(p);

function digitCount(v: number): number {
  let w = 1;
  while (w < POW10.length && v >= POW10[w]) w++;
  return w;
}

function fmt(v: number, pad: number): string {
  const s = String(v);
  return s.length >= pad ? s : '0'.repeat(pad - s.length) + s;
}

/** Sorted disjoint closed intervals, flat: [lo0, hi0, lo1, hi1, ...]. */
type Iv = number[];

function ivUnion(a: Iv, b: Iv): Iv {
  if (a.length === 0) return b.slice();
  if (b.length === 0) return a.slice();
  const out: Iv = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let lo: number;
    let hi: number;
    if (j >= b.length || (i < a.length && a[i] <= b[j])) {
      lo = a[i];
      hi = a[i + 1];
      i += 2;
    } else {
      lo = b[j];
      hi = b[j + 1];
      j += 2;
    }
    const n = out.length;
    if (n > 0 && lo <= out[n - 1] + 1) {
      if (hi > out[n - 1]) out[n - 1] = hi;
    } else out.push(lo, hi);
  }
  return out;
}

function ivIntersect(a: Iv, b: Iv): Iv {
  const out: Iv = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const lo = Math.max(a[i], b[j]);
    const hi = Math.min(a[i + 1], b[j + 1]);
    if (lo <= hi) out.push(lo, hi);
    if (a[i + 1] < b[j + 1]) i += 2;
    else j += 2;
  }
  return out;
}

function ivDiff(a: Iv, b: Iv): Iv {
  const out: Iv = [];
  let j = 0;
  for (let i = 0; i < a.length; i += 2) {
    let lo = a[i];
    const hi = a[i + 1];
    while (j < b.length && b[j + 1] < lo) j += 2;
    let k = j;
    while (k < b.length && b[k] <= hi) {
      if (b[k] > lo) out.push(lo, b[k] - 1);
      lo = Math.max(lo, b[k + 1] + 1);
      if (lo > hi) break;
      k += 2;
    }
    if (lo <= hi) out.push(lo, hi);
  }
  return out;
}

function ivCount(a: Iv): number {
  let n = 0;
  for (let i = 0; i < a.length; i += 2) n += a[i + 1] - a[i] + 1;
  return n;
}

/** Sort and merge raw (possibly overlapping) intervals. */
function ivNormalize(raw: Iv): Iv {
  let sorted = true;
  for (let i = 2; i < raw.length; i += 2) if (raw[i] < raw[i - 2]) sorted = false;
  let pairs: Iv = raw;
  if (!sorted) {
    const idx: number[] = [];
    for (let i = 0; i < raw.length; i += 2) idx.push(i);
    idx.sort((a, b) => raw[a] - raw[b]);
    pairs = [];
    for (const i of idx) pairs.push(raw[i], raw[i + 1]);
  }
  const out: Iv = [];
  for (let i = 0; i < pairs.length; i += 2) {
    const n = out.length;
    if (n > 0 && pairs[i] <= out[n - 1] + 1) {
      if (pairs[i + 1] > out[n - 1]) out[n - 1] = pairs[i + 1];
    } else out.push(pairs[i], pairs[i + 1]);
  }
  return out;
}

/** Build intervals from unsorted points (may repeat). */
function ivFromPoints(points: number[]): Iv {
  const sorted = Float64Array.from(points).sort();
  const out: Iv = [];
  for (let i = 0; i < sorted.length; i++) {
    const p = sorted[i];
    const n = out.length;
    if (n > 0 && p <= out[n - 1] + 1) {
      if (p > out[n - 1]) out[n - 1] = p;
    } else out.push(p, p);
  }
  return out;
}

interface Run {
  lo: number;
  hi: number;
  pad: number; // 0 = not padded
}

/**
 * An immutable set of digit strings, ClusterShell's RangeSet. Keyed by width (string length);
 * within a width, values below 10^(width-1) are the zero-padded strings.
 */
export class RangeSet {
  /** width -> intervals; widths kept sorted ascending, no empty entries. */
  private readonly w: ReadonlyMap<number, Iv>;
  private cachedSize = -1;

  private constructor(w: Map<number, Iv>) {
    this.w = w;
  }

  static empty(): RangeSet {
    return new RangeSet(new Map());
  }

  private static fromWidthMap(m: Map<number, Iv>): RangeSet {
    const keys = [...m.keys()].filter((k) => m.get(k)!.length > 0).sort((a, b) => a - b);
    const out = new Map<number, Iv>();
    for (const k of keys) out.set(k, m.get(k)!);
    return new RangeSet(out);
  }

  /** One element given as its digit string ("07"). */
  static fromDigits(s: string): RangeSet {
    if (s.length > MAX_WIDTH) throw parseError('node index too large', s);
    const v = Number(s);
    return new RangeSet(new Map([[s.length, [v, v]]]));
  }

  /** Elements (width, value) given as parallel arrays. */
  static fromPairs(widths: number[], values: number[]): RangeSet {
    const byW = new Map<number, number[]>();
    for (let i = 0; i < widths.length; i++) {
      let arr = byW.get(widths[i]);
      if (!arr) byW.set(widths[i], (arr = []));
      arr.push(values[i]);
    }
    const m = new Map<number, Iv>();
    for (const [w, pts] of byW) m.set(w, ivFromPoints(pts));
    return RangeSet.fromWidthMap(m);
  }

  /** Add start..stop (inclusive) by step with padding `pad` (0 = none): raw intervals per width. */
  private static addRange(m: Map<number, Iv>, start: number, stop: number, step: number, pad: number): void {
    // An element's width is max(pad, digitCount(value)): split the range where the width changes.
    let lo = start;
    while (lo <= stop) {
      const w = Math.max(pad, digitCount(lo));
      const wEnd = Math.min(stop, POW10[w] - 1);
      let raw = m.get(w);
      if (!raw) m.set(w, (raw = []));
      if (step === 1) {
        raw.push(lo, wEnd);
        lo = wEnd + 1;
      } else {
        let v = lo;
        for (; v <= wEnd; v += step) raw.push(v, v);
        lo = v;
      }
    }
  }

  /**
   * Parse "1-5,07,10-20/2" the way ClusterShell's RangeSet does. A stepped range is stored as
   * its elements, so their number is checked against `maxPoints` before they are made.
   */
  static parse(pattern: string, maxPoints = DEFAULT_MAX_NODES): RangeSet {
    const raw = new Map<number, Iv>();
    let points = 0;
    for (const part of pattern.split(',')) {
      const sub = part.trim();
      let base = sub;
      let step = 1;
      const slash = sub.indexOf('/');
      if (slash >= 0) {
        base = sub.slice(0, slash);
        const stepStr = sub.slice(slash + 1).trim();
        if (!/^[+-]?\d+$/.test(stepStr)) throw parseError('cannot convert string to integer', sub);
        step = Number(stepStr);
      }
      let begin: string;
      let end: string;
      if (base.indexOf('-') < 0) {
        if (step !== 1) throw parseError('invalid step usage', sub);
        begin = end = base;
      } else {
        const parts = base.split('-').map((p) => p.trim());
        if (parts.length !== 2 || parts[0] === '') {
          // ClusterShell also accepts negative indexes; vacm does not (see docs/nodeset.md).
          throw parseError('negative or malformed range', sub);
        }
        [begin, end] = parts;
      }
      begin = begin.trim();
      end = end.trim();
      if (!/^\d+$/.test(begin) || !/^\d+$/.test(end)) {
        throw parseError(sub.length === 0 ? 'empty range' : 'cannot convert string to integer', sub);
      }
      if (begin.length > MAX_WIDTH || end.length > MAX_WIDTH) throw parseError('range index too large', sub);
      const start = Number(begin);
      const stop = Number(end);
      const pad = begin.length > 1 && begin[0] === '0' ? begin.length : 0;
      const endPad = stop !== 0 && end.length > 1 && end[0] === '0' ? end.length : 0;
      if ((pad > 0 || endPad > 0) && begin.length !== end.length) throw parseError('padding length mismatch', sub);
      if (start > stop || step < 1) throw parseError('invalid values in range', sub);
      if (step > 1) {
        points += Math.floor((stop - start) / step) + 1;
        checkLimit(`the stepped range [${sub}]`, points, maxPoints);
      }
      RangeSet.addRange(raw, start, stop, step, pad);
    }
    const m = new Map<number, Iv>();
    for (const [w, iv] of raw) m.set(w, ivNormalize(iv));
    return RangeSet.fromWidthMap(m);
  }

  get size(): number {
    if (this.cachedSize < 0) {
      let n = 0;
      for (const iv of this.w.values()) n += ivCount(iv);
      this.cachedSize = n;
    }
    return this.cachedSize;
  }

  isEmpty(): boolean {
    return this.w.size === 0;
  }

  hasDigits(s: string): boolean {
    if (!/^\d+$/.test(s) || s.length > MAX_WIDTH) return false;
    const iv = this.w.get(s.length);
    if (!iv) return false;
    const v = Number(s);
    let lo = 0;
    let hi = iv.length / 2 - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (v < iv[2 * mid]) hi = mid - 1;
      else if (v > iv[2 * mid + 1]) lo = mid + 1;
      else return true;
    }
    return false;
  }

  private combine(o: RangeSet, f: (a: Iv, b: Iv) => Iv): RangeSet {
    const m = new Map<number, Iv>();
    const keys = new Set<number>([...this.w.keys(), ...o.w.keys()]);
    for (const k of keys) m.set(k, f(this.w.get(k) ?? [], o.w.get(k) ?? []));
    return RangeSet.fromWidthMap(m);
  }

  union(o: RangeSet): RangeSet {
    return this.combine(o, ivUnion);
  }
  intersection(o: RangeSet): RangeSet {
    return this.combine(o, ivIntersect);
  }
  difference(o: RangeSet): RangeSet {
    return this.combine(o, ivDiff);
  }
  symmetricDifference(o: RangeSet): RangeSet {
    return this.combine(o, (a, b) => ivUnion(ivDiff(a, b), ivDiff(b, a)));
  }

  equals(o: RangeSet): boolean {
    if (this.w.size !== o.w.size) return false;
    for (const [k, iv] of this.w) {
      const jv = o.w.get(k);
      if (!jv || jv.length !== iv.length) return false;
      for (let i = 0; i < iv.length; i++) if (iv[i] !== jv[i]) return false;
    }
    return true;
  }

  intersects(o: RangeSet): boolean {
    for (const [k, iv] of this.w) {
      const jv = o.w.get(k);
      if (jv && ivIntersect(iv, jv).length > 0) return true;
    }
    return false;
  }

  isSubsetOf(o: RangeSet): boolean {
    for (const [k, iv] of this.w) {
      const jv = o.w.get(k);
      if (!jv || ivDiff(iv, jv).length > 0) return false;
    }
    return true;
  }

  /** Elements in ClusterShell's order: by width, then value. */
  *strings(): Generator<string> {
    for (const [w, iv] of this.w) {
      for (let i = 0; i < iv.length; i += 2) for (let v = iv[i]; v <= iv[i + 1]; v++) yield fmt(v, w);
    }
  }

  /** prefix+element+suffix, `size` at a time (the last batch may be shorter): fast streaming. */
  *batches(prefix: string, suffix: string, size: number): Generator<string[]> {
    for (const [w, iv] of this.w) {
      for (let i = 0; i < iv.length; i += 2) {
        for (let lo = iv[i]; lo <= iv[i + 1]; lo += size) {
          const hi = Math.min(iv[i + 1], lo + size - 1);
          const out: string[] = new Array(hi - lo + 1);
          const k = RangeSet.fromWidthMap(new Map([[w, [lo, hi]]])).fillStrings(out, 0, prefix, suffix);
          out.length = k;
          yield out;
        }
      }
    }
  }

  /**
   * prefix+element+suffix for every element, joined by `sep`, in pieces of `size` names. An
   * unpadded run is an array of numbers joined by V8 itself (`n1 n2` is `n` + [1, 2].join(' n')):
   * no string per name, and fast from a cold start, which is what a one-shot `nodeset -e` has.
   */
  *textPieces(prefix: string, suffix: string, sep: string, size: number): Generator<string> {
    const glue = suffix + sep + prefix;
    for (const [w, iv] of this.w) {
      for (let i = 0; i < iv.length; i += 2) {
        for (let lo = iv[i]; lo <= iv[i + 1]; lo += size) {
          const hi = Math.min(iv[i + 1], lo + size - 1);
          if (w > 1 && lo < POW10[w - 1]) {
            const out: string[] = new Array(hi - lo + 1);
            out.length = RangeSet.fromWidthMap(new Map([[w, [lo, hi]]])).fillStrings(out, 0, prefix, suffix);
            yield out.join(sep);
          } else {
            const nums: number[] = new Array(hi - lo + 1);
            for (let v = lo, k = 0; v <= hi; v++) nums[k++] = v;
            yield prefix + nums.join(glue) + suffix;
          }
        }
      }
    }
  }

  /** Write prefix+element+suffix into out from index k; returns the next index. */
  fillStrings(out: string[], k: number, prefix: string, suffix: string): number {
    for (const [w, iv] of this.w) {
      for (let i = 0; i < iv.length; i += 2) {
        let v = iv[i];
        const hi = iv[i + 1];
        // Zero-padded part of the width first, then the part that needs no padding.
        for (const bound = POW10[w - 1]; v <= hi && v < bound && w > 1; v++) out[k++] = prefix + fmt(v, w) + suffix;
        if (suffix) for (; v <= hi; v++) out[k++] = prefix + v + suffix;
        else for (; v <= hi; v++) out[k++] = prefix + v;
      }
    }
    return k;
  }

  first(): string {
    const [w, iv] = this.w.entries().next().value as [number, Iv];
    return fmt(iv[0], w);
  }

  last(): string {
    let lw = 0;
    let liv: Iv = [];
    for (const [w, iv] of this.w) {
      lw = w;
      liv = iv;
    }
    return fmt(liv[liv.length - 1], lw);
  }

  /**
   * Contiguous runs, exactly as ClusterShell's folding cuts them (autostep off). A run keeps
   * the padding state of the element that opened it: a zero-padded run stays in its width, an
   * unpadded run continues across widths (9 then 10) but never into a padded string. Quirk
   * kept on purpose: the state is only reset when a run is emitted or padding changes, so after
   * a lone element (n[02-99/3,94-105]) the next run inherits it and breaks at 99|100.
   */
  runs(): Run[] {
    const out: Run[] = [];
    this.eachRun((lo, hi, pad) => out.push({ lo, hi, pad }));
    return out;
  }

  /**
   * `auto` is ClusterShell's internal autostep threshold (the user's value minus one; Infinity
   * when off): a run with a step above 1 is kept as `lo-hi/step` when it spans at least that.
   */
  private eachRun(emit: (lo: number, hi: number, pad: number, step: number) => void, auto = Infinity): void {
    let started = false;
    let curPadded = false;
    let curPad = 0;
    let curStart = 0;
    let curStep: number | undefined;
    let last = 0;
    const emitSingles = (from: number, stopExcl: number, step: number): void => {
      const pad = curPadded ? curPad : 0;
      for (let j = from; j < stopExcl; j += step) emit(j, j, pad, 1);
    };
    const visit = (idx: number, w: number, padded: boolean): void => {
      if (!started) {
        started = true;
        curPadded = padded;
        curPad = w;
        curStart = idx;
        curStep = undefined;
        last = idx;
        return;
      }
      const padMismatch = curPadded ? w !== curPad : padded;
      const stepMismatch = !padMismatch && curStep !== undefined && curStep !== idx - last;
      if (padMismatch || stepMismatch) {
        const stepped = curStep === undefined || curStep === 1 || last - curStart >= auto * curStep;
        if (stepped) {
          emit(curStart, last, curPadded ? curPad : 0, curStep ?? 1);
          curStart = idx;
          curPadded = padded;
          curPad = w;
        } else if (padMismatch) {
          emitSingles(curStart, last + 1, curStep!);
          curStart = idx;
          curPadded = padded;
          curPad = w;
        } else {
          emitSingles(curStart, last - curStep! + 1, curStep!);
          curStart = last;
        }
        curStep = stepMismatch ? idx - last : undefined;
        last = idx;
        return;
      }
      curStep = idx - last;
      last = idx;
    };
    const chunk = (lo: number, hi: number, w: number, padded: boolean): void => {
      visit(lo, w, padded);
      if (hi > lo) {
        visit(lo + 1, w, padded);
        // Past two elements of one padding class the state is a step-1 run: jump to the end.
        if (hi > lo + 1) {
          curStep = 1;
          last = hi;
        }
      }
    };
    for (const [w, iv] of this.w) {
      const bound = w > 1 ? POW10[w - 1] : 0; // values below are zero-padded strings
      for (let i = 0; i < iv.length; i += 2) {
        const lo = iv[i];
        const hi = iv[i + 1];
        if (lo < bound) chunk(lo, Math.min(hi, bound - 1), w, true);
        if (hi >= bound) chunk(Math.max(lo, bound), hi, w, false);
      }
    }
    if (started) {
      if (curStep === undefined || curStep === 1 || last - curStart >= auto * curStep) emit(curStart, last, curPadded ? curPad : 0, curStep ?? 1);
      else emitSingles(curStart, last + 1, curStep);
    }
  }

  /** Folded text; with `autostep` (ClusterShell's --autostep N), runs of N or more by a step as `a-b/step`. */
  toString(autostep?: number): string {
    const parts: string[] = [];
    this.eachRun(
      (lo, hi, pad, step) => {
        if (lo === hi) parts.push(fmt(lo, pad));
        else parts.push(`${fmt(lo, pad)}-${fmt(hi, pad)}${step > 1 ? `/${step}` : ''}`);
      },
      autostep === undefined ? Infinity : autostep - 1,
    );
    return parts.join(',');
  }

  /** Contiguous runs (ClusterShell's RangeSet.contiguous()), each as a RangeSet. */
  contiguous(): RangeSet[] {
    const out: RangeSet[] = [];
    this.eachRun((lo, hi, pad) => {
      out.push(RangeSet.parse(lo === hi ? fmt(lo, pad) : `${fmt(lo, pad)}-${fmt(hi, pad)}`));
    });
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// nD: a list of vectors, folded the way ClusterShell folds (so the text matches `nodeset -f`).

type Vec = RangeSet[];

function vecCount(v: Vec): number {
  let n = 1;
  for (const r of v) n *= r.size;
  return n;
}

function pyStrCmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

class RangeSetND {
  vl: Vec[];
  dirty = true;
  multivarHint = false;
  /** folding across several dimensions expands the vectors: at most this many names */
  limit = DEFAULT_MAX_NODES;

  constructor(vl: Vec[] = []) {
    this.vl = vl;
  }

  get dim(): number {
    return this.vl.length ? this.vl[0].length : 0;
  }

  /** Folded vector list (ClusterShell folds lazily, before any read). */
  vectors(): Vec[] {
    if (this.dirty) this.fold();
    return this.vl;
  }

  get size(): number {
    let n = 0;
    for (const v of this.vectors()) n += vecCount(v);
    return n;
  }

  copy(): RangeSetND {
    const c = new RangeSetND(this.vectors().map((v) => v.slice()));
    c.dirty = this.dirty;
    c.limit = this.limit;
    return c;
  }

  setVectors(vl: Vec[]): void {
    this.vl = vl;
    this.dirty = true;
  }

  private fold(): void {
    if (this.vl.length > 1) {
      if (!this.foldUnivariate()) this.foldMultivariate();
    }
    this.dirty = false;
  }

  /** Merge when all vectors differ in exactly one dimension. */
  foldUnivariate(): boolean {
    const dim = this.dim;
    let vardim = 0;
    let dimdiff = 0;
    if (dim > 1) {
      for (let i = 0; i < dim; i++) {
        const first = this.vl[0][i];
        let same = true;
        for (let k = 1; k < this.vl.length; k++) {
          if (!this.vl[k][i].equals(first)) {
            same = false;
            break;
          }
        }
        if (!same) {
          dimdiff++;
          if (dimdiff > 1) break;
          vardim = i;
        }
      }
    }
    const univar = dim === 1 || dimdiff === 1;
    if (univar) {
      let acc = this.vl[0][vardim];
      for (let k = 1; k < this.vl.length; k++) acc = acc.union(this.vl[k][vardim]);
      const head = this.vl[0].slice();
      head[vardim] = acc;
      this.vl = [head];
      this.dirty = false;
    }
    this.multivarHint = !univar;
    return univar;
  }

  private foldMultivariate(): void {
    // Phase 1: expand to unique single-element vectors.
    let total = 0;
    for (const v of this.vl) total += vecCount(v);
    if (total > this.limit) {
      throw new VacmError('ERR_LIMIT', `folding this multi-dimensional set would expand ${total} names, over the limit of ${this.limit}; fold fewer nodes at once, or raise limits.max_nodes in vacm.yaml`);
    }
    const seen = new Set<string>();
    const vl: Vec[] = [];
    for (const v of this.vl) {
      for (const tuple of product(v)) {
        const key = tuple.join('\u0000');
        if (seen.has(key)) continue;
        seen.add(key);
        vl.push(tuple.map((s) => RangeSet.fromDigits(s)));
      }
    }
    // Phase 2: greedy merges, cheap passes first, then full passes, until stable. Merged-away
    // vectors are marked dead instead of spliced out (same visiting order, no O(n) shifts).
    let full = false;
    let chg = true;
    while (chg) {
      chg = false;
      sortVectors(vl);
      const n = vl.length;
      const dead = new Uint8Array(n);
      let i1 = 0;
      for (;;) {
        while (i1 < n && dead[i1]) i1++;
        let i2 = i1 + 1;
        while (i2 < n && dead[i2]) i2++;
        if (i2 >= n) break;
        const cur = i1++;
        let item1 = vl[cur];
        for (; i2 < n; i2++) {
          if (dead[i2]) continue;
          const item2 = vl[i2];
          const merged: Vec = new Array(item1.length);
          let nbDiff = 0;
          for (let pos = 0; pos < item1.length; pos++) {
            const a = item1[pos];
            const b = item2[pos];
            if (a.equals(b)) merged[pos] = a;
            else if (!a.intersects(b)) {
              if (++nbDiff > 1) break;
              merged[pos] = a.union(b);
            } else if (a.isSubsetOf(b) || b.isSubsetOf(a)) {
              if (++nbDiff > 1) break;
              merged[pos] = a.isSubsetOf(b) ? b : a;
            } else {
              nbDiff = 2;
              break;
            }
          }
          if (nbDiff <= 1) {
            chg = true;
            item1 = vl[cur] = merged;
            dead[i2] = 1;
          } else if (!full) break;
        }
      }
      let k = 0;
      for (let i = 0; i < n; i++) if (!dead[i]) vl[k++] = vl[i];
      vl.length = k;
      if (!chg && !full) chg = full = true;
    }
    this.vl = vl;
  }

  update(other: RangeSetND): void {
    for (const v of other.vl) this.vl.push(v.slice());
    this.dirty = true;
    if (!this.multivarHint) this.foldUnivariate();
  }

  differenceUpdate(other: RangeSetND): void {
    const ergvx = other.vl;
    const out: Vec[] = [];
    for (const rgvec1 of this.vl) {
      let procvx1: Vec[] = [rgvec1];
      let nextvx1: Vec[] = [];
      for (const rgvec2 of ergvx) {
        while (procvx1.length > 0) {
          const proc = procvx1.shift()!;
          let tmpvx: Vec[] = [];
          for (let pos = 0; pos < proc.length; pos++) {
            const a = proc[pos];
            const b = rgvec2[pos];
            if (a.isSubsetOf(b)) continue;
            if (a.intersects(b)) {
              const t = proc.slice();
              t[pos] = a.difference(b);
              tmpvx.push(t);
            } else {
              tmpvx = [proc];
              break;
            }
          }
          if (tmpvx.length) nextvx1 = nextvx1.concat(tmpvx);
        }
        if (nextvx1.length) {
          procvx1 = nextvx1;
          nextvx1 = [];
        }
      }
      for (const v of procvx1) out.push(v);
    }
    this.setVectors(out);
  }

  intersectionUpdate(other: RangeSetND): void {
    if (other === this) return;
    const tmp = new RangeSetND();
    tmp.limit = this.limit;
    for (const v of this.vl) {
      for (const e of other.vl) {
        const iv = v.map((r, i) => r.intersection(e[i]));
        if (iv.some((r) => r.isEmpty())) continue;
        tmp.update(new RangeSetND([iv]));
      }
    }
    this.setVectors(tmp.vectors());
  }

  symmetricDifferenceUpdate(other: RangeSetND): void {
    const diff2 = other.copy();
    diff2.differenceUpdate(this);
    this.differenceUpdate(other);
    this.update(diff2);
  }
}

function sortVectors(vl: Vec[]): void {
  const keyed = vl.map((v, idx) => ({
    v,
    idx,
    count: vecCount(v),
    dims: v.map((r) => ({ len: r.size, first: r.first(), last: r.last() })),
  }));
  keyed.sort((a, b) => {
    if (a.count !== b.count) return b.count - a.count;
    for (let i = 0; i < a.dims.length; i++) {
      const x = a.dims[i];
      const y = b.dims[i];
      if (x.len !== y.len) return y.len - x.len;
      const c = pyStrCmp(x.first, y.first) || pyStrCmp(x.last, y.last);
      if (c) return c;
    }
    return a.idx - b.idx;
  });
  for (let i = 0; i < keyed.length; i++) vl[i] = keyed[i].v;
}

function* product(v: Vec): Generator<string[]> {
  const lists = v.map((r) => [...r.strings()]);
  const idx = new Array<number>(lists.length).fill(0);
  if (lists.some((l) => l.length === 0)) return;
  for (;;) {
    yield idx.map((k, d) => lists[d][k]);
    let d = lists.length - 1;
    while (d >= 0) {
      idx[d]++;
      if (idx[d] < lists[d].length) break;
      idx[d] = 0;
      d--;
    }
    if (d < 0) return;
  }
}

/** product() without building any dimension's list: for streaming sets of any size. */
function* lazyProduct(v: Vec, d: number, acc: string[]): Generator<string[]> {
  if (d === v.length) {
    yield acc.slice();
    return;
  }
  for (const s of v[d].strings()) {
    acc[d] = s;
    yield* lazyProduct(v, d + 1, acc);
  }
}

// ---------------------------------------------------------------------------------------------
// Patterns: "%s" marks an index slot, "%%" a literal percent.

type Ranges = null | RangeSet | RangeSetND;

/** Where the first index slot is: the first "%s" that is not the tail of a literal "%%". */
function slotIndex(pat: string): number {
  for (let i = pat.indexOf('%'); i >= 0 && i < pat.length - 1; i = pat.indexOf('%', i)) {
    if (pat[i + 1] === 's') return i;
    i += 2; // "%%"
  }
  return -1;
}

function fillPattern(pat: string, args: string[]): string {
  let k = 0;
  return pat.replace(/%([%s])/g, (_m, c: string) => (c === '%' ? '%' : args[k++]));
}

function cloneRanges(r: Ranges): Ranges {
  return r instanceof RangeSetND ? r.copy() : r;
}

function rangesSize(r: Ranges): number {
  return r === null ? 1 : r.size;
}

function isTruthy(r: Ranges): boolean {
  if (r === null) return false;
  return r instanceof RangeSet ? !r.isEmpty() : r.vl.length > 0;
}

/** Mutable pattern table; NodeSet wraps one and never lets it change after construction. */
class Table {
  readonly pats = new Map<string, Ranges>();

  clone(): Table {
    const t = new Table();
    for (const [p, r] of this.pats) t.pats.set(p, cloneRanges(r));
    return t;
  }

  add(pat: string, r: Ranges, copy = true): void {
    if (this.pats.has(pat)) {
      const cur = this.pats.get(pat)!;
      if (cur instanceof RangeSet && r instanceof RangeSet) this.pats.set(pat, cur.union(r));
      else if (cur instanceof RangeSetND && r instanceof RangeSetND) cur.update(r);
    } else {
      this.pats.set(pat, copy ? cloneRanges(r) : r);
    }
  }

  update(o: Table): void {
    for (const [p, r] of o.pats) this.add(p, r);
  }

  intersectionUpdate(o: Table): void {
    const tmp = new Table();
    for (const [p, ir] of o.pats) {
      const r = this.pats.get(p);
      if (r !== undefined && isTruthy(r)) {
        if (r instanceof RangeSet && ir instanceof RangeSet) {
          const x = r.intersection(ir);
          if (!x.isEmpty()) tmp.add(p, x, false);
        } else if (r instanceof RangeSetND && ir instanceof RangeSetND) {
          const x = r.copy();
          x.intersectionUpdate(ir);
          if (x.size > 0) tmp.add(p, x, false);
        }
      } else if (!isTruthy(ir) && this.pats.has(p)) {
        tmp.add(p, null);
      }
    }
    this.pats.clear();
    for (const [p, r] of tmp.pats) this.pats.set(p, r);
  }

  differenceUpdate(o: Table): void {
    const purge: string[] = [];
    for (const [p, er] of o.pats) {
      const r = this.pats.get(p);
      if (r !== undefined && isTruthy(r)) {
        if (r instanceof RangeSet && er instanceof RangeSet) {
          const x = r.difference(er);
          this.pats.set(p, x);
          if (x.isEmpty()) purge.push(p);
        } else if (r instanceof RangeSetND && er instanceof RangeSetND) {
          r.differenceUpdate(er);
          if (r.size === 0) purge.push(p);
        }
      } else if (this.pats.has(p)) purge.push(p);
    }
    for (const p of purge) this.pats.delete(p);
  }

  symmetricDifferenceUpdate(o: Table): void {
    const purge: string[] = [];
    for (const [p, r] of this.pats) {
      const b = o.pats.get(p);
      if (b !== undefined && isTruthy(b)) {
        if (r instanceof RangeSet && b instanceof RangeSet) this.pats.set(p, r.symmetricDifference(b));
        else if (r instanceof RangeSetND && b instanceof RangeSetND) r.symmetricDifferenceUpdate(b);
      } else if (o.pats.has(p)) purge.push(p);
    }
    for (const [p, b] of o.pats) {
      const r = this.pats.get(p);
      if ((r === undefined || !isTruthy(r)) && !this.pats.has(p)) this.add(p, b);
    }
    for (const [p, r] of this.pats) if (r !== null && r.size === 0) purge.push(p);
    for (const p of purge) this.pats.delete(p);
  }

  apply(op: Op, o: Table): void {
    if (op === ',') this.update(o);
    else if (op === '!') this.differenceUpdate(o);
    else if (op === '&') this.intersectionUpdate(o);
    else this.symmetricDifferenceUpdate(o);
  }

  sortedPatterns(): string[] {
    return [...this.pats.keys()].sort(pyStrCmp);
  }

  size(): number {
    let n = 0;
    for (const r of this.pats.values()) n += rangesSize(r);
    return n;
  }

  expand(): string[] {
    const out: string[] = new Array(this.size());
    let k = 0;
    for (const p of this.sortedPatterns()) {
      const r = this.pats.get(p)!;
      if (r === null) out[k++] = fillPattern(p, []);
      else if (r instanceof RangeSet) {
        const at = slotIndex(p);
        k = r.fillStrings(out, k, fillPattern(p.slice(0, at), []), fillPattern(p.slice(at + 2), []));
      } else {
        for (const v of r.vectors()) for (const t of product(v)) out[k++] = fillPattern(p, t);
      }
    }
    return out;
  }

  /** The names joined by `sep`, in pieces of about `size` names (see RangeSet.textPieces). */
  *text(sep: string, size: number): Generator<string> {
    let first = true;
    for (const p of this.sortedPatterns()) {
      const r = this.pats.get(p)!;
      const pieces = r instanceof RangeSet
        ? r.textPieces(fillPattern(p.slice(0, slotIndex(p)), []), fillPattern(p.slice(slotIndex(p) + 2), []), sep, size)
        : this.joinedBatches(p, r, sep);
      for (const piece of pieces) {
        yield first ? piece : sep + piece;
        first = false;
      }
    }
  }

  private *joinedBatches(p: string, r: Ranges, sep: string): Generator<string> {
    const one = new Table();
    one.pats.set(p, r);
    for (const b of one.batches(4096)) yield b.join(sep);
  }

  /** names() in arrays of about `size`: streaming without a generator step per name. */
  *batches(size: number): Generator<string[]> {
    for (const p of this.sortedPatterns()) {
      const r = this.pats.get(p)!;
      if (r instanceof RangeSet) {
        const at = slotIndex(p);
        yield* r.batches(fillPattern(p.slice(0, at), []), fillPattern(p.slice(at + 2), []), size);
      } else {
        let batch: string[] = [];
        const one = new Table();
        one.pats.set(p, r);
        for (const n of one.names()) {
          batch.push(n);
          if (batch.length >= size) {
            yield batch;
            batch = [];
          }
        }
        if (batch.length) yield batch;
      }
    }
  }

  *names(): Generator<string> {
    for (const p of this.sortedPatterns()) {
      const r = this.pats.get(p)!;
      if (r === null) yield fillPattern(p, []);
      else if (r instanceof RangeSet) {
        const at = slotIndex(p);
        const pre = fillPattern(p.slice(0, at), []);
        const post = fillPattern(p.slice(at + 2), []);
        for (const d of r.strings()) yield pre + d + post;
      } else {
        for (const v of r.vectors()) for (const t of lazyProduct(v, 0, [])) yield fillPattern(p, t);
      }
    }
  }

  /** `axis` (0-based, negative from the end): fold only along these dimensions (ClusterShell's fold_axis). */
  fold(autostep?: number, axis?: readonly number[]): string {
    const out: string[] = [];
    const str = (rs: RangeSet): string => (rs.size > 1 ? `[${rs.toString(autostep)}]` : rs.toString(autostep));
    for (const p of this.sortedPatterns()) {
      const r = this.pats.get(p)!;
      if (r === null) out.push(fillPattern(p, []));
      else if (r instanceof RangeSet) {
        if (axis === undefined || axis.some((x) => x >= -1 && x < 1)) out.push(fillPattern(p, [str(r)]));
        else for (const d of r.strings()) out.push(fillPattern(p, [d]));
      } else {
        const dim = r.dim;
        const fold = axis === undefined ? undefined : new Set(axis.filter((x) => x >= -dim && x < dim).map((x) => ((x % dim) + dim) % dim));
        for (const v of r.vectors()) {
          let args: string[][] = [[]];
          v.forEach((rs, d) => {
            const parts = rs.size > 1 && fold && !fold.has(d) ? [...rs.strings()] : [str(rs)];
            args = parts.flatMap((x) => args.map((a) => [...a, x])); // as ClusterShell: the later axis varies slowest
          });
          for (const a of args) out.push(fillPattern(p, a));
        }
      }
    }
    return out.join(',');
  }

  /** ClusterShell's NodeSet.contiguous(): per pattern, per contiguous run (each dimension in turn). */
  contiguous(): Table[] {
    const out: Table[] = [];
    for (const p of this.sortedPatterns()) {
      const r = this.pats.get(p)!;
      if (r === null || r instanceof RangeSet) {
        for (const c of r === null ? [null] : r.contiguous()) {
          const t = new Table();
          t.pats.set(p, c);
          out.push(t);
        }
      } else {
        let vl = r.vectors();
        const dim = vl.length ? vl[0].length : 0;
        for (let d = 0; d < dim; d++) {
          const next: Vec[] = [];
          for (const v of vl) for (const c of v[d].contiguous()) next.push(v.map((x, i) => (i === d ? c : x)));
          vl = next;
        }
        for (const v of vl) {
          const t = new Table();
          const nd = new RangeSetND([v]);
          nd.dirty = false;
          nd.limit = r.limit;
          t.pats.set(p, nd);
          out.push(t);
        }
      }
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Parser: ClusterShell's scanner, read left to right.

type Op = ',' | '!' | '&' | '^';
const OP_RE = /[,!&^]/;

function nextOp(s: string): [number, Op | undefined] {
  const m = OP_RE.exec(s);
  return m ? [m.index, m[0] as Op] : [-1, undefined];
}

function rstrip(s: string): string {
  return s.replace(/\s+$/, '');
}
function lstrip(s: string): string {
  return s.replace(/^\s+/, '');
}

/** A single name without brackets: "r1n02" -> pattern "r%sn%s", ["1", "02"]. */
function scanSingle(s: string): { pat: string; idx: string[] } {
  const re = /(\D*)(\d*)/g;
  let pat = '';
  const idx: string[] = [];
  let any = false;
  for (;;) {
    const m = re.exec(s)!;
    if (m[0] === '') break; // the final empty match is dropped, as in ClusterShell
    any = true;
    pat += m[1];
    if (m[2]) {
      pat += '%s';
      idx.push(m[2]);
    }
  }
  if (!any) throw parseError('parse error', s);
  return { pat, idx };
}

function amendLeading(outer: string, inner: string, limit: number): [string, string] {
  const m = /\d+$/.exec(outer);
  if (!m) return [outer, inner];
  const digits = m[0];
  const rs = RangeSet.parse(inner, limit);
  const parts = rs.runs().map((r) =>
    r.lo === r.hi ? digits + fmt(r.lo, r.pad) : `${digits}${fmt(r.lo, r.pad)}-${digits}${fmt(r.hi, r.pad)}`,
  );
  return [outer.slice(0, m.index), parts.join(',')];
}

function amendTrailing(outer: string, inner: string): [string, string] {
  const m = /^\d+/.exec(outer);
  if (!m) return [outer, inner];
  if (inner.includes('/')) throw parseError('illegal trailing digits after range with steps', outer);
  const digits = m[0];
  const amended = inner
    .split(',')
    .map((elem) => {
      const shifted = elem
        .split('-')
        .map((b) => b + digits)
        .join('-');
      return elem.includes('-') ? `${shifted}/1${'0'.repeat(digits.length)}` : shifted;
    })
    .join(',');
  return [outer.slice(digits.length), amended];
}

interface Term {
  op: Op;
  pat: string;
  rsets: RangeSet[];
}

/** Report a RangeSet error the way ClusterShell does ("bad range"), naming the subrange. */
function asRangeError<T>(fn: () => T, where: string): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof VacmError && e.code !== 'ERR_LIMIT') {
      const inner = e.fragment !== undefined && e.fragment !== where ? ` in "${where}"` : '';
      throw new VacmError('ERR_NODESET_PARSE', `bad range: ${e.message}${inner}`, {
        fragment: e.fragment ?? where,
      });
    }
    throw e;
  }
}

function* scan(input: string, limit: number): Generator<Term> {
  let s: string | null = input;
  let next: Op = ',';
  while (s) {
    s = lstrip(s);
    const rsets: RangeSet[] = [];
    const op: Op = next;
    let [opIdx, nop] = nextOp(s);
    let br = s.indexOf('[');
    let pat = '';
    if (br >= 0 && (opIdx > br || opIdx < 0)) {
      let sfx = s;
      while (br >= 0 && (opIdx > br || opIdx < 0)) {
        let pfx = sfx.slice(0, br);
        let rest = sfx.slice(br + 1);
        const close = rest.indexOf(']');
        if (close < 0) throw parseError('missing bracket', s);
        let rng = rest.slice(0, close);
        sfx = rest.slice(close + 1);
        if (pfx.includes(']')) throw parseError('illegal closing bracket', pfx);
        if (sfx.length > 0) {
          const bEnd = sfx.indexOf(']');
          let bStart = sfx.indexOf('[');
          if (bStart === -1) bStart = bEnd + 1;
          if (bEnd >= 0 && bEnd < bStart) throw parseError('illegal closing bracket', sfx);
          const curRng = rng;
          [sfx, rng] = amendTrailing(sfx, curRng);
        }
        if (pfx.length > 0) {
          const curPfx = pfx;
          const curRng = rng;
          [pfx, rng] = asRangeError(() => amendLeading(curPfx, curRng, limit), curRng);
          if (pfx) {
            const single = scanSingle(pfx);
            pfx = single.pat;
            for (const d of single.idx) rsets.push(RangeSet.fromDigits(d));
          }
        }
        br = sfx.indexOf('[');
        [opIdx, nop] = nextOp(sfx);
        if (sfx.length > 0 && sfx[0] === '[') throw parseError('illegal reopening bracket', sfx);
        pat += pfx + '%s';
        const r = rng;
        rsets.push(asRangeError(() => RangeSet.parse(r, limit), r));
      }
      [opIdx, nop] = nextOp(sfx);
      if (opIdx < 0) s = null;
      else {
        s = sfx.slice(opIdx + 1);
        sfx = sfx.slice(0, opIdx);
        next = nop!;
        if (!s) throw parseError(`missing nodeset operand with '${nop}' operator`, undefined);
      }
      sfx = rstrip(sfx);
      if (sfx) {
        const single = scanSingle(sfx);
        pat += single.pat;
        for (const d of single.idx) rsets.push(RangeSet.fromDigits(d));
      }
    } else {
      let node: string;
      if (opIdx < 0) {
        node = s;
        s = null;
      } else {
        node = s.slice(0, opIdx);
        s = s.slice(opIdx + 1);
        next = nop!;
        if (!node || !s) throw parseError(`missing nodeset operand with '${nop}' operator`, node || s);
      }
      if (node.includes(']')) throw parseError('illegal closing bracket', node);
      const single = scanSingle(rstrip(node));
      pat = single.pat;
      for (const d of single.idx) rsets.push(RangeSet.fromDigits(d));
    }
    yield { op, pat, rsets };
  }
}

function tableOf(pat: string, rsets: RangeSet[], limit = DEFAULT_MAX_NODES): Table {
  const t = new Table();
  if (rsets.length === 0) t.pats.set(pat, null);
  else if (rsets.length === 1) t.pats.set(pat, rsets[0]);
  else {
    const nd = new RangeSetND([rsets]);
    nd.dirty = true;
    nd.limit = limit;
    t.pats.set(pat, nd);
  }
  return t;
}


const MAX_GROUP_DEPTH = 32;

function parseTable(expr: string, opts: NodeSetOptions, depth: number, cache: { all?: string[] }): Table {
  if (depth > MAX_GROUP_DEPTH) throw parseError('groups nested too deeply (a group includes itself?)', expr);
  const acc = new Table();
  const src = expr.trim().replace(/%/g, '%%');
  const limit = opts.maxNodes ?? DEFAULT_MAX_NODES;
  /** the names of one term (group names, wildcard masks), checked against the limit first */
  const termNames = (term: Term, what: string): string[] => {
    const t = tableOf(term.pat, term.rsets, limit);
    checkLimit(what, t.size(), limit);
    return t.expand();
  };
  for (const term of scan(src, limit)) {
    if (term.pat[0] === '@') {
      const groupTable = new Table();
      for (const name of termNames(term, 'the list of group names')) {
        const group = name.slice(1);
        let members: string[] | string | undefined;
        const live = group === '*' ? undefined : parseLiveSelector(group);
        if (group === '*') members = cache.all ?? (cache.all = allNames(opts, depth, cache));
        else if (live) {
          if (!opts.resolveLive) throw new VacmError('ERR_UNSUPPORTED', `${name} is a live selector, answered from the engine's node states; there are none here: use it in a request (vacm ipc 'NEXXUS:NODE_LIST:${name}')`, { fragment: name });
          groupTable.update(tableFromNames(opts.resolveLive(live, name)));
          continue;
        } else members = opts.resolveGroup?.(group);
        if (members === undefined && group === 'drained') {
          // the contract's live selector; a group of that name (in the config or ClusterShell's) still wins
          if (!opts.resolveLive) throw new VacmError('ERR_UNSUPPORTED', `${name} is a live selector, answered from the engine's drains; there are none here: use it in a request (vacm ipc 'NEXXUS:DRAINED:${name}')`, { fragment: name });
          groupTable.update(tableFromNames(opts.resolveLive({ kind: 'drained' }, name)));
          continue;
        }
        if (members === undefined) throw parseError('unknown group', name);
        const text = typeof members === 'string' ? members : members.join(',');
        if (text.trim()) groupTable.update(parseTable(text, opts, depth + 1, cache));
      }
      acc.apply(term.op, groupTable);
    } else if (hasWildcard(term.pat)) {
      const all = cache.all ?? (cache.all = allNames(opts, depth, cache));
      const masks = termNames(term, 'the list of wildcard patterns');
      // every mask is tried against every name: bound the work, not just the masks
      const pairs = masks.length * all.length;
      if (pairs > WILDCARD_PAIRS_PER_NODE * limit) {
        throw new VacmError(
          'ERR_LIMIT',
          `${masks.length} wildcard patterns against ${all.length} nodes is ${pairs} comparisons, over the limit of ${WILDCARD_PAIRS_PER_NODE * limit} (${WILDCARD_PAIRS_PER_NODE} × limits.max_nodes); use fewer patterns, or raise limits.max_nodes in vacm.yaml`,
        );
      }
      const remaining = new Set(all);
      const matched: string[] = [];
      for (const mask of masks) {
        for (const n of remaining) {
          if (globMatch(mask, n)) {
            matched.push(n);
            remaining.delete(n);
          }
        }
      }
      acc.apply(term.op, tableFromNames(matched));
    } else {
      acc.apply(term.op, tableOf(term.pat, term.rsets, limit));
    }
  }
  return acc;
}

function allNames(opts: NodeSetOptions, depth: number, cache: { all?: string[] }): string[] {
  if (!opts.universe) return [];
  const t = new Table();
  for (const e of opts.universe()) {
    if (/[*?]/.test(e)) continue; // a universe entry cannot itself be a wildcard
    t.update(parseTable(e, { ...opts, universe: undefined }, depth + 1, cache));
  }
  return t.expand();
}

/** A name with exactly one number ("node12-ib"): the common case, scanned without a loop. */
const ONE_NUMBER = /^(\D*)(\d+)(\D*)$/;

function tableFromNames(names: Iterable<string>): Table {
  const t = new Table();
  // 1D patterns are gathered as points and built once: fast for tens of thousands of names.
  const oneD = new Map<string, { w: number[]; v: number[] }>();
  for (const raw of names) {
    const name = raw.trim().replace(/%/g, '%%');
    if (!name) continue;
    if (/[[\]]/.test(name) || OP_RE.test(name)) {
      t.update(parseTable(raw, {}, 0, {}));
      continue;
    }
    const one = ONE_NUMBER.exec(name);
    const { pat, idx } = one ? { pat: `${one[1]}%s${one[3]}`, idx: [one[2]] } : scanSingle(name);
    if (idx.length === 1) {
      const d = idx[0];
      if (d.length > MAX_WIDTH) throw parseError('node index too large', d);
      let e = oneD.get(pat);
      if (!e) oneD.set(pat, (e = { w: [], v: [] }));
      e.w.push(d.length);
      e.v.push(Number(d));
    } else {
      t.update(tableOf(pat, idx.map((d) => RangeSet.fromDigits(d))));
    }
  }
  for (const [pat, e] of oneD) t.add(pat, RangeSet.fromPairs(e.w, e.v), false);
  return t;
}

// ---------------------------------------------------------------------------------------------

/**
 * Errors come from the scanner with the failing fragment (in escaped form); give them back in
 * the operator's text and point at where the fragment starts in the expression.
 */
function located<T>(expr: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof VacmError) || e.code !== 'ERR_NODESET_PARSE' || e.position !== undefined) throw e;
    const fragment = e.fragment?.replace(/%%/g, '%');
    const opts: { fragment?: string; position?: number; cause: unknown } = { cause: e };
    if (fragment !== undefined) {
      opts.fragment = fragment;
      const at = fragment ? expr.indexOf(fragment) : -1;
      if (at >= 0) opts.position = at;
    }
    throw new VacmError('ERR_NODESET_PARSE', e.message.replace(/%%/g, '%'), opts);
  }
}

/** What Python's str.splitlines() splits on. */
/** A node name with no operator, bracket, group or wildcard (white space around it is ignored). */
const PLAIN_NAME = /^\s*[\w.-]+\s*$/;
const LINE_BREAK = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

/** An immutable node set. */
export class NodeSet implements Iterable<string> {
  private readonly t: Table;
  private cachedFold: string | undefined;
  /** expand() refuses a set larger than this (names() streams any size) */
  private readonly limit: number;

  private constructor(t: Table, limit = DEFAULT_MAX_NODES) {
    this.t = t;
    this.limit = limit;
  }

  static parse(expr: string, opts: NodeSetOptions = {}): NodeSet {
    return new NodeSet(located(expr, () => parseTable(expr, opts, 0, {})), opts.maxNodes);
  }

  /** Individual names (each may also be a plain expression); the union, like `nodeset -f a b c`. */
  static fromNames(names: Iterable<string>): NodeSet {
    return new NodeSet(tableFromNames(names));
  }

  static empty(): NodeSet {
    return new NodeSet(new Table());
  }

  get size(): number {
    return this.t.size();
  }

  get isEmpty(): boolean {
    return this.t.pats.size === 0;
  }

  has(name: string): boolean {
    const n = name.trim().replace(/%/g, '%%');
    if (!n || /[[\]]/.test(n) || OP_RE.test(n)) return false;
    const { pat, idx } = scanSingle(n);
    if (!this.t.pats.has(pat)) return false;
    const r = this.t.pats.get(pat)!;
    if (r === null) return idx.length === 0;
    if (r instanceof RangeSet) return r.hasDigits(idx[0]);
    return r.vectors().some((v) => v.every((rs, i) => rs.hasDigits(idx[i])));
  }

  /** Every name, in order; ERR_LIMIT (before building any) when there are more than the set's limit. */
  expand(): string[] {
    checkLimit('the node set', this.t.size(), this.limit);
    return this.t.expand();
  }

  /** Every name, in order, one at a time: memory stays bounded however large the set. */
  names(): Iterable<string> {
    return this.t.names();
  }

  /** The names in order joined by `separator`, in pieces of about `size` names: `nodeset -e`'s output. */
  text(separator = ' ', size = 8192): Iterable<string> {
    return this.t.text(separator, size);
  }

  /** The names in order, in arrays of about `size` (the fastest way to stream a large set). */
  batches(size = 4096): Iterable<string[]> {
    return this.t.batches(size);
  }

  fold(): string {
    if (this.cachedFold === undefined) this.cachedFold = this.t.fold();
    return this.cachedFold;
  }

  /** Folded with ClusterShell's autostep: runs of `autostep` or more elements by a step as `a-b/step`. */
  foldAutostep(autostep: number | undefined, axis?: readonly number[]): string {
    return this.t.fold(autostep, axis);
  }

  toString(): string {
    return this.fold();
  }

  /** ClusterShell's contiguous(): one set per pattern and contiguous run. */
  contiguous(): NodeSet[] {
    return this.t.contiguous().map((t) => new NodeSet(t, this.limit));
  }

  /** The names at positions `keep` (0-based, in expand order): ClusterShell's slicing. */
  at(keep: (position: number) => boolean): NodeSet {
    const picked: string[] = [];
    let i = 0;
    for (const n of this.expand()) if (keep(i++)) picked.push(n);
    return NodeSet.fromNames(picked);
  }

  /** ClusterShell's split(n): at most n sets of sizes differing by at most one, in order. */
  split(n: number): NodeSet[] {
    const names = this.expand();
    const size = Math.floor(names.length / n);
    const left = names.length % n;
    const out: NodeSet[] = [];
    for (let i = 0, begin = 0; i < Math.min(n, names.length); i++) {
      const len = size + (i < left ? 1 : 0);
      out.push(NodeSet.fromNames(names.slice(begin, begin + len)));
      begin += len;
    }
    return out;
  }

  private op(o: NodeSet, op: Op): NodeSet {
    const t = this.t.clone();
    t.apply(op, o.t);
    return new NodeSet(t, this.limit);
  }

  union(o: NodeSet): NodeSet {
    return this.op(o, ',');
  }
  difference(o: NodeSet): NodeSet {
    return this.op(o, '!');
  }
  intersection(o: NodeSet): NodeSet {
    return this.op(o, '&');
  }
  symmetricDifference(o: NodeSet): NodeSet {
    return this.op(o, '^');
  }

  [Symbol.iterator](): Iterator<string> {
    return this.names()[Symbol.iterator]();
  }

  /**
   * Union of several expressions, accumulated in place like ClusterShell's `nodeset` command,
   * which also reads each line of an argument as an expression of its own.
   */
  static unionOf(exprs: Iterable<string>, opts: NodeSetOptions = {}): NodeSet {
    const acc = new Table();
    // Plain names (`node17`, tens of thousands piped in) are gathered and built at once, as
    // fromNames does; one by one, each union would rebuild the growing range set.
    const plain: string[] = [];
    for (const e of exprs) {
      for (const line of e.split(LINE_BREAK)) {
        if (PLAIN_NAME.test(line)) plain.push(line);
        else acc.update(located(line, () => parseTable(line, opts, 0, {})));
      }
    }
    if (plain.length > 0) {
      let t: Table;
      try {
        t = tableFromNames(plain);
      } catch {
        // the one at fault, with its position, from the careful path
        t = new Table();
        for (const line of plain) t.update(located(line, () => parseTable(line, opts, 0, {})));
      }
      acc.update(t);
    }
    return new NodeSet(acc, opts.maxNodes);
  }
}

export function expandNodeSet(expr: string, opts?: NodeSetOptions): string[] {
  return NodeSet.parse(expr, opts).expand();
}

export function foldNodeSet(names: Iterable<string>): string {
  return NodeSet.fromNames(names).fold();
}

export function countNodeSet(expr: string, opts?: NodeSetOptions): number {
  return NodeSet.parse(expr, opts).size;
}
