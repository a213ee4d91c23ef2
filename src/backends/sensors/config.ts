/** The `sensors:` config section (the SENSORS poller), validated with messages that say what to write. */
import { bool, checkSection, int, mapping, section } from '../../protocol/config-schema.js';

export interface SensorsConfig {
  /** run the poller when vacm monitors (dashboard, serve); it reads only nodes with a bmc_host */
  enabled: boolean;
  /** ms between sweeps of every node with a BMC */
  interval_ms: number;
  /** per-node deadline of the poller's reads, ms */
  timeout_ms: number;
  /** the poller also reads each BMC's event log: new records become job-0 SEL events and hooks */
  sel: boolean;
}

export const SENSORS_DEFAULTS: SensorsConfig = { enabled: true, interval_ms: 60_000, timeout_ms: 30_000, sel: true };

export const SENSORS_SECTION = section(
  'sensors',
  mapping(
    {
      enabled: bool(),
      interval_ms: int(1000, 86_400_000, { unit: 'milliseconds', example: 60_000 }),
      timeout_ms: int(1000, 600_000, { unit: 'milliseconds', example: 30_000 }),
      sel: bool(),
    },
    { must: 'a mapping, e.g. sensors: { interval_ms: 60000 }', showValue: false },
  ),
);

export function parseSensorsConfig(raw: unknown): SensorsConfig {
  checkSection(SENSORS_SECTION, raw);
  return { ...SENSORS_DEFAULTS, ...(raw as Partial<SensorsConfig> | null | undefined) };
}
