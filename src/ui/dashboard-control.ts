/**
 * What the dashboard's actions are made of: the state's one writer (`update`), the view of the
 * moment, and the operations several actions share (submit or confirm a request, move a cursor,
 * filter, remember for undo, act on a job's result). Built by the hook on every render around its
 * refs; the pane and dialog handlers (pane-actions.ts, dialog-actions.ts) receive it.
 */
import type { JobView } from '../protocol/module.js';
import { NodeSet, foldNodeSet } from '../protocol/nodeset.js';
import { readOnlyText, toVacmError } from '../protocol/errors.js';
import { maskRequestLine, setsSecret } from '../protocol/vars.js';
import { expandAction, usesNode, usesNodes, type CustomAction } from '../protocol/actions.js';
import type { Snapshot } from './ui-engine.js';
import { keyLabel, type Keymaps } from './keymaps.js';
import { jobOutput, requestOn } from './format.js';
import { complete } from './complete.js';
import { describeRequest, requestWarnings } from './power-menu.js';
import type { Line } from './panes/Overlay.js';
import { beforeCursor, replaceBeforeCursor, inputOf, type TextInput } from './text-input.js';
import {
  DEBOUNCE_FROM, FILTER_DEBOUNCE_MS, MAX_HISTORY, TYPE_COUNT_ABOVE, USERS_TIMEOUT_MS,
  type DashboardProps, type Filter, type Layout, type Modal, type UiState, type UndoStep, type View,
} from './dashboard-state.js';

/** What the hook holds across renders (refs), handed to createControl. */
export interface ControlDeps {
  props: DashboardProps;
  maps: Keymaps;
  actions: readonly CustomAction[];
  state: { current: UiState };
  force(): void;
  snap: { readonly current: Snapshot };
  layout: { readonly current: Layout };
  /** the view of the current state (derived anew on each call: keys may arrive several per frame) */
  view(): View;
  history: { current: string[] };
  filterHistory: { current: string[] };
  execHistory: { current: string[] };
  undoStack: { current: UndoStep[] };
  liveTimer: { current: ReturnType<typeof setTimeout> | undefined };
}

export type Control = ReturnType<typeof createControl>;

export function createControl(d: ControlDeps) {
  const { engine } = d.props;
  const update = (patch: Partial<UiState>) => {
    d.state.current = { ...d.state.current, ...patch };
    d.force();
  };
  const setModal = (modal: Modal) => update({ modal });
  const close = () => setModal({ kind: 'none' });
  const say = (text: string, error = false) => update({ message: { text, error } });
  const snapNodes = () => d.snap.current.nodes.map((n) => n.name);

  /** marked nodes in nodelist order, else the one under the cursor */
  const targets = (): string[] => {
    const s = d.view();
    if (s.marks.size > 0) return d.snap.current.nodes.filter((n) => s.marks.has(n.name)).map((n) => n.name);
    return s.cursorNode ? [s.cursorNode.name] : [];
  };

  const run = (line: string) => {
    const started = ({ id }: { id: number }) => {
      update({ jobId: id });
      say(`job #${id}: ${maskRequestLine(line)}`);
    };
    const refused = (err: unknown) => {
      const ve = toVacmError(err);
      say(`${ve.code}: ${ve.message}`, true);
    };
    try {
      // an attached dashboard's job gets its id from the serve: the answer comes later
      const h = engine.submit(line);
      if (h instanceof Promise) h.then(started, refused);
      else started(h);
    } catch (err) {
      refused(err);
    }
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
      say(readOnlyText(c.label), true);
      return true;
    }
    if (c.dangerous || askAnyway) {
      const r = { ...c, names: c.names };
      const byName = new Map(d.snap.current.nodes.map((n) => [n.name, n] as const));
      const warnings = [...requestWarnings(r, byName, c.tag === 'POWER' ? engine.powerFacts(c.names) : undefined), ...notes];
      const modal: Modal = { kind: 'confirm', label: c.label, line: c.line, folded: c.folded, count: c.targets, typed: inputOf(), needCount: c.targets > TYPE_COUNT_ABOVE, from, head: describeRequest(r), warnings };
      if (c.tag === 'POWER' && !['STATUS', 'BOOTDEV', 'IDENTIFY'].includes(c.command)) {
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
            const m = d.state.current.modal;
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

  const moveNodes = (delta: number | 'home' | 'end') => {
    const s = d.view();
    if (s.shown.length === 0) return;
    const i = delta === 'home' ? 0 : delta === 'end' ? s.shown.length - 1 : Math.max(0, Math.min(s.shown.length - 1, s.cursor + delta));
    update({ cursorName: s.shown[i].name });
  };

  const moveJobs = (delta: number | 'home' | 'end') => {
    const jobs = d.snap.current.jobs;
    if (jobs.length === 0) return;
    const s = d.view();
    const i = delta === 'home' ? 0 : delta === 'end' ? jobs.length - 1 : Math.max(0, Math.min(jobs.length - 1, s.jobIdx + delta));
    update({ jobId: jobs[i].id });
  };

  /** Keep what is about to be cleared, for `u`. */
  const remember = (what: string) => {
    const s = d.state.current;
    d.undoStack.current.push({ marks: s.marks, filter: s.filter, what });
    if (d.undoStack.current.length > 20) d.undoStack.current.shift();
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
    clearTimeout(d.liveTimer.current);
    const now = () => {
      const m = d.state.current.modal;
      if (m.kind !== 'filter') return;
      const f = filterOf(text);
      if (f.incomplete) {
        if (m.note !== f.incomplete) update({ modal: { ...m, note: f.incomplete } });
        return;
      }
      update({ filter: f.filter, cursorName: undefined, modal: m.note ? { ...m, note: undefined } : m });
    };
    if (d.snap.current.nodes.length >= DEBOUNCE_FROM) d.liveTimer.current = setTimeout(now, FILTER_DEBOUNCE_MS);
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

  /** A custom action's request for the current targets (marks, else the cursor's node), or undefined after saying why not. */
  const actionLine = (a: CustomAction): string | undefined => {
    const t = targets();
    const cursorNode = d.view().cursorNode?.name;
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
    const s = d.state.current;
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
    const s = d.state.current;
    const names = s.marks.size > 0 ? [...s.marks] : [...jobOutput(job).failedNodes];
    if (names.length === 0) return say('nothing to re-run on: mark a group (Space) or the failed nodes (F) first');
    // the shown request has its secrets masked: re-sending it would set the mask
    if (setsSecret(job.line)) return say('this request sets a secret, which is not kept: type it again in the : prompt', true);
    const line = requestOn(job, foldNodeSet(names));
    if (!line) return say(`${job.tag}:${job.command} has no node set to re-run on`, true);
    setModal({ kind: 'none' });
    request(line, 'action');
  };

  return {
    ...d,
    engine,
    update, setModal, close, say, snapNodes, targets, run, request, moveNodes, moveJobs, remember,
    filterOf, applyFilter, liveFilter, pushHistory, completeNodes, actionLine, runAction, markOutputGroup, markFailed, rerun,
  };
}
