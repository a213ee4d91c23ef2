/**
 * The one overlay every dialog is drawn in: a box centred over the (dimmed) dashboard. A dialog is
 * plain data (`OverlaySpec`: a title, lines of coloured spans, a hint); `overlayRows` lays it out
 * into exactly `height` rows of exactly `width` columns, borders included, so nothing underneath
 * shows through and a test can compare the screen with what was drawn, word for word.
 */
import React from 'react';
import { Box, Text } from 'ink';
import { useTheme, type Slot } from '../theme.js';
import { visibleLine } from '../../protocol/visible.js';

export interface Span {
  readonly text: string;
  readonly slot?: Slot;
  readonly bold?: boolean;
  readonly inverse?: boolean;
}

/** One row of a dialog: a plain string or spans. */
export type Line = string | readonly Span[];

export interface OverlaySpec {
  readonly title: string;
  readonly lines: readonly Line[];
  /** the last row inside the box (keys), dim */
  readonly hint?: string;
  /** a dangerous question: the border and title in the danger colour */
  readonly danger?: boolean;
  /** the widest the box may be (it is never wider than the screen allows) */
  readonly maxWidth?: number;
  /** fill the area (a job's output) instead of fitting the lines */
  readonly fill?: boolean;
  /** wrap lines longer than the box (continuation rows indented) instead of cutting them */
  readonly wrap?: boolean;
}

export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

const spansOf = (l: Line): readonly Span[] => (typeof l === 'string' ? [{ text: l }] : l);
export const lineText = (l: Line): string => spansOf(l).map((s) => s.text).join('');

/** A line cut into rows of `w` columns (the rows after the first indented by two), spans kept. */
function wrapLine(l: Line, w: number): Line[] {
  const spans = spansOf(l);
  if (lineText(l).length <= w || w < 8) return [l];
  const rows: Span[][] = [];
  let row: Span[] = [];
  let used = 0;
  for (const s of spans) {
    let text = s.text;
    while (text.length > 0) {
      if (used >= w) {
        rows.push(row);
        row = [{ text: '  ' }];
        used = 2;
      }
      const take = text.slice(0, w - used);
      row.push({ ...s, text: take });
      used += take.length;
      text = text.slice(take.length);
    }
  }
  if (row.length) rows.push(row);
  return rows;
}

/** The spec's lines as they are drawn in a box of this width. */
function shownLines(spec: OverlaySpec, width: number): readonly Line[] {
  if (!spec.wrap) return spec.lines;
  const inner = Math.max(1, width - 4);
  return spec.lines.flatMap((l) => wrapLine(typeof l === 'string' ? visibleLine(l) : l.map((s) => ({ ...s, text: visibleLine(s.text) })), inner));
}

/** Where the overlay goes in an area of `columns` x `rows`: centred, at most the area less a margin. */
export function overlayRect(spec: OverlaySpec, columns: number, rows: number): Rect {
  const maxW = Math.max(20, Math.min(columns - 2, spec.maxWidth ?? 76));
  const want = Math.max(spec.title.length + 6, (spec.hint ?? '').length + 4, ...spec.lines.map((l) => lineText(l).length + 4));
  const width = spec.fill ? maxW : Math.min(maxW, Math.max(30, want));
  const need = shownLines(spec, width).length + 2 + (spec.hint ? 1 : 0);
  const height = Math.max(4, spec.fill ? rows : Math.min(rows, need));
  return { left: Math.max(0, Math.floor((columns - width) / 2)), top: Math.max(0, Math.floor((rows - height) / 2)), width, height };
}

/** How many body lines fit in a box of this height (the rest scroll). */
export function overlayBodyRows(spec: Pick<OverlaySpec, 'hint'>, height: number): number {
  return Math.max(1, height - 2 - (spec.hint ? 1 : 0));
}

/** Cut spans to `w` columns (an ellipsis where something was cut) and pad with spaces. */
function fitSpans(spans: readonly Span[], w: number): Span[] {
  const total = spans.reduce((n, s) => n + s.text.length, 0);
  const room = total > w ? w - 1 : w;
  const out: Span[] = [];
  let used = 0;
  for (const s of spans) {
    if (used >= room) break;
    const text = s.text.slice(0, room - used);
    out.push({ ...s, text });
    used += text.length;
  }
  if (total > w) out.push({ text: '…' });
  else if (used < w) out.push({ text: ' '.repeat(w - used) });
  return out;
}

/** The overlay's rows, exactly `rect.width` columns each: top border with the title, body, hint, bottom border. */
export function overlayRows(spec: OverlaySpec, rect: Pick<Rect, 'width' | 'height'>): Span[][] {
  const border: Slot = spec.danger ? 'dialog.danger' : 'dialog.border';
  const inner = Math.max(1, rect.width - 4);
  const title = visibleLine(spec.title).slice(0, Math.max(0, rect.width - 6));
  const rows: Span[][] = [[
    { text: '╭─ ', slot: border },
    { text: title, slot: spec.danger ? 'dialog.danger' : undefined, bold: true },
    { text: ' ' + '─'.repeat(Math.max(0, rect.width - 5 - title.length)) + '╮', slot: border },
  ]];
  const body = overlayBodyRows(spec, rect.height);
  const side = (spans: Span[]): Span[] => [{ text: '│ ', slot: border }, ...spans, { text: ' │', slot: border }];
  const lines = shownLines(spec, rect.width);
  for (let i = 0; i < body; i++) {
    const l = lines[i];
    rows.push(side(fitSpans(l === undefined ? [] : spansOf(l).map((s) => ({ ...s, text: visibleLine(s.text) })), inner)));
  }
  if (spec.hint) rows.push(side(fitSpans([{ text: visibleLine(spec.hint), slot: 'dim' }], inner)));
  rows.push([{ text: '╰' + '─'.repeat(Math.max(0, rect.width - 2)) + '╯', slot: border }]);
  return rows;
}

/** The plain text of the overlay, row by row (what a terminal shows there). */
export function overlayText(spec: OverlaySpec, rect: Pick<Rect, 'width' | 'height'>): string[] {
  return overlayRows(spec, rect).map((r) => r.map((s) => s.text).join(''));
}

export function Overlay({ spec, columns, rows }: { spec: OverlaySpec; columns: number; rows: number }) {
  const t = useTheme();
  const rect = overlayRect(spec, columns, rows);
  return (
    <Box position="absolute" marginLeft={rect.left} marginTop={rect.top} width={rect.width} height={rect.height} flexDirection="column">
      {overlayRows(spec, rect).map((row, i) => (
        <Text key={i} wrap="truncate">
          {row.map((s, j) => <Text key={j} color={s.slot ? t.color(s.slot) : undefined} bold={s.bold} inverse={s.inverse}>{s.text}</Text>)}
        </Text>
      ))}
    </Box>
  );
}
