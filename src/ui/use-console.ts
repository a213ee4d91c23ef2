/**
 * The console screen's state: the node's console opened through the UiEngine, its lines (bounded),
 * the line under way, and the keys: typed to the node, except the `~` escapes (`~.` leaves,
 * `~B` break, `~?` help). Re-rendered at most every 50 ms however fast the node prints.
 */
import { useEffect, useRef, useState } from 'react';
import { ConsoleEscapes, CONSOLE_HELP } from '../protocol/console-escape.js';
import type { KeyInfo } from './keymaps.js';
import { consoleKeyBytes } from './console-keys.js';
import type { UiConsole, UiEngine } from './ui-engine.js';

export const CONSOLE_SCREEN_LINES = 500;

export interface ConsoleScreenState {
  lines: readonly string[];
  partial: string;
  status: string;
  readOnly: boolean;
  help: boolean;
  open: boolean;
}

export function useConsole(engine: UiEngine, node: string, onExit: () => void): { state: ConsoleScreenState; onKey(input: string, key: KeyInfo): void } {
  const [state, setState] = useState<ConsoleScreenState>({ lines: [], partial: '', status: `opening ${node}'s console...`, readOnly: true, help: false, open: false });
  const live = useRef<ConsoleScreenState>(state);
  const con = useRef<UiConsole | undefined>(undefined);
  const escapes = useRef(new ConsoleEscapes());
  const timer = useRef<NodeJS.Timeout | undefined>(undefined);

  const change = (f: (s: ConsoleScreenState) => ConsoleScreenState): void => {
    live.current = f(live.current);
    timer.current ??= setTimeout(() => {
      timer.current = undefined;
      setState(live.current);
    }, 50);
  };

  useEffect(() => {
    let closed = false;
    let off: (() => void) | undefined;
    const open = engine.openConsole;
    if (!open) {
      change((s) => ({ ...s, status: 'this vacm has no serial consoles (~. to go back)' }));
      return;
    }
    open(node, {}).then(
      (c) => {
        if (closed) return void c.close();
        con.current = c;
        const push = (s: ConsoleScreenState, text: string): ConsoleScreenState => ({ ...s, lines: [...s.lines, text].slice(-CONSOLE_SCREEN_LINES), partial: '' });
        change((s) => ({ ...s, open: true, readOnly: c.readOnly, lines: c.backlog().slice(-CONSOLE_SCREEN_LINES), status: c.readOnly ? 'read-only: another operator types on this console' : 'connected' }));
        off = c.listen((e) => {
          if (e.kind === 'line') change((s) => (e.partial ? { ...s, partial: e.text } : push(s, e.text)));
          else if (e.kind === 'role') change((s) => ({ ...s, readOnly: e.readOnly, status: e.readOnly ? 'read-only: another operator took the console over' : 'connected' }));
          else change((s) => ({ ...s, status: e.message }));
        });
      },
      (err: unknown) => change((s) => ({ ...s, status: `${(err as { code?: string }).code ?? 'ERR'}: ${(err as Error).message} (~. to go back)` })),
    );
    return () => {
      closed = true;
      off?.();
      if (timer.current) clearTimeout(timer.current);
      void con.current?.close();
      con.current = undefined;
    };
  }, [engine, node]);

  const onKey = (input: string, key: KeyInfo): void => {
    const r = escapes.current.feed(consoleKeyBytes(input, key));
    const c = con.current;
    if (r.send && c) {
      try {
        c.write(r.send);
      } catch (err) {
        change((s) => ({ ...s, status: (err as Error).message }));
      }
    }
    for (const a of r.actions) {
      if (a === 'leave') return onExit();
      if (a === 'help') change((s) => ({ ...s, help: !s.help }));
      if (a === 'break') {
        try {
          c?.sendBreak();
          change((s) => ({ ...s, status: 'break sent' }));
        } catch (err) {
          change((s) => ({ ...s, status: (err as Error).message }));
        }
      }
    }
  };

  return { state, onKey };
}

export { CONSOLE_HELP };
