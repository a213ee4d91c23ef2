/**
 * The events timeline as the dashboard shows it: in the `e` overlay (every entry, or those of a node
 * set, following the newest) and as the detail pane's last lines for the cursor node. Pure: the
 * entries come from the engine through UiEngine.events; tested without ink.
 */
import type { TimelineEntry } from '../../protocol/timeline.js';
import { visibleLine } from '../../protocol/visible.js';
import type { Slot } from '../theme.js';
import type { Modal } from '../dashboard-state.js';
import { overlayBodyRows, type Line, type OverlaySpec } from './Overlay.js';

const KIND_SLOT: Record<string, Slot> = { membership: 'node.down', drain: 'node.drained', power: 'node.unknown', exec: 'job.running', copy: 'job.running', discovery: 'node.up', job: 'job.running', sel: 'node.unknown', console: 'dim' };

const pad2 = (n: number) => String(n).padStart(2, '0');

/** `12-01 10:02:03` in local time: the day matters for "what happened last night". */
export function eventTime(at: number): string {
  const d = new Date(at);
  return `${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** One entry as one line of spans: time, kind, node, text (text made visible: it came from anywhere). */
export function eventSpans(e: TimelineEntry, withNode = true): Line {
  const spans: { text: string; slot?: Slot; bold?: boolean }[] = [
    { text: eventTime(e.at) + ' ', slot: 'dim' },
    { text: e.kind.padEnd(10) + ' ', slot: KIND_SLOT[e.kind] },
  ];
  if (withNode) spans.push({ text: (e.node === '' ? '-' : visibleLine(e.node)) + '  ', bold: true });
  spans.push({ text: visibleLine(e.text) });
  return spans;
}

export const EVENTS_HINT = '↑↓ PgUp/PgDn scroll  End/f follow  / filter by node set  Esc close';

/** The overlay: `rows` of the matching entries, the newest at the bottom when following. */
export function eventsSpec(entries: readonly TimelineEntry[], m: Extract<Modal, { kind: 'events' }>, rows: number): OverlaySpec {
  const body = overlayBodyRows({ hint: EVENTS_HINT }, rows);
  const last = Math.max(0, entries.length - body);
  const start = m.follow ? last : Math.min(m.scroll, last);
  const shown = entries.slice(start, start + body);
  const where = entries.length === 0 ? 'none yet' : `${start + 1}-${start + shown.length} of ${entries.length}`;
  const title = `EVENTS${m.filter ? ` of ${visibleLine(m.filter.expr)}` : ''} · ${where}${m.follow ? ' · following' : ''}`;
  const lines: Line[] = shown.length ? shown.map((e) => eventSpans(e)) : [[{ text: m.filter ? `nothing recorded for ${visibleLine(m.filter.expr)} (Esc shows every node)` : 'nothing recorded yet: power, exec and copy jobs, drains and node up/down appear here', slot: 'dim' }]];
  return { title, lines, hint: EVENTS_HINT, fill: true, maxWidth: 400 };
}
