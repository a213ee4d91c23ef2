/** The `ping:` config section (ICMP_ECHO and the heartbeat), validated with messages that say what to write. */
import { VacmError } from '../../protocol/errors.js';

export type PingMethod = 'auto' | 'fping' | 'ping';

export interface PingConfig {
  /** run the heartbeat when vacm monitors (dashboard, serve) */
  enabled: boolean;
  /** heartbeat: ms between pings to one node */
  interval_ms: number;
  /** heartbeat: a node is down after this many missed replies in a row */
  misses: number;
  /** PING: default wait for each reply, ms */
  timeout_ms: number;
  /** PING: default pings per node */
  count: number;
  /** fping when installed (auto), or force one */
  method: PingMethod;
  /** PING: most addresses handed to one fping process (one bulk-lane slot each) */
  batch: number;
}

export const PING_DEFAULTS: PingConfig = {
  enabled: true,
  interval_ms: 1000,
  misses: 3,
  timeout_ms: 1000,
  count: 1,
  method: 'auto',
  batch: 1024,
};

const INT_LIMITS: Record<'interval_ms' | 'misses' | 'timeout_ms' | 'count' | 'batch', [number, number, string]> = {
  interval_ms: [100, 3_600_000, 'e.g. interval_ms: 1000'],
  misses: [1, 1000, 'e.g. misses: 3'],
  timeout_ms: [10, 60_000, 'e.g. timeout_ms: 1000'],
  count: [1, 100, 'e.g. count: 1'],
  batch: [1, 65_536, 'e.g. batch: 1024'],
};

export function parsePingConfig(raw: unknown): PingConfig {
  const cfg: PingConfig = { ...PING_DEFAULTS };
  if (raw === undefined || raw === null) return cfg;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new VacmError('ERR_CONFIG', 'ping: must be a mapping, e.g. ping: { interval_ms: 1000, misses: 3 }');
  }
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (k === 'enabled') {
      if (typeof v !== 'boolean') throw new VacmError('ERR_CONFIG', `ping.enabled: must be true or false, not ${JSON.stringify(v)}`);
      cfg.enabled = v;
    } else if (k === 'method') {
      if (v !== 'auto' && v !== 'fping' && v !== 'ping') throw new VacmError('ERR_CONFIG', `ping.method: must be auto, fping or ping, not ${JSON.stringify(v)}`);
      cfg.method = v;
    } else if (k in INT_LIMITS) {
      const [lo, hi, example] = INT_LIMITS[k as keyof typeof INT_LIMITS];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
        throw new VacmError('ERR_CONFIG', `ping.${k}: must be a whole number from ${lo} to ${hi} (${example}), not ${JSON.stringify(v)}`);
      }
      (cfg as unknown as Record<string, number>)[k] = v;
    } else {
      throw new VacmError('ERR_CONFIG', `ping.${k}: unknown key; ping takes ${Object.keys(PING_DEFAULTS).join(', ')}`);
    }
  }
  return cfg;
}
