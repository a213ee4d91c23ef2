/**
 * The log view of `L`: it asks for a unit or an absolute path (the one text input), starts
 * `LOG:FOLLOW:<nodes>[:<what>]` through the UiEngine and keeps the job's lines in a bounded buffer
 * (LOG_VIEW_LINES lines, each cut at LOG_LINE_CHARS): `/` filters (node name or text), `w` wraps,
 * Space pauses (the view freezes, lines keep arriving into the buffer), Esc cancels the job — which
 * stops the remote `journalctl -f` / `tail -F` — and goes back. State changes are pure functions
 * (tested without ink); the hook re-renders at most every 50 ms however fast the nodes print.
 */
import { useEffect, useRef, useState } from 'react';
import { foldNodeSet } from '../protocol/nodeset.js';
import { chunkKeys, keyName, lookup, type Binding, type KeyInfo } from './keymaps.js';
import { editInput, inputOf, type TextInput } from './text-input.js';
import type { UiEngine, UiOutputLine } from './ui-engine.js';

/** Lines the view keeps (the oldest go first). */
export const LOG_VIEW_LINES = 2000;
/** Longest line kept, in characters (the pool cuts at 64 KiB; a screen needs far less). */
export const LOG_LINE_CHARS = 2000;

export interface LogLine {
  /** 1, 2, ...: the line's number since the view opened */
  seq: number;
  node: string;
  stream: UiOutputLine['stream'];
  text: string;
}

export interface LogViewState {
  nodes: readonly string[];
  folded: string;
  /** typing the unit or path (before the job starts) */
  ask?: TextInput;
  /** why the request was refused (shown under the question) */
  askError?: string;
  what?: string;
  jobId?: number;
  lines: readonly LogLine[];
  /** lines that fell out of the buffer */
  dropped: number;
  seq: number;
  /** paused: the view shows these (the buffer keeps filling) */
  frozen?: readonly LogLine[];
  /** `seq` when paused (the status counts the lines since) */
  pausedAt?: number;
  wrap: boolean;
  filter: string;
  /** the filter being typed */
  editing?: TextInput;
  status: string;
}

export function logViewOf(nodes: readonly string[]): LogViewState {
  let folded: string;
  try {
    folded = foldNodeSet([...nodes]);
  } catch {
    // a name the node-set grammar cannot fold: listed as it is (the request's check then says why)
    folded = nodes.join(',');
  }
  return { nodes, folded, ask: inputOf(), lines: [], dropped: 0, seq: 0, wrap: false, filter: '', status: `follow a log on ${folded} (${nodes.length})` };
}

/** The view after more lines came in: appended, each cut, the buffer bounded. */
export function addLines(s: LogViewState, add: readonly UiOutputLine[], max = LOG_VIEW_LINES): LogViewState {
  if (add.length === 0) return s;
  const cut = (t: string) => (t.length > LOG_LINE_CHARS ? `${t.slice(0, LOG_LINE_CHARS)}…[cut ${t.length - LOG_LINE_CHARS} chars]` : t);
  const kept = add.slice(-max);
  let n = s.seq + (add.length - kept.length);
  const fresh = kept.map((l) => ({ seq: ++n, node: l.node, stream: l.stream, text: cut(l.line) }));
  const seq = s.seq + add.length;
  const all = [...s.lines, ...fresh];
  const over = Math.max(0, all.length - max);
  return { ...s, seq, lines: over ? all.slice(over) : all, dropped: s.dropped + over + (add.length - fresh.length) };
}

/** The lines the filter lets through (case-insensitive, on the node's name and the text). */
export function filteredLines(lines: readonly LogLine[], filter: string): readonly LogLine[] {
  const q = filter.trim().toLowerCase();
  if (q === '') return lines;
  return lines.filter((l) => l.node.toLowerCase().includes(q) || l.text.toLowerCase().includes(q));
}

/** What the screen shows: the frozen lines while paused, else the buffer; filtered. */
export function shownLines(s: LogViewState): readonly LogLine[] {
  return filteredLines(s.frozen ?? s.lines, s.filter);
}

export type LogViewEffect = { kind: 'start'; line: string } | { kind: 'stop' } | { kind: 'none' };

/**
 * A key in the log view: the next state and what the hook must do (start the job, stop it and
 * leave). `check` says whether a request line would run (the prompt's dry run).
 */
