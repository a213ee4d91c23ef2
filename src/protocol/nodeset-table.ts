/**
 * A node set's pattern table, as ClusterShell's NodeSetBase holds it: a *pattern* ("node%s-ib%s",
 * "%%" for a literal percent) maps to nothing (a name without digits), a RangeSet or a RangeSetND.
 * Mutable; NodeSet wraps one and never lets it change after construction.
 */
import { RangeSet } from './rangeset.js';
import { RangeSetND, lazyProduct, product, pyStrCmp, type Vec } from './rangeset-nd.js';

/** The set operators of the node-set grammar: union, difference, intersection, symmetric difference. */
export type Op = ',' | '!' | '&' | '^';

// Patterns: "%s" marks an index slot, "%%" a literal percent.

export type Ranges = null | RangeSet | RangeSetND;

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
export class Table {
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
