/**
 * The dashboard's hook: it holds the state (dashboard-state.ts) in a ref, derives the view the panes
 * draw, and sends each key to its handler: with no dialog open the focused pane's keymap, then the
 * global one (pane-actions.ts), else the open dialog's (dialog-actions.ts). It talks to the engine
 * only through UiEngine; panes receive plain values.
 */
import { useEffect, useMemo, useReducer, useRef } from 'react';
import type { Snapshot } from './ui-engine.js';
import { activeKeymaps, builtinKeyFor, keyLabel, keyName, lookup, type KeyInfo } from './keymaps.js';
import { ANY_PANE_ACTIONS, INITIAL_STATE, deriveView, newViewCache, type DashboardProps, type Layout, type UiState, type UndoStep } from './dashboard-state.js';
import { createControl } from './dashboard-control.js';
import { paneHandlers } from './pane-actions.js';
import { dialogKey, isTyping } from './dialog-actions.js';

export { TYPE_COUNT_ABOVE, USERS_TIMEOUT_MS, OVERVIEW_ABOVE, DEBOUNCE_FROM, FILTER_DEBOUNCE_MS, ANY_PANE_ACTIONS } from './dashboard-state.js';
export type { Modal, Filter, Message, DashboardProps, Layout } from './dashboard-state.js';

export function useDashboard(snap: Snapshot, props: DashboardProps, layoutRef: { readonly current: Layout }) {
  const { engine } = props;
  const maps = useMemo(() => activeKeymaps(engine.readOnly), [engine.readOnly]);
  // a clashing key is refused when the dashboard starts (cli/tui.ts); never shadow a built-in key here either
  const actions = useMemo(() => (engine.actions ?? []).filter((a) => !builtinKeyFor(a.key, maps)), [engine.actions, maps]);
  // Key presses can arrive several in one tick (a paste, tmux send-keys): the state lives in a ref that
  // every handler reads and writes synchronously, and a counter re-renders.
  const state = useRef<UiState>(INITIAL_STATE);
  const [, force] = useReducer((x: number) => x + 1, 0);
  const history = useRef<string[]>([...(props.history ?? [])]);
  const filterHistory = useRef<string[]>([]);
  const execHistory = useRef<string[]>([]);
  /** what Esc (and `a`) took away, newest last: `u` puts it back */
  const undoStack = useRef<UndoStep[]>([]);
  const liveTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(liveTimer.current), []);
  const cache = useRef(newViewCache());
  const snapRef = useRef(snap);
  snapRef.current = snap;

  const view = () => deriveView(state.current, snapRef.current, cache.current, maps, actions);
  const c = createControl({ props, maps, actions, state, force, snap: snapRef, layout: layoutRef, view, history, filterHistory, execHistory, undoStack, liveTimer });

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
    const s = view();
    const m = s.modal;
    if (!isTyping(m) && input.length > 1 && !key.ctrl && !key.meta) {
      for (const ch of input) onKey(ch, {});
      return;
    }
    const name = keyName(input, key);
    if (m.kind !== 'none') return dialogKey(c, m, name, input);
    const b = lookup(s.maps[s.focus], name) ?? lookup(s.maps.global, name);
    if (b) return paneHandlers(c)[b.action]();
    const custom = actions.find((a) => a.key === name);
    if (custom) return c.runAction(custom);
    if (s.focus !== 'nodes') {
      // node actions act on the marks (or the cursor's node) wherever the focus is; the rest say where they work
      const nb = lookup(s.maps.nodes, name);
      if (nb && ANY_PANE_ACTIONS.has(nb.action)) return paneHandlers(c)[nb.action]();
      if (nb) return c.say(`${keyLabel(name)} (${nb.description}) works in the nodes pane: Tab goes there`);
    }
  };

  return { ...view(), onKey };
}
