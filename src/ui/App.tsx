/**
 * The dashboard: header, nodes, detail, jobs, prompt and footer. It owns no I/O: the engine comes
 * in as a UiEngine, prompt history through props/callbacks, themes as parsed data.
 */
import React, { useEffect, useMemo, useRef, useState } from 'react';
import { Box, useInput, useStdout } from 'ink';
import type { UiEngine } from './ui-engine.js';
import { useEngineSnapshot } from './use-engine-snapshot.js';
import { useDashboard } from './use-dashboard.js';
import type { Layout } from './dashboard-state.js';
import { ThemeProvider, useTheme, dimmedTheme, MONO, type Theme } from './theme.js';
import { HeaderPane } from './panes/HeaderPane.js';
import { NodesPane } from './panes/NodesPane.js';
import { DetailPane, lastBlackBox } from './panes/DetailPane.js';
import { JobsPane, jobListRows } from './panes/JobsPane.js';
import { PromptPane, promptRows } from './panes/PromptPane.js';
import { Footer } from './panes/Footer.js';
import { confirmSpec, helpSpec, outputSpec, powerSpec, quitSpec, sortSpec } from './panes/Dialogs.js';
import { Overlay, type OverlaySpec } from './panes/Overlay.js';
import { eventsSpec } from './panes/EventsView.js';
import type { PaneId } from './keymaps.js';
import { jobProgress } from './format.js';
import { ConsolePane } from './panes/ConsolePane.js';
import { useConsole } from './use-console.js';
import { LogPane } from './panes/LogPane.js';
import { useLogView } from './use-log-view.js';
import { activeKeymaps } from './keymaps.js';
import type { ShellOutcome } from './ui-engine.js';

export interface AppProps {
  engine: UiEngine;
  themes?: readonly Theme[];
  history?: readonly string[];
  onHistory?(line: string): void;
  onQuit(): void;
  /** fixed size (tests); else the terminal's, following resizes */
  size?: { columns: number; rows: number };
  /** cap on re-renders from store changes */
  maxHz?: number;
}

export const MIN_COLUMNS = 80;
export const MIN_ROWS = 24;

export function useTerminalSize(fixed?: { columns: number; rows: number }): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const read = () => ({ columns: fixed?.columns ?? stdout.columns ?? 100, rows: fixed?.rows ?? stdout.rows ?? 30 });
  const [size, setSize] = useState(read);
  useEffect(() => {
    if (fixed) return;
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout, fixed]);
  return fixed ?? size;
}

export interface Geometry {
  columns: number;
  rows: number;
  main: number;
  leftWidth: number;
  rightWidth: number;
  detailHeight: number;
  jobsHeight: number;
}

/** Where the panes go for a terminal of this size (pure). Below 80x24 the panes are squeezed, not dropped. */
export function geometry(columns: number, rows: number, promptHeight: number): Geometry {
  const cols = Math.max(40, columns);
  const r = Math.max(12, rows);
  const main = r - 2 - promptHeight; // header, footer
  const leftWidth = cols >= 120 ? Math.floor(cols * 0.55) : Math.max(30, cols - 36);
  const rightWidth = cols - leftWidth;
  const detailHeight = Math.max(5, Math.min(14, Math.floor(main * 0.45)));
  return { columns: cols, rows: r, main, leftWidth, rightWidth, detailHeight, jobsHeight: main - detailHeight };
}

function Pane({ focused, width, height, children }: { focused: boolean; width: number; height: number; children: React.ReactNode }) {
  const t = useTheme();
  return (
    <Box width={width} height={height} borderStyle="single" borderColor={t.color(focused ? 'border.focused' : 'border')}>
      {children}
    </Box>
  );
}

/** A node's console over the whole screen; the dashboard stays mounted (and intact) underneath. */
function ConsoleScreen(props: { engine: UiEngine; node: string; theme: Theme; size?: { columns: number; rows: number }; onExit(): void }) {
  const size = useTerminalSize(props.size);
  const c = useConsole(props.engine, props.node, props.onExit);
  useInput(c.onKey);
  return (
    <ThemeProvider theme={props.theme}>
      <ConsolePane node={props.node} state={c.state} width={Math.max(40, size.columns)} height={Math.max(12, size.rows - 1)} />
    </ThemeProvider>
  );
}

/** The log view of `L` over the whole screen; the dashboard stays mounted (and intact) underneath. */
export function LogScreen(props: { engine: UiEngine; nodes: readonly string[]; theme: Theme; size?: { columns: number; rows: number }; onExit(): void }) {
  const size = useTerminalSize(props.size);
  const map = useMemo(() => activeKeymaps(props.engine.readOnly).logs, [props.engine.readOnly]);
  const v = useLogView(props.engine, props.nodes, map, props.onExit);
  useInput(v.onKey);
  return (
    <ThemeProvider theme={props.theme}>
      <LogPane state={v.state} width={Math.max(40, size.columns)} height={Math.max(12, size.rows - 1)} />
    </ThemeProvider>
  );
}

