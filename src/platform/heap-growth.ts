/**
 * The dashboard's bound on how far V8 lets the old generation grow past the live heap before its
 * next full collection. Left alone V8 allows up to 4x (2-3x measured), and that climb is the
 * dashboard's peak RSS: at 4096 nodes ~50 MiB live became ~135 MiB of old space (docs/performance.md).
 *
 * V8 reads `--heap-growing-percent` at each full collection, so setting it once the process runs
 * (v8.setFlagsFromString) works for every way vacm is started (`vacm`, `npm start`, `node
 * bin/vacm.js`, an npm bin link); NODE_OPTIONS may not carry it (node refuses the flag there).
 *
 * The bound holds while the live heap is small (up to BOUNDED_LIVE_MIB after a full collection;
 * the demo leaves ~50 MiB at 4096 nodes, ~100 at 16 384); above it V8's own growth comes back,
 * because collecting a big heap twice as often made key-to-frame p95 worse at 16 384 nodes, where
 * no memory aim is set. VACM_HEAP_GROWING_PERCENT=<n>
 * sets a bound that always holds, 0 leaves V8's own; a flag on node's own command line (`node
 * --heap-growing-percent=… bin/vacm.js`) wins over both.
 */
import v8 from 'node:v8';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { VacmError } from '../protocol/errors.js';

/** the default bound: the old generation may grow to twice the live heap (V8's own goes to 4x) */
export const DEFAULT_HEAP_GROWING_PERCENT = 100;
/** the default bound holds while a full collection leaves at most this much (MiB) of heap in use */
export const BOUNDED_LIVE_MIB = 72;

export interface HeapGrowth {
  /** the bound in force now (percent), undefined when V8's own growth is */
  readonly percent: number | undefined;
  /** a full collection left `liveMiB` in use: the default bound holds or lets go */
  afterFullGc(liveMiB: number): void;
  stop(): void;
}

/**
 * Decide the bound and apply it: VACM_HEAP_GROWING_PERCENT (fixed), node's command line (nothing
 * set), else the default, which follows the live heap after each full collection. An unusable
 * VACM_HEAP_GROWING_PERCENT is an ERR_USAGE naming it (not echoing it).
 */
export function boundHeapGrowth(
  env: NodeJS.ProcessEnv = process.env,
  execArgv: readonly string[] = process.execArgv,
  setFlags: (flags: string) => void = v8.setFlagsFromString,
  watch: boolean = setFlags === v8.setFlagsFromString,
): HeapGrowth {
  const fixed = (percent: number | undefined): HeapGrowth => ({ percent, afterFullGc: () => {}, stop: () => {} });
  if (execArgv.some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a))) return fixed(undefined);
  const raw = env.VACM_HEAP_GROWING_PERCENT;
  if (raw !== undefined && raw !== '') {
    if (!/^\d{1,3}$/.test(raw) || Number(raw) > 300) {
      throw new VacmError('ERR_USAGE', 'VACM_HEAP_GROWING_PERCENT must be a whole number 0-300 (0: V8 decides; unset: 100 while the heap is small)');
    }
    const pct = Number(raw);
    if (pct === 0) return fixed(undefined);
    setFlags(`--heap-growing-percent=${pct}`);
    return fixed(pct);
  }
  let percent: number | undefined = DEFAULT_HEAP_GROWING_PERCENT;
  setFlags(`--heap-growing-percent=${percent}`);
  const growth: HeapGrowth = {
    get percent() {
      return percent;
    },
    afterFullGc(liveMiB: number) {
      const want = liveMiB <= BOUNDED_LIVE_MIB ? DEFAULT_HEAP_GROWING_PERCENT : undefined;
      if (want === percent) return;
      percent = want;
      // 0: V8's own factor again
      setFlags(`--heap-growing-percent=${want ?? 0}`);
    },
    stop: () => observer?.disconnect(),
  };
  let observer: PerformanceObserver | undefined;
  if (watch) {
    observer = new PerformanceObserver((list) => {
      if (list.getEntries().some((e) => ((e as { detail?: { kind?: number } }).detail)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)) {
        growth.afterFullGc(v8.getHeapStatistics().used_heap_size / 1048576);
      }
    });
    observer.observe({ entryTypes: ['gc'] });
  }
  return growth;
}
