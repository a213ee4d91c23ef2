/**
 * The dashboard's controller: what is focused, the cursor, marks, filter, sort, the open dialog —
 * and what each key does, looked up in the keymaps. It talks to the engine only through UiEngine
 * (submit/cancel/check/resolve); panes receive plain values.
 */
import { useEffect, useMemo, useReducer, useRef } from 'react';
import type { JobView, NodeView } from '../protocol/module.js';
import { NodeSet, foldNodeSet } from '../protocol/nodeset.js';
import { readOnlyRefusal, toVacmError } from '../protocol/errors.js';
import { maskRequestLine, setsSecret } from '../protocol/vars.js';
import type { ShellOutcome, Snapshot, UiEngine } from './ui-engine.js';
import { logsKey, shellKey } from './logshell-keys.js';
import { activeKeymaps, builtinKeyFor, helpLines, keyLabel, keyName, lookup, searchHelp, POWER_COMMANDS, type Action, type KeyInfo, type PaneId } from './keymaps.js';
import { CHART_SPANS_MS, SORT_KEYS, cellByLines, spanLabel, groupByFamily, nextTrouble, overviewLayout, rowFamily, sortNodes, gatheredJobRows, jobOutput, perNodeLineNodes, requestOn, type OverviewSection, type RowFamily, type SortKey } from './format.js';
import { complete } from './complete.js';
import { describeRequest, powerOffers, requestWarnings, type PowerOffer } from './power-menu.js';
import type { Line } from './panes/Overlay.js';
import { expandAction, usesNode, usesNodes, type CustomAction } from '../protocol/actions.js';
import { beforeCursor, editInput, inputOf, replaceBeforeCursor, type TextInput } from './text-input.js';

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
const MAX_HISTORY = 200;

export type Modal =
  | { kind: 'none' }
  | { kind: 'help'; scroll: number; search: TextInput; searching: boolean }
  | { kind: 'power'; targets: string[]; offers: readonly PowerOffer[] }
  | { kind: 'exec'; targets: string[]; input: TextInput }
  /** `prev`: the filter when the prompt opened (Esc goes back to it); `note`: why the live filter waits */
  | { kind: 'filter'; input: TextInput; prev?: Filter; candidates?: string[]; note?: string }
  | { kind: 'prompt'; input: TextInput; error?: string; candidates?: string[] }
  | { kind: 'confirm'; label: string; line: string; folded: string; count: number; typed: TextInput; needCount: boolean; from: 'prompt' | 'action'; head: string; warnings: readonly Line[]; blast?: string }
  | { kind: 'quit'; running: number }
  /** `cursor`: the line Space/m marks the group (or node) of */
  | { kind: 'output'; jobId: number; scroll: number; gathered: boolean; cursor: number }
  // the events timeline: `scroll` is the first line shown unless following; `editing` is the filter being typed
  | { kind: 'events'; scroll: number; follow: boolean; filter?: { expr: string; names: readonly string[] }; editing?: TextInput; error?: string };

/** Nodes-pane actions that work from every pane (they act on the marks or the node under the nodes pane's cursor). */
export const ANY_PANE_ACTIONS: ReadonlySet<Action> = new Set<Action>(['filter', 'power', 'exec', 'markAll', 'clearMarks', 'undo', 'sort', 'overview', 'logs']);

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

interface UiState {
  focus: PaneId;
  cursorName?: string;
  marks: ReadonlySet<string>;
  filter?: Filter;
  sort: SortKey;
  overview?: boolean;
  jobId?: number;
  modal: Modal;
  message?: Message;
  themeIdx: number;
  /** the load chart's span: an index into CHART_SPANS_MS */
  chartSpan: number;
}

function filterNodes(nodes: readonly NodeView[], filter: Filter | undefined, sort: SortKey): readonly NodeView[] {
  let list = nodes;
  if (filter) {
    if (filter.names) list = list.filter((n) => filter.names!.has(n.name));
    else {
      const t = filter.expr.toLowerCase();
      list = list.filter((n) => n.name.toLowerCase().includes(t));
    }
  }
  return sortNodes(list, sort);
}

