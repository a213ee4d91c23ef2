/**
 * The dashboard's bound on how far V8 lets the old generation grow past the live heap before its
 * next full collection. Left alone V8 allows up to 4x (2-3x measured), and that climb is the
 * dashboard's peak RSS: at 4096 nodes ~50 MiB live became ~135 MiB of old space (docs/performance.md).
 *
 * V8 reads `--heap-growing-percent` at each full collection, so setting it once the process runs
 * (v8.setFlagsFromString) works for every way vacm is started (`vacm`, `npm start`, `node
 * bin/vacm.js`, an npm bin link); NODE_OPTIONS may not carry it (node refuses the flag there).
 * VACM_HEAP_GROWING_PERCENT=<n> chooses another bound, 0 leaves V8's own; a flag on node's own
 * command line (`node --heap-growing-percent=… bin/vacm.js`) wins over both.
 */
import v8 from 'node:v8';
import { VacmError } from '../protocol/errors.js';

/** the default bound: the old generation may grow to twice the live heap (V8's own goes to 4x) */
export const DEFAULT_HEAP_GROWING_PERCENT = 100;

/**
 * Apply the bound; returns the percent set, or undefined when V8's own growth stays (0, or node's
 * command line has the flag). An unusable VACM_HEAP_GROWING_PERCENT is an ERR_USAGE naming it.
 */
export function boundHeapGrowth(
  env: NodeJS.ProcessEnv = process.env,
  execArgv: readonly string[] = process.execArgv,
  setFlags: (flags: string) => void = v8.setFlagsFromString,
): number | undefined {
  if (execArgv.some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a))) return undefined;
  const raw = env.VACM_HEAP_GROWING_PERCENT;
  let pct = DEFAULT_HEAP_GROWING_PERCENT;
  if (raw !== undefined && raw !== '') {
    if (!/^\d{1,3}$/.test(raw.trim()) || Number(raw) > 300) {
      throw new VacmError('ERR_USAGE', 'VACM_HEAP_GROWING_PERCENT must be a whole number 0-300 (0: V8 decides; unset: 100)');
    }
    pct = Number(raw);
  }
  if (pct === 0) return undefined;
  setFlags(`--heap-growing-percent=${pct}`);
  return pct;
}
