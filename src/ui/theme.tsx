/**
 * Colours are data: themes/*.json map named slots (`node.down`, `job.failed`, ...) to ink colour
 * names or hex. Components read them through ThemeContext with `useTheme()`; no colour literal
 * lives in a component. An empty slot means "the terminal's default" (the mono theme is all empty).
 */
import React, { createContext, useContext } from 'react';
import { VacmError } from '../protocol/errors.js';

export const SLOTS = [
  'header.title', 'header.text', 'border', 'border.focused',
  'node.up', 'node.down', 'node.off', 'node.unknown', 'node.marked', 'node.drained', 'load.low', 'load.mid', 'load.high', 'load.full',
  'job.running', 'job.completed', 'job.partial', 'job.failed', 'job.cancelled',
  'prompt', 'error', 'dim', 'dialog.border', 'dialog.danger', 'chart',
  // the log view's node prefixes (L): a node keeps its colour, chosen by its name
  'log.node1', 'log.node2', 'log.node3', 'log.node4', 'log.node5', 'log.node6',
  'sensor.nominal', 'sensor.warning', 'sensor.critical',
] as const;
export type Slot = (typeof SLOTS)[number];

export interface Theme {
  readonly name: string;
  readonly slots: Readonly<Record<Slot, string>>;
}

export const MONO: Theme = { name: 'mono', slots: Object.fromEntries(SLOTS.map((s) => [s, ''])) as Record<Slot, string> };

/** Check a theme file's parsed JSON; unknown or missing slots are an ERR_CONFIG naming the file. */
export function parseTheme(json: unknown, file: string): Theme {
  const o = json as { name?: unknown; slots?: Record<string, unknown> };
  if (!o || typeof o !== 'object' || typeof o.name !== 'string' || !o.slots || typeof o.slots !== 'object') {
    throw new VacmError('ERR_CONFIG', `${file}: a theme is {"name": "...", "slots": {"node.up": "green", ...}}`);
  }
  const slots = {} as Record<Slot, string>;
  for (const s of SLOTS) {
    const v = o.slots[s];
    if (v !== undefined && typeof v !== 'string') throw new VacmError('ERR_CONFIG', `${file}: slot ${s} must be a colour name or "#rrggbb"`);
    slots[s] = v ?? '';
  }
  const unknown = Object.keys(o.slots).filter((k) => !(SLOTS as readonly string[]).includes(k));
  if (unknown.length) throw new VacmError('ERR_CONFIG', `${file}: unknown slot ${unknown[0]}; known slots: ${SLOTS.join(', ')}`);
  return { name: o.name, slots };
}

/** The dashboard under an open dialog: every slot in the theme's `dim` colour (mono stays plain). */
export function dimmedTheme(t: Theme): Theme {
  const dim = t.slots.dim;
  return { name: t.name, slots: Object.fromEntries(SLOTS.map((s) => [s, dim])) as Record<Slot, string> };
}

export interface ThemeApi {
  readonly name: string;
  /** the colour of a slot, or undefined for the terminal default */
  color(slot: Slot): string | undefined;
}

function api(t: Theme): ThemeApi {
  return { name: t.name, color: (s) => t.slots[s] || undefined };
}

const ThemeContext = createContext<ThemeApi>(api(MONO));

export function ThemeProvider({ theme, children }: { theme: Theme; children: React.ReactNode }) {
  const value = React.useMemo(() => api(theme), [theme]);
  return <ThemeContext.Provider value={value}>{children}</ThemeContext.Provider>;
}

export function useTheme(): ThemeApi {
  return useContext(ThemeContext);
}
