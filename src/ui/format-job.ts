/**
 * Jobs as the dashboard shows them: the jobs pane's lines, a running job's progress, and a job's
 * output split per node and gathered under folded node sets. Output, requests and errors leave here
 * through `visibleLine`. Pure; the outputs are cached per (immutable) job view.
 */
import type { JobView } from '../protocol/module.js';
import type { VacmEvent } from '../protocol/events.js';
import { toWire } from '../protocol/events.js';
import { gatherOutputs, formatGathered, statSummary, type ResultGathering } from '../protocol/gather.js';
import { visibleLine } from '../protocol/visible.js';
import { foldNodeSet } from '../protocol/nodeset.js';
import { copyLine, formatBytes } from '../protocol/copy.js';
import { fit, formatDuration } from './format-text.js';

export const JOB_GLYPH: Record<JobView['state'], string> = { queued: '…', running: '▶', completed: '✔', failed: '✖', cancelled: '■' };

/**
 * How a job ended, as an operator reads it: a job that completed with every node failed is a
 * failure (✖), with some failed a warning (⚠); only a clean run gets ✔.
 */
export type JobOutcome = 'running' | 'ok' | 'partial' | 'failed' | 'cancelled';

export function jobOutcome(j: Pick<JobView, 'state' | 'failed' | 'ok' | 'targets'>): JobOutcome {
  if (j.state === 'queued' || j.state === 'running') return 'running';
  if (j.state === 'cancelled') return 'cancelled';
  if (j.state === 'failed') return 'failed';
  if (j.failed > 0 && j.ok === 0) return 'failed';
  return j.failed > 0 ? 'partial' : 'ok';
}

export const OUTCOME_GLYPH: Record<JobOutcome, string> = { running: '▶', ok: '✔', partial: '⚠', failed: '✖', cancelled: '■' };

/**
 * `#12 ✔ 2/2 completed  POWER:OFF:sim[001-002]  0.4s`: the id, the outcome, the progress and the state
 * word first, the duration last, and the request between them is what gets cut on a narrow pane
 * (at 80x24 the jobs pane is 34 columns: the state must survive, the request is in the output view).
 */
export function formatJobLine(j: JobView, now: number, width: number): string {
  const total = j.targets.length;
  const progress = total > 0 ? `${j.done}/${total}` : `${j.done}`;
  const dur = formatDuration((j.endedAt ?? now) - j.startedAt);
  const glyph = j.state === 'queued' ? JOB_GLYPH.queued : OUTCOME_GLYPH[jobOutcome(j)];
  const line = visibleLine(j.line);
  // a job that came through a door of vacm serve names who ran it (an attached dashboard shows everyone's)
  const by = j.origin ? `  by ${visibleLine(j.origin.user)}` : '';
  const build = (short: boolean) => {
    let state: string = j.state;
    // the glyph already says completed (✔ ⚠ ✖): a narrow pane keeps only the count of failures
    if (j.state === 'completed') state = j.failed > 0 ? (short ? `${j.failed} failed` : `completed, ${j.failed} failed`) : short ? 'done' : 'completed';
    if (j.state === 'failed' && j.error) state = `failed: ${j.error.code}`;
    const head = `#${j.id} ${glyph} ${progress} ${state}  `;
    return { head, room: width - head.length - dur.length - 2 - by.length };
  };
  let { head, room } = build(false);
  if (room < Math.min(10, line.length)) ({ head, room } = build(true));
  return `${head}${fit(line, Math.max(1, Math.min(room, line.length)))}  ${dur}${by}`;
}

/** What became of each node of a running job, as the engine keeps it (UiEngine.jobOutcomes). */
export type NodeOutcomeName = 'ok' | 'failed' | 'skipped';

export interface ProgressPart {
  readonly label: 'done' | 'failed' | 'skipped' | 'waiting';
  /** folded node set */
  readonly nodes: string;
  readonly count: number;
}

/**
 * A running job's summary, the nodes by outcome: `done sim[0001-0020] (20) · waiting … · failed …`
 * (empty outcomes left out; waiting is every target with no outcome yet).
 */
export function jobProgress(j: Pick<JobView, 'targets'>, outcomes: ReadonlyMap<string, NodeOutcomeName>): ProgressPart[] {
  const by: Record<ProgressPart['label'], string[]> = { done: [], failed: [], skipped: [], waiting: [] };
  for (const t of j.targets) {
    const o = outcomes.get(t);
    by[o === undefined ? 'waiting' : o === 'ok' ? 'done' : o].push(t);
  }
  return (['done', 'failed', 'skipped', 'waiting'] as const).filter((k) => by[k].length > 0).map((label) => ({ label, nodes: foldNodeSet(by[label]), count: by[label].length }));
}

export function formatProgress(parts: readonly ProgressPart[]): string {
  return visibleLine(parts.map((p) => `${p.label} ${p.nodes} (${p.count})`).join(' · '));
}

