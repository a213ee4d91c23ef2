import { describe, expect, it } from 'vitest';
import { boundHeapGrowth, DEFAULT_HEAP_GROWING_PERCENT } from '../../src/platform/heap-growth.js';
import { VacmError } from '../../src/protocol/errors.js';

/** boundHeapGrowth with a recorder in place of v8.setFlagsFromString */
function run(env: Record<string, string>, execArgv: string[] = []) {
  const set: string[] = [];
  let result: number | undefined;
  let error: unknown;
  try {
    result = boundHeapGrowth(env, execArgv, (f) => set.push(f));
  } catch (err) {
    error = err;
  }
  return { set, result, error };
}

describe('the dashboard bounds the old generation growth (issue 11 item 18)', () => {
  it('bounds it to twice the live heap by default', () => {
    expect(DEFAULT_HEAP_GROWING_PERCENT).toBe(100);
    expect(run({})).toEqual({ set: ['--heap-growing-percent=100'], result: 100, error: undefined });
    expect(run({ VACM_HEAP_GROWING_PERCENT: '' }).set).toEqual(['--heap-growing-percent=100']);
  });

  it('VACM_HEAP_GROWING_PERCENT chooses another bound, 0 leaves V8 its own', () => {
    expect(run({ VACM_HEAP_GROWING_PERCENT: '60' })).toEqual({ set: ['--heap-growing-percent=60'], result: 60, error: undefined });
    expect(run({ VACM_HEAP_GROWING_PERCENT: '0' })).toEqual({ set: [], result: undefined, error: undefined });
  });

  it("node's own command line wins", () => {
    expect(run({ VACM_HEAP_GROWING_PERCENT: '60' }, ['--heap-growing-percent=30']).set).toEqual([]);
    expect(run({}, ['--heap_growing_percent', '30']).set).toEqual([]);
    // another flag that starts alike is not it
    expect(run({}, ['--heap-growing-percentage-unrelated=1']).set).toEqual(['--heap-growing-percent=100']);
  });

  it('an unusable value is a usage error that does not echo it, and sets nothing', () => {
    for (const bad of ['abc', '-5', '1e3', '301', '12.5', '\x1b]0;pwned\x07', '100 --expose-gc']) {
      const r = run({ VACM_HEAP_GROWING_PERCENT: bad });
      expect(r.set).toEqual([]);
      expect(r.error).toBeInstanceOf(VacmError);
      expect((r.error as VacmError).code).toBe('ERR_USAGE');
      expect((r.error as VacmError).message).toBe('VACM_HEAP_GROWING_PERCENT must be a whole number 0-300 (0: V8 decides; unset: 100)');
    }
  });
});
