/**
 * The dashboard's controller: what is focused, the cursor, marks, filter, sort, the open dialog —
 * and what each key does, looked up in the keymaps. It talks to the engine only through UiEngine
 * (submit/cancel/check/resolve); panes receive plain values.
 */
import { useMemo, useReducer, useRef } from 'react';
import type { JobView, NodeView } from '../protocol/module.js';
import { foldNodeSet } from '../protocol/nodeset.js';
import { readOnlyRefusal, toVacmError } from '../protocol/errors.js';
import { maskRequestLine, setsSecret } from '../protocol/vars.js';
import type { Snapshot, UiEngine } from './ui-engine.js';
import { activeKeymaps, helpLines, keyName, lookup, searchHelp, POWER_COMMANDS, type Action, type KeyInfo, type PaneId } from './keymaps.js';
import { CHART_SPANS_MS, SORT_KEYS, cellByLines, spanLabel, groupByFamily, nextTrouble, overviewLayout, rowFamily, sortNodes, type OverviewSection, type RowFamily, type SortKey } from './format.js';
import { complete } from './complete.js';
import { describeRequest, powerOffers, requestWarnings, type PowerOffer } from './power-menu.js';
import type { Line } from './panes/Overlay.js';

/** More targets than this and the confirmation asks to type their count. */
export const TYPE_COUNT_ABOVE = 16;
/** How long a confirmation waits for `who` on the nodes it would power off (the count comes in when it does). */
export const USERS_TIMEOUT_MS = 2000;
/** Clusters bigger than this open in the overview. */
export const OVERVIEW_ABOVE = 512;