/** A thin bar of `width` cells: done, failed and skipped in proportion to the targets, the rest waiting. */
export function progressBar(parts: readonly ProgressPart[], width: number): { label: ProgressPart['label']; text: string }[] {
  const total = parts.reduce((a, p) => a + p.count, 0);
  if (total === 0 || width <= 0) return [];
  const out: { label: ProgressPart['label']; text: string }[] = [];
  let used = 0;
  let acc = 0;
  for (const p of parts) {
    acc += p.count;
    const end = Math.round((acc / total) * width);
    if (end > used) out.push({ label: p.label, text: (p.label === 'waiting' ? '─' : '━').repeat(end - used) });
    used = end;
  }
  return out;
}

/** What one event says about its node, as a line of output (undefined: nothing to show). */
function nodeLine(e: VacmEvent): string | undefined {
  switch (e.type) {
    case 'OUTPUT':
      return e.stream === 'stderr' ? `[stderr] ${e.line}` : e.line;
    case 'EXIT':
      return e.code === 0 ? undefined : `[exit ${e.code}${e.signal ? ` ${e.signal}` : ''}]`;
    case 'ERROR':
      return `${e.code}: ${e.message}`;
    case 'COPY':
      return copyLine(e);
    case 'POWER':
      return `power ${e.state}`;
    case 'BOOTDEV':
      return `next boot ${e.device} (${e.persistence}${e.efi ? ', efi' : ''})`;
    case 'IDENTIFY':
      return `identify ${e.state}`;
    case 'PING':
      return e.state === 'up' ? `up ${e.rttMs !== undefined ? e.rttMs.toFixed(3) + 'ms' : ''}`.trim() : `down ${e.reason ?? ''}`.trim();
    case 'STAT':
      return Object.entries(e.stats).map(([k, v]) => `${k}=${v}`).join(' ');
    case 'VAR':
      return `${e.key}=${e.value}`;
    case 'VAR_UNSET':
      return `${e.key} unset`;
    case 'SENSOR':
      return `${e.name} ${e.value} ${e.unit} ${e.status}`;
    case 'SEL':
      return `SEL ${e.id} ${e.time} ${e.sensor}: ${e.event} (${e.direction})`;
    case 'SEL_INFO':
      return `SEL ${e.entries} entries, ${e.freeBytes} bytes free, last add ${e.added}, last erase ${e.erased}`;
    case 'NODELIST':
      return undefined; // listed by the generic branch below
    default:
      return undefined;
  }
}

export interface JobOutput {
  /** per node, its lines in order */
  perNode: Map<string, string[]>;
  /** lines that belong to no node (MODULE, GROUP, HELP, JOB, ...) */
  general: string[];
  /** nodes that reported an error or a non-zero exit */
  failedNodes: Set<string>;
  terminal?: string;
  /** per node, the values its module gathers as a stat (ResultGathering), by stat label */
  stats: Map<string, Map<string, number>>;
  /** the stats' labels and units */
  statUnits: Map<string, string | undefined>;
}

const outputCache = new WeakMap<JobView, JobOutput>();
/** with the module's gather rules: the stat fields kept aside (the per-node view keeps them in its lines) */
const ruledOutputCache = new WeakMap<JobView, JobOutput>();

/**
 * Split a job's events into per-node lines and general lines. With the module's `gather` rules an
 * event's stat field is kept aside (its line is what nodes are grouped by). Cached per (immutable) job view.
 */
export function jobOutput(j: JobView, rules?: ResultGathering): JobOutput {
  const cache = rules ? ruledOutputCache : outputCache;
  const hit = cache.get(j);
  if (hit) return hit;
  const stats = new Map<string, Map<string, number>>();
  const statUnits = new Map<string, string | undefined>();
  const perNode = new Map<string, string[]>();
  const general: string[] = [];
  const failedNodes = new Set<string>();
  let terminal: string | undefined;
  let progress: Extract<VacmEvent, { type: 'PROGRESS' }> | undefined;
  for (const e of j.events) {
    if (e.type === 'ERROR' && e.node !== undefined) failedNodes.add(e.node);
    else if (e.type === 'EXIT' && e.code !== 0) failedNodes.add(e.node);
    if (e.type === 'JOB_COMPLETED') terminal = `completed: ok=${e.ok} failed=${e.failed}`;
    else if (e.type === 'JOB_FAILED') terminal = `failed: ${e.code}: ${e.message}`;
    else if (e.type === 'JOB_CANCELLED') terminal = 'cancelled';
    else if (e.type === 'JOB_STARTED') continue;
    else if (e.type === 'PROGRESS') progress = e; // only the latest is worth a line
    else {
      const node = 'node' in e && e.type !== 'NODELIST' ? (e as { node: string }).node : undefined;
      const stat = rules?.[e.type]?.stat;
      let ev: VacmEvent = e;
      if (node !== undefined && stat && stat.field in e) {
        const v = Number((e as unknown as Record<string, unknown>)[stat.field]);
        if (Number.isFinite(v)) (stats.get(node) ?? stats.set(node, new Map()).get(node)!).set(stat.label, v);
        statUnits.set(stat.label, stat.unit);
        ev = { ...e, [stat.field]: undefined } as VacmEvent;
      }
      const line = node !== undefined ? nodeLine(ev) : undefined;
      if (node !== undefined) {
        if (line !== undefined) {
          const arr = perNode.get(node);
          if (arr) arr.push(line);
          else perNode.set(node, [line]);
        }
      } else {
        const w = toWire(e);
        general.push(w.fields.join('  '));
      }
    }
  }
  if (progress && terminal === undefined) general.push(`${formatBytes(progress.bytes)} of ${formatBytes(progress.total)} copied, ${progress.done}/${progress.nodes} nodes done`);
  if (j.truncated > 0) general.push(`(${j.truncated} more events not kept)`);
  const out = { perNode, general, failedNodes, terminal, stats, statUnits };
  cache.set(j, out);
  return out;
}

