/**
 * The jobs pane: every job newest first (request, progress, duration, state), and under the list the
 * selected job's output with identical per-node outputs gathered under a folded node set.
 */
import React, { useRef } from 'react';
import { Box, Text } from 'ink';
import type { JobView } from '../../protocol/module.js';
import { useTheme, type Slot } from '../theme.js';
import { formatJobLine, formatProgress, gatheredJobRows, jobOutcome, progressBar, windowStart, type JobOutcome, type ProgressPart } from '../format.js';
import { useClock } from '../use-clock.js';
import type { ResultGathering } from '../../protocol/gather.js';

export interface JobsPaneProps {
  jobs: readonly JobView[];
  selected: number;
  focused: boolean;
  width: number;
  height: number;
  /** each module's gathering rules, by tag */
  gather?: ReadonlyMap<string, ResultGathering>;
  /** the selected job's nodes by outcome while it runs (jobProgress) */
  progress?: readonly ProgressPart[];
}

const BAR_SLOT: Record<ProgressPart['label'], Slot> = { done: 'job.completed', failed: 'job.failed', skipped: 'job.cancelled', waiting: 'dim' };

/** a job's colour follows how it ended: every node failed is a failure, some failed a warning */
export const OUTCOME_SLOT: Record<JobOutcome, Slot> = { running: 'job.running', ok: 'job.completed', partial: 'job.partial', failed: 'job.failed', cancelled: 'job.cancelled' };

/** How many of the pane's rows list jobs (the rest shows the selected job's output). */
export function jobListRows(height: number, jobs: number): number {
  return Math.max(1, Math.min(jobs, Math.floor((height - 1) / 3)));
}

export function JobsPane({ jobs, selected, focused, width, height, progress, gather }: JobsPaneProps) {
  const t = useTheme();
  const anyRunning = jobs.some((j) => j.state === 'running' || j.state === 'queued');
  const now = useClock(1000, anyRunning); // durations tick only while something runs
  const startRef = useRef(0);
  if (jobs.length === 0) {
    return (
      <Box flexDirection="column" width={width} height={height}>
        <Text bold={focused}>JOBS</Text>
        <Text color={t.color('dim')} wrap="truncate">no jobs yet: p power, x exec, : prompt</Text>
      </Box>
    );
  }
  const listRows = jobListRows(height, jobs.length);
  const first = windowStart(selected, listRows, jobs.length, startRef.current);
  startRef.current = first;
  const job = jobs[selected];
  const running = job !== undefined && (job.state === 'running' || job.state === 'queued');
  const summary = running && progress && progress.length > 0 ? progress : undefined;
  const outRows = Math.max(0, height - 1 - listRows - (summary ? 2 : 0));
  const out = job ? gatheredJobRows(job, gather?.get(job.tag)) : [];
  const shownOut = out.length > outRows ? [...out.slice(0, Math.max(0, outRows - 1)), { text: `… ${out.length - outRows + 1} more lines (Enter opens the full output)`, error: false }] : out;
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text bold={focused} wrap="truncate">JOBS {jobs.length}{anyRunning ? ' · Ctrl-C cancels the selected one' : ''}</Text>
      {jobs.slice(first, first + listRows).map((j, i) => (
        <Text key={j.id} wrap="truncate" inverse={focused && first + i === selected} underline={!focused && first + i === selected} color={t.color(OUTCOME_SLOT[jobOutcome(j)])}>
          {formatJobLine(j, now, width)}
        </Text>
      ))}
      {summary ? (
        <Text wrap="truncate">
          {progressBar(summary, width).map((seg, i) => <Text key={i} color={t.color(BAR_SLOT[seg.label])}>{seg.text}</Text>)}
        </Text>
      ) : null}
      {summary ? <Text wrap="truncate" color={t.color('header.text')}>{formatProgress(summary)}</Text> : null}
      {shownOut.map((l, i) => <Text key={`o${i}`} wrap="truncate" color={l.error ? t.color('error') : t.color('header.text')}>{l.text}</Text>)}
    </Box>
  );
}
