/**
 * What each key does in each dialog: every dialog has its keymap (keymaps.ts: the help, power menu
 * and events ones are listed in help, the rest in DIALOG_KEYMAPS) and here a table of handlers typed
 * by that keymap's actions, so a binding whose action has no handler does not compile, nor does a
 * dialog without its entry in DIALOG_KEYS. Handlers read the action, never the key; a key no binding
 * names goes to the dialog's text input, if it has one.
 */
import { foldNodeSet } from '../protocol/nodeset.js';
import { readOnlyText, toVacmError } from '../protocol/errors.js';
import { setsSecret } from '../protocol/vars.js';
import { DIALOG_KEYMAPS, helpLines, keyLabel, lookup, searchHelp, POWER_COMMANDS, type ActionOf, type Binding, type DialogActionOf, type DialogKeymapName } from './keymaps.js';
import { gatheredJobRows, perNodeLineNodes } from './format.js';
import { complete } from './complete.js';
import { beforeCursor, editInput, inputOf, replaceBeforeCursor } from './text-input.js';
import type { Line } from './panes/Overlay.js';
import type { Control } from './dashboard-control.js';
import type { Modal, ModalOf } from './dashboard-state.js';
import { subChoiceKey } from './power-menu.js';
import { SORTS, sortArrow } from './sort.js';

type Handlers<A extends string> = Readonly<Record<A, () => void>>;

/** The binding `name` has in `map`, run by its handler; false when the map has no such key. */
function dispatch<A extends string>(map: readonly Binding<A>[], name: string, handlers: Handlers<A>): boolean {
  const b = lookup(map, name);
  if (!b) return false;
  handlers[b.action]();
  return true;
}

const dialog = <K extends DialogKeymapName>(map: K, name: string, handlers: Handlers<DialogActionOf<K>>): boolean => dispatch(DIALOG_KEYMAPS[map], name, handlers);

/** A list's moves as a clamped scroll (help, events): `to` gets the wanted first line. */
function scrollMoves(from: number, last: number, rows: number, to: (n: number) => void) {
  const page = Math.max(1, rows - 1);
  return { up: () => to(from - 1), down: () => to(from + 1), pageUp: () => to(from - page), pageDown: () => to(from + page), home: () => to(0), end: () => to(last) };
}

type DialogKey<K extends Exclude<Modal['kind'], 'none'>> = (c: Control, m: ModalOf<K>, name: string, input: string) => void;

const help: DialogKey<'help'> = (c, m, name, input) => {
  if (m.searching) {
    const done = dialog('helpSearch', name, {
      keep: () => c.setModal({ ...m, searching: false }),
      cancel: () => c.setModal({ ...m, searching: false, search: inputOf(), scroll: 0 }),
    });
    if (done) return;
    const t = editInput(m.search, name, input);
    if (t !== undefined) c.setModal({ ...m, search: t, scroll: 0 });
    return;
  }
  const s = c.view();
  const total = searchHelp(helpLines(s.maps, c.actions), m.search.text).length;
  const rows = Math.max(1, c.layout.current.helpRows);
  const last = Math.max(0, total - rows);
  const to = (n: number) => c.setModal({ ...m, scroll: Math.max(0, Math.min(last, n)) });
  dispatch<ActionOf<'help'>>(s.maps.help, name, {
    ...scrollMoves(m.scroll, last, rows, to),
    helpSearch: () => c.setModal({ ...m, searching: true, search: inputOf(m.search.text, { selected: true }), scroll: 0 }),
    back: () => (m.search.text !== '' ? c.setModal({ ...m, search: inputOf(), scroll: 0 }) : c.close()),
    close: () => c.close(),
  });
};

const events: DialogKey<'events'> = (c, m, name, input) => {
  const { engine } = c;
  if (m.editing !== undefined) {
    const editing = m.editing;
    const done = dialog('eventsFilter', name, {
      cancel: () => c.setModal({ ...m, editing: undefined, error: undefined }),
      apply: () => {
        const expr = editing.text.trim();
        if (expr === '') return c.setModal({ ...m, editing: undefined, filter: undefined, error: undefined, scroll: 0 });
        try {
          c.setModal({ ...m, editing: undefined, filter: { expr, names: engine.resolve(expr) }, error: undefined, scroll: 0 });
        } catch (err) {
          const ve = toVacmError(err);
          c.setModal({ ...m, error: `${ve.code}: ${ve.message}` });
        }
      },
    });
    if (done) return;
    const t = editInput(editing, name, input);
    if (t !== undefined) c.setModal({ ...m, editing: t, error: undefined });
    return;
  }
  const total = engine.events?.(m.filter ? { nodes: m.filter.names } : {}).length ?? 0;
  const rows = Math.max(1, c.layout.current.outputRows);
  const last = Math.max(0, total - rows);
  // moving up leaves follow mode; reaching the end again (End, G) takes it back
  const from = m.follow ? last : Math.min(m.scroll, last);
  const to = (n: number) => {
    const scroll = Math.max(0, Math.min(last, n));
    c.setModal({ ...m, scroll, follow: scroll >= last && n >= last });
  };
  dispatch<ActionOf<'events'>>(c.view().maps.events, name, {
    ...scrollMoves(from, last, rows, to),
    eventsFollow: () => c.setModal({ ...m, follow: !m.follow, scroll: from }),
    eventsFilter: () => c.setModal({ ...m, editing: inputOf(m.filter?.expr ?? '', { selected: true }) }),
    back: () => (m.filter ? c.setModal({ ...m, filter: undefined, scroll: 0 }) : c.close()),
    close: () => c.close(),
  });
};

