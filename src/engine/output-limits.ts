/**
 * vacm.yaml's `output:` section: how much node output is kept. Lines themselves are cut at 64 KiB
 * where they are read (the SSH pool); these bound what piles up per job.
 */
import { checkSection, int, mapping, section } from '../protocol/config-schema.js';

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

const bytes = (key: keyof OutputLimits) => int(1024, MAX_LIMIT, { says: `must be a whole number of bytes from 1024 to ${MAX_LIMIT}, e.g. ${DEFAULT_OUTPUT_LIMITS[key]}` });

export const OUTPUT_SECTION = section(
  'output',
  mapping(
    Object.fromEntries(Object.entries(KEYS).map(([k, key]) => [k, bytes(key)])),
    { must: 'a mapping, e.g. { max_job_bytes: 16777216, max_gather_bytes: 67108864 }' },
  ),
);

export function parseOutputSection(raw: unknown): OutputLimits {
  checkSection(OUTPUT_SECTION, raw);
  const out = { ...DEFAULT_OUTPUT_LIMITS };
  for (const [k, v] of Object.entries((raw ?? {}) as Record<string, number>)) out[KEYS[k]] = v;
  return out;
}
