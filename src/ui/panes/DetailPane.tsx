/**
 * The detail pane: the node under the cursor — state, power, latest stats, its sensors out of
 * nominal and recent SEL, the "last words" of its last NODE_DOWN record while it is not up, a
 * braille load chart, its variables.
 */
import React, { useMemo } from 'react';
import { Box, Text } from 'ink';
import type { NodeView } from '../../protocol/module.js';
import { useTheme, type Slot } from '../theme.js';
import { DRAIN_GLYPH, STATE_GLYPH, CHART_SPANS_MS, loadChart, formatAgo, formatDuration, isStale, type LoadSeries } from '../format.js';
import { useClock } from '../use-clock.js';
import { visibleLine } from '../../protocol/visible.js';
import type { TimelineEntry } from '../../protocol/timeline.js';
import { eventSpans } from './EventsView.js';
import { outOfNominal, selLine } from '../../protocol/sensors.js';

export interface DetailPaneProps {
  node?: NodeView;
  /** the node's last timeline entries, oldest first */
  events?: readonly TimelineEntry[];
  focused: boolean;
  width: number;
  height: number;
  now: number;
  /** the node's load over the chart's span (UiEngine.loadSeries); no chart without it */
  series?: LoadSeries;
  /** the chart's span (`+`/`-` zoom) */
  spanMs?: number;
  /** the node's last timeline entry with a black box (its last NODE_DOWN record) */
  lastWords?: TimelineEntry;
}

/** sensors out of nominal shown by name, at most this many (the rest counted) */
const MAX_SHOWN_SENSORS = 4;
/** recent SEL records shown */
const SHOWN_SEL = 2;

/** The newest entry that carries a black box, if any. */
export function lastBlackBox(entries: readonly TimelineEntry[]): TimelineEntry | undefined {
  for (let i = entries.length - 1; i >= 0; i--) if (entries[i].blackBox) return entries[i];
  return undefined;
}

/** The sensors lines of a node, pure: those out of nominal (or that all are), its last SEL records. */
export function sensorDetailLines(n: NodeView): { text: string; slot?: Slot }[] {
  const s = n.sensors;
  if (!s) return [];
  const out: { text: string; slot?: Slot }[] = [];
  if (s.readings.length > 0) {
    const bad = outOfNominal(s);
    if (bad.length > 0) {
      const shown = bad.slice(0, MAX_SHOWN_SENSORS).map((r) => `${r.name} ${r.value} ${r.unit} ${r.status}`).join(' · ');
      out.push({ text: `sensors ${shown}${bad.length > MAX_SHOWN_SENSORS ? ` · +${bad.length - MAX_SHOWN_SENSORS} more` : ''}`, slot: bad[0].status === 'critical' ? 'sensor.critical' : 'sensor.warning' });
    } else out.push({ text: `sensors ${s.readings.length} nominal${s.hottest ? ` · hottest ${s.hottest.name} ${s.hottest.value} ${s.hottest.unit}` : ''}`, slot: 'dim' });
  }
  for (const x of s.sel.slice(-SHOWN_SEL)) out.push({ text: `SEL ${selLine(x)}`, slot: x.direction === 'asserted' ? 'sensor.warning' : 'dim' });
  // names and texts came from a BMC (made safe by the engine; visibleLine for the row)
  return out.map((l) => ({ ...l, text: visibleLine(l.text) }));
}

/** "Last words" of a node that is not up: its last NODE_DOWN record's console lines, SEL and stats, at most `max` rows. */
export function lastWordsLines(n: NodeView, e: TimelineEntry | undefined, max: number): string[] {
  if (n.state === 'up' || !e?.blackBox || max < 2) return [];
  const b = e.blackBox;
  const at = new Date(e.at);
  const clock = `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}:${String(at.getSeconds()).padStart(2, '0')}`;
  const stats = ['load1', 'cpu_pct', 'mem_used_pct', 'temp_cpu', 'temp_c'].filter((k) => b.stats[k] !== undefined).map((k) => `${k}=${b.stats[k]}`).join(' ');
  // SEL and stats first, then the console's last lines in the rows left
  const fixed = [...b.sel.slice(-3).map((l) => `SEL ${l}`), ...(stats ? [`stats ${stats}`] : [])].slice(0, max - 1);
  const room = max - 1 - fixed.length;
  const cons = room > 0 ? b.console.slice(-room) : [];
  const out = [`last words at ${clock}${b.console.length ? ` (${b.console.length} console lines kept)` : ''}:`, ...fixed, ...cons];
  return out.slice(0, max).map((l, i) => visibleLine(i === 0 ? l : `  ${l}`));
}

