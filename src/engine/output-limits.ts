/**
 * vacm.yaml's `output:` section: how much node output is kept. Lines themselves are cut at 64 KiB
 * where they are read (the SSH pool); these bound what piles up per job.
 */
import { VacmError } from '../protocol/errors.js';

export interface OutputLimits {
  /** OUTPUT bytes a job keeps for the screen and NEXXUS:JOBS; later lines are counted as truncated */
  maxJobBytes: number;
  /** OUTPUT bytes all finished jobs keep together; the oldest are forgotten past it (the newest stays) */
  maxTotalBytes: number;
  /** bytes `vacm ipc` gathers per job for its clush -b summary; past it the summary is dropped */
  maxGatherBytes: number;
}

export const DEFAULT_OUTPUT_LIMITS: Readonly<OutputLimits> = Object.freeze({
  maxJobBytes: 16 * 1024 * 1024,
  maxTotalBytes: 256 * 1024 * 1024,
  maxGatherBytes: 64 * 1024 * 1024,
});

const KEYS: Record<string, keyof OutputLimits> = { max_job_bytes: 'maxJobBytes', max_total_bytes: 'maxTotalBytes', max_gather_bytes: 'maxGatherBytes' };
/** 1 TiB: past this a typo, not a limit */
const MAX_LIMIT = 2 ** 40;

export function parseOutputSection(raw: unknown): OutputLimits {
  const out = { ...DEFAULT_OUTPUT_LIMITS };
  if (raw === undefined || raw === null) return out;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new VacmError('ERR_CONFIG', 'output: must be a mapping, e.g. { max_job_bytes: 16777216, max_gather_bytes: 67108864 }');
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const key = Object.hasOwn(KEYS, k) ? KEYS[k] : undefined;
    if (!key) throw new VacmError('ERR_CONFIG', `output.${k}: unknown key; output takes ${Object.keys(KEYS).join(', ')}`);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1024 || v > MAX_LIMIT) {
      throw new VacmError('ERR_CONFIG', `output.${k}: must be a whole number of bytes from 1024 to ${MAX_LIMIT}, e.g. ${DEFAULT_OUTPUT_LIMITS[key]}`);
    }
    out[key] = v;
  }
  return out;
}