function Dashboard(props: AppProps & { themes: readonly Theme[]; hidden?: boolean; onConsole?(node: string): void; onShell?(node: string): Promise<ShellOutcome>; onLogs?(nodes: readonly string[], theme: Theme): void }) {
  // the log view opens in the theme in use (its node colours are the theme's)
  const themeRef = useRef<Theme>(MONO);
  const onLogs = props.onLogs ? (nodes: readonly string[]) => props.onLogs!(nodes, themeRef.current) : undefined;
  const snap = useEngineSnapshot(props.engine, props.maxHz ?? 10);
  const size = useTerminalSize(props.size);
  // key handlers read the layout of the last frame (page sizes); the frame's layout depends on the open dialog
  const layoutRef = useRef<Layout>({ nodeRows: 10, overviewCols: 40, jobRows: 5, outputRows: 10, helpRows: 10 });
  const d = useDashboard(snap, { engine: props.engine, history: props.history, onHistory: props.onHistory, onQuit: props.onQuit, themeCount: props.themes.length, onConsole: props.onConsole, onShell: props.onShell, onLogs }, layoutRef);
  useInput(d.onKey, { isActive: !props.hidden });
  // one row short of the terminal: ink redraws the whole screen (clear + write) when a frame fills it
  const g = geometry(size.columns, size.rows - 1, promptRows(d.modal));
  // zoomed (z), the focused pane has the whole width (and the jobs pane the whole height)
  const nodesWidth = d.zoom ? g.columns : g.leftWidth;
  const jobsHeight = d.zoom ? g.main : g.jobsHeight;
  layoutRef.current = { nodeRows: g.main - 4, overviewCols: nodesWidth - 2, jobRows: jobListRows(jobsHeight - 2, snap.jobs.length), outputRows: g.main - 3, helpRows: g.main - 3 };

  // attached to a vacm serve: the stats of the rows in sight (the window holding the cursor lies within a page either side) are all it sends
  const rows = Math.max(1, layoutRef.current.nodeRows);
  const inSight = props.engine.view ? d.shown.slice(Math.max(0, d.cursor - rows), d.cursor + rows).map((n) => n.name).join(',') : '';
  useEffect(() => {
    if (inSight) props.engine.view?.(inSight.split(','));
  }, [inSight, props.engine]);
  // the chart's samples: queried again when the node's view changes (a new reading) or the span does
  const cursorNode = d.cursorNode;
  const series = useMemo(() => (cursorNode ? props.engine.loadSeries(cursorNode.name, d.chartSpanMs) : undefined), [cursorNode, d.chartSpanMs, props.engine]);
  // a running job's nodes by outcome: recomputed when its view changes (a node finished)
  const selectedJob = d.selectedJob;
  const progress = useMemo(() => {
    if (!selectedJob || (selectedJob.state !== 'running' && selectedJob.state !== 'queued')) return undefined;
    const o = props.engine.jobOutcomes(selectedJob.id);
    return o ? jobProgress(selectedJob, o) : undefined;
  }, [selectedJob, props.engine]);
  // how each module's results gather (declared by the modules: PING by up/down with RTT min/avg/max)
  const gather = useMemo(() => new Map(props.engine.registry.modules().flatMap((m) => (m.gather ? [[m.tag, m.gather] as const] : []))), [props.engine]);
  const theme = props.themes[d.themeIdx % props.themes.length] ?? MONO;
  themeRef.current = theme;
  const focus: PaneId = d.focus;
  const m = d.modal;
  let dialog: OverlaySpec | undefined;
  if (m.kind === 'confirm') dialog = confirmSpec(m);
  else if (m.kind === 'power') dialog = powerSpec(m, d.maps);
  else if (m.kind === 'help') dialog = helpSpec(d.maps, m, g.main, d.actions);
  else if (m.kind === 'quit') dialog = quitSpec(m.running);
  else if (m.kind === 'sort') dialog = sortSpec(m, d.sort, d.sortReverse);
  else if (m.kind === 'output') dialog = outputSpec(snap.jobs.find((j) => j.id === m.jobId), m, g.main, d.marks.size, gather);
  else if (m.kind === 'events') dialog = eventsSpec(props.engine.events?.(m.filter ? { nodes: m.filter.names } : {}) ?? [], m, g.main);
  // the cursor node's last events, for the detail pane (from memory: no I/O)
  const allNodeEvents = d.cursorNode && props.engine.events ? props.engine.events({ nodes: [d.cursorNode.name] }) : undefined;
  const nodeEvents = allNodeEvents?.slice(-3);
  // the node's last NODE_DOWN record with its black box: the detail pane's "last words"
  const lastWords = allNodeEvents ? lastBlackBox(allNodeEvents) : undefined;
  const nodesPane = (width: number) => (
    <Pane focused={focus === 'nodes'} width={width} height={g.main}>
      <NodesPane nodes={d.shown} total={snap.nodes.length} cursor={d.cursor} marks={d.marks} filter={d.filter} sort={d.sort} sortReverse={d.sortReverse} overview={d.isOverview} sections={d.sections} focused={focus === 'nodes'} width={width - 2} height={g.main - 2} />
    </Pane>
  );
  const jobsPane = (width: number, height: number) => (
    <Pane focused={focus === 'jobs'} width={width} height={height}>
      <JobsPane jobs={snap.jobs} selected={d.jobIdx} focused={focus === 'jobs'} width={width - 2} height={height - 2} progress={progress} gather={gather} />
    </Pane>
  );
  // the dashboard stays drawn under a dialog, dimmed, so the marked rows are in sight; zoomed (z), the focused pane fills it
  const main = (
    <ThemeProvider theme={dialog ? dimmedTheme(theme) : theme}>
      {d.zoom ? (
        <Box height={g.main} width={g.columns}>{focus === 'nodes' ? nodesPane(g.columns) : jobsPane(g.columns, g.main)}</Box>
      ) : (
        <Box flexDirection="row" height={g.main} width={g.columns}>
          {nodesPane(g.leftWidth)}
          <Box flexDirection="column" width={g.rightWidth} height={g.main}>
            <Pane focused={false} width={g.rightWidth} height={g.detailHeight}>
              <DetailPane node={d.cursorNode} events={nodeEvents} lastWords={lastWords} focused={false} width={g.rightWidth - 2} height={g.detailHeight - 2} now={Date.now()} series={series} spanMs={d.chartSpanMs} />
            </Pane>
            {jobsPane(g.rightWidth, g.jobsHeight)}
          </Box>
        </Box>
      )}
    </ThemeProvider>
  );
  return (
    <ThemeProvider theme={theme}>
      <Box flexDirection="column" width={g.columns} height={g.rows} display={props.hidden ? 'none' : 'flex'}>
        <HeaderPane cluster={snap.cluster} counts={snap.counts} total={snap.nodes.length} runningJobs={snap.runningJobs} readOnly={props.engine.readOnly} themeName={theme.name} width={g.columns} attached={props.engine.attached} />
        <Box height={g.main} width={g.columns}>
          {main}
          {dialog ? <Overlay spec={dialog} columns={g.columns} rows={g.main} /> : null}
        </Box>
        <PromptPane modal={d.modal} message={d.message} width={g.columns} />
        <Footer maps={d.maps} pane={focus} modal={d.modal} width={g.columns} actions={d.actions} />
      </Box>
    </ThemeProvider>
  );
}