/** A row of gathered output; `error` rows (a failed node's group, a failed job's end) take the error colour. */
export interface OutputRow {
  readonly text: string;
  readonly error: boolean;
  /** the folded node set of the group this row belongs to (its header and its lines) */
  readonly nodes?: string;
}

const gatheredCache = new WeakMap<JobView, OutputRow[]>();
const ruledGatheredCache = new WeakMap<JobView, OutputRow[]>();

/**
 * A job's output with identical per-node outputs gathered under folded node sets, the groups of
 * failed nodes first (what went wrong is what the operator looks for); one row per line, controls visible.
 */
export function gatheredJobRows(j: JobView, rules?: ResultGathering): OutputRow[] {
  const cache = rules ? ruledGatheredCache : gatheredCache;
  const hit = cache.get(j);
  if (hit) return hit;
  const o = jobOutput(j, rules);
  // a group's stats (PING's RTT) over its nodes, as min/avg/max lines under it
  const extra = o.statUnits.size === 0 ? undefined : (names: readonly string[]) => {
    const out: string[] = [];
    for (const [label, unit] of o.statUnits) {
      const line = statSummary(names.map((n) => o.stats.get(n)?.get(label) ?? NaN), label, unit);
      if (line) out.push(line);
    }
    return out;
  };
  const rows: OutputRow[] = o.general.map((text) => ({ text, error: false }));
  if (o.perNode.size > 0) {
    const bad: [string, string[]][] = [];
    const good: [string, string[]][] = [];
    for (const entry of o.perNode) (o.failedNodes.has(entry[0]) ? bad : good).push(entry);
    for (const g of gatherOutputs(bad, extra)) for (const text of formatGathered([g])) rows.push({ text, error: true, nodes: g.nodes });
    for (const g of gatherOutputs(good, extra)) for (const text of formatGathered([g])) rows.push({ text, error: false, nodes: g.nodes });
  }
  if (o.terminal) rows.push({ text: o.terminal, error: jobOutcome(j) === 'failed' });
  const shown = rows.map((r) => ({ ...r, text: visibleLine(r.text) }));
  cache.set(j, shown);
  return shown;
}

/** The gathered output's text alone. */
export function gatheredJobLines(j: JobView, rules?: ResultGathering): string[] {
  return gatheredJobRows(j, rules).map((r) => r.text);
}

const perNodeCache = new WeakMap<JobView, string[]>();

/** A job's full output, node by node (`node: line`), without gathering; one row per line, controls visible. */
export function perNodeJobLines(j: JobView): string[] {
  const hit = perNodeCache.get(j);
  if (hit) return hit;
  const o = jobOutput(j);
  const lines = [...o.general];
  const names = [...o.perNode.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  for (const n of names) for (const l of o.perNode.get(n)!) lines.push(`${n}: ${l}`);
  if (o.terminal) lines.push(o.terminal);
  const shown = lines.map(visibleLine);
  perNodeCache.set(j, shown);
  return shown;
}

/** The node each line of `perNodeJobLines` belongs to (undefined for general and terminal lines). */
export function perNodeLineNodes(j: JobView): (string | undefined)[] {
  const o = jobOutput(j);
  const out: (string | undefined)[] = o.general.map(() => undefined);
  const names = [...o.perNode.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  for (const n of names) for (let i = 0; i < o.perNode.get(n)!.length; i++) out.push(n);
  if (o.terminal) out.push(undefined);
  return out;
}

/**
 * A job's request on other nodes: its node-set field replaced (node sets never hold a colon, so the
 * field ends at the first one). Undefined for a request without a node set.
 */
export function requestOn(j: Pick<JobView, 'line' | 'tag' | 'command' | 'targets'>, nodes: string): string | undefined {
  const head = `${j.tag}:${j.command}:`;
  if (j.targets.length === 0 || !j.line.toUpperCase().startsWith(head.toUpperCase())) return undefined;
  const rest = j.line.slice(head.length);
  const i = rest.indexOf(':');
  return head + nodes + (i < 0 ? '' : rest.slice(i));
}