const quit: DialogKey<'quit'> = (c, _m, name) => {
  dialog('quit', name, { yes: () => c.props.onQuit(), no: () => c.close() });
};

const power: DialogKey<'power'> = (c, m, name) => {
  if (m.sub) {
    // BOOTDEV's device and IDENTIFY's mode, a second step in the same overlay: its keys are the
    // choices themselves (p pxe, o on, digits), decided by power-menu.ts's subChoiceKey (pure, tested)
    const k = subChoiceKey(m.sub, name);
    if (k.kind === 'back') return c.setModal({ ...m, sub: undefined });
    if (k.kind === 'update') return c.setModal({ ...m, sub: k.sub });
    if (k.kind === 'error') return c.say(k.message, true);
    if (k.kind === 'none') return;
    const so = m.sub.offer;
    c.close();
    c.request(k.line, 'action', so.leftOut.length ? [[{ text: `left out, their driver cannot ${so.action}: ${so.leftOut.join(', ')}`, slot: 'dim' }]] : []);
    return;
  }
  if (dialog('power', name, { close: () => c.close() })) return;
  // the menu's entries are the powerMenu keymap's bindings, offered per target (power-menu.ts)
  const o = m.offers.find((x) => x.binding.keys.includes(name));
  if (!o) return;
  if (o.disabledReason) return c.say(`${o.binding.description}: ${o.disabledReason}`, true);
  if (o.action === 'bootdev' || o.action === 'identify') return c.setModal({ ...m, sub: { offer: o, persistent: false, seconds: '' } });
  const cmd = POWER_COMMANDS[o.binding.action];
  c.close();
  const notes: Line[] = o.leftOut.length ? [[{ text: `left out, their driver cannot ${o.action}: ${o.leftOut.join(', ')}`, slot: 'dim' }]] : [];
  c.request(`POWER:${cmd}:${foldNodeSet([...o.targets])}`, 'action', notes);
};

const exec: DialogKey<'exec'> = (c, m, name, input) => {
  // while a history search (C-r) is open the input takes every key
  const done = !m.input.search && dialog('exec', name, {
    close: () => c.close(),
    run: () => {
      const command = m.input.text;
      if (command.trim() === '') return c.close();
      c.pushHistory(c.execHistory.current, command);
      c.close();
      c.request(`SSH:EXEC:${foldNodeSet(m.targets)}:${command}`, 'action');
    },
  });
  if (done) return;
  const t = editInput(m.input, name, input, c.execHistory.current);
  if (t !== undefined) c.setModal({ ...m, input: t });
};

const filter: DialogKey<'filter'> = (c, m, name, input) => {
  const done = !m.input.search && dialog('filter', name, {
    cancel: () => {
      // back to the filter the prompt opened on: Esc in the prompt never loses a view
      clearTimeout(c.liveTimer.current);
      c.update({ modal: { kind: 'none' }, filter: m.prev });
    },
    keep: () => {
      clearTimeout(c.liveTimer.current);
      c.pushHistory(c.filterHistory.current, m.input.text.trim());
      if (m.prev && m.prev.expr !== m.input.text.trim()) {
        c.undoStack.current.push({ marks: c.state.current.marks, filter: m.prev, what: 'filter' });
      }
      c.close();
      c.applyFilter(m.input.text);
    },
    complete: () => {
      const r = c.completeNodes(m.input);
      c.setModal({ ...m, input: r.input, candidates: r.candidates });
      if (r.input.text !== m.input.text) c.liveFilter(r.input.text);
    },
  });
  if (done) return;
  const t = editInput(m.input, name, input, c.filterHistory.current);
  if (t === undefined) return;
  c.setModal({ ...m, input: t, candidates: undefined });
  if (t.text !== m.input.text) c.liveFilter(t.text);
};

