/**
 * ClusterShell's RangeSet (ClusterShell/RangeSet.py): an immutable set of digit strings such as
 * "7", "07" or "007", with its parser ("1-5,07,10-20/2") and its folding. An element's identity is
 * (width, value), so mixed padding is kept apart; each width is stored as sorted disjoint integer
 * intervals (range-intervals.ts). Pure code, no I/O.
 */
import { DEFAULT_MAX_NODES, checkLimit, parseError } from './nodeset-errors.js';
import { ivCount, ivDiff, ivFromPoints, ivIntersect, ivNormalize, ivUnion, type Iv } from './range-intervals.js';

export const MAX_WIDTH = 15; // digit strings longer than this do not fit a double exactly

const POW10: number[] = [];
for (let i = 0, p = 1; i <= MAX_WIDTH + 1; i++, p *= 10) POW10.push(p);

function digitCount(v: number): number {
  let w = 1;
  while (w < POW10.length && v >= POW10[w]) w++;
  return w;
}

export function fmt(v: number, pad: number): string {
  const s = String(v);
  return s.length >= pad ? s : '0'.repeat(pad - s.length) + s;
}

export interface Run {
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
