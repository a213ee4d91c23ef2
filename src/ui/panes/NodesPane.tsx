/**
 * The nodes pane: one pre-formatted row per node, only the rows that fit (virtualised), or for big
 * clusters a compact overview with one cell per node. Rows are memoised on their text, so a frame
 * re-renders only the rows whose node changed.
 */
import React, { memo, useRef } from 'react';
import { Box, Text } from 'ink';
import type { NodeView } from '../../protocol/module.js';
import type { NodeState } from '../../protocol/events.js';
import { useTheme, type Slot } from '../theme.js';
import { DRAIN_GLYPH, STATE_GLYPH, fit, loadLevel, nodeRowParts, overviewLayout, overviewLegend, overviewRuns, rowColumns, rowHeader, windowStart, type OverviewSection, type RowColumns, type RowParts, type SortKey } from '../format.js';
import { sortArrow, sortSpec } from '../sort.js';
import type { Filter } from '../dashboard-state.js';
import { visibleLine } from '../../protocol/visible.js';

export interface NodesPaneProps {
  nodes: readonly NodeView[];
  total: number;
  cursor: number;
  marks: ReadonlySet<string>;
  filter?: Filter;
  sort: SortKey;
  /** the sort inverted (r) */
  sortReverse?: boolean;
  overview: boolean;
  /** the overview's labelled rows (one per rack or other numbered group), in the order of `nodes` */
  sections?: readonly OverviewSection[];
  focused: boolean;
  /** inner width and height (inside the border) */
  width: number;
  height: number;
}

const STATE_SLOT: Record<NodeState, Slot> = { up: 'node.up', down: 'node.down', off: 'node.off', unknown: 'node.unknown' };

const rowCache = new WeakMap<NodeView, { key: string; parts: RowParts }>();
function rowParts(n: NodeView, cols: RowColumns): RowParts {
  const key = `${cols.name}/${cols.spark}/${cols.cpuMem}/${cols.temp ?? false}`;
  const hit = rowCache.get(n);
  if (hit && hit.key === key) return hit.parts;
  const parts = nodeRowParts(n, cols);
  rowCache.set(n, { key, parts });
  return parts;
}

interface RowProps {
  parts: RowParts;
  state: NodeState;
  drained: boolean;
  marked: boolean;
  selected: boolean;
  focused: boolean;
}

const NodeRow = memo(function NodeRow({ parts, state, drained, marked, selected, focused }: RowProps) {
  const t = useTheme();
  const inverse = selected && focused;
  const underline = selected && !focused;
  // plain text takes header.text (the terminal's default in most themes; the dim colour under a dialog)
  const color = marked ? t.color('node.marked') : t.color('header.text');
  return (
    <Box height={1}>
      <Text inverse={inverse} underline={underline} bold color={t.color('node.marked')}>{marked ? '*' : ' '}</Text>
      <Text inverse={inverse} underline={underline} color={t.color(STATE_SLOT[state])}>{STATE_GLYPH[state]}</Text>
      {/* a drained node's glyph takes the space between the state glyph and the name */}
      {drained ? <Text inverse={inverse} underline={underline} color={t.color('node.drained')}>{DRAIN_GLYPH}</Text> : null}
      <Text inverse={inverse} underline={underline} color={color}>{drained ? parts.head.slice(1) : parts.head}</Text>
      {parts.spark ? <Text inverse={inverse} underline={underline} color={state === 'up' ? t.color(parts.level ?? 'header.text') : t.color('dim')} dimColor={state !== 'up'}>{parts.spark}</Text> : null}
      <Text inverse={inverse} underline={underline} color={marked || !parts.level ? color : t.color(parts.level)}>{parts.tail}</Text>
      {parts.rest ? <Text inverse={inverse} underline={underline} color={color}>{parts.rest}</Text> : null}
      {parts.temp ? <Text inverse={inverse} underline={underline} color={marked || !parts.tempSlot ? color : t.color(parts.tempSlot)}>{parts.temp}</Text> : null}
    </Box>
  );
});

