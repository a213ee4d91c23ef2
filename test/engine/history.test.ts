import { describe, expect, it } from 'vitest';
import { COARSE_SLOTS, History, INITIAL_SLOTS } from '../../src/engine/history.js';
import { makeEngine } from '../helpers/engine.js';

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);

describe('history', () => {
  it('keeps one hour at the step, bounded, oldest dropped first', () => {
    let now = T0;
    const h = new History({ stepS: 5, now: () => now });
    expect(h.fineSlots).toBe(720);
    for (let i = 0; i < 2000; i++) h.record('n1', T0 + i * 5000, { load1: i, cpu: 1, mem_used_pct: 2 });
    now = T0 + 2000 * 5000;
    const s = h.query(['n1'], now - 3_600_000, now).get('n1')!;
    expect(s.ts.length).toBe(720);
    expect(s.values.load1[0]).toBe(1280);
    expect(s.values.load1.at(-1)).toBe(1999);
  });

  it('states its bytes per node: (720 + 1440) x 16 at a 5 s step', () => {
    expect(new History({ stepS: 5 }).bytesPerNode).toBe((720 + 1440) * 16 + 36);
    expect(new History({ stepS: 1 }).bytesPerNode).toBe((3600 + 1440) * 16 + 36);
  });

  it('holds memory for the samples it has, not for the whole span up front', () => {
    let now = T0;
    const h = new History({ stepS: 5, now: () => now });
    expect(h.bytesOf('n1')).toBe(0);
    h.record('n1', T0, { load1: 1, cpu: 2, mem_used_pct: 3 });
    const first = h.bytesOf('n1');
    expect(first).toBe(2 * INITIAL_SLOTS * 16 + 36);
    expect(first).toBeLessThan(h.bytesPerNode / 50);
    // 100 samples (8 min): the fine ring has doubled to 128 slots, the coarse one still holds 8
    for (let i = 1; i < 100; i++) h.record('n1', T0 + i * 5000, { load1: i, cpu: 2, mem_used_pct: 3 });
    now = T0 + 100 * 5000;
    expect(h.query(['n1'], T0, now).get('n1')!.ts.length).toBe(100);
    expect(h.bytesOf('n1')).toBe((128 + INITIAL_SLOTS) * 16 + 36);
    // past the hour the fine ring stops at its span; the total never passes the stated bound
    for (let i = 100; i < 2000; i++) h.record('n1', T0 + i * 5000, { load1: i, cpu: 2, mem_used_pct: 3 });
    expect(h.bytesOf('n1')).toBe((720 + 256) * 16 + 36); // 166 minutes: the coarse ring at 256 slots
    expect(h.bytesOf('n1')).toBeLessThanOrEqual(h.bytesPerNode);
    expect(h.bytes).toBe(h.bytesOf('n1'));
  });

  it('samples faster than the step overwrite the slot (the latest wins)', () => {
    const h = new History({ stepS: 5, now: () => T0 + 10_000 });
    h.record('n1', T0, { load1: 1 });
    h.record('n1', T0 + 1000, { load1: 2 });
    h.record('n1', T0 + 5000, { load1: 3 });
    expect(h.query(['n1'], T0, T0 + 10_000).get('n1')!.values.load1).toEqual([2, 3]);
  });

  it('keeps 24 h of one-minute means and answers older ranges from them', () => {
    let now = T0;
    const h = new History({ stepS: 10, now: () => now });
    // 30 hours at one sample a minute-and-a-half... simpler: 6 samples a minute, load = minute index
    for (let m = 0; m < 30 * 60; m++) for (let k = 0; k < 6; k++) h.record('n1', T0 + m * 60_000 + k * 10_000, { load1: m + k / 10 });
    now = T0 + 30 * 3_600_000;
    const s = h.query(['n1'], now - 24 * 3_600_000 - 60_000, now).get('n1')!;
    expect(s.ts.length).toBe(COARSE_SLOTS + 1); // the ring, plus the minute in progress
    expect(s.values.load1.at(-1)).toBeCloseTo(30 * 60 - 1 + 0.25, 3);
    expect(s.values.load1[0]).toBeCloseTo(30 * 60 - 1 - COARSE_SLOTS + 0.25, 3);
  });

  it('aggregates by group over a time range (VacMon breakdowns)', () => {
    const h = new History({ stepS: 5, now: () => T0 + 60_000 });
    h.record('a1', T0, { load1: 1 });
    h.record('a1', T0 + 5000, { load1: 3 });
    h.record('a2', T0, { load1: 5 });
    h.record('b1', T0, { load1: 10 });
    const agg = h.aggregate({ rackA: ['a1', 'a2', 'a3'], rackB: ['b1'] }, T0, T0 + 60_000);
    expect(agg).toEqual([
      { group: 'rackA', nodes: 3, reporting: 2, samples: 3, mean: 3, min: 1, max: 5 },
      { group: 'rackB', nodes: 1, reporting: 1, samples: 1, mean: 10, min: 10, max: 10 },
    ]);
  });

  it('survives a save and load (vacm serve writes it, vacm snapshot reads it)', () => {
    const h = new History({ stepS: 5, now: () => T0 + 60_000 });
    for (let i = 0; i < 10; i++) h.record('n1', T0 + i * 5000, { load1: i, cpu: 50 });
    const back = History.fromBuffer(Buffer.concat(h.toBuffers()), { now: () => T0 + 60_000 });
    expect(back.query(['n1'], T0, T0 + 60_000)).toEqual(h.query(['n1'], T0, T0 + 60_000));
    expect(back.query(['n1'], T0 - 7_200_000, T0 + 60_000)).toEqual(h.query(['n1'], T0 - 7_200_000, T0 + 60_000));
  });

  it('survives a save and load of rings that have wrapped, and loads them at the size they held', () => {
    let now = T0;
    const h = new History({ stepS: 5, now: () => now });
    for (let i = 0; i < 2000; i++) h.record('n1', T0 + i * 5000, { load1: i, cpu: i % 100, mem_used_pct: 3 });
    for (let i = 0; i < 3; i++) h.record('n2', T0 + i * 5000, { load1: i });
    now = T0 + 2000 * 5000;
    const back = History.fromBuffer(Buffer.concat(h.toBuffers()), { now: () => now });
    for (const from of [now - 3_600_000, now - 86_400_000]) expect(back.query(['n1', 'n2'], from, now)).toEqual(h.query(['n1', 'n2'], from, now));
    expect(back.bytesOf('n2')).toBe(h.bytesOf('n2'));
    // and it goes on recording where it left off
    back.record('n1', now, { load1: 7 });
    expect(back.query(['n1'], now - 3_600_000, now).get('n1')!.values.load1.slice(-2)).toEqual([1999, 7]);
  });

  it('still reads a VACMHIS2 file (whole rings with their heads)', () => {
    const fine = 720;
    const ts = new Uint32Array(fine);
    const values = new Float32Array(fine * 3).fill(NaN);
    ts[0] = T0 / 1000;
    values.set([4, 50, 20], 0);
    const coarseTs = new Uint32Array(COARSE_SLOTS);
    const coarseValues = new Float32Array(COARSE_SLOTS * 3).fill(NaN);
    const header = Buffer.from(JSON.stringify({ version: 2, stepS: 5, nodes: [{ name: 'n1', fine: [1, 1], coarse: [0, 0], minute: T0 / 1000, sum: [4, 50, 20], n: [1, 1, 1] }] }));
    const pre = Buffer.alloc(12);
    pre.write('VACMHIS2', 0, 'latin1');
    pre.writeUInt32LE(header.length, 8);
    const raw = (a: Uint32Array | Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    const back = History.fromBuffer(Buffer.concat([pre, header, raw(ts), raw(values), raw(coarseTs), raw(coarseValues)]), { now: () => T0 });
    expect(back.query(['n1'], T0, T0).get('n1')).toEqual({ ts: [T0], values: { load1: [4], cpu: [50], mem_used_pct: [20] } });
  });

  it('refuses a damaged history file instead of loading garbage', () => {
    const h = new History();
    h.record('n1', T0, { load1: 1 });
    const b = Buffer.concat(h.toBuffers());
    expect(() => History.fromBuffer(b.subarray(0, b.length - 10))).toThrow(/truncated/);
    expect(() => History.fromBuffer(Buffer.from('hello world, not history'))).toThrow(/not a vacm history snapshot/);
  });

  it('ignores samples without history fields, and unknown nodes answer empty', () => {
    const h = new History();
    h.record('n1', T0, { os: 'Debian' });
    expect(h.size).toBe(0);
    expect(h.query(['zz'], 0, Date.now()).get('zz')!.ts).toEqual([]);
  });
});

describe('history through the engine', () => {
  it('records every recordStats and answers by node set and by group', async () => {
    const { engine } = await makeEngine();
    const now = Date.now();
    engine.recordStats('node01', { load1: 2 }, now - 10_000);
    engine.recordStats('node02', { load1: 4 }, now - 10_000);
    engine.recordStats('node05', { load1: 9 }, now - 10_000);
    const s = engine.historyOf('node[01-02]', now - 60_000, now);
    expect([...s.keys()]).toEqual(['node01', 'node02']);
    expect(s.get('node02')!.values.load1).toEqual([4]);
    expect(() => engine.historyOf('nope[1-2]', 0, now)).toThrow(/not in the nodelist/);
    const g = engine.historyByGroup(now - 60_000, now, 'load1', ['rack1']);
    expect(g).toEqual([{ group: 'rack1', nodes: 8, reporting: 3, samples: 3, mean: 5, min: 2, max: 9 }]);
    await engine.stop();
  });
});