export function App(props: AppProps) {
  const themes = props.themes && props.themes.length > 0 ? props.themes : [MONO];
  const [consoleOf, setConsoleOf] = useState<string | undefined>(undefined);
  const [logsOf, setLogsOf] = useState<{ nodes: readonly string[]; theme: Theme } | undefined>(undefined);
  // S: nothing is drawn (and no key read) while the system ssh has the terminal
  const [shell, setShell] = useState<{ node: string; resolve(o: ShellOutcome): void; reject(e: unknown): void } | undefined>(undefined);
  useEffect(() => {
    if (!shell) return;
    // an effect: the dashboard's key hooks (children) have let go of the terminal's raw mode by now
    const run = props.engine.runShell;
    const done = run ? run.run(shell.node) : Promise.reject(Object.assign(new Error('this vacm cannot hand the terminal to ssh'), { code: 'ERR_UNSUPPORTED' }));
    done.then(shell.resolve, shell.reject).finally(() => setShell(undefined));
  }, [shell, props.engine]);
  const onShell = (node: string) => new Promise<ShellOutcome>((resolve, reject) => setShell({ node, resolve, reject }));
  const hidden = consoleOf !== undefined || logsOf !== undefined || shell !== undefined;
  return (
    <>
      <Dashboard {...props} themes={themes} hidden={hidden} onConsole={setConsoleOf} onShell={props.engine.runShell ? onShell : undefined} onLogs={(nodes, theme) => setLogsOf({ nodes, theme })} />
      {consoleOf !== undefined ? <ConsoleScreen engine={props.engine} node={consoleOf} theme={themes[0] ?? MONO} size={props.size} onExit={() => setConsoleOf(undefined)} /> : null}
      {logsOf !== undefined ? <LogScreen engine={props.engine} nodes={logsOf.nodes} theme={logsOf.theme} size={props.size} onExit={() => setLogsOf(undefined)} /> : null}
    </>
  );
}
