/** The `console:` section of vacm.yaml (docs/config.md#console). */
import { VacmError } from '../../protocol/errors.js';

export interface ConsoleSettings {
  /** keep a console open on every node that has one, logged to console/<node>.log */
  readonly log: boolean;
  /** a log file is rotated (to <node>.log.1) when it would pass this */
  readonly maxBytes: number;
  /** lines held in memory per node (TAIL, the black box, the dashboard) */
  readonly keepLines: number;
  /** reconnect backoff, first and longest wait */
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
}

export const CONSOLE_DEFAULTS: ConsoleSettings = { log: false, maxBytes: 8 * 1024 * 1024, keepLines: 500, reconnectMinMs: 1000, reconnectMaxMs: 60_000 };

const KEYS = ['log', 'max_bytes', 'keep_lines', 'reconnect_min_ms', 'reconnect_max_ms'];

export function parseConsoleSection(raw: unknown): ConsoleSettings {
  if (raw === undefined || raw === null) return CONSOLE_DEFAULTS;
  const bad = (key: string, why: string): never => {
    throw new VacmError('ERR_CONFIG', `console.${key} ${why}`);
  };
  if (typeof raw !== 'object' || Array.isArray(raw)) bad('', 'must be a mapping (log, max_bytes, keep_lines, ...)');
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!KEYS.includes(k)) bad(k, `is not a console setting; known: ${KEYS.join(', ')}`);
  const int = (key: string, min: number, max: number, dflt: number): number => {
    const v = r[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(key, `must be a whole number from ${min} to ${max}`);
    return v as number;
  };
  if (r.log !== undefined && typeof r.log !== 'boolean') bad('log', 'must be true or false');
  const reconnectMinMs = int('reconnect_min_ms', 100, 3_600_000, CONSOLE_DEFAULTS.reconnectMinMs);
  const s: ConsoleSettings = {
    log: r.log === true,
    maxBytes: int('max_bytes', 64 * 1024, 1024 * 1024 * 1024, CONSOLE_DEFAULTS.maxBytes),
    keepLines: int('keep_lines', 20, 100_000, CONSOLE_DEFAULTS.keepLines),
    reconnectMinMs,
    reconnectMaxMs: int('reconnect_max_ms', 100, 3_600_000, Math.max(reconnectMinMs, CONSOLE_DEFAULTS.reconnectMaxMs)),
  };
  if (s.reconnectMaxMs < s.reconnectMinMs) bad('reconnect_max_ms', 'must not be below reconnect_min_ms');
  return s;
}
