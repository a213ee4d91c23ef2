/**
 * The log view of `L`, full screen: a title row, the newest lines that fit (each behind its node's
 * name in the node's own colour: a theme slot chosen by the name, so a node keeps its colour from
 * one view to the next), and a row for the question, the filter being typed or the status. Lines
 * are drawn with visibleLine: a log's escape sequences are shown as `^[`, never obeyed.
 */
import React from 'react';
import { Box, Text } from 'ink';
import { useTheme, type Slot } from '../theme.js';
import { visibleLine } from '../../protocol/visible.js';
import { liveFilter, filteredLines, type LogViewState } from '../use-log-view.js';
import { Input } from './PromptPane.js';

export const LOG_SLOTS: readonly Slot[] = ['log.node1', 'log.node2', 'log.node3', 'log.node4', 'log.node5', 'log.node6'];

/** A node's colour slot: the same for the same name, every time (FNV-1a of the name). */
export function nodeSlot(name: string): Slot {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return LOG_SLOTS[h % LOG_SLOTS.length];
}

export interface LogRow {
  /** the node's name, padded (blank on a wrapped line's continuation) */
  prefix: string;
  slot?: Slot;
  text: string;
  /** vacm's own note (a node ended, an error): drawn dim */
  note: boolean;
}

/** Longest node-name column. */
const PREFIX_MAX = 24;

/** The body rows for `height` rows of `width` columns (pure: tested without ink). */
export function logRows(s: LogViewState, width: number, height: number): LogRow[] {
  const lines = filteredLines(s.frozen ?? s.lines, liveFilter(s));
  const nameWidth = Math.min(PREFIX_MAX, Math.max(4, ...s.nodes.map((n) => n.length)));
  const prefixWidth = nameWidth + 1;
  const textWidth = Math.max(8, width - prefixWidth);
  const pad = (n: string) => {
    const v = visibleLine(n);
    return (v.length > nameWidth ? v.slice(0, nameWidth - 1) + '…' : v.padEnd(nameWidth)) + ' ';
  };
  const out: LogRow[] = [];
  // from the newest back: only what fits is laid out
  for (let i = lines.length - 1; i >= 0 && out.length < height; i--) {
    const l = lines[i];
    const text = [...visibleLine(l.text)];
    const note = l.stream === 'note';
    const rows: LogRow[] = [];
    if (!s.wrap || text.length <= textWidth) {
      const shown = text.length > textWidth ? text.slice(0, textWidth - 1).join('') + '…' : text.join('');
      rows.push({ prefix: pad(l.node), slot: nodeSlot(l.node), text: shown, note });
    } else {
      for (let at = 0; at < text.length; at += textWidth) rows.push({ prefix: at === 0 ? pad(l.node) : ' '.repeat(prefixWidth), slot: nodeSlot(l.node), text: text.slice(at, at + textWidth).join(''), note });
    }
    out.unshift(...rows.slice(-(height - out.length)));
  }
  return out;
}

/** The status row's text. */
export function logStatus(s: LogViewState): string {
  const parts = [s.status];
  parts.push(`${s.lines.length} lines${s.dropped ? ` (${s.dropped} older dropped)` : ''}`);
  if (s.frozen) parts.push(`PAUSED (${s.seq - (s.pausedAt ?? s.seq)} new): Space resumes`);
  if (s.filter) parts.push(`filter "${s.filter}"`);
  if (s.wrap) parts.push('wrap');
  return parts.join(' · ');
}

export function LogPane({ state, width, height }: { state: LogViewState; width: number; height: number }) {
  const t = useTheme();
  const title = `log ${state.ask ? '' : state.what || 'journal'} on ${state.folded}   / filter  w wrap  Space pause  Esc stop`;
  const bottom = state.ask ? (state.askError ? 2 : 1) : 1;
  const body = Math.max(1, height - 1 - bottom);
  const rows = state.ask ? [] : logRows(state, width, body);
  const blank = Math.max(0, body - rows.length);
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text color={t.color('header.title')} bold wrap="truncate">
        {visibleLine(title).slice(0, width)}
      </Text>
      {rows.map((r, i) => (
        <Text key={i} wrap="truncate">
          <Text color={t.color(r.slot ?? 'dim')}>{r.prefix}</Text>
          <Text color={r.note ? t.color('dim') : undefined}>{r.text === '' ? ' ' : r.text}</Text>
        </Text>
      ))}
      {Array.from({ length: blank }, (_, i) => (
        <Text key={`b${i}`}> </Text>
      ))}
      {state.ask ? (
        <>
          <Input label={`unit or /path to follow on ${state.folded} (empty: the journal): `} input={state.ask} width={width} />
          {state.askError ? (
            <Text color={t.color('error')} wrap="truncate">
              {visibleLine(state.askError).slice(0, width)}
            </Text>
          ) : null}
        </>
      ) : state.editing ? (
        <Input label="filter: " input={state.editing} width={width} />
      ) : (
        <Text color={t.color(state.frozen ? 'job.cancelled' : 'dim')} wrap="truncate">
          {visibleLine(logStatus(state)).slice(0, width)}
        </Text>
      )}
    </Box>
  );
}
