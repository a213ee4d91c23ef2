/**
 * Per-node load history in bounded memory: a fine ring (1 h at the collection step) and a coarse ring
 * (24 h at 1 min, each slot the mean of its minute), typed arrays that start at INITIAL_SLOTS (8)
 * slots each on a node's first sample and double as samples arrive, up to the span. A slot is
 * 4 + 4 × fields = 16 bytes; the minute accumulator 36. With the default 5 s step: 292 bytes at the
 * first sample, 12 580 after 1 h (fine ring full: 720 slots; coarse at 64), at most
 * (720 + 1440) × 16 + 36 = 34 596 after 24 h; at a 1 s step 292 / 58 660 / 80 676 (docs/membership.md).
 * Queries by node list and time range; aggregates by group (VacMon's breakdowns).
 */
import type { StatValue } from '../protocol/events.js';
import { int, mapping, section } from '../protocol/config-schema.js';

/** vacm.yaml's `history:` section: the step of the recorded series. */
export const HISTORY_SECTION = section(
  'history',
  mapping({ step_s: int(1, 600, { says: "must be whole seconds (1-600), the agents' interval, e.g. 5" }) }, { must: 'a mapping, e.g. { step_s: 5 }' }),
);

export const HISTORY_FIELDS = ['load1', 'cpu', 'mem_used_pct'] as const;
export type HistoryField = (typeof HISTORY_FIELDS)[number];
const F = HISTORY_FIELDS.length;
export const FINE_SPAN_S = 3600;
export const COARSE_STEP_S = 60;
export const COARSE_SLOTS = 24 * 60;

/** slots a ring starts with; it doubles as samples arrive, up to its span */
export const INITIAL_SLOTS = 8;

class Ring {
  ts: Uint32Array; // seconds since the epoch of the slot's start; 0 = empty
  values: Float32Array;
  head = 0; // next write
  count = 0;
  /** `slots` is the span (the most it will hold); memory starts at `initial` slots and doubles when full */
  constructor(readonly slots: number, initial = Math.min(slots, INITIAL_SLOTS)) {
    this.ts = new Uint32Array(initial);
    this.values = new Float32Array(initial * F).fill(NaN);
  }

  /** slots allocated now (<= slots) */
  get cap(): number {
    return this.ts.length;
  }

  get lastTs(): number {
    return this.count === 0 ? -1 : this.ts[(this.head - 1 + this.cap) % this.cap];
  }

  /** double the arrays (up to the span), oldest slot first; only called when full */
  private grow(): void {
    const cap = Math.min(this.slots, this.cap * 2);
    const ts = new Uint32Array(cap);
    const values = new Float32Array(cap * F).fill(NaN);
    const start = (this.head - this.count + this.cap) % this.cap;
    for (let k = 0; k < this.count; k++) {
      const i = (start + k) % this.cap;
      ts[k] = this.ts[i];
      values.set(this.values.subarray(i * F, i * F + F), k * F);
    }
    this.ts = ts;
    this.values = values;
    this.head = this.count;
  }

  /** write a slot; the same slot time as the last one overwrites it */
  put(slotTs: number, vals: ArrayLike<number>): void {
    let i: number;
    if (this.count > 0 && this.lastTs === slotTs) i = (this.head - 1 + this.cap) % this.cap;
    else {
      if (this.count > 0 && slotTs < this.lastTs) return; // out of order: older than what we hold
      if (this.count === this.cap && this.cap < this.slots) this.grow();
      i = this.head;
      this.head = (this.head + 1) % this.cap;
      if (this.count < this.cap) this.count++;
    }
    this.ts[i] = slotTs;
    for (let f = 0; f < F; f++) this.values[i * F + f] = vals[f];
  }

  /** slots with from <= ts <= to (seconds), oldest first */
  *range(fromS: number, toS: number): Generator<number> {
    const start = (this.head - this.count + this.cap) % this.cap;
    for (let k = 0; k < this.count; k++) {
      const i = (start + k) % this.cap;
      const t = this.ts[i];
      if (t >= fromS && t <= toS) yield i;
    }
  }

