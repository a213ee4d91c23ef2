/**
 * The dashboard's state, apart from what keys do with it: what is focused, the cursor, marks,
 * filter, sort, the open dialog (`Modal`), and the view derived from it and the engine's snapshot
 * (the shown nodes, the cursor's node, the selected job). Pure: no React, no engine calls.
 * The actions are in src/ui/pane-actions.ts and src/ui/dialog-actions.ts, the hook that holds the
 * state in src/ui/use-dashboard.ts.
 */
import type { JobView, NodeView } from '../protocol/module.js';
import type { CustomAction } from '../protocol/actions.js';
import type { ShellOutcome, Snapshot, UiEngine } from './ui-engine.js';
import type { Keymaps, PaneAction, PaneId } from './keymaps.js';
import { CHART_SPANS_MS, groupByFamily, rowFamily, sortNodes, type OverviewSection, type RowFamily, type SortKey } from './format.js';
import type { PowerOffer, PowerSubChoice } from './power-menu.js';
import type { Line } from './panes/Overlay.js';
import type { TextInput } from './text-input.js';

/** More targets than this and the confirmation asks to type their count. */
export const TYPE_COUNT_ABOVE = 16;
/** How long a confirmation waits for `who` on the nodes it would power off (the count comes in when it does). */
export const USERS_TIMEOUT_MS = 2000;
/** Clusters bigger than this open in the overview. */
export const OVERVIEW_ABOVE = 512;
/** From this many nodes on, the live filter waits for a pause in typing (FILTER_DEBOUNCE_MS) before it filters. */
export const DEBOUNCE_FROM = 4096;
export const FILTER_DEBOUNCE_MS = 150;
/** Longest filter / exec history kept in memory. */
export const MAX_HISTORY = 200;

export type Modal =
  | { kind: 'none' }
  | { kind: 'help'; scroll: number; search: TextInput; searching: boolean }
  | { kind: 'power'; targets: string[]; offers: readonly PowerOffer[]; sub?: PowerSubChoice }
  | { kind: 'exec'; targets: string[]; input: TextInput }
  /** `prev`: the filter when the prompt opened (Esc goes back to it); `note`: why the live filter waits */
  | { kind: 'filter'; input: TextInput; prev?: Filter; candidates?: string[]; note?: string }
  | { kind: 'prompt'; input: TextInput; error?: string; candidates?: string[] }
  | { kind: 'confirm'; label: string; line: string; folded: string; count: number; typed: TextInput; needCount: boolean; from: 'prompt' | 'action'; head: string; warnings: readonly Line[]; blast?: string }
  | { kind: 'quit'; running: number }
  /** the sort picker: `cursor` is an index into SORTS */
  | { kind: 'sort'; cursor: number }
  /** `cursor`: the line Space/m marks the group (or node) of */
  | { kind: 'output'; jobId: number; scroll: number; gathered: boolean; cursor: number }
  // the events timeline: `scroll` is the first line shown unless following; `editing` is the filter being typed
  | { kind: 'events'; scroll: number; follow: boolean; filter?: { expr: string; names: readonly string[] }; editing?: TextInput; error?: string };

export type ModalOf<K extends Modal['kind']> = Extract<Modal, { kind: K }>;

/** Nodes-pane actions that work from every pane (they act on the marks or the node under the nodes pane's cursor). */
export const ANY_PANE_ACTIONS: ReadonlySet<PaneAction> = new Set<PaneAction>(['filter', 'power', 'exec', 'markAll', 'clearMarks', 'undo', 'sort', 'reverseSort', 'overview', 'logs']);

export interface Filter {
  expr: string;
  /** node-set filter; undefined for a text filter */
  names?: ReadonlySet<string>;
}

export interface Message {
  text: string;
  error: boolean;
}

export interface DashboardProps {
  engine: UiEngine;
  /** prompt history, oldest first (the CLI reads it from the state dir) */
  history?: readonly string[];
  onHistory?(line: string): void;
  onQuit(): void;
  themeCount: number;
  /** open the node's serial console full screen (App shows it over the dashboard) */
  onConsole?(node: string): void;
  /** S: the system ssh to the node on this terminal (App hands the terminal over and back) */
  onShell?(node: string): Promise<ShellOutcome>;
  /** L: the log view over these nodes (App shows it over the dashboard) */
  onLogs?(nodes: readonly string[]): void;
}

export interface Layout {
  /** rows of the nodes list (list mode) */
  nodeRows: number;
  /** cells per line in the overview */
  overviewCols: number;
  jobRows: number;
  outputRows: number;
  /** body rows of the help overlay */
  helpRows: number;
}

