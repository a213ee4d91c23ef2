/** The header: cluster name, node counts by state, running jobs, the clock (to the minute: a 3 a.m. glance, and no per-second frame when idle). */
import React from 'react';
import { Box, Text } from 'ink';
import type { Counts } from '../../protocol/module.js';
import { useTheme } from '../theme.js';
import { formatClock } from '../format.js';
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
  /** attached to a vacm serve: `head01 · alice (operator)`, and `reconnecting…` while the link is down */
  attached?: AttachedView;
}

export function HeaderPane({ cluster, counts, total, runningJobs, readOnly, themeName, attached }: HeaderProps) {
  const t = useTheme();
  const now = useClock(60_000);
  return (
    <Box height={1} width="100%">
      <Box flexGrow={1}>
        <Text wrap="truncate">
          <Text bold color={t.color('header.title')}>vacm · {visibleLine(cluster)}</Text>
          {readOnly ? <Text bold color={t.color('error')}> · READ-ONLY</Text> : null}
          {attached ? <Text color={t.color('header.text')}> · {visibleLine(attached.host)} · {visibleLine(attached.user)} ({visibleLine(attached.role)})</Text> : null}
          {attached?.link === 'reconnecting' ? <Text bold color={t.color('error')}> · reconnecting…</Text> : null}
          <Text color={t.color('header.text')}>  {total} nodes: </Text>
          <Text color={t.color('node.up')}>{counts.up} up</Text>
          <Text> · </Text>
          {/* a count paints its warning colour only when it is above zero: a red "0 down" cries wolf */}
          <Text color={t.color(counts.down > 0 ? 'node.down' : 'dim')} bold={counts.down > 0}>{counts.down} down</Text>
          <Text> · </Text>
          <Text color={t.color(counts.off > 0 ? 'node.off' : 'dim')}>{counts.off} off</Text>
          <Text> · </Text>
          <Text color={t.color(counts.unknown > 0 ? 'node.unknown' : 'dim')}>{counts.unknown} unknown</Text>
          {/* drained nodes count here and not under their state; shown once there is one */}
          {counts.drained > 0 ? <><Text> · </Text><Text color={t.color('node.drained')}>{counts.drained} drained</Text></> : null}
          <Text color={t.color('header.text')}>   jobs: </Text>
          <Text color={runningJobs > 0 ? t.color('job.running') : t.color('dim')}>{runningJobs} running</Text>
        </Text>
      </Box>
      <Box marginLeft={1}><Text color={t.color('dim')}>{themeName}  {formatClock(now).slice(0, 5)}</Text></Box>
    </Box>
  );
}