  /** the held slots oldest first as at most two [from, to) runs of slot indexes (no copy: the snapshot writes them) */
  runs(): Array<[number, number]> {
    const start = (this.head - this.count + this.cap) % this.cap;
    if (this.count === 0) return [];
    if (start + this.count <= this.cap) return [[start, start + this.count]];
    return [[start, this.cap], [0, this.head]];
  }

  /** a ring holding `count` slots given oldest first, sized to the next power of two (at most the span) */
  static fromOrdered(slots: number, ts: Uint32Array, values: Float32Array): Ring {
    const count = Math.min(ts.length, slots);
    let cap = Math.min(slots, INITIAL_SLOTS);
    while (cap < count) cap = Math.min(slots, cap * 2);
    const r = new Ring(slots, cap);
    const skip = ts.length - count;
    r.ts.set(ts.subarray(skip));
    r.values.set(values.subarray(skip * F));
    r.count = count;
    r.head = count % cap;
    return r;
  }

  get bytes(): number {
    return this.ts.byteLength + this.values.byteLength;
  }
}

/** a minute's means on their way into the coarse ring (put() copies them) */
const MINUTE_MEANS = new Float32Array(F);

class NodeHistory {
  // the minute being accumulated
  minute = -1;
  readonly sum = new Float64Array(F);
  readonly n = new Uint32Array(F);
  constructor(
    readonly fine: Ring,
    readonly coarse: Ring = new Ring(COARSE_SLOTS),
  ) {}

  get bytes(): number {
    return this.fine.bytes + this.coarse.bytes + this.sum.byteLength + this.n.byteLength;
  }

  flushMinute(): void {
    if (this.minute < 0) return;
    const vals = MINUTE_MEANS;
    for (let f = 0; f < F; f++) vals[f] = this.n[f] > 0 ? this.sum[f] / this.n[f] : NaN;
    this.coarse.put(this.minute, vals);
    this.sum.fill(0);
    this.n.fill(0);
  }
}

export interface Series {
  /** ms since the epoch */
  ts: number[];
  values: Record<HistoryField, number[]>;
}

export interface GroupAggregate {
  group: string;
  nodes: number;
  /** nodes with at least one sample in the range */
  reporting: number;
  samples: number;
  mean: number;
  min: number;
  max: number;
}

export interface HistoryOptions {
  /** the fine ring's step in seconds (the agents' interval); 1 h of it is kept */
  stepS?: number;
  now?: () => number;
}

export class History {
  readonly stepS: number;
  readonly fineSlots: number;
  private readonly nodes = new Map<string, NodeHistory>();
  private readonly now: () => number;

  constructor(opts: HistoryOptions = {}) {
    this.stepS = Math.max(1, Math.round(opts.stepS ?? 5));
    this.fineSlots = Math.ceil(FINE_SPAN_S / this.stepS);
    this.now = opts.now ?? Date.now;
  }

  /** the most one node's history holds, in bytes (both rings full: after 24 h of samples) */
  get bytesPerNode(): number {
    return (this.fineSlots + COARSE_SLOTS) * (4 + 4 * F) + F * 12;
  }

  /** the bytes the rings hold now: they start at INITIAL_SLOTS each and double as samples arrive */
  get bytes(): number {
    let b = 0;
    for (const h of this.nodes.values()) b += h.bytes;
    return b;
  }

  /** the bytes one node's history holds now (0 before its first sample) */
  bytesOf(node: string): number {
    return this.nodes.get(node)?.bytes ?? 0;
  }

  get size(): number {
    return this.nodes.size;
  }

  forget(node: string): void {
    this.nodes.delete(node);
  }

  /** one sample's fields, reused: record() runs for every node every second in a big demo */
  private readonly scratch = new Float32Array(F);

