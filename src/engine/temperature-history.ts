/**
 * Per-node history of the hottest temperature sensor, in bounded memory: one slot a minute (the
 * hottest reading of that minute), 24 h at most, typed arrays that start at 8 slots on a node's first
 * reading and double up to 1440 (8 bytes a slot: at most 11.5 KB per node with a BMC). Kept apart
 * from the load history (history.ts) because sensors come once a minute from BMC nodes only, while
 * load comes every few seconds from every node: a fourth field there would cost every node 25 %
 * more and rewrite its saved format (decision, docs/decisions.md). Not saved across restarts.
 */
export const TEMP_SLOT_S = 60;
export const TEMP_SLOTS = 24 * 60;
const INITIAL = 8;

class TempRing {
  ts = new Uint32Array(INITIAL);
  values = new Float32Array(INITIAL);
  head = 0;
  count = 0;

  private get cap(): number {
    return this.ts.length;
  }

  private last(): number {
    return (this.head - 1 + this.cap) % this.cap;
  }

  put(slot: number, v: number): void {
    if (this.count > 0) {
      const l = this.last();
      if (this.ts[l] === slot) {
        if (v > this.values[l]) this.values[l] = v;
        return;
      }
      if (slot < this.ts[l]) return; // older than what is held
    }
    if (this.count === this.cap && this.cap < TEMP_SLOTS) this.grow();
    this.ts[this.head] = slot;
    this.values[this.head] = v;
    this.head = (this.head + 1) % this.cap;
    if (this.count < this.cap) this.count++;
  }

  private grow(): void {
    const cap = Math.min(TEMP_SLOTS, this.cap * 2);
    const ts = new Uint32Array(cap);
    const values = new Float32Array(cap);
    const start = (this.head - this.count + this.cap) % this.cap;
    for (let k = 0; k < this.count; k++) {
      ts[k] = this.ts[(start + k) % this.cap];
      values[k] = this.values[(start + k) % this.cap];
    }
    this.ts = ts;
    this.values = values;
    this.head = this.count % cap;
  }

  *slots(): Generator<[number, number]> {
    const start = (this.head - this.count + this.cap) % this.cap;
    for (let k = 0; k < this.count; k++) {
      const i = (start + k) % this.cap;
      yield [this.ts[i] * 1000, this.values[i]];
    }
  }

  get bytes(): number {
    return this.cap * 8;
  }
}

export class TemperatureHistory {
  private readonly nodes = new Map<string, TempRing>();

  /** the node's hottest reading at `tsMs` (°C) */
  record(node: string, tsMs: number, celsius: number): void {
    if (!Number.isFinite(celsius) || !Number.isFinite(tsMs) || tsMs <= 0) return;
    let r = this.nodes.get(node);
    if (!r) this.nodes.set(node, (r = new TempRing()));
    const s = Math.floor(tsMs / 1000);
    r.put(s - (s % TEMP_SLOT_S), celsius);
  }

  /** [ms, °C] of each minute in [fromMs, toMs], oldest first */
  query(node: string, fromMs: number, toMs: number): Array<[number, number]> {
    const r = this.nodes.get(node);
    if (!r) return [];
    return [...r.slots()].filter(([t]) => t >= fromMs && t <= toMs);
  }

  bytesOf(node: string): number {
    return this.nodes.get(node)?.bytes ?? 0;
  }

  forget(node: string): void {
    this.nodes.delete(node);
  }
}