export function NodesPane(p: NodesPaneProps) {
  const t = useTheme();
  const startRef = useRef(0);
  const status = [
    `NODES ${p.nodes.length}${p.nodes.length !== p.total ? ` of ${p.total}` : ''}`,
    p.overview ? 'overview' : '',
    // in the overview a cell has no name: the cursor's node is named here
    p.overview && p.nodes[p.cursor] ? `${p.nodes[p.cursor].name} ${p.nodes[p.cursor].state}` : '',
    p.marks.size > 0 ? `${p.marks.size} marked` : '',
    p.filter ? `filter ${p.filter.expr}${p.filter.names ? '' : ' (text)'}` : '',
    `sort ${p.sort} ${sortArrow(p.sort, p.sortReverse ?? false)}`,
  ].filter(Boolean).join(' · ');
  const shownStatus = visibleLine(status);
  // the list has its column header, the overview its legend
  const rows = Math.max(1, p.height - 2);
  let body: React.ReactNode;
  if (p.nodes.length === 0) {
    body = <Text color={t.color('dim')}>{p.filter ? `no node matches ${visibleLine(p.filter.expr)} (Esc clears the filter)` : 'no nodes'}</Text>;
  } else if (p.overview) {
    const layout = overviewLayout(p.nodes.length, p.sections, p.width);
    const lineOfCursor = layout.lines.findIndex((l) => p.cursor >= l.start && p.cursor < l.end);
    const first = windowStart(Math.max(0, lineOfCursor), rows, layout.lines.length, startRef.current);
    startRef.current = first;
    const lines: React.ReactNode[] = [
      <Text key="legend" wrap="truncate" color={t.color('dim')}>
        {overviewLegend(p.width).map((part, i) => (
          <Text key={i}>
            {i > 0 ? '  ' : ''}
            {part.map((x, j) =>
              x.slot === 'gradient' ? (
                // the gradient's ends: 0 in load.low, 9 in load.full
                <Text key={j}><Text color={t.color('load.low')}>{x.text[0]}</Text>{x.text.slice(1, -1)}<Text color={t.color('load.full')}>{x.text.slice(-1)}</Text></Text>
              ) : (
                <Text key={j} color={x.slot ? t.color(x.slot as Slot) : undefined}>{x.text}</Text>
              ),
            )}
          </Text>
        ))}
      </Text>,
    ];
    for (let l = first; l < Math.min(layout.lines.length, first + rows); l++) {
      const line = layout.lines[l];
      const slice = p.nodes.slice(line.start, line.end);
      const runs = overviewRuns(slice, (n, i) => (line.start + i === p.cursor ? 'cursor' : p.marks.has(n.name) ? 'node.marked' : (loadLevel(n) ?? STATE_SLOT[n.state])));
      lines.push(
        <Text key={l} wrap="truncate">
          {layout.labelWidth > 0 ? <Text color={t.color('dim')}>{fit(visibleLine(line.label), layout.labelWidth - 1) + ' '}</Text> : null}
          {runs.map((r, i) =>
            r.slot === 'cursor' ? <Text key={i} inverse>{r.text}</Text> : <Text key={i} color={t.color(r.slot as Slot)}>{r.text}</Text>,
          )}
        </Text>,
      );
    }
    body = lines;
  } else {
    const cols = rowColumns(p.width, p.nodes);
    const first = windowStart(p.cursor, rows, p.nodes.length, startRef.current);
    startRef.current = first;
    const visible = p.nodes.slice(first, first + rows);
    body = [
      <Text key="h" color={t.color('dim')} wrap="truncate">{rowHeader(cols, { column: sortSpec(p.sort).column, arrow: sortArrow(p.sort, p.sortReverse ?? false) })}</Text>,
      ...visible.map((n, i) => (
        <NodeRow key={n.name} parts={rowParts(n, cols)} state={n.state} drained={n.drain !== undefined} marked={p.marks.has(n.name)} selected={first + i === p.cursor} focused={p.focused} />
      )),
    ];
  }
  return (
    <Box flexDirection="column" width={p.width} height={p.height}>
      <Text wrap="truncate" bold={p.focused} color={t.color('header.text')}>{shownStatus}</Text>
      {body}
    </Box>
  );
}