export function logViewKey(s: LogViewState, name: string, input: string, map: readonly Binding[], check: (line: string) => { ok: true } | { ok: false; code: string; message: string }): { state: LogViewState; effect: LogViewEffect } {
  const same = { state: s, effect: { kind: 'none' } as LogViewEffect };
  if (s.ask) {
    if (name === 'escape' || name === 'ctrl+c') return { state: s, effect: { kind: 'stop' } };
    if (name === 'return') {
      const what = s.ask.text.trim();
      const line = `LOG:FOLLOW:${s.folded}${what ? `:${what}` : ''}`;
      const c = check(line);
      if (!c.ok) return { state: { ...s, askError: `${c.code}: ${c.message}` }, effect: { kind: 'none' } };
      return { state: { ...s, ask: undefined, askError: undefined, what, status: `following ${what || 'the journal'} on ${s.folded} (${s.nodes.length})` }, effect: { kind: 'start', line } };
    }
    const t = editInput(s.ask, name, input);
    return t === undefined ? same : { state: { ...s, ask: t, askError: undefined }, effect: { kind: 'none' } };
  }
  if (s.editing) {
    if (name === 'escape' || name === 'ctrl+c') return { state: { ...s, editing: undefined }, effect: { kind: 'none' } };
    if (name === 'return') return { state: { ...s, filter: s.editing.text, editing: undefined }, effect: { kind: 'none' } };
    const t = editInput(s.editing, name, input);
    // the filter applies as it is typed; Esc goes back to the one before
    return t === undefined ? same : { state: { ...s, editing: t }, effect: { kind: 'none' } };
  }
  const b = lookup(map, name);
  if (!b) return same;
  switch (b.action) {
    case 'logFilter': return { state: { ...s, editing: inputOf(s.filter, { selected: true }) }, effect: { kind: 'none' } };
    case 'logWrap': return { state: { ...s, wrap: !s.wrap }, effect: { kind: 'none' } };
    case 'logPause': return { state: s.frozen ? { ...s, frozen: undefined, pausedAt: undefined } : { ...s, frozen: s.lines, pausedAt: s.seq }, effect: { kind: 'none' } };
    case 'back':
      // Esc clears a filter first (a view is cheap to lose, the follow is not), then stops
      if (s.filter !== '') return { state: { ...s, filter: '' }, effect: { kind: 'none' } };
      return { state: s, effect: { kind: 'stop' } };
    case 'close': return { state: s, effect: { kind: 'stop' } };
    default: return same;
  }
}

/** The filter in effect: the one being typed, else the applied one. */
export function liveFilter(s: LogViewState): string {
  return s.editing ? s.editing.text : s.filter;
}

export function useLogView(engine: UiEngine, nodes: readonly string[], map: readonly Binding[], onExit: () => void): { state: LogViewState; onKey(input: string, key: KeyInfo): void } {
  const [state, setState] = useState<LogViewState>(() => logViewOf(nodes));
  const live = useRef<LogViewState>(state);
  const timer = useRef<NodeJS.Timeout | undefined>(undefined);
  const job = useRef<{ id: number; off: () => void } | undefined>(undefined);
  const pending = useRef<UiOutputLine[]>([]);

  const flush = (): void => {
    timer.current = undefined;
    if (pending.current.length) {
      live.current = addLines(live.current, pending.current);
      pending.current = [];
    }
    setState(live.current);
  };
  const change = (f: (s: LogViewState) => LogViewState, now = false): void => {
    live.current = f(live.current);
    if (now) {
      clearTimeout(timer.current);
      flush();
    } else timer.current ??= setTimeout(flush, 50);
  };

  const stop = (): void => {
    const j = job.current;
    job.current = undefined;
    if (!j) return;
    j.off();
    engine.cancel(j.id);
  };

  useEffect(() => () => {
    clearTimeout(timer.current);
    stop();
  }, [engine]);

  const start = (line: string): void => {
    const failed = (err: unknown): void => {
      const e = err as { code?: string; message?: string };
      change((s) => ({ ...s, ask: inputOf(s.what ?? ''), askError: `${e.code ?? 'ERR'}: ${e.message ?? String(err)}` }), true);
    };
    const begin = ({ id }: { id: number }): void => {
      const off = engine.watchOutput?.(id, (l) => {
        // bounded before the next frame too: a flood between two frames cannot grow memory
        pending.current.push(l);
        if (pending.current.length > LOG_VIEW_LINES) {
          live.current = addLines(live.current, pending.current);
          pending.current = [];
        }
        timer.current ??= setTimeout(flush, 50);
      }) ?? (() => undefined);
      job.current = { id, off };
      change((s) => ({ ...s, jobId: id, status: `job #${id}: ${s.status}` }), true);
    };
    try {
      // attached to a serve, the id (or the refusal) comes later
      const submitted = engine.submit(line);
      if (submitted instanceof Promise) submitted.then(begin, failed);
      else begin(submitted);
    } catch (err) {
      failed(err);
    }
  };

  const onKey = (input: string, key: KeyInfo): void => {
    const parts = chunkKeys(input);
    if (parts) {
      for (const [i, k] of parts) onKey(i, k);
      return;
    }
    const typing = live.current.ask !== undefined || live.current.editing !== undefined;
    // several keys in one read (a paste, tmux send-keys) outside an input: one at a time
    if (!typing && input.length > 1 && !key.ctrl && !key.meta) {
      for (const ch of input) onKey(ch, {});
      return;
    }
    const r = logViewKey(live.current, keyName(input, key), input, map, (l) => engine.check(l));
    change(() => r.state, true);
    if (r.effect.kind === 'start') start(r.effect.line);
    else if (r.effect.kind === 'stop') {
      stop();
      onExit();
    }
  };

  return { state, onKey };
}
