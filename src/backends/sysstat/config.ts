/** The `sysstat:` config section (SYSSTAT and its poller), validated with messages that say what to write. */
import { bool, checkSection, int, mapping, section } from '../../protocol/config-schema.js';

export interface SysstatConfig {
  /** run the poller when vacm monitors (dashboard, serve) */
  enabled: boolean;
  /** poller: ms between sweeps of every node */
  interval_ms: number;
  /** poller: a sweep of this machine alone (no remote node due) runs at most this often, ms */
  local_interval_ms: number;
  /** GET: per-node timeout, ms */
  timeout_ms: number;
  /** local node: refresh of the slow readings (disk, temperature, OS), ms */
  slow_refresh_ms: number;
}

export const SYSSTAT_DEFAULTS: SysstatConfig = { enabled: true, interval_ms: 2000, local_interval_ms: 5000, timeout_ms: 10_000, slow_refresh_ms: 60_000 };

const ms = (min: number, max: number, example: number) => int(min, max, { unit: 'milliseconds', example });

export const SYSSTAT_SECTION = section(
  'sysstat',
  mapping(
    {
      enabled: bool(),
      interval_ms: ms(200, 3_600_000, SYSSTAT_DEFAULTS.interval_ms),
      local_interval_ms: ms(200, 3_600_000, SYSSTAT_DEFAULTS.local_interval_ms),
      timeout_ms: ms(100, 600_000, SYSSTAT_DEFAULTS.timeout_ms),
      slow_refresh_ms: ms(1000, 86_400_000, SYSSTAT_DEFAULTS.slow_refresh_ms),
    },
    { must: 'a mapping, e.g. sysstat: { interval_ms: 2000 }' },
  ),
);

export function parseSysstatConfig(raw: unknown): SysstatConfig {
  checkSection(SYSSTAT_SECTION, raw);
  return { ...SYSSTAT_DEFAULTS, ...(raw as Partial<SysstatConfig> | null | undefined) };
}