export interface UiState {
  focus: PaneId;
  cursorName?: string;
  marks: ReadonlySet<string>;
  filter?: Filter;
  sort: SortKey;
  /** the sort inverted (r) */
  sortReverse: boolean;
  overview?: boolean;
  jobId?: number;
  modal: Modal;
  message?: Message;
  themeIdx: number;
  /** the load chart's span: an index into CHART_SPANS_MS */
  chartSpan: number;
  /** the focused pane fills the screen (z) */
  zoom: boolean;
}

export const INITIAL_STATE: UiState = { focus: 'nodes', marks: new Set(), sort: 'name', sortReverse: false, modal: { kind: 'none' }, themeIdx: 0, chartSpan: 0, zoom: false };

/** What Esc (and `a`, and a new filter) took away: `u` puts it back. */
export interface UndoStep {
  marks: ReadonlySet<string>;
  filter?: Filter;
  what: string;
}

export function filterNodes(nodes: readonly NodeView[], filter: Filter | undefined, sort: SortKey, reverse = false): readonly NodeView[] {
  let list = nodes;
  if (filter) {
    if (filter.names) list = list.filter((n) => filter.names!.has(n.name));
    else {
      const t = filter.expr.toLowerCase();
      list = list.filter((n) => n.name.toLowerCase().includes(t));
    }
  }
  return sortNodes(list, sort, reverse);
}

/** What derive() keeps between frames: the shown list is recomputed only when its inputs change. */
export interface ViewCache {
  shown: { nodes?: readonly NodeView[]; filter?: Filter; sort?: SortKey; reverse?: boolean; rows?: RowFamily; shown: readonly NodeView[]; sections?: readonly OverviewSection[] };
  /** the overview's labelled rows: groups change only with the config, so the family is found once per node list */
  family: { nodes?: readonly NodeView[]; family?: RowFamily };
}

export const newViewCache = (): ViewCache => ({ shown: { shown: [] }, family: {} });

/**
 * Whether two node lists hold the same groups, node by node. Every snapshot is a new list (stats
 * arrive every second), but a node's view keeps its frozen groups array until they change, so an
 * identity check per node tells whether the family could differ: at 16 384 nodes that replaces a
 * regex per group per snapshot.
 */
function sameGroupLists(a: readonly NodeView[] | undefined, b: readonly NodeView[]): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].groups !== b[i].groups) return false;
  return true;
}

/** The state as the panes see it: the shown nodes (filtered, sorted, by rack row), the cursor's node, the selected job. */
export function deriveView(s: UiState, snap: Snapshot, cache: ViewCache, maps: Keymaps, actions: readonly CustomAction[]) {
  const isOverview = s.overview ?? snap.nodes.length > OVERVIEW_ABOVE;
  if (cache.family.nodes !== snap.nodes) {
    const family = sameGroupLists(cache.family.nodes, snap.nodes) ? cache.family.family : rowFamily(snap.nodes);
    cache.family = { nodes: snap.nodes, family };
  }
  const rows = isOverview ? cache.family.family : undefined;
  const c = cache.shown;
  // sorted once per snapshot (a new node list), filter or sort: never per frame
  if (c.nodes !== snap.nodes || c.filter !== s.filter || c.sort !== s.sort || c.reverse !== s.sortReverse || c.rows !== rows) {
    const g = groupByFamily(filterNodes(snap.nodes, s.filter, s.sort, s.sortReverse), rows);
    cache.shown = { nodes: snap.nodes, filter: s.filter, sort: s.sort, reverse: s.sortReverse, rows, shown: g.nodes, sections: g.sections };
  }
  const { shown, sections } = cache.shown;
  let cursor = s.cursorName === undefined ? 0 : shown.findIndex((n) => n.name === s.cursorName);
  if (cursor < 0) cursor = 0;
  const jobs = snap.jobs;
  let jobIdx = s.jobId === undefined ? 0 : jobs.findIndex((j) => j.id === s.jobId);
  if (jobIdx < 0) jobIdx = 0;
  return {
    ...s,
    maps,
    actions,
    shown,
    cursor,
    cursorNode: shown[cursor] as NodeView | undefined,
    isOverview,
    sections,
    chartSpanMs: CHART_SPANS_MS[s.chartSpan],
    jobIdx,
    selectedJob: jobs[jobIdx] as JobView | undefined,
  };
}

export type View = ReturnType<typeof deriveView>;
