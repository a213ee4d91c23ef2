/**
 * The one text input of the dashboard (`:` prompt, `/` filter, `x` command, help search, typed
 * counts), as a pure reducer: a key name in, the next input state out. Readline's editing keys:
 * ←/→ Ctrl-B/F, Home/End Ctrl-A/E, Alt-B/F by word, Ctrl-W/Alt-Backspace a word back, Ctrl-K to
 * the end, Ctrl-U to the start, Ctrl-D the character under the cursor, ↑/↓ Ctrl-P/N history,
 * Ctrl-R reverse search of the history. Text opened pre-filled is selected: the first typed key
 * replaces it, a movement keeps it. The component (PromptPane's Input) only renders this state.
 */

export interface ReverseSearch {
  readonly query: string;
  /** history index of the match shown, undefined while nothing matches */
  readonly at?: number;
  /** the line as it was before Ctrl-R (Esc goes back to it) */
  readonly before: { readonly text: string; readonly cursor: number };
}

export interface TextInput {
  readonly text: string;
  /** 0..text.length: the cursor sits before text[cursor] */
  readonly cursor: number;
  /** the whole text is selected: typing replaces it, Backspace clears it */
  readonly selected: boolean;
  /** history index while recalling (↑/↓); undefined while editing one's own line */
  readonly hist?: number;
  /** the line being typed when recall began (↓ past the newest entry brings it back) */
  readonly draft?: string;
  readonly search?: ReverseSearch;
}

/** Longest line an input holds (a paste of a whole file must not grow a frame without bound). */
export const MAX_INPUT = 4096;

export function inputOf(text = '', opts: { selected?: boolean } = {}): TextInput {
  const t = text.slice(0, MAX_INPUT);
  return { text: t, cursor: t.length, selected: (opts.selected ?? false) && t !== '' };
}

const isWordChar = (c: string | undefined) => c !== undefined && /[\p{L}\p{N}_]/u.test(c);
/** Ctrl-W stops at blanks and at the IPC separator, so `SSH:EXEC:sim1:uname -r` loses one field or word at a time */
const isRubout = (c: string | undefined) => c === undefined || c === ' ' || c === '\t' || c === ':';

/** Start of the word before `i` (Alt-B): skip non-word characters, then word characters. */
export function wordLeft(text: string, i: number): number {
  let j = i;
  while (j > 0 && !isWordChar(text[j - 1])) j--;
  while (j > 0 && isWordChar(text[j - 1])) j--;
  return j;
}

/** End of the word after `i` (Alt-F). */
export function wordRight(text: string, i: number): number {
  let j = i;
  while (j < text.length && !isWordChar(text[j])) j++;
  while (j < text.length && isWordChar(text[j])) j++;
  return j;
}

function ruboutStart(text: string, i: number): number {
  let j = i;
  while (j > 0 && isRubout(text[j - 1])) j--;
  while (j > 0 && !isRubout(text[j - 1])) j--;
  return j;
}

const set = (s: TextInput, text: string, cursor: number): TextInput => ({ text, cursor: Math.max(0, Math.min(text.length, cursor)), selected: false });

/** Printable text of a key press (a paste arrives as one string); control characters never enter the line. */
function printable(input: string, name: string): string | undefined {
  if (name === 'space') return ' ';
  if (name.startsWith('ctrl+') || name.startsWith('alt+')) return undefined;
  if (input === '' || NAMED.has(name)) return undefined;
  const clean = input.replace(/[\x00-\x1f\x7f-\x9f]/g, '');
  return clean === '' ? undefined : clean;
}

const NAMED = new Set(['up', 'down', 'left', 'right', 'pageup', 'pagedown', 'home', 'end', 'return', 'escape', 'tab', 'shift+tab', 'backspace']);

function insert(s: TextInput, t: string): TextInput {
  const base = s.selected ? { text: '', cursor: 0 } : s;
  const room = MAX_INPUT - base.text.length;
  if (room <= 0) return { ...s, selected: false };
  const add = t.slice(0, room);
  return set(s, base.text.slice(0, base.cursor) + add + base.text.slice(base.cursor), base.cursor + add.length);
}

/** The newest history index at or below `from` whose entry contains `query`. */
function findBack(history: readonly string[], query: string, from: number): number | undefined {
  for (let i = Math.min(from, history.length - 1); i >= 0; i--) if (query === '' ? false : history[i].includes(query)) return i;
  return undefined;
}

