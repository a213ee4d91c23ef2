/**
 * The header: cluster name, node counts by state, running jobs, the clock (to the minute: a 3 a.m.
 * glance, and no per-second frame when idle). On a narrow terminal the words go before the numbers:
 * the theme name first, then the labels shorten, then the counts become glyphs; the job count and
 * the clock survive at 80 columns (`headerSpans`, pure).
 */
import React from 'react';
import { Box, Text } from 'ink';
import type { Counts } from '../../protocol/module.js';
import { useTheme, type Slot } from '../theme.js';
import { DRAIN_GLYPH, STATE_GLYPH, fit, formatClock } from '../format.js';
import { visibleLine } from '../../protocol/visible.js';
import { useClock } from '../use-clock.js';
import type { AttachedView } from '../ui-engine.js';

export interface HeaderProps {
  cluster: string;
  counts: Readonly<Counts>;
  total: number;
  runningJobs: number;
  readOnly: boolean;
  themeName: string;
  width: number;
  /** attached to a vacm serve: `head01 · alice (operator)`, and `reconnecting…` while the link is down */
  attached?: AttachedView;
}

export interface HeaderSpan {
  readonly text: string;
  readonly slot?: Slot;
  readonly bold?: boolean;
}

type Facts = Omit<HeaderProps, 'width'> & { clock: string };

interface Variant {
  left: HeaderSpan[];
  /** the theme name (dropped first) and the clock (never dropped) */
  right: string;
}

/** The header's variants, widest first: each drops words, never a number. */
function variants(f: Facts): Variant[] {
  const c = f.counts;
  // a count paints its warning colour only when it is above zero: a red "0 down" cries wolf
  const count = (n: number, slot: Slot, label: string, bold = false): HeaderSpan => ({ text: `${n}${label}`, slot: n > 0 ? slot : 'dim', bold: bold && n > 0 });
  const a = f.attached;
  // attached: who and where in the wide wordings, and `reconnecting…` in every one (it is why numbers may be stale)
  const title = (cluster: string, ro: string, who: 'full' | 'user' | 'none' = 'none'): HeaderSpan[] => [
    { text: `vacm · ${cluster}`, slot: 'header.title', bold: true },
    ...(f.readOnly ? [{ text: ro, slot: 'error' as const, bold: true }] : []),
    ...(a && who === 'full' ? [{ text: ` · ${visibleLine(a.host)} · ${visibleLine(a.user)} (${visibleLine(a.role)})`, slot: 'header.text' as const }] : []),
    ...(a && who === 'user' ? [{ text: ` · ${visibleLine(a.user)}`, slot: 'header.text' as const }] : []),
    ...(a?.link === 'reconnecting' ? [{ text: ' · reconnecting…', slot: 'error' as const, bold: true }] : []),
  ];
  const running: Slot = f.runningJobs > 0 ? 'job.running' : 'dim';
  const sep: HeaderSpan = { text: " · " };
  const cluster = visibleLine(f.cluster);
  const words = (label: (w: string) => string, between: HeaderSpan): HeaderSpan[] => [
    count(c.up, 'node.up', label('up')), between,
    count(c.down, 'node.down', label('down'), true), between,
    count(c.off, 'node.off', label('off')), between,
    count(c.unknown, 'node.unknown', label('unknown')),
    // drained nodes count here and not under their state; shown once there is one
    ...(c.drained > 0 ? [between, count(c.drained, 'node.drained', label('drained'))] : []),
  ];
  const full: HeaderSpan[] = [
    ...title(cluster, ' · READ-ONLY', 'full'),
    { text: `  ${f.total} nodes: `, slot: 'header.text' as const },
    ...words((w) => ` ${w}`, sep),
    { text: '   jobs: ', slot: 'header.text' as const },
    { text: `${f.runningJobs} running`, slot: running },
  ];
  const short: HeaderSpan[] = [
    ...title(cluster, ' RO', 'user'),
    { text: `  ${f.total}: `, slot: 'header.text' as const },
    ...words((w) => ` ${w === 'unknown' ? 'unk' : w}`, { text: ' ' }),
    { text: '  jobs ', slot: 'header.text' as const },
    { text: `${f.runningJobs}`, slot: running },
  ];
  const glyphs = (name: string): HeaderSpan[] => [
    ...title(name, ' RO'),
    { text: ` ${f.total}:`, slot: 'header.text' as const },
    count(c.up, 'node.up', STATE_GLYPH.up), { text: ' ' },
    count(c.down, 'node.down', STATE_GLYPH.down, true), { text: ' ' },
    count(c.off, 'node.off', STATE_GLYPH.off), { text: ' ' },
    count(c.unknown, 'node.unknown', STATE_GLYPH.unknown),
    ...(c.drained > 0 ? [{ text: ' ' }, count(c.drained, 'node.drained', DRAIN_GLYPH)] : []),
    { text: ' ▶', slot: running },
    { text: `${f.runningJobs}`, slot: running },
  ];
  return [
    { left: full, right: `${f.themeName}  ${f.clock}` },
    { left: full, right: f.clock },
    { left: short, right: f.clock },
    { left: glyphs(cluster), right: f.clock },
  ];
}

const len = (spans: readonly HeaderSpan[]) => spans.reduce((n, s) => n + s.text.length, 0);
const widthOf = (v: Variant) => len(v.left) + 1 + v.right.length;

/**
 * The header in `cols` columns: the widest variant that fits, the clock flush right. When none
 * fits, the cluster name gives up what is missing (a long or hostile name never pushes a number out).
 */
export function headerSpans(f: Facts, cols: number): HeaderSpan[] {
  const all = variants(f);
  let pick = all.find((v) => widthOf(v) <= cols);
  if (!pick) {
    const last = all[all.length - 1];
    const cluster = visibleLine(f.cluster);
    const room = Math.max(0, cluster.length - (widthOf(last) - cols));
    pick = variants({ ...f, cluster: room > 0 ? fit(cluster, room) : '' })[all.length - 1];
  }
  return [...pick.left, { text: ' '.repeat(Math.max(1, cols - len(pick.left) - pick.right.length)) }, { text: pick.right, slot: 'dim' }];
}

export function HeaderPane({ cluster, counts, total, runningJobs, readOnly, themeName, width, attached }: HeaderProps) {
  const t = useTheme();
  const now = useClock(60_000);
  const spans = headerSpans({ cluster, counts, total, runningJobs, readOnly, themeName, attached, clock: formatClock(now).slice(0, 5) }, width);
  return (
    <Box height={1} width={width}>
      <Text wrap="truncate">
        {spans.map((s, i) => <Text key={i} color={s.slot ? t.color(s.slot) : undefined} bold={s.bold}>{s.text}</Text>)}
      </Text>
    </Box>
  );
}