  record(node: string, tsMs: number, stats: Readonly<Record<string, StatValue>>): void {
    const vals = this.scratch;
    let any = false;
    for (let f = 0; f < F; f++) {
      const v = Number(stats[HISTORY_FIELDS[f]]);
      vals[f] = Number.isFinite(v) ? v : NaN;
      if (Number.isFinite(v)) any = true;
    }
    if (!any || !Number.isFinite(tsMs) || tsMs <= 0) return;
    let h = this.nodes.get(node);
    if (!h) this.nodes.set(node, (h = new NodeHistory(new Ring(this.fineSlots))));
    const s = Math.floor(tsMs / 1000);
    h.fine.put(s - (s % this.stepS), vals);
    const minute = s - (s % COARSE_STEP_S);
    if (minute !== h.minute) {
      if (minute < h.minute) return;
      h.flushMinute();
      h.minute = minute;
    }
    for (let f = 0; f < F; f++) if (!Number.isNaN(vals[f])) {
      h.sum[f] += vals[f];
      h.n[f]++;
    }
  }

  /**
   * Samples of each node in [fromMs, toMs]: from the fine ring when the range starts within its
   * hour (or `resolution: 'fine'`), else from the 1-minute ring (the minute in progress included).
   */
  query(nodes: readonly string[], fromMs: number, toMs: number, resolution: 'auto' | 'fine' | 'coarse' = 'auto'): Map<string, Series> {
    const fromS = Math.floor(fromMs / 1000);
    const toS = Math.floor(toMs / 1000);
    const useFine = resolution === 'fine' || (resolution === 'auto' && fromMs >= this.now() - FINE_SPAN_S * 1000);
    const out = new Map<string, Series>();
    for (const node of nodes) {
      const h = this.nodes.get(node);
      const series: Series = { ts: [], values: { load1: [], cpu: [], mem_used_pct: [] } };
      out.set(node, series);
      if (!h) continue;
      const ring = useFine ? h.fine : h.coarse;
      for (const i of ring.range(fromS, toS)) {
        series.ts.push(ring.ts[i] * 1000);
        for (let f = 0; f < F; f++) series.values[HISTORY_FIELDS[f]].push(ring.values[i * F + f]);
      }
      if (!useFine && h.minute >= fromS && h.minute <= toS && h.minute !== ring.lastTs) {
        series.ts.push(h.minute * 1000);
        for (let f = 0; f < F; f++) series.values[HISTORY_FIELDS[f]].push(h.n[f] ? h.sum[f] / h.n[f] : NaN);
      }
    }
    return out;
  }

  /** Per group: mean, min and max of `field` over its nodes' samples in the range. */
  aggregate(groups: Readonly<Record<string, readonly string[]>>, fromMs: number, toMs: number, field: HistoryField = 'load1'): GroupAggregate[] {
    const out: GroupAggregate[] = [];
    for (const [group, members] of Object.entries(groups)) {
      let samples = 0;
      let sum = 0;
      let min = Infinity;
      let max = -Infinity;
      let reporting = 0;
      for (const s of this.query(members, fromMs, toMs).values()) {
        let any = false;
        for (const v of s.values[field]) {
          if (Number.isNaN(v)) continue;
          any = true;
          samples++;
          sum += v;
          if (v < min) min = v;
          if (v > max) max = v;
        }
        if (any) reporting++;
      }
      out.push({ group, nodes: members.length, reporting, samples, mean: samples ? sum / samples : NaN, min: samples ? min : NaN, max: samples ? max : NaN });
    }
    return out;
  }

  // ---- snapshot (vacm serve saves it; vacm snapshot reads it) ----------------------------------