function searchKey(s: TextInput, r: ReverseSearch, name: string, input: string, history: readonly string[]): TextInput {
  const show = (q: string, at: number | undefined): TextInput => {
    const text = at !== undefined ? history[at] : s.text;
    const hit = at !== undefined ? text.indexOf(q) : s.cursor;
    return { text, cursor: Math.max(0, hit), selected: false, search: { ...r, query: q, at } };
  };
  if (name === 'ctrl+r') {
    if (r.query === '') return s;
    const next = r.at === undefined ? undefined : findBack(history, r.query, r.at - 1);
    return next === undefined ? s : show(r.query, next);
  }
  if (name === 'escape' || name === 'ctrl+g' || name === 'ctrl+c') return { text: r.before.text, cursor: r.before.cursor, selected: false };
  if (name === 'backspace') {
    const q = r.query.slice(0, -1);
    return show(q, findBack(history, q, history.length - 1));
  }
  const t = printable(input, name);
  if (t !== undefined) {
    const q = (r.query + t).slice(0, 200);
    return show(q, findBack(history, q, r.at ?? history.length - 1));
  }
  // Enter keeps the found line to edit (it does not run it: what runs is always seen first);
  // any other key keeps it and then acts, as in readline
  const kept: TextInput = { text: s.text, cursor: s.cursor, selected: false };
  if (name === 'return') return kept;
  return editInput(kept, name, input, history) ?? kept;
}

/**
 * The input after a key, or undefined when the key is not an editing key (Enter, Esc, Tab, ...:
 * the owner of the input decides). `history` is oldest first.
 */
export function editInput(s: TextInput, name: string, input: string, history: readonly string[] = []): TextInput | undefined {
  if (s.search) return searchKey(s, s.search, name, input, history);
  const { text, cursor } = s;
  switch (name) {
    case 'left':
    case 'ctrl+b':
      return { ...set(s, text, s.selected ? 0 : cursor - 1), hist: s.hist, draft: s.draft };
    case 'right':
    case 'ctrl+f':
      return { ...set(s, text, cursor + 1), hist: s.hist, draft: s.draft };
    case 'home':
    case 'ctrl+a':
      return { ...set(s, text, 0), hist: s.hist, draft: s.draft };
    case 'end':
    case 'ctrl+e':
      return { ...set(s, text, text.length), hist: s.hist, draft: s.draft };
    case 'alt+b':
      return { ...set(s, text, wordLeft(text, cursor)), hist: s.hist, draft: s.draft };
    case 'alt+f':
      return { ...set(s, text, wordRight(text, cursor)), hist: s.hist, draft: s.draft };
    case 'backspace':
      if (s.selected) return set(s, '', 0);
      return cursor === 0 ? s : set(s, text.slice(0, cursor - 1) + text.slice(cursor), cursor - 1);
    case 'ctrl+d':
      if (s.selected) return set(s, '', 0);
      return set(s, text.slice(0, cursor) + text.slice(cursor + 1), cursor);
    case 'ctrl+w':
    case 'alt+backspace': {
      if (s.selected) return set(s, '', 0);
      const j = ruboutStart(text, cursor);
      return set(s, text.slice(0, j) + text.slice(cursor), j);
    }
    case 'alt+d': {
      const j = wordRight(text, cursor);
      return set(s, text.slice(0, cursor) + text.slice(j), cursor);
    }
    case 'ctrl+k':
      return set(s, s.selected ? '' : text.slice(0, cursor), s.selected ? 0 : cursor);
    case 'ctrl+u':
      return set(s, s.selected ? '' : text.slice(cursor), 0);
    case 'up':
    case 'ctrl+p':
    case 'down':
    case 'ctrl+n': {
      if (history.length === 0) return s;
      const back = name === 'up' || name === 'ctrl+p';
      const at = s.hist ?? history.length;
      const next = Math.max(0, Math.min(history.length, at + (back ? -1 : 1)));
      if (next === at) return s;
      const draft = s.hist === undefined ? text : s.draft;
      const line = next === history.length ? (draft ?? '') : history[next];
      return { text: line, cursor: line.length, selected: false, hist: next === history.length ? undefined : next, draft: next === history.length ? undefined : draft };
    }
    case 'ctrl+r':
      return { text, cursor, selected: false, search: { query: '', before: { text, cursor } } };
    default: {
      const t = printable(input, name);
      return t === undefined ? undefined : insert(s, t);
    }
  }
}

/** Replace the text before the cursor (Tab completion of the word being typed), keeping what follows. */
export function replaceBeforeCursor(s: TextInput, before: string): TextInput {
  const after = s.selected ? '' : s.text.slice(s.cursor);
  const text = (before + after).slice(0, MAX_INPUT);
  return set(s, text, Math.min(text.length, before.length));
}

/** The part of the input before the cursor (what completion looks at). */
export const beforeCursor = (s: TextInput): string => (s.selected ? '' : s.text.slice(0, s.cursor));

/**
 * What the input line shows in `width` columns after its label: the text around the cursor (cut on
 * the left when the cursor is far right, on the right otherwise), the character under the cursor
 * apart (drawn inverse; a blank at the end of the line).
 */
export function inputView(s: TextInput, width: number): { before: string; at: string; after: string; selected: boolean; cutLeft: boolean } {
  const w = Math.max(4, width);
  const chars = [...s.text];
  // the cursor as a code-point index
  const ci = [...s.text.slice(0, s.cursor)].length;
  let start = 0;
  if (ci >= w - 1) start = ci - (w - 2);
  const visible = chars.slice(start, start + w - 1);
  const local = ci - start;
  return {
    before: visible.slice(0, local).join(''),
    at: visible[local] ?? ' ',
    after: visible.slice(local + 1).join(''),
    selected: s.selected,
    cutLeft: start > 0,
  };
}
