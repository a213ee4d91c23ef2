/** The `ping:` config section (ICMP_ECHO and the heartbeat), validated with messages that say what to write. */
import { bool, checkSection, int, mapping, oneOf, section } from '../../protocol/config-schema.js';

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

/** The section's schema: the keys in PING_DEFAULTS' order, so the "ping takes ..." list reads the same. */
export const PING_SECTION = section(
  'ping',
  mapping(
    {
      enabled: bool(),
      interval_ms: int(100, 3_600_000, { example: 1000 }),
      misses: int(1, 1000, { example: 3 }),
      timeout_ms: int(10, 60_000, { example: 1000 }),
      count: int(1, 100, { example: 1 }),
      method: oneOf(['auto', 'fping', 'ping']),
      batch: int(1, 65_536, { example: 1024 }),
    },
    { must: 'a mapping, e.g. ping: { interval_ms: 1000, misses: 3 }' },
  ),
);

export function parsePingConfig(raw: unknown): PingConfig {
  checkSection(PING_SECTION, raw);
  return { ...PING_DEFAULTS, ...(raw as Partial<PingConfig> | null | undefined) };
}
