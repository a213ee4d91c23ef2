/**
 * Sorted disjoint closed intervals of integers, flat: [lo0, hi0, lo1, hi1, ...]. RangeSet keeps
 * one such list per digit width, so the size and the fold of a huge range cost nothing.
 */

export type Iv = number[];

export function ivUnion(a: Iv, b: Iv): Iv {
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

export function ivIntersect(a: Iv, b: Iv): Iv {
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

export function ivDiff(a: Iv, b: Iv): Iv {
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

export function ivCount(a: Iv): number {
  let n = 0;
  for (let i = 0; i < a.length; i += 2) n += a[i + 1] - a[i] + 1;
  return n;
}

/** Sort and merge raw (possibly overlapping) intervals. */
export function ivNormalize(raw: Iv): Iv {
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
export function ivFromPoints(points: number[]): Iv {
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
