/**
 * What each key does with no dialog open: one handler per action of the global, nodes, detail and
 * jobs keymaps (`Record<PaneAction, …>`: a binding whose action has no handler here does not
 * compile). Handlers read the action, never the key that was pressed.
 */
import type { PaneAction, PaneId } from './keymaps.js';
import { CHART_SPANS_MS, SORT_KEYS, cellByLines, nextTrouble, overviewLayout, spanLabel } from './format.js';
import { powerOffers } from './power-menu.js';
import { inputOf } from './text-input.js';
import type { Control } from './dashboard-control.js';

export type PaneHandlers = Readonly<Record<PaneAction, () => void>>;

export function paneHandlers(c: Control): PaneHandlers {
  const { engine, update, setModal, say, moveNodes, moveJobs, remember, targets } = c;
  const s = c.view();
  const layout = c.layout.current;
  const onNodes = s.focus === 'nodes';
  const grid = onNodes && s.isOverview;
  const page = onNodes ? Math.max(1, layout.nodeRows - (grid ? 0 : 1)) : Math.max(1, layout.jobRows - 1);
  // the overview moves by its lines (a rack's row may be short): the same column on the line above or below
  const byLines = (lines: number) => moveNodes(cellByLines(overviewLayout(s.shown.length, s.sections, layout.overviewCols), s.cursor, lines) - s.cursor);
  const move = (d: number | 'home' | 'end', lines?: number) => (grid && lines !== undefined ? byLines(lines) : onNodes ? moveNodes(d) : moveJobs(d));
  const cyclePane = (step: number) => {
    const order: PaneId[] = ['nodes', 'detail', 'jobs'];
    const i = order.indexOf(s.focus);
    update({ focus: order[(i + step + order.length) % order.length] });
  };
  const chart = (step: number) => {
    const i = Math.max(0, Math.min(CHART_SPANS_MS.length - 1, s.chartSpan + step));
    const edge = i === s.chartSpan ? (step < 0 ? ' (the shortest span)' : ' (the longest span)') : '';
    update({ chartSpan: i, message: { text: `load chart: the last ${spanLabel(CHART_SPANS_MS[i])}${edge}`, error: false } });
  };
  const trouble = (dir: 1 | -1) => {
    const i = nextTrouble(s.shown, s.cursor, dir);
    if (i === undefined) return say(s.filter ? 'no node down or unknown among the shown nodes' : 'no node down or unknown');
    update({ cursorName: s.shown[i].name, message: { text: `${s.shown[i].name} ${s.shown[i].state}`, error: false } });
  };

  return {
    // global
    quit: () => {
      const running = c.snap.current.jobs.filter((j) => j.state === 'running' || j.state === 'queued').length;
      if (running > 0) setModal({ kind: 'quit', running });
      else c.props.onQuit();
    },
    help: () => setModal({ kind: 'help', scroll: 0, search: inputOf(), searching: false }),
    nextPane: () => cyclePane(1),
    prevPane: () => cyclePane(-1),
    chartIn: () => chart(-1),
    chartOut: () => chart(1),
    theme: () => update({ themeIdx: (s.themeIdx + 1) % Math.max(1, c.props.themeCount) }),
    prompt: () => setModal({ kind: 'prompt', input: inputOf() }),
    cancelJob: () => {
      const j = s.selectedJob;
      if (j && (j.state === 'running' || j.state === 'queued')) {
        engine.cancel(j.id);
        say(`cancelling job #${j.id}`);
      } else say('no running job selected (Ctrl-C cancels the selected job in the jobs pane; q quits)');
    },
    events: () => setModal({ kind: 'events', scroll: 0, follow: true }),
    // lists (nodes and jobs)
    up: () => move(-1, -1),
    down: () => move(1, 1),
    left: () => { if (grid) move(-1); },
    right: () => { if (grid) move(1); },
    pageUp: () => move(-page, -page),
    pageDown: () => move(page, page),
    home: () => move('home'),
    end: () => move('end'),
    // nodes
    nextTrouble: () => trouble(1),
    prevTrouble: () => trouble(-1),
    mark: () => {
      const n = s.cursorNode;
      if (!n) return;
      const next = new Set(s.marks);
      if (next.has(n.name)) next.delete(n.name);
      else next.add(n.name);
      update({ marks: next });
      if (!s.isOverview) moveNodes(1);
    },
    markAll: () => {
      remember('marks');
      update({ marks: new Set(s.shown.map((n) => n.name)) });
    },
    clearMarks: () => {
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
    },
    undo: () => {
      const last = c.undoStack.current.pop();
      if (!last) return say('nothing to undo');
      update({ marks: last.marks, filter: last.filter });
      say(`undone: ${last.what} back${last.filter ? ` (filter ${last.filter.expr})` : ''}${last.marks.size ? ` (${last.marks.size} marked)` : ''}`);
    },
    filter: () => setModal({ kind: 'filter', input: inputOf(s.filter?.expr ?? '', { selected: true }), prev: s.filter }),
    sort: () => {
      const next = SORT_KEYS[(SORT_KEYS.indexOf(s.sort) + 1) % SORT_KEYS.length];
      update({ sort: next });
      say(`sorted by ${next}`);
    },
    overview: () => update({ overview: !s.isOverview }),
    power: () => {
      const t = targets();
      if (t.length === 0) return say('no node under the cursor', true);
      setModal({ kind: 'power', targets: t, offers: powerOffers(s.maps, engine.powerFacts(t)) });
    },
    exec: () => {
      const t = targets();
      if (t.length === 0) return say('no node under the cursor', true);
      setModal({ kind: 'exec', targets: t, input: inputOf() });
    },
    console: () => {
      const n = s.cursorNode;
      if (!n) return say('no node under the cursor', true);
      if (!engine.openConsole || !c.props.onConsole) return say('this vacm has no serial consoles', true);
      c.props.onConsole(n.name);
    },
    // jobs
    open: () => {
      if (s.selectedJob) setModal({ kind: 'output', jobId: s.selectedJob.id, scroll: 0, gathered: false, cursor: 0 });
    },
  };
}
