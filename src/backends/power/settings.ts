/**
 * The `power` config section and the per-node variables that tune POWER: timeouts per driver,
 * staggering of ON, and where a node's BMC password comes from. Validated once at init with
 * messages that say what to write instead.
 */
import { checkSection, int, mapping, section, words, type FieldSchema } from '../../protocol/config-schema.js';
import { VacmError } from '../../protocol/errors.js';
import type { NodeVars } from '../../protocol/module.js';
import { POWER_DRIVERS, type PowerDriverName } from '../../protocol/power.js';
import type { LibvirtUriPolicy } from './drivers/libvirt.js';

export const DRIVER_NAMES = POWER_DRIVERS;
export type DriverName = PowerDriverName;

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_POWER_ON_INTERVAL_MS = 2_000;

export interface PowerSettings {
  /** default per-node timeout for every driver */
  timeoutMs: number;
  /** per-driver overrides */
  drivers: Partial<Record<DriverName, { timeoutMs?: number }>>;
  /** ON of more nodes than this is done in batches (0: all at once) */
  powerOnBatch: number;
  /** pause between ON batches */
  powerOnIntervalMs: number;
  /** what a libvirt_uri may ask beyond the safe transports and parameters (power.drivers.libvirt) */
  libvirtUri: LibvirtUriPolicy;
}

export const DEFAULT_SETTINGS: PowerSettings = { timeoutMs: DEFAULT_TIMEOUT_MS, drivers: {}, powerOnBatch: 0, powerOnIntervalMs: DEFAULT_POWER_ON_INTERVAL_MS, libvirtUri: { allowTransports: [], allowUriParams: [] } };

const timeout = int(1, 3_600_000);
const names = (example: string) => words({ pattern: /^[A-Za-z0-9_]+$/, says: `must be a list of names, e.g. [${example}]` });

/** One driver's settings; libvirt's opt-ins are transports and URI parameters that run programs or skip checks. */
function driverSchema(name: DriverName) {
  const fields: Record<string, FieldSchema> = name === 'libvirt' ? { timeout_ms: timeout, allow_transports: names('ext'), allow_uri_params: names('socket') } : { timeout_ms: timeout };
  return mapping(fields, { must: 'a mapping, e.g. { timeout_ms: 45000 }', showValue: false, noun: 'a driver' });
}

export const POWER_SECTION = section(
  'power',
  mapping(
    {
      timeout_ms: timeout,
      drivers: mapping(Object.fromEntries(DRIVER_NAMES.map((n) => [n, driverSchema(n)])), {
        must: 'a mapping of driver name to settings, e.g. drivers: { ipmi: { timeout_ms: 45000 } }',
        showValue: false,
        unknown: () => `unknown driver; the drivers are ${DRIVER_NAMES.join(', ')}`,
      }),
      power_on_batch: int(0, 1_000_000),
      power_on_interval_ms: int(0, 600_000),
    },
    {
      must: 'a mapping, e.g. power: { timeout_ms: 30000, drivers: { ipmi: { timeout_ms: 45000 } } }',
      showValue: false,
      renamed: { power_on_interval: 'write power_on_interval_ms (milliseconds), e.g. power_on_interval_ms: 2000' },
    },
  ),
);

const lower = (v: unknown): string[] => (typeof v === 'string' ? [v] : (v as string[])).map((x) => x.toLowerCase());

/** Validate `host.config.sections.power` (undefined: defaults). */
export function parsePowerSection(raw: unknown): PowerSettings {
  checkSection(POWER_SECTION, raw);
  const s: PowerSettings = { ...DEFAULT_SETTINGS, drivers: {} };
  if (raw === undefined || raw === null) return s;
  const r = raw as { timeout_ms?: number; power_on_batch?: number; power_on_interval_ms?: number; drivers?: Record<string, Record<string, unknown>> };
  if (r.timeout_ms !== undefined) s.timeoutMs = r.timeout_ms;
  if (r.power_on_batch !== undefined) s.powerOnBatch = r.power_on_batch;
  if (r.power_on_interval_ms !== undefined) s.powerOnIntervalMs = r.power_on_interval_ms;
  for (const [name, d] of Object.entries(r.drivers ?? {})) {
    if (d.allow_transports !== undefined) s.libvirtUri = { ...s.libvirtUri, allowTransports: lower(d.allow_transports) };
    if (d.allow_uri_params !== undefined) s.libvirtUri = { ...s.libvirtUri, allowUriParams: lower(d.allow_uri_params) };
    s.drivers[name as DriverName] = d.timeout_ms === undefined ? {} : { timeoutMs: d.timeout_ms as number };
  }
  return s;
}

/** The timeout for one node: its `power_timeout_ms`, else its driver's, else the section's. */
export function nodeTimeoutMs(settings: PowerSettings, driver: string, vars: NodeVars): number {
  const v = vars.power_timeout_ms;
  if (v !== undefined) {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || !(n >= 1 && n <= 3_600_000)) {
      throw new VacmError('ERR_CONFIG', `power_timeout_ms is "${v}": set it to a whole number of milliseconds from 1 to 3600000`);
    }
    return n;
  }
  return settings.drivers[driver as DriverName]?.timeoutMs ?? settings.timeoutMs;
}
