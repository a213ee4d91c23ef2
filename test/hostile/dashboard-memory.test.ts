/**
 * Hostile input to the dashboard's heap bound (issue 11 item 18): VACM_HEAP_GROWING_PERCENT goes into
 * v8.setFlagsFromString, so anything but a small whole number must be refused before it gets there
 * (no second flag smuggled in, nothing echoed to the terminal).
 */
import { describe, expect, it } from 'vitest';
import { boundHeapGrowth } from '../../src/platform/heap-growth.js';
import { VacmError } from '../../src/protocol/errors.js';

function run(env: Record<string, string>) {
  const set: string[] = [];
  let error: unknown;
  try {
    boundHeapGrowth(env, [], (f) => set.push(f), false);
  } catch (err) {
    error = err;
  }
  return { set, error };
}

describe('VACM_HEAP_GROWING_PERCENT from a hostile environment', () => {
  it('an unusable value is a usage error that does not echo it, and sets nothing', () => {
    for (const bad of ['abc', '-5', '1e3', '301', '12.5', '\x1b]0;pwned\x07', '100 --expose-gc', '100\n--allow-natives-syntax', '９９', ' '.repeat(100_000) + '1']) {
      const r = run({ VACM_HEAP_GROWING_PERCENT: bad });
      expect(r.set).toEqual([]);
      expect(r.error).toBeInstanceOf(VacmError);
      expect((r.error as VacmError).code).toBe('ERR_USAGE');
      expect((r.error as VacmError).message).toBe('VACM_HEAP_GROWING_PERCENT must be a whole number 0-300 (0: V8 decides; unset: 100 while the heap is small)');
    }
  });
});
