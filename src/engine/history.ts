/**
 * Per-node load history in fixed memory: a fine ring (1 h at the collection step) and a coarse ring
 * (24 h at 1 min, each slot the mean of its minute), typed arrays allocated on a node's first
 * sample. Bytes per node = (fineSlots + 1440) × (4 + 4 × fields) + the minute accumulator; with the
 * default 5 s step and 3 fields that is (720 + 1440) × 16 = 34 560 bytes (see docs/membership.md).
 * Queries by node list and time range; aggregates by group (VacMon's breakdowns).
 */
import type { StatValue } from '../protocol/events.js';

export const HISTORY_FIELDS = ['load1', 'cpu', 'mem_used_pct'] as const;
export type HistoryField = (typeof HISTORY_FIELDS)[number];
const F = HISTORY_FIELDS.length;
export const FINE_SPAN_S = 3600;
export const COARSE_STEP_S = 60;
export const COARSE_SLOTS = 24 * 60;

class Ring {
  readonly ts: Uint32Array; // seconds since the epoch of the slot's start; 0 = empty
  readonly values: Float32Array;
  head = 0; // next write
  count = 0;
  constructor(readonly slots: number) {
    this.ts = new Uint32Array(slots);
    this.values = new Float32Array(slots * F).fill(NaN);
  }

  get lastTs(): number {
    return this.count === 0 ? -1 : this.ts[(this.head - 1 + this.slots) % this.slots];
  }

  /** write a slot; the same slot time as the last one overwrites it */
  put(slotTs: number, vals: ArrayLike<number>): void {
    let i: number;
    if (this.count > 0 && this.lastTs === slotTs) i = (this.head - 1 + this.slots) % this.slots;
    else {
      if (this.count > 0 && slotTs < this.lastTs) return; // out of order: older than what we hold
      i = this.head;
      this.head = (this.head + 1) % this.slots;
      if (this.count < this.slots) this.count++;
    }
    this.ts[i] = slotTs;
    for (let f = 0; f < F; f++) this.values[i * F + f] = vals[f];
  }

  /** slots with from <= ts <= to (seconds), oldest first */
  *range(fromS: number, toS: number): Generator<number> {
    const start = (this.head - this.count + this.slots) % this.slots;
    for (let k = 0; k < this.count; k++) {
      const i = (start + k) % this.slots;
      const t = this.ts[i];
      if (t >= fromS && t <= toS) yield i;
    }
  }

  get bytes(): number {
    return this.ts.byteLength + this.values.byteLength;
  }
}

class NodeHistory {
  readonly fine: Ring;
  readonly coarse = new Ring(COARSE_SLOTS);
  // the minute being accumulated
  minute = -1;
  readonly sum = new Float64Array(F);
  readonly n = new Uint32Array(F);
  constructor(fineSlots: number) {
    this.fine = new Ring(fineSlots);
  }

  flushMinute(): void {
    if (this.minute < 0) return;
    const vals = new Float32Array(F);
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

  /** memory held for one node's history, in bytes */
  get bytesPerNode(): number {
    return (this.fineSlots + COARSE_SLOTS) * (4 + 4 * F) + F * 12;
  }

  get size(): number {
    return this.nodes.size;
  }

  forget(node: string): void {
    this.nodes.delete(node);
  }

  record(node: string, tsMs: number, stats: Readonly<Record<string, StatValue>>): void {
    const vals = new Float32Array(F);
    let any = false;
    for (let f = 0; f < F; f++) {
      const v = Number(stats[HISTORY_FIELDS[f]]);
      vals[f] = Number.isFinite(v) ? v : NaN;
      if (Number.isFinite(v)) any = true;
    }
    if (!any || !Number.isFinite(tsMs) || tsMs <= 0) return;
    let h = this.nodes.get(node);
    if (!h) this.nodes.set(node, (h = new NodeHistory(this.fineSlots)));
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
   * `VACMHIS2`, u32 header length, the header JSON (step, per node its ring heads and minute
   * accumulator), then each node's four typed arrays as raw bytes (little-endian, as in memory).
   */
  toBuffers(): Buffer[] {
    const nodes: BinNode[] = [];
    const data: Buffer[] = [];
    for (const [name, h] of this.nodes) {
      nodes.push({ name, fine: [h.fine.head, h.fine.count], coarse: [h.coarse.head, h.coarse.count], minute: h.minute, sum: Array.from(h.sum), n: Array.from(h.n) });
      for (const a of [h.fine.ts, h.fine.values, h.coarse.ts, h.coarse.values]) data.push(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    }
    const header = Buffer.from(JSON.stringify({ version: 2, stepS: this.stepS, fields: HISTORY_FIELDS, nodes }));
    const pre = Buffer.alloc(12);
    pre.write(BIN_MAGIC, 0, 'latin1');
    pre.writeUInt32LE(header.length, 8);
    return [pre, header, ...data];
  }

  /** Read what toBuffers wrote; throws on a file that is not one (truncated, other magic). */
  static fromBuffer(buf: Buffer, opts: HistoryOptions = {}): History {
    if (buf.length < 12 || buf.toString('latin1', 0, 8) !== BIN_MAGIC) throw new Error('not a vacm history snapshot');
    const hlen = buf.readUInt32LE(8);
    const meta = JSON.parse(buf.toString('utf8', 12, 12 + hlen)) as { version: number; stepS: number; nodes: BinNode[] };
    const h = new History({ ...opts, stepS: meta.stepS });
    let off = 12 + hlen;
    const fill = (dst: Uint32Array | Float32Array) => {
      if (off + dst.byteLength > buf.length) throw new Error('history snapshot is truncated');
      new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(buf.subarray(off, off + dst.byteLength));
      off += dst.byteLength;
    };
    for (const n of meta.nodes) {
      const nh = new NodeHistory(h.fineSlots);
      fill(nh.fine.ts);
      fill(nh.fine.values);
      fill(nh.coarse.ts);
      fill(nh.coarse.values);
      [nh.fine.head, nh.fine.count] = n.fine;
      [nh.coarse.head, nh.coarse.count] = n.coarse;
      nh.minute = n.minute;
      nh.sum.set(n.sum.slice(0, F));
      nh.n.set(n.n.slice(0, F));
      h.nodes.set(n.name, nh);
    }
    return h;
  }
}

const BIN_MAGIC = 'VACMHIS2';

interface BinNode {
  name: string;
  fine: [number, number];
  coarse: [number, number];
  minute: number;
  sum: number[];
  n: number[];
}
