/** The `sysstat:` config section (SYSSTAT and its poller), validated with messages that say what to write. */
import { VacmError } from '../../protocol/errors.js';

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

const LIMITS: Record<'interval_ms' | 'local_interval_ms' | 'timeout_ms' | 'slow_refresh_ms', [number, number]> = {
  interval_ms: [200, 3_600_000],
  local_interval_ms: [200, 3_600_000],
  timeout_ms: [100, 600_000],
  slow_refresh_ms: [1000, 86_400_000],
};

export function parseSysstatConfig(raw: unknown): SysstatConfig {
  const cfg: SysstatConfig = { ...SYSSTAT_DEFAULTS };
  if (raw === undefined || raw === null) return cfg;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new VacmError('ERR_CONFIG', 'sysstat: must be a mapping, e.g. sysstat: { interval_ms: 2000 }');
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (k === 'enabled') {
      if (typeof v !== 'boolean') throw new VacmError('ERR_CONFIG', `sysstat.enabled: must be true or false, not ${JSON.stringify(v)}`);
      cfg.enabled = v;
    } else if (k in LIMITS) {
      const [lo, hi] = LIMITS[k as keyof typeof LIMITS];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
        throw new VacmError('ERR_CONFIG', `sysstat.${k}: must be a whole number of milliseconds from ${lo} to ${hi} (e.g. ${k}: ${SYSSTAT_DEFAULTS[k as keyof typeof LIMITS]}), not ${JSON.stringify(v)}`);
      }
      cfg[k as keyof typeof LIMITS] = v;
    } else {
      throw new VacmError('ERR_CONFIG', `sysstat.${k}: unknown key; sysstat takes ${Object.keys(SYSSTAT_DEFAULTS).join(', ')}`);
    }
  }
  return cfg;
}
