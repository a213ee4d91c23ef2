/**
 * The `power` config section and the per-node variables that tune POWER: timeouts per driver,
 * staggering of ON, and where a node's BMC password comes from. Validated once at init with
 * messages that say what to write instead.
 */
import fs from 'node:fs';
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

/** A list of lower-case words (transports, URI parameter names). */
function words(v: unknown, where: string, example: string): string[] {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.some((x) => typeof x !== 'string' || !/^[A-Za-z0-9_]+$/.test(x))) {
    throw new VacmError('ERR_CONFIG', `${where}: must be a list of names, e.g. [${example}]`);
  }
  return (list as string[]).map((x) => x.toLowerCase());
}

const TOP_KEYS = ['timeout_ms', 'drivers', 'power_on_batch', 'power_on_interval_ms'];

function wholeMs(v: unknown, where: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new VacmError('ERR_CONFIG', `${where}: must be a whole number from ${min} to ${max}, not ${JSON.stringify(v)}`);
  }
  return v;
}

/** Validate `host.config.sections.power` (undefined: defaults). */
export function parsePowerSection(raw: unknown): PowerSettings {
  if (raw === undefined || raw === null) return { ...DEFAULT_SETTINGS, drivers: {} };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new VacmError('ERR_CONFIG', 'power: must be a mapping, e.g. power: { timeout_ms: 30000, drivers: { ipmi: { timeout_ms: 45000 } } }');
  }
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    if (k === 'power_on_interval') throw new VacmError('ERR_CONFIG', 'power.power_on_interval: write power_on_interval_ms (milliseconds), e.g. power_on_interval_ms: 2000');
    if (!TOP_KEYS.includes(k)) throw new VacmError('ERR_CONFIG', `power.${k}: unknown key; power takes ${TOP_KEYS.join(', ')}`);
  }
  const s: PowerSettings = { ...DEFAULT_SETTINGS, drivers: {} };
  if (r.timeout_ms !== undefined) s.timeoutMs = wholeMs(r.timeout_ms, 'power.timeout_ms', 1, 3_600_000);
  if (r.power_on_batch !== undefined) s.powerOnBatch = wholeMs(r.power_on_batch, 'power.power_on_batch', 0, 1_000_000);
  if (r.power_on_interval_ms !== undefined) s.powerOnIntervalMs = wholeMs(r.power_on_interval_ms, 'power.power_on_interval_ms', 0, 600_000);
  if (r.drivers !== undefined) {
    if (typeof r.drivers !== 'object' || r.drivers === null || Array.isArray(r.drivers)) {
      throw new VacmError('ERR_CONFIG', 'power.drivers: must be a mapping of driver name to settings, e.g. drivers: { ipmi: { timeout_ms: 45000 } }');
    }
    for (const [name, v] of Object.entries(r.drivers as Record<string, unknown>)) {
      if (!(DRIVER_NAMES as readonly string[]).includes(name)) {
        throw new VacmError('ERR_CONFIG', `power.drivers.${name}: unknown driver; the drivers are ${DRIVER_NAMES.join(', ')}`);
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new VacmError('ERR_CONFIG', `power.drivers.${name}: must be a mapping, e.g. { timeout_ms: 45000 }`);
      const d: { timeoutMs?: number } = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        // libvirt's opt-ins: transports and URI parameters that run programs or skip checks
        if (name === 'libvirt' && k === 'allow_transports') s.libvirtUri = { ...s.libvirtUri, allowTransports: words(x, `power.drivers.libvirt.${k}`, 'ext') };
        else if (name === 'libvirt' && k === 'allow_uri_params') s.libvirtUri = { ...s.libvirtUri, allowUriParams: words(x, `power.drivers.libvirt.${k}`, 'socket') };
        else if (k !== 'timeout_ms') throw new VacmError('ERR_CONFIG', `power.drivers.${name}.${k}: unknown key; a driver takes timeout_ms${name === 'libvirt' ? ', allow_transports, allow_uri_params' : ''}`);
        else d.timeoutMs = wholeMs(x, `power.drivers.${name}.timeout_ms`, 1, 3_600_000);
      }
      s.drivers[name as DriverName] = d;
    }
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

/**
 * A node's BMC password, from `bmc_password_env` (an environment variable's name),
 * `bmc_password_file` (first line of the file), or `bmc_password` (discouraged: it sits in the config).
 * Errors name the variable to set and never contain the password.
 */
export function bmcPassword(node: string, vars: NodeVars, env: NodeJS.ProcessEnv = process.env): string {
  if (vars.bmc_password_env !== undefined) {
    const name = vars.bmc_password_env;
    const v = env[name];
    if (v === undefined || v === '') throw new VacmError('ERR_CONFIG', `${node}: bmc_password_env names $${name}, which is not set; export it before starting vacm`);
    return v;
  }
  if (vars.bmc_password_file !== undefined) {
    const file = vars.bmc_password_file;
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new VacmError('ERR_CONFIG', `${node}: cannot read bmc_password_file ${file} (${code}); make it readable by the user running vacm`);
    }
    const line = text.split(/\r?\n/)[0] ?? '';
    if (line === '') throw new VacmError('ERR_CONFIG', `${node}: bmc_password_file ${file} is empty; put the password on its first line`);
    return line;
  }
  if (vars.bmc_password !== undefined) return vars.bmc_password;
  throw new VacmError('ERR_CONFIG', `${node}: no BMC password; set bmc_password_file (a file holding it) or bmc_password_env (an environment variable's name)`);
}