const STATE_SLOT: Record<string, Slot> = { up: 'node.up', down: 'node.down', off: 'node.off', unknown: 'node.unknown' };

/** The stats lines of a node, pure (tested without ink). */
export function detailStatLines(n: NodeView): string[] {
  const s = n.stats ?? {};
  const lines: string[] = [];
  if (s.load1 !== undefined) lines.push(`load ${s.load1} ${s.load5 ?? '-'} ${s.load15 ?? '-'}${s.cpus !== undefined ? ` on ${s.cpus} cpus` : ''}`);
  const parts: string[] = [];
  if (s.cpu_pct !== undefined) parts.push(`cpu ${Math.round(Number(s.cpu_pct))}%`);
  if (s.mem_used_pct !== undefined) parts.push(`mem ${Math.round(Number(s.mem_used_pct))}%${s.mem_total_mib !== undefined ? ` of ${Math.round(Number(s.mem_total_mib) / 1024)} GiB` : ''}`);
  if (s.uptime_s !== undefined) parts.push(`up ${formatDuration(Number(s.uptime_s) * 1000)}`);
  if (parts.length) lines.push(parts.join('  '));
  if (s.os !== undefined || s.kernel !== undefined) lines.push(`${s.os ?? ''} ${s.kernel ?? ''}`.trim());
  // stats strings come from agents and nodes' /proc
  return lines.map(visibleLine);
}

/** A drained node's line: who drained it, when, and why (the reason came from whoever typed it). */
export function drainLine(n: NodeView, now: number): string | undefined {
  const d = n.drain;
  if (!d) return undefined;
  const at = new Date(d.since);
  const when = `${at.getFullYear()}-${String(at.getMonth() + 1).padStart(2, '0')}-${String(at.getDate()).padStart(2, '0')} ${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}`;
  // the reason first: a narrow pane cuts the end of the line
  return visibleLine(`${DRAIN_GLYPH} drained: ${d.reason} — by ${d.who}, ${formatAgo(Math.max(0, now - d.since))} (${when})`);
}

/** For a node that is not up: when its numbers were read (they are shown dimmed, as history). */
export function lastSeenLine(n: NodeView, now: number): string | undefined {
  if (!isStale(n)) return undefined;
  return n.statsTs !== undefined ? `last seen ${formatAgo(now - n.statsTs)} · the numbers below are from then` : 'never seen: no readings yet';
}