export function useDashboard(snap: Snapshot, props: DashboardProps, layoutRef: { readonly current: Layout }) {
  const { engine } = props;
  const maps = useMemo(() => activeKeymaps(engine.readOnly), [engine.readOnly]);
  // a clashing key is refused when the dashboard starts (cli/tui.ts); never shadow a built-in key here either
  const actions = useMemo(() => (engine.actions ?? []).filter((a) => !builtinKeyFor(a.key, maps)), [engine.actions, maps]);
  // Key presses can arrive several in one tick (a paste, tmux send-keys): the state lives in a ref that
  // every handler reads and writes synchronously, and a counter re-renders.
  const st = useRef<UiState>({ focus: 'nodes', marks: new Set(), sort: 'name', modal: { kind: 'none' }, themeIdx: 0, chartSpan: 0 });
  const [, force] = useReducer((x: number) => x + 1, 0);
  const update = (patch: Partial<UiState>) => {
    st.current = { ...st.current, ...patch };
    force();
  };
  const setModal = (modal: Modal) => update({ modal });
  const setMessage = (message: Message | undefined) => update({ message });
  const setCursorName = (cursorName: string | undefined) => update({ cursorName });
  const setJobId = (jobId: number | undefined) => update({ jobId });
  const history = useRef<string[]>([...(props.history ?? [])]);
  const filterHistory = useRef<string[]>([]);
  const execHistory = useRef<string[]>([]);
  /** what Esc (and `a`) took away, newest last: `u` puts it back */
  const undoStack = useRef<{ marks: ReadonlySet<string>; filter?: Filter; what: string }[]>([]);
  const liveTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(liveTimer.current), []);
  const shownCache = useRef<{ nodes?: readonly NodeView[]; filter?: Filter; sort?: SortKey; rows?: RowFamily; shown: readonly NodeView[]; sections?: readonly OverviewSection[] }>({ shown: [] });
  // the overview's labelled rows: groups change only with the config, so the family is found once per node list
  const familyCache = useRef<{ nodes?: readonly NodeView[]; family?: RowFamily }>({});
  const snapRef = useRef(snap);
  snapRef.current = snap;

  const derive = () => {
    const s = st.current;
    const snap = snapRef.current;
    const isOverview = s.overview ?? snap.nodes.length > OVERVIEW_ABOVE;
    const fc = familyCache.current;
    if (fc.nodes !== snap.nodes) familyCache.current = { nodes: snap.nodes, family: rowFamily(snap.nodes) };
    const rows = isOverview ? familyCache.current.family : undefined;
    const c = shownCache.current;
    if (c.nodes !== snap.nodes || c.filter !== s.filter || c.sort !== s.sort || c.rows !== rows) {
      const g = groupByFamily(filterNodes(snap.nodes, s.filter, s.sort), rows);
      shownCache.current = { nodes: snap.nodes, filter: s.filter, sort: s.sort, rows, shown: g.nodes, sections: g.sections };
    }
    const { shown, sections } = shownCache.current;
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
  };
  const state = derive();
  const ref = { get current() { return derive(); } };

  const say = (text: string, error = false) => setMessage({ text, error });

  /** marked nodes in nodelist order, else the one under the cursor */
  const targets = (): string[] => {
    const s = ref.current;
    if (s.marks.size > 0) return snap.nodes.filter((n) => s.marks.has(n.name)).map((n) => n.name);
    return s.cursorNode ? [s.cursorNode.name] : [];
  };

  /** Submit now, or ask first when the request is dangerous. */
  const request = (line: string, from: 'prompt' | 'action', notes: readonly Line[] = [], askAnyway = false): boolean => {
    const c = engine.check(line);
    if (!c.ok) {
      if (from === 'prompt') return false;
      say(`${c.code}: ${c.message}`, true);
      return true;
    }
    if (c.dangerous && engine.readOnly) {
      say(c.label === 'SSH:EXEC' ? 'ERR_READ_ONLY: read-only runs only the commands exec.safe lists' : `ERR_READ_ONLY: ${c.label} changes things and vacm runs read-only`, true);
      return true;
    }
    if (c.dangerous || askAnyway) {
      const r = { ...c, names: c.names };
      const byName = new Map(snapRef.current.nodes.map((n) => [n.name, n] as const));
      const warnings = [...requestWarnings(r, byName, c.tag === 'POWER' ? engine.powerFacts(c.names) : undefined), ...notes];
      const modal: Modal = { kind: 'confirm', label: c.label, line: c.line, folded: c.folded, count: c.targets, typed: inputOf(), needCount: c.targets > TYPE_COUNT_ABOVE, from, head: describeRequest(r), warnings };
      if (c.tag === 'POWER' && c.command !== 'STATUS') {
        // the blast radius: how many of the targets are up, and how many of those have someone logged in
        const byState = new Map<string, number>();
        const up: string[] = [];
        for (const name of c.names) {
          const st = byName.get(name)?.state ?? 'unknown';
          byState.set(st, (byState.get(st) ?? 0) + 1);
          if (st === 'up') up.push(name);
        }
        const states = (['up', 'down', 'off', 'unknown'] as const).filter((x) => byState.has(x)).map((x) => `${byState.get(x)} ${x}`).join(' · ');
        const base = `${c.label} ${c.folded} (${c.targets}): ${states}`;
        modal.blast = up.length > 0 ? `${base} · counting users logged in…` : base;
        setModal(modal);
        if (up.length > 0) {
          void engine.usersLoggedIn(up, USERS_TIMEOUT_MS).then((users) => {
            const m = st.current.modal;
            if (m.kind !== 'confirm' || m.line !== c.line) return; // answered or replaced meanwhile
            const withUsers = [...users.values()].filter((n) => n > 0).length;
            const asked = users.size < up.length ? ` (${up.length - users.size} not asked: no SSH or no answer in ${USERS_TIMEOUT_MS / 1000} s)` : '';
            setModal({ ...m, blast: `${base} · ${withUsers} with users logged in${asked}` });
          });
        }
        return true;
      }
      setModal(modal);
      return true;
    }
    run(c.line);
    return true;
  };

  const run = (line: string) => {
    try {
      const { id } = engine.submit(line);
      setJobId(id);
      say(`job #${id}: ${maskRequestLine(line)}`);
    } catch (err) {
      const ve = toVacmError(err);
      say(`${ve.code}: ${ve.message}`, true);
    }
  };

  const moveNodes = (delta: number | 'home' | 'end') => {
    const s = ref.current;
    if (s.shown.length === 0) return;
    const i = delta === 'home' ? 0 : delta === 'end' ? s.shown.length - 1 : Math.max(0, Math.min(s.shown.length - 1, s.cursor + delta));
    setCursorName(s.shown[i].name);
  };

  const moveJobs = (delta: number | 'home' | 'end') => {
    const jobs = snap.jobs;
    if (jobs.length === 0) return;
    const s = ref.current;
    const i = delta === 'home' ? 0 : delta === 'end' ? jobs.length - 1 : Math.max(0, Math.min(jobs.length - 1, s.jobIdx + delta));
    setJobId(jobs[i].id);
  };

  const act = (action: Action) => {
    const s = ref.current;
    const layout = layoutRef.current;
    const onNodes = s.focus === 'nodes';
    const grid = onNodes && s.isOverview;
    const page = onNodes ? Math.max(1, layout.nodeRows - (grid ? 0 : 1)) : Math.max(1, layout.jobRows - 1);
    // the overview moves by its lines (a rack's row may be short): the same column on the line above or below
    const byLines = (lines: number) => moveNodes(cellByLines(overviewLayout(s.shown.length, s.sections, layout.overviewCols), s.cursor, lines) - s.cursor);
    const move = (d: number | 'home' | 'end', lines?: number) => (grid && lines !== undefined ? byLines(lines) : onNodes ? moveNodes(d) : moveJobs(d));
    switch (action) {
      case 'quit': {
        const running = snap.jobs.filter((j) => j.state === 'running' || j.state === 'queued').length;
        if (running > 0) setModal({ kind: 'quit', running });
        else props.onQuit();
        return;
      }
      case 'help': setModal({ kind: 'help', scroll: 0, search: inputOf(), searching: false }); return;
      case 'nextPane':
      case 'prevPane': {
        const order: PaneId[] = ['nodes', 'detail', 'jobs'];
        const i = order.indexOf(s.focus);
        update({ focus: order[(i + (action === 'nextPane' ? 1 : order.length - 1)) % order.length] });
        return;
      }
      case 'chartIn':
      case 'chartOut': {
        const i = Math.max(0, Math.min(CHART_SPANS_MS.length - 1, s.chartSpan + (action === 'chartIn' ? -1 : 1)));
        update({ chartSpan: i, message: { text: `load chart: the last ${spanLabel(CHART_SPANS_MS[i])}${i === s.chartSpan ? (action === 'chartIn' ? ' (the shortest span)' : ' (the longest span)') : ''}`, error: false } });
        return;
      }
      case 'theme': update({ themeIdx: (s.themeIdx + 1) % Math.max(1, props.themeCount) }); return;
      case 'prompt': setModal({ kind: 'prompt', input: inputOf() }); return;
      case 'cancelJob': {
        const j = s.selectedJob;
        if (j && (j.state === 'running' || j.state === 'queued')) {
          engine.cancel(j.id);
          say(`cancelling job #${j.id}`);
        } else say('no running job selected (Ctrl-C cancels the selected job in the jobs pane; q quits)');
        return;
      }
      case 'up': move(-1, -1); return;
      case 'down': move(1, 1); return;
      case 'left': if (onNodes && s.isOverview) move(-1); return;
      case 'right': if (onNodes && s.isOverview) move(1); return;
      case 'pageUp': move(-page, -page); return;
      case 'pageDown': move(page, page); return;
      case 'nextTrouble':
      case 'prevTrouble': {
        const i = nextTrouble(s.shown, s.cursor, action === 'nextTrouble' ? 1 : -1);
        if (i === undefined) return say(s.filter ? 'no node down or unknown among the shown nodes' : 'no node down or unknown');
        update({ cursorName: s.shown[i].name, message: { text: `${s.shown[i].name} ${s.shown[i].state}`, error: false } });
        return;
      }
      case 'home': move('home'); return;
      case 'end': move('end'); return;
      case 'mark': {
        const n = s.cursorNode;
        if (!n) return;
        const next = new Set(s.marks);
        if (next.has(n.name)) next.delete(n.name);
        else next.add(n.name);
        update({ marks: next });
        if (!s.isOverview) moveNodes(1);
        return;
      }
      case 'markAll':
        remember('marks');
        update({ marks: new Set(s.shown.map((n) => n.name)) });
        return;
      case 'clearMarks': {
        // one thing at a time, the filter first: marks are work, a filter is a view
        if (s.filter) {
          remember('filter');
          update({ filter: undefined });
          say(`filter ${s.filter.expr} cleared${s.marks.size ? ` (${s.marks.size} still marked; Esc again clears them)` : ''} · u undoes`);
        } else if (s.marks.size > 0) {
          remember('marks');
          update({ marks: new Set() });
          say(`${s.marks.size} marks cleared · u undoes`);
        } else say('nothing to clear (no filter, no marks)');
        return;
      }
      case 'undo': {
        const last = undoStack.current.pop();
        if (!last) return say('nothing to undo');
        update({ marks: last.marks, filter: last.filter });
        say(`undone: ${last.what} back${last.filter ? ` (filter ${last.filter.expr})` : ''}${last.marks.size ? ` (${last.marks.size} marked)` : ''}`);
        return;
      }
      case 'filter': setModal({ kind: 'filter', input: inputOf(s.filter?.expr ?? '', { selected: true }), prev: s.filter }); return;
      case 'clearFilter': update({ filter: undefined }); return;
      case 'sort': {
        const next = SORT_KEYS[(SORT_KEYS.indexOf(s.sort) + 1) % SORT_KEYS.length];
        update({ sort: next });
        say(`sorted by ${next}`);
        return;
      }
      case 'overview': update({ overview: !s.isOverview }); return;
      case 'power': {
        const t = targets();
        if (t.length === 0) return say('no node under the cursor', true);
        setModal({ kind: 'power', targets: t, offers: powerOffers(s.maps, engine.powerFacts(t)) });
        return;
      }
      case 'exec': {
        const t = targets();
        if (t.length === 0) return say('no node under the cursor', true);
        setModal({ kind: 'exec', targets: t, input: inputOf() });
        return;
      }
      case 'console': {
        const n = s.cursorNode;
        if (!n) return say('no node under the cursor', true);
        if (!engine.openConsole || !props.onConsole) return say('this vacm has no serial consoles', true);
        props.onConsole(n.name);
        return;
      }
      case 'shell': return shellKey({ engine, cursorNode: s.cursorNode?.name, targets: [], say, onShell: props.onShell });
      case 'logs': return logsKey({ engine, targets: targets(), say, onLogs: props.onLogs });
      case 'open':
        if (s.selectedJob) setModal({ kind: 'output', jobId: s.selectedJob.id, scroll: 0, gathered: false, cursor: 0 });
        return;
      case 'events': setModal({ kind: 'events', scroll: 0, follow: true }); return;
      default:
        return;
    }
  };

  /** Keep what is about to be cleared, for `u`. */
  const remember = (what: string) => {
    const s = st.current;
    undoStack.current.push({ marks: s.marks, filter: s.filter, what });
    if (undoStack.current.length > 20) undoStack.current.shift();
  };

  /** The filter an expression means: a node set of this cluster, else text matched in names; `incomplete` while typing a node set. */
  const filterOf = (text: string): { filter?: Filter; incomplete?: string } => {
    const expr = text.trim();
    if (expr === '') return {};
    try {
      return { filter: { expr, names: new Set(engine.resolve(expr)) } };
    } catch (err) {
      // half a node set (`sim[0001-`, `@rack`) keeps the last result on screen instead of flashing "no node matches"
      const why = toVacmError(err).message;
      return { filter: { expr }, incomplete: /[[\]@,!&^]/.test(expr) ? why : undefined };
    }
  };

  const applyFilter = (text: string) => {
    update({ filter: filterOf(text).filter, cursorName: undefined });
  };

  /** The filter follows the prompt as it is typed; on big clusters only after a pause in typing. */
  const liveFilter = (text: string) => {
    clearTimeout(liveTimer.current);
    const now = () => {
      const m = st.current.modal;
      if (m.kind !== 'filter') return;
      const f = filterOf(text);
      if (f.incomplete) {
        if (m.note !== f.incomplete) update({ modal: { ...m, note: f.incomplete } });
        return;
      }
      update({ filter: f.filter, cursorName: undefined, modal: m.note ? { ...m, note: undefined } : m });
    };
    if (snapRef.current.nodes.length >= DEBOUNCE_FROM) liveTimer.current = setTimeout(now, FILTER_DEBOUNCE_MS);
    else now();
  };

  const pushHistory = (h: string[], line: string) => {
    if (line === '' || h[h.length - 1] === line) return;
    h.push(line);
    if (h.length > MAX_HISTORY) h.shift();
  };

  /** Tab in a node-set input: complete the name or @group before the cursor (the NODES field of a request). */
  const completeNodes = (inp: TextInput): { input: TextInput; candidates?: string[] } => {
    const head = 'X:Y:';
    const c = complete(head + beforeCursor(inp), { modules: [], nodes: snapNodes(), groups: engine.registry.groups() });
    return { input: replaceBeforeCursor(inp, c.line.slice(head.length)), candidates: c.candidates.length > 1 ? c.candidates : undefined };
  };

  const onKey = (input: string, key: KeyInfo): void => {
    // a chunk of typed text with Enter/Tab/Backspace in it (fast typing, a paste, send-keys): one key at a time
    if (input.length > 1 && /[\r\n\t\x7f\x08]/.test(input)) {
      for (const part of input.match(/[\r\n\t\x7f\x08]|[^\r\n\t\x7f\x08]+/g) ?? []) {
        if (part === '\r' || part === '\n') onKey('', { return: true });
        else if (part === '\t') onKey('', { tab: true });
        else if (part === '\x7f' || part === '\x08') onKey('', { backspace: true });
        else onKey(part, {});
      }
      return;
    }
    const s = ref.current;
    const m = s.modal;
    const typing = (m.kind === 'events' && m.editing !== undefined) || (m.kind === 'help' && m.searching) || m.kind === 'prompt' || m.kind === 'filter' || m.kind === 'exec' || (m.kind === 'confirm' && m.needCount);
    if (!typing && input.length > 1 && !key.ctrl && !key.meta) {
      for (const ch of input) onKey(ch, {});
      return;
    }
    const name = keyName(input, key);
    const close = () => setModal({ kind: 'none' });
    switch (m.kind) {
      case 'none': {
        const b = lookup(s.maps[s.focus], name) ?? lookup(s.maps.global, name);
        if (b) return act(b.action);
        const custom = actions.find((a) => a.key === name);
        if (custom) return runAction(custom);
        if (s.focus !== 'nodes') {
          // node actions act on the marks (or the cursor's node) wherever the focus is; the rest say where they work
          const nb = lookup(s.maps.nodes, name);
          if (nb && ANY_PANE_ACTIONS.has(nb.action)) return act(nb.action);
          if (nb) return say(`${keyLabel(name)} (${nb.description}) works in the nodes pane: Tab goes there`);
        }
        return;
      }
      case 'help': {
        if (m.searching) {
          if (name === 'return') return setModal({ ...m, searching: false });
          if (name === 'escape' || name === 'ctrl+c') return setModal({ ...m, searching: false, search: inputOf(), scroll: 0 });
          const t = editInput(m.search, name, input);
          if (t !== undefined) setModal({ ...m, search: t, scroll: 0 });
          return;
        }
        const b = lookup(s.maps.help, name);
        if (!b) return;
        const total = searchHelp(helpLines(s.maps, actions), m.search.text).length;
        const rows = Math.max(1, layoutRef.current.helpRows);
        const last = Math.max(0, total - rows);
        const to = (n: number) => setModal({ ...m, scroll: Math.max(0, Math.min(last, n)) });
        switch (b.action) {
          case 'up': return to(m.scroll - 1);
          case 'down': return to(m.scroll + 1);
          case 'pageUp': return to(m.scroll - Math.max(1, rows - 1));
          case 'pageDown': return to(m.scroll + Math.max(1, rows - 1));
          case 'home': return to(0);
          case 'end': return to(last);
          case 'helpSearch': return setModal({ ...m, searching: true, search: inputOf(m.search.text, { selected: true }), scroll: 0 });
          case 'close': return name === 'escape' && m.search.text !== '' ? setModal({ ...m, search: inputOf(), scroll: 0 }) : close();
          default: return;
        }
      }
      case 'events': {
        if (m.editing !== undefined) {
          if (name === 'escape' || name === 'ctrl+c') return setModal({ ...m, editing: undefined, error: undefined });
          if (name === 'return') {
            const expr = m.editing.text.trim();
            if (expr === '') return setModal({ ...m, editing: undefined, filter: undefined, error: undefined, scroll: 0 });
            try {
              return setModal({ ...m, editing: undefined, filter: { expr, names: engine.resolve(expr) }, error: undefined, scroll: 0 });
            } catch (err) {
              const ve = toVacmError(err);
              return setModal({ ...m, error: `${ve.code}: ${ve.message}` });
            }
          }
          const t = editInput(m.editing, name, input);
          if (t !== undefined) setModal({ ...m, editing: t, error: undefined });
          return;
        }
        const b = lookup(s.maps.events, name);
        if (!b) return;
        const total = engine.events?.(m.filter ? { nodes: m.filter.names } : {}).length ?? 0;
        const rows = Math.max(1, layoutRef.current.outputRows);
        const last = Math.max(0, total - rows);
        // moving up leaves follow mode; reaching the end again (End, G) takes it back
        const from = m.follow ? last : Math.min(m.scroll, last);
        const to = (n: number) => {
          const scroll = Math.max(0, Math.min(last, n));
          setModal({ ...m, scroll, follow: scroll >= last && n >= last });
        };
        switch (b.action) {
          case 'up': return to(from - 1);
          case 'down': return to(from + 1);
          case 'pageUp': return to(from - Math.max(1, rows - 1));
          case 'pageDown': return to(from + Math.max(1, rows - 1));
          case 'home': return to(0);
          case 'end': return to(last);
          case 'eventsFollow': return setModal({ ...m, follow: !m.follow, scroll: from });
          case 'eventsFilter': return setModal({ ...m, editing: inputOf(m.filter?.expr ?? '', { selected: true }) });
          case 'close': return name === 'escape' && m.filter ? setModal({ ...m, filter: undefined, scroll: 0 }) : close();
          default: return;
        }
      }
      case 'quit':
        if (name === 'y' || name === 'return') props.onQuit();
        else if (name === 'n' || name === 'escape' || name === 'q') close();
        return;
      case 'power': {
        if (name === 'escape' || name === 'p' || name === 'q') return close();
        const o = m.offers.find((x) => x.binding.keys.includes(name));
        if (!o) return;
        if (o.disabledReason) return say(`${o.binding.description}: ${o.disabledReason}`, true);
        const cmd = POWER_COMMANDS[o.binding.action]!;
        close();
        const notes: Line[] = o.leftOut.length ? [[{ text: `left out, their driver cannot ${o.action}: ${o.leftOut.join(', ')}`, slot: 'dim' }]] : [];
        request(`POWER:${cmd}:${foldNodeSet([...o.targets])}`, 'action', notes);
        return;
      }
      case 'exec': {
        if (!m.input.search) {
          if (name === 'escape' || name === 'ctrl+c') return close();
          if (name === 'return') {
            const command = m.input.text;
            if (command.trim() === '') return close();
            pushHistory(execHistory.current, command);
            close();
            request(`SSH:EXEC:${foldNodeSet(m.targets)}:${command}`, 'action');
            return;
          }
        }
        const t = editInput(m.input, name, input, execHistory.current);
        if (t !== undefined) setModal({ ...m, input: t });
        return;
      }
      case 'filter': {
        if (!m.input.search) {
          if (name === 'escape' || name === 'ctrl+c') {
            // back to the filter the prompt opened on: Esc in the prompt never loses a view
            clearTimeout(liveTimer.current);
            update({ modal: { kind: 'none' }, filter: m.prev });
            return;
          }
          if (name === 'return') {
            clearTimeout(liveTimer.current);
            pushHistory(filterHistory.current, m.input.text.trim());
            if (m.prev && m.prev.expr !== m.input.text.trim()) {
              undoStack.current.push({ marks: s.marks, filter: m.prev, what: 'filter' });
            }
            close();
            applyFilter(m.input.text);
            return;
          }
          if (name === 'tab') {
            const c = completeNodes(m.input);
            setModal({ ...m, input: c.input, candidates: c.candidates });
            if (c.input.text !== m.input.text) liveFilter(c.input.text);
            return;
          }
        }
        const t = editInput(m.input, name, input, filterHistory.current);
        if (t === undefined) return;
        setModal({ ...m, input: t, candidates: undefined });
        if (t.text !== m.input.text) liveFilter(t.text);
        return;
      }
      case 'prompt': {
        if (m.input.search) {
          const t = editInput(m.input, name, input, history.current);
          if (t !== undefined) setModal({ ...m, input: t, error: undefined, candidates: undefined });
          return;
        }
        if (name === 'escape' || name === 'ctrl+c') return close();
        if (name === 'return') {
          const line = m.input.text.trim();
          if (line === '') return close();
          const c = engine.check(line);
          if (!c.ok) {
            setModal({ ...m, error: `${c.code}: ${c.message}`, candidates: undefined });
            return;
          }
          if (c.dangerous && engine.readOnly) {
            setModal({ ...m, error: `ERR_READ_ONLY: ${readOnlyRefusal(c.label).message}`, candidates: undefined });
            return;
          }
          const h = history.current;
          // a request that sets a secret is not kept: up-arrow must not bring the password back
          if (h[h.length - 1] !== line && !setsSecret(line)) {
            h.push(line);
            props.onHistory?.(line);
          }
          close();
          request(line, 'prompt');
          return;
        }
        if (name === 'tab') {
          // a custom action's name completes to its request on the current targets
          const typed = beforeCursor(m.input);
          if (!typed.includes(':')) {
            const hits = actions.filter((a) => a.name.toLowerCase().startsWith(typed.toLowerCase()) && typed !== '');
            if (hits.length === 1) {
              const line = actionLine(hits[0]);
              if (line) setModal({ ...m, input: replaceBeforeCursor(m.input, line), candidates: undefined, error: undefined });
              return;
            }
          }
          const mods = engine.registry.modules();
          const c = complete(beforeCursor(m.input), { modules: mods, nodes: snapNodes(), groups: engine.registry.groups() });
          const named = typed.includes(':') ? [] : actions.filter((a) => a.name.toLowerCase().startsWith(typed.toLowerCase())).map((a) => `${a.name} (${keyLabel(a.key)})`);
          const cands = [...named, ...c.candidates];
          setModal({ ...m, input: replaceBeforeCursor(m.input, c.line), candidates: cands.length > 1 ? cands : undefined, error: undefined });
          return;
        }
        const t = editInput(m.input, name, input, history.current);
        if (t !== undefined) setModal({ ...m, input: t, error: undefined, candidates: undefined });
        return;
      }
      case 'confirm': {
        if (name === 'escape' || name === 'ctrl+c' || (!m.needCount && (name === 'n' || name === 'q'))) {
          close();
          say('cancelled: nothing was done');
          return;
        }
        if (m.needCount) {
          if (name === 'return') {
            if (m.typed.text.trim() === String(m.count)) {
              close();
              run(m.line);
            } else setModal({ ...m, typed: inputOf() });
            return;
          }
          const t = editInput(m.typed, name, input);
          if (t !== undefined && /^\d*$/.test(t.text) && !t.search) setModal({ ...m, typed: t });
          return;
        }
        if (name === 'y' || name === 'return') {
          close();
          run(m.line);
        }
        return;
      }
      case 'output': {
        if (name === 'escape' || name === 'q' || name === 'return') return close();
        if (name === 'g') return setModal({ ...m, gathered: !m.gathered, scroll: 0, cursor: 0 });
        const job = snapRef.current.jobs.find((j) => j.id === m.jobId);
        const lineNodes = job ? (m.gathered ? gatheredJobRows(job).map((r) => r.nodes) : perNodeLineNodes(job)) : [];
        if (name === 'space' || name === 'm') return markOutputGroup(lineNodes[m.cursor]);
        if (name === 'F') return markFailed(job);
        if (name === 'r') return rerun(job);
        const body = Math.max(1, layoutRef.current.outputRows);
        const page = Math.max(1, body - 1);
        const d = name === 'up' || name === 'k' ? -1 : name === 'down' || name === 'j' ? 1 : name === 'pageup' ? -page : name === 'pagedown' ? page : name === 'home' ? -1e9 : name === 'end' || name === 'G' ? 1e9 : 0;
        if (d === 0) return;
        const cursor = Math.max(0, Math.min(Math.max(0, lineNodes.length - 1), m.cursor + d));
        const scroll = cursor < m.scroll ? cursor : cursor >= m.scroll + body ? cursor - body + 1 : m.scroll;
        setModal({ ...m, cursor, scroll });
        return;
      }
    }
  };

  const snapNodes = () => snap.nodes.map((n) => n.name);

  /** A custom action's request for the current targets (marks, else the cursor's node), or undefined after saying why not. */
  const actionLine = (a: CustomAction): string | undefined => {
    const t = targets();
    const cursorNode = ref.current.cursorNode?.name;
    if ((usesNodes(a) && t.length === 0) || (usesNode(a) && !cursorNode)) {
      say(`${a.name}: no node under the cursor`, true);
      return undefined;
    }
    return expandAction(a.request, { nodes: t.length ? foldNodeSet(t) : '', node: cursorNode ?? '' });
  };

  /** A custom action's key: its request, confirmed when dangerous or when the action says confirm: true. */
  const runAction = (a: CustomAction) => {
    const line = actionLine(a);
    if (line === undefined) return;
    request(line, 'action', [[{ text: `custom action "${a.name}" (${keyLabel(a.key)})`, slot: 'dim' }]], a.confirm);
  };

  /** Space/m in a job's output: the nodes of the group under the cursor join the marks (or leave them, when all are marked). */
  const markOutputGroup = (folded: string | undefined) => {
    if (!folded) return say('no node group on this line: move to a group (its header or its lines)');
    const names = NodeSet.parse(folded).expand();
    const s = st.current;
    remember('marks');
    const next = new Set(s.marks);
    const all = names.every((n) => next.has(n));
    for (const n of names) (all ? next.delete(n) : next.add(n));
    update({ marks: next });
    say(`${all ? 'unmarked' : 'marked'} ${folded} (${names.length}) · ${next.size} marked · r re-runs on the marked nodes`);
  };

  /** F: the marks become exactly the job's failed nodes. */
  const markFailed = (job: JobView | undefined) => {
    const failed = job ? [...jobOutput(job).failedNodes] : [];
    if (failed.length === 0) return say('no node failed in this job');
    remember('marks');
    update({ marks: new Set(failed) });
    say(`marked the ${failed.length} failed: ${foldNodeSet(failed)} · r re-runs on them`);
  };

  /** r: the job's request again, on the marked nodes (else its failed ones), confirmed like any other. */
  const rerun = (job: JobView | undefined) => {
    if (!job) return say('the job is gone (only the newest jobs are kept)', true);
    const s = st.current;
    const names = s.marks.size > 0 ? [...s.marks] : [...jobOutput(job).failedNodes];
    if (names.length === 0) return say('nothing to re-run on: mark a group (Space) or the failed nodes (F) first');
    // the shown request has its secrets masked: re-sending it would set the mask
    if (setsSecret(job.line)) return say('this request sets a secret, which is not kept: type it again in the : prompt', true);
    const line = requestOn(job, foldNodeSet(names));
    if (!line) return say(`${job.tag}:${job.command} has no node set to re-run on`, true);
    setModal({ kind: 'none' });
    request(line, 'action');
  };

  return { ...state, onKey };
}
