/** The `console:` section of vacm.yaml (docs/config.md#console). */
import { bool, checkSection, int, mapping, section } from '../../protocol/config-schema.js';
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

/** console: consoles kept by the engine (issue 14): the one schema, checked at load (file:line:key) and here. */
export const CONSOLE_SECTION = section(
  'console',
  mapping(
    {
      log: bool(),
      max_bytes: int(64 * 1024, 1024 * 1024 * 1024, { unit: 'bytes', example: 16_777_216 }),
      keep_lines: int(20, 100_000, { example: 200 }),
      reconnect_min_ms: int(100, 3_600_000, { unit: 'milliseconds', example: 1000 }),
      reconnect_max_ms: int(100, 3_600_000, { unit: 'milliseconds', example: 60_000 }),
    },
    { must: 'a mapping, e.g. console: { log: true, max_bytes: 16777216 }', showValue: false },
  ),
);

export function parseConsoleSection(raw: unknown): ConsoleSettings {
  checkSection(CONSOLE_SECTION, raw);
  if (raw === undefined || raw === null) return CONSOLE_DEFAULTS;
  const r = raw as { log?: boolean; max_bytes?: number; keep_lines?: number; reconnect_min_ms?: number; reconnect_max_ms?: number };
  const reconnectMinMs = r.reconnect_min_ms ?? CONSOLE_DEFAULTS.reconnectMinMs;
  const s: ConsoleSettings = {
    log: r.log === true,
    maxBytes: r.max_bytes ?? CONSOLE_DEFAULTS.maxBytes,
    keepLines: r.keep_lines ?? CONSOLE_DEFAULTS.keepLines,
    reconnectMinMs,
    reconnectMaxMs: r.reconnect_max_ms ?? Math.max(reconnectMinMs, CONSOLE_DEFAULTS.reconnectMaxMs),
  };
  if (s.reconnectMaxMs < s.reconnectMinMs) throw new VacmError('ERR_CONFIG', 'console.reconnect_max_ms: must not be below reconnect_min_ms');
  return s;
}
