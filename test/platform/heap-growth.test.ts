import { describe, expect, it } from 'vitest';
import { boundHeapGrowth, BOUNDED_LIVE_MIB, DEFAULT_HEAP_GROWING_PERCENT } from '../../src/platform/heap-growth.js';
import { VacmError } from '../../src/protocol/errors.js';

/** boundHeapGrowth with a recorder in place of v8.setFlagsFromString (and no GC observer) */
function run(env: Record<string, string>, execArgv: string[] = []) {
  const set: string[] = [];
  let growth: ReturnType<typeof boundHeapGrowth> | undefined;
  let error: unknown;
  try {
    growth = boundHeapGrowth(env, execArgv, (f) => set.push(f), false);
  } catch (err) {
    error = err;
  }
  return { set, growth, error };
}

describe('the dashboard bounds the old generation growth (issue 11 item 18)', () => {
  it('bounds it to twice the live heap by default', () => {
    expect(DEFAULT_HEAP_GROWING_PERCENT).toBe(100);
    const r = run({});
    expect(r.set).toEqual(['--heap-growing-percent=100']);
    expect(r.growth?.percent).toBe(100);
    expect(run({ VACM_HEAP_GROWING_PERCENT: '' }).set).toEqual(['--heap-growing-percent=100']);
  });

  it('lets go while a full collection leaves a big heap, and bounds it again when it is small', () => {
    const r = run({});
    r.growth!.afterFullGc(50);
    expect(r.set).toEqual(['--heap-growing-percent=100']); // unchanged: nothing set again
    r.growth!.afterFullGc(BOUNDED_LIVE_MIB + 1);
    expect(r.growth!.percent).toBeUndefined();
    expect(r.set.at(-1)).toBe('--heap-growing-percent=0'); // V8's own factor
    r.growth!.afterFullGc(BOUNDED_LIVE_MIB + 40);
    expect(r.set).toHaveLength(2);
    r.growth!.afterFullGc(BOUNDED_LIVE_MIB);
    expect(r.growth!.percent).toBe(100);
    expect(r.set).toEqual(['--heap-growing-percent=100', '--heap-growing-percent=0', '--heap-growing-percent=100']);
  });

  it('VACM_HEAP_GROWING_PERCENT sets a bound that holds at any heap size, 0 leaves V8 its own', () => {
    const r = run({ VACM_HEAP_GROWING_PERCENT: '60' });
    r.growth!.afterFullGc(BOUNDED_LIVE_MIB * 4);
    expect(r.set).toEqual(['--heap-growing-percent=60']);
    expect(r.growth!.percent).toBe(60);
    const off = run({ VACM_HEAP_GROWING_PERCENT: '0' });
    off.growth!.afterFullGc(10);
    expect(off.set).toEqual([]);
    expect(off.growth!.percent).toBeUndefined();
  });

  it("node's own command line wins", () => {
    expect(run({ VACM_HEAP_GROWING_PERCENT: '60' }, ['--heap-growing-percent=30']).set).toEqual([]);
    expect(run({}, ['--heap_growing_percent', '30']).set).toEqual([]);
    // another flag that starts alike is not it
    expect(run({}, ['--heap-growing-percentage-unrelated=1']).set).toEqual(['--heap-growing-percent=100']);
  });
});