export type Modal =
  | { kind: 'none' }
  | { kind: 'help'; scroll: number; search: string; searching: boolean }
  | { kind: 'power'; targets: string[]; offers: readonly PowerOffer[] }
  | { kind: 'exec'; targets: string[]; text: string }
  | { kind: 'filter'; text: string }
  | { kind: 'prompt'; text: string; error?: string; candidates?: string[]; hist: number }
  | { kind: 'confirm'; label: string; line: string; folded: string; count: number; typed: string; needCount: boolean; from: 'prompt' | 'action'; head: string; warnings: readonly Line[]; blast?: string }
  | { kind: 'quit'; running: number }
  | { kind: 'output'; jobId: number; scroll: number; gathered: boolean }
  // the events timeline: `scroll` is the first line shown unless following; `editing` is the filter being typed
  | { kind: 'events'; scroll: number; follow: boolean; filter?: { expr: string; names: readonly string[] }; editing?: string; error?: string };

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
  const request = (line: string, from: 'prompt' | 'action', notes: readonly Line[] = []): boolean => {
    const c = engine.check(line);
    if (!c.ok) {
      if (from === 'prompt') return false;
      say(`${c.code}: ${c.message}`, true);
      return true;
    }
    if (c.dangerous) {
      const r = { ...c, names: c.names };
      const byName = new Map(snapRef.current.nodes.map((n) => [n.name, n] as const));
      const warnings = [...requestWarnings(r, byName, c.tag === 'POWER' ? engine.powerFacts(c.names) : undefined), ...notes];
      const modal: Modal = { kind: 'confirm', label: c.label, line: c.line, folded: c.folded, count: c.targets, typed: '', needCount: c.targets > TYPE_COUNT_ABOVE, from, head: describeRequest(r), warnings };
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
      case 'help': setModal({ kind: 'help', scroll: 0, search: '', searching: false }); return;
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
      case 'prompt': setModal({ kind: 'prompt', text: '', hist: history.current.length }); return;
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
      case 'markAll': update({ marks: new Set(s.shown.map((n) => n.name)) }); return;
      case 'clearMarks': update({ marks: new Set(), filter: undefined, message: undefined }); return;
      case 'filter': setModal({ kind: 'filter', text: s.filter?.expr ?? '' }); return;
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
        setModal({ kind: 'exec', targets: t, text: '' });
        return;
      }
      case 'console': {
        const n = s.cursorNode;
        if (!n) return say('no node under the cursor', true);
        if (!engine.openConsole || !props.onConsole) return say('this vacm has no serial consoles', true);
        props.onConsole(n.name);
        return;
      }
      case 'open':
        if (s.selectedJob) setModal({ kind: 'output', jobId: s.selectedJob.id, scroll: 0, gathered: false });
        return;
      case 'events': setModal({ kind: 'events', scroll: 0, follow: true }); return;
      default:
        return;
    }
  };

  const applyFilter = (text: string) => {
    const expr = text.trim();
    if (expr === '') {
      update({ filter: undefined });
      return;
    }
    let filter: Filter;
    try {
      filter = { expr, names: new Set(engine.resolve(expr)) };
    } catch {
      filter = { expr }; // not a node set of this cluster: match names as text
    }
    update({ filter, cursorName: undefined });
  };

  /** Printable input and editing keys for the text fields; returns the new text. */
  const edit = (text: string, input: string, name: string): string | undefined => {
    if (name === 'backspace') return text.slice(0, -1);
    if (name === 'ctrl+u') return '';
    if (name.startsWith('ctrl+') || name === 'up' || name === 'down' || name === 'left' || name === 'right' || name === 'tab' || name === 'shift+tab') return undefined;
    if (input && !/[\x00-\x1f]/.test(input)) return text + input;
    if (name === 'space') return text + ' ';
    return undefined;
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
        if (b) act(b.action);
        return;
      }
      case 'help': {
        if (m.searching) {
          if (name === 'return') return setModal({ ...m, searching: false });
          if (name === 'escape' || name === 'ctrl+c') return setModal({ ...m, searching: false, search: '', scroll: 0 });
          const t = edit(m.search, input, name);
          if (t !== undefined) setModal({ ...m, search: t, scroll: 0 });
          return;
        }
        const b = lookup(s.maps.help, name);
        if (!b) return;
        const total = searchHelp(helpLines(s.maps), m.search).length;
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
          case 'helpSearch': return setModal({ ...m, searching: true, scroll: 0 });
          case 'close': return name === 'escape' && m.search !== '' ? setModal({ ...m, search: '', scroll: 0 }) : close();
          default: return;
        }
      }
      case 'events': {
        if (m.editing !== undefined) {
          if (name === 'escape' || name === 'ctrl+c') return setModal({ ...m, editing: undefined, error: undefined });
          if (name === 'return') {
            const expr = m.editing.trim();
            if (expr === '') return setModal({ ...m, editing: undefined, filter: undefined, error: undefined, scroll: 0 });
            try {
              return setModal({ ...m, editing: undefined, filter: { expr, names: engine.resolve(expr) }, error: undefined, scroll: 0 });
            } catch (err) {
              const ve = toVacmError(err);
              return setModal({ ...m, error: `${ve.code}: ${ve.message}` });
            }
          }
          const t = edit(m.editing, input, name);
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
          case 'eventsFilter': return setModal({ ...m, editing: m.filter?.expr ?? '' });
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
        if (name === 'escape' || name === 'ctrl+c') return close();
        if (name === 'return') {
          if (m.text.trim() === '') return close();
          close();
          request(`SSH:EXEC:${foldNodeSet(m.targets)}:${m.text}`, 'action');
          return;
        }
        const t = edit(m.text, input, name);
        if (t !== undefined) setModal({ ...m, text: t });
        return;
      }
      case 'filter': {
        if (name === 'escape' || name === 'ctrl+c') return close();
        if (name === 'return') {
          close();
          applyFilter(m.text);
          return;
        }
        const t = edit(m.text, input, name);
        if (t !== undefined) setModal({ ...m, text: t });
        return;
      }
      case 'prompt': {
        if (name === 'escape' || name === 'ctrl+c') return close();
        if (name === 'return') {
          const line = m.text.trim();
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
        if (name === 'up' || name === 'down') {
          const h = history.current;
          const i = Math.max(0, Math.min(h.length, m.hist + (name === 'up' ? -1 : 1)));
          setModal({ ...m, hist: i, text: h[i] ?? '', error: undefined, candidates: undefined });
          return;
        }
        if (name === 'tab') {
          const mods = engine.registry.modules();
          const c = complete(m.text, { modules: mods, nodes: snapNodes(), groups: engine.registry.groups() });
          setModal({ ...m, text: c.line, candidates: c.candidates.length > 1 ? c.candidates : undefined, error: undefined });
          return;
        }
        const t = edit(m.text, input, name);
        if (t !== undefined) setModal({ ...m, text: t, error: undefined, candidates: undefined });
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
            if (m.typed.trim() === String(m.count)) {
              close();
              run(m.line);
            } else setModal({ ...m, typed: '' });
            return;
          }
          const t = edit(m.typed, input, name);
          if (t !== undefined && /^\d*$/.test(t)) setModal({ ...m, typed: t });
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
        if (name === 'g') return setModal({ ...m, gathered: !m.gathered, scroll: 0 });
        const page = Math.max(1, layoutRef.current.outputRows - 1);
        const d = name === 'up' || name === 'k' ? -1 : name === 'down' || name === 'j' ? 1 : name === 'pageup' ? -page : name === 'pagedown' || name === 'space' ? page : name === 'home' || name === 'g' ? -1e9 : name === 'end' || name === 'G' ? 1e9 : 0;
        if (d !== 0) setModal({ ...m, scroll: Math.max(0, m.scroll + d) });
        return;
      }
    }
  };

  const snapNodes = () => snap.nodes.map((n) => n.name);

  return { ...state, onKey };
}