const prompt: DialogKey<'prompt'> = (c, m, name, input) => {
  const { engine } = c;
  const done = !m.input.search && dialog('prompt', name, {
    close: () => c.close(),
    run: () => {
      const line = m.input.text.trim();
      if (line === '') return c.close();
      const r = engine.check(line);
      if (!r.ok) return c.setModal({ ...m, error: `${r.code}: ${r.message}`, candidates: undefined });
      if (r.dangerous && engine.readOnly) return c.setModal({ ...m, error: readOnlyText(r.label), candidates: undefined });
      const h = c.history.current;
      // a request that sets a secret is not kept: up-arrow must not bring the password back
      if (h[h.length - 1] !== line && !setsSecret(line)) {
        h.push(line);
        c.props.onHistory?.(line);
      }
      c.close();
      c.request(line, 'prompt');
    },
    complete: () => {
      // a custom action's name completes to its request on the current targets
      const typed = beforeCursor(m.input);
      if (!typed.includes(':')) {
        const hits = c.actions.filter((a) => a.name.toLowerCase().startsWith(typed.toLowerCase()) && typed !== '');
        if (hits.length === 1) {
          const line = c.actionLine(hits[0]);
          if (line) c.setModal({ ...m, input: replaceBeforeCursor(m.input, line), candidates: undefined, error: undefined });
          return;
        }
      }
      const r = complete(beforeCursor(m.input), { modules: engine.registry.modules(), nodes: c.snapNodes(), groups: engine.registry.groups() });
      const named = typed.includes(':') ? [] : c.actions.filter((a) => a.name.toLowerCase().startsWith(typed.toLowerCase())).map((a) => `${a.name} (${keyLabel(a.key)})`);
      const cands = [...named, ...r.candidates];
      c.setModal({ ...m, input: replaceBeforeCursor(m.input, r.line), candidates: cands.length > 1 ? cands : undefined, error: undefined });
    },
  });
  if (done) return;
  const t = editInput(m.input, name, input, c.history.current);
  if (t !== undefined) c.setModal({ ...m, input: t, error: undefined, candidates: undefined });
};

const confirm: DialogKey<'confirm'> = (c, m, name, input) => {
  const no = () => {
    c.close();
    c.say('cancelled: nothing was done');
  };
  if (!m.needCount) {
    dialog('confirm', name, { yes: () => { c.close(); c.run(m.line); }, no });
    return;
  }
  const done = dialog('confirmCount', name, {
    no,
    yes: () => {
      if (m.typed.text.trim() === String(m.count)) {
        c.close();
        c.run(m.line);
      } else c.setModal({ ...m, typed: inputOf() });
    },
  });
  if (done) return;
  const t = editInput(m.typed, name, input);
  if (t !== undefined && /^\d*$/.test(t.text) && !t.search) c.setModal({ ...m, typed: t });
};

const output: DialogKey<'output'> = (c, m, name) => {
  const job = c.snap.current.jobs.find((j) => j.id === m.jobId);
  const lineNodes = () => (job ? (m.gathered ? gatheredJobRows(job).map((r) => r.nodes) : perNodeLineNodes(job)) : []);
  const body = Math.max(1, c.layout.current.outputRows);
  const page = Math.max(1, body - 1);
  const move = (d: number) => {
    const lines = lineNodes();
    const cursor = Math.max(0, Math.min(Math.max(0, lines.length - 1), m.cursor + d));
    const scroll = cursor < m.scroll ? cursor : cursor >= m.scroll + body ? cursor - body + 1 : m.scroll;
    c.setModal({ ...m, cursor, scroll });
  };
  dialog('output', name, {
    close: () => c.close(),
    gathered: () => c.setModal({ ...m, gathered: !m.gathered, scroll: 0, cursor: 0 }),
    markGroup: () => c.markOutputGroup(lineNodes()[m.cursor]),
    markFailed: () => c.markFailed(job),
    rerun: () => c.rerun(job),
    up: () => move(-1),
    down: () => move(1),
    pageUp: () => move(-page),
    pageDown: () => move(page),
    home: () => move(-1e9),
    end: () => move(1e9),
  });
};

const sort: DialogKey<'sort'> = (c, m, name) => {
  const s = c.state.current;
  const to = (i: number) => c.setModal({ ...m, cursor: Math.max(0, Math.min(SORTS.length - 1, i)) });
  dialog('sort', name, {
    up: () => to(m.cursor - 1),
    down: () => to(m.cursor + 1),
    pick: () => {
      const key = SORTS[m.cursor].key;
      c.update({ modal: { kind: 'none' }, sort: key });
      c.say(`sorted by ${key} ${sortArrow(key, s.sortReverse)}`);
    },
    invert: () => {
      c.update({ sortReverse: !s.sortReverse });
      c.say(`sorted by ${s.sort} ${sortArrow(s.sort, !s.sortReverse)}`);
    },
    close: () => c.close(),
  });
};

/** Every dialog's key handler, by the modal's kind. */
const DIALOG_KEYS: { readonly [K in Exclude<Modal['kind'], 'none'>]: DialogKey<K> } = { help, events, quit, power, exec, filter, prompt, confirm, output, sort };

/** A key while a dialog is open. */
export function dialogKey(c: Control, m: Exclude<Modal, { kind: 'none' }>, name: string, input: string): void {
  (DIALOG_KEYS[m.kind] as DialogKey<typeof m.kind>)(c, m as never, name, input);
}

/** Dialogs that take typed text: a chunk of input is their text, not a run of keys. */
export function isTyping(m: Modal): boolean {
  return (m.kind === 'events' && m.editing !== undefined) || (m.kind === 'help' && m.searching) || m.kind === 'prompt' || m.kind === 'filter' || m.kind === 'exec' || (m.kind === 'confirm' && m.needCount);
}