  /**
   * The binary snapshot (vacm serve writes it every minute: no base64, no big strings):
   * `VACMHIS3`, u32 header length, the header JSON (step, per node the slots each ring holds and the
   * minute accumulator), then each node's fine ts, fine values, coarse ts, coarse values: the held
   * slots only, oldest first, as raw bytes (little-endian, as in memory). `VACMHIS2` files (whole
   * rings with their heads) are still read.
   */
  toBuffers(): Buffer[] {
    const nodes: BinNode[] = [];
    const data: Buffer[] = [];
    const push = (a: Uint32Array | Float32Array, from: number, to: number) => data.push(Buffer.from(a.buffer, a.byteOffset + from * a.BYTES_PER_ELEMENT, (to - from) * a.BYTES_PER_ELEMENT));
    for (const [name, h] of this.nodes) {
      nodes.push({ name, fine: h.fine.count, coarse: h.coarse.count, minute: h.minute, sum: Array.from(h.sum), n: Array.from(h.n) });
      for (const ring of [h.fine, h.coarse]) {
        const runs = ring.runs();
        for (const [from, to] of runs) push(ring.ts, from, to);
        for (const [from, to] of runs) push(ring.values, from * F, to * F);
      }
    }
    const header = Buffer.from(JSON.stringify({ version: 3, stepS: this.stepS, fields: HISTORY_FIELDS, nodes }));
    const pre = Buffer.alloc(12);
    pre.write(BIN_MAGIC, 0, 'latin1');
    pre.writeUInt32LE(header.length, 8);
    return [pre, header, ...data];
  }

  /** Read what toBuffers wrote (or a VACMHIS2 file); throws on a file that is not one (truncated, other magic). */
  static fromBuffer(buf: Buffer, opts: HistoryOptions = {}): History {
    const magic = buf.length >= 12 ? buf.toString('latin1', 0, 8) : '';
    if (magic !== BIN_MAGIC && magic !== BIN_MAGIC_V2) throw new Error('not a vacm history snapshot');
    const hlen = buf.readUInt32LE(8);
    const meta = JSON.parse(buf.toString('utf8', 12, 12 + hlen)) as { version: number; stepS: number; nodes: Array<BinNode | BinNodeV2> };
    const h = new History({ ...opts, stepS: meta.stepS });
    let off = 12 + hlen;
    const fill = <A extends Uint32Array | Float32Array>(dst: A): A => {
      if (off + dst.byteLength > buf.length) throw new Error('history snapshot is truncated');
      new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(buf.subarray(off, off + dst.byteLength));
      off += dst.byteLength;
      return dst;
    };
    for (const n of meta.nodes) {
      let nh: NodeHistory;
      if (magic === BIN_MAGIC_V2) {
        // whole rings as they were in memory, with their heads
        const v2 = n as BinNodeV2;
        const fine = new Ring(h.fineSlots, h.fineSlots);
        const coarse = new Ring(COARSE_SLOTS, COARSE_SLOTS);
        for (const r of [fine, coarse]) {
          fill(r.ts);
          fill(r.values);
        }
        [fine.head, fine.count] = v2.fine;
        [coarse.head, coarse.count] = v2.coarse;
        nh = new NodeHistory(fine, coarse);
      } else {
        const v3 = n as BinNode;
        const ring = (slots: number, count: number) => {
          const ts = fill(new Uint32Array(count));
          return Ring.fromOrdered(slots, ts, fill(new Float32Array(count * F)));
        };
        const fine = ring(h.fineSlots, v3.fine);
        nh = new NodeHistory(fine, ring(COARSE_SLOTS, v3.coarse));
      }
      nh.minute = n.minute;
      nh.sum.set(n.sum.slice(0, F));
      nh.n.set(n.n.slice(0, F));
      h.nodes.set(n.name, nh);
    }
    return h;
  }
}

const BIN_MAGIC = 'VACMHIS3';
const BIN_MAGIC_V2 = 'VACMHIS2';

interface BinNode {
  name: string;
  /** slots held, oldest first */
  fine: number;
  coarse: number;
  minute: number;
  sum: number[];
  n: number[];
}

interface BinNodeV2 {
  name: string;
  /** [head, count] of a whole ring */
  fine: [number, number];
  coarse: [number, number];
  minute: number;
  sum: number[];
  n: number[];
}