export function DetailPane({ node, events, focused, width, height, now: renderedAt, series, spanMs = CHART_SPANS_MS[0], lastWords }: DetailPaneProps) {
  const t = useTheme();
  const stale = node !== undefined && isStale(node);
  // a stale node's age must keep counting even when nothing else changes on screen
  const ticked = useClock(1000, stale);
  const now = Math.max(renderedAt, ticked);
  const drained = node?.drain !== undefined;
  const stats = node ? detailStatLines(node) : [];
  // the last events (up to 3) before the chart: the rows the header lines leave, at least one each when there is room
  const eventRows = Math.min(events?.length ?? 0, Math.max(0, height - 6 - (stale ? 1 : 0) - (drained ? 1 : 0)));
  // the chart takes every row the rest leaves; below 4 rows it takes the variables', then the OS line's, then the groups'
  let showVars = true;
  let shownStats = stats;
  let showGroups = true;
  // sensors and SEL after the stats, leaving the chart 2 rows; a node that is not up shows its last words before the chart
  const free = height - 3 - (stale ? 1 : 0) - (drained ? 1 : 0) - eventRows - stats.length;
  const sensorAll = node ? sensorDetailLines(node) : [];
  const sensorLines = sensorAll.slice(0, Math.max(0, Math.min(sensorAll.length, free - (series ? 2 : 0))));
  const words = node ? lastWordsLines(node, lastWords, Math.min(8, free - sensorLines.length)) : [];
  const chartRowsFor = () => height - 1 - (showGroups ? 1 : 0) - (stale ? 1 : 0) - (drained ? 1 : 0) - eventRows - shownStats.length - sensorLines.length - words.length - (showVars ? 1 : 0);
  if (series && chartRowsFor() < 4) showVars = false;
  if (series && chartRowsFor() < 4 && shownStats.length > 2) shownStats = shownStats.slice(0, 2);
  if (series && chartRowsFor() < 3) showGroups = false;
  const chartRows = series ? Math.max(0, chartRowsFor()) : 0;
  const cpus = Number(node?.stats?.cpus) || undefined;
  const chart = useMemo(
    () => (node && series && chartRows >= 2 ? loadChart(series, { now: renderedAt, spanMs, cols: width, rows: chartRows, cpus }) : []),
    [series, width, chartRows, cpus, spanMs, renderedAt],
  );
  if (!node) {
    return (
      <Box flexDirection="column" width={width} height={height}>
        <Text bold={focused}>DETAIL</Text>
        <Text color={t.color('dim')}>no node selected</Text>
      </Box>
    );
  }
  const since = formatDuration(Math.max(0, now - node.stateSince));
  const vars = Object.entries(node.vars).map(([k, v]) => `${k}=${v}`).join(' ');
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text wrap="truncate" bold={focused}>
        <Text color={t.color(STATE_SLOT[node.state])}>{STATE_GLYPH[node.state]} </Text>
        {visibleLine(node.name)}
        <Text color={t.color(STATE_SLOT[node.state])}> {node.state}</Text>
        <Text color={t.color('dim')}>{node.stateReason ? ` (${visibleLine(node.stateReason)})` : ''} for {since} · power {node.power}{node.local ? ' · this machine' : ''}</Text>
      </Text>
      {drained ? <Text wrap="truncate" color={t.color('node.drained')}>{drainLine(node, now)}</Text> : null}
      {showGroups ? <Text wrap="truncate" color={t.color('dim')}>groups {visibleLine(node.groups.join(',')) || '-'}</Text> : null}
      {stale ? <Text wrap="truncate" color={t.color('node.unknown')}>{lastSeenLine(node, now)}</Text> : null}
      {shownStats.map((l, i) => <Text key={i} wrap="truncate" color={stale ? t.color('dim') : t.color('header.text')} dimColor={stale}>{l}</Text>)}
      {sensorLines.map((l, i) => <Text key={`s${i}`} wrap="truncate" color={t.color(l.slot ?? 'header.text')}>{l.text}</Text>)}
      {words.map((l, i) => <Text key={`w${i}`} wrap="truncate" color={t.color(i === 0 ? 'node.down' : 'header.text')}>{l}</Text>)}
      {chart.length > 0 ? (
        <Box flexDirection="column">
          {chart.map((r, i) => (
            <Text key={i}>
              <Text color={t.color('dim')}>{r.label}</Text>
              <Text color={t.color(stale || i === chart.length - 1 ? 'dim' : 'chart')} dimColor={stale}>{r.plot}</Text>
            </Text>
          ))}
        </Box>
      ) : null}
      {events && eventRows > 0 ? events.slice(-eventRows).map((e) => (
        <Text key={e.seq} wrap="truncate">
          {(eventSpans(e, false) as readonly { text: string; slot?: Slot }[]).map((s, i) => <Text key={i} color={s.slot ? t.color(s.slot) : t.color('header.text')}>{s.text}</Text>)}
        </Text>
      )) : null}
      {showVars ? <Text wrap="truncate" color={t.color('dim')}>{visibleLine(vars)}</Text> : null}
    </Box>
  );
}
