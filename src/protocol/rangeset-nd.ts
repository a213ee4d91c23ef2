/**
 * ClusterShell's RangeSetND: a list of vectors of RangeSets (one per index of a name such as
 * "r1n02"), folded the way ClusterShell folds, so the text matches `nodeset -f`.
 */
import { VacmError } from './errors.js';
import { DEFAULT_MAX_NODES } from './nodeset-errors.js';
import { RangeSet } from './rangeset.js';

export type Vec = RangeSet[];

function vecCount(v: Vec): number {
  let n = 1;
  for (const r of v) n *= r.size;
  return n;
}

export function pyStrCmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class RangeSetND {
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

export function* product(v: Vec): Generator<string[]> {
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
export function* lazyProduct(v: Vec, d: number, acc: string[]): Generator<string[]> {
  if (d === v.length) {
    yield acc.slice();
    return;
  }
  for (const s of v[d].strings()) {
    acc[d] = s;
    yield* lazyProduct(v, d + 1, acc);
  }
}
