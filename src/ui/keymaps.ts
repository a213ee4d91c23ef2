/**
 * Keys are data: one keymap per pane (and one for the whole screen), one per dialog. A binding names
 * an action; each action has exactly one handler (src/ui/pane-actions.ts for the panes,
 * src/ui/dialog-actions.ts for the dialogs), in a table typed by the keymap's actions, so a binding
 * whose action has no handler does not compile. The footer, the help screen and docs/keys.md are
 * generated from these tables, and read-only mode drops every dangerous binding in exactly one place
 * (`activeKeymaps`).
 */

import { expandAction, type CustomAction } from '../protocol/actions.js';

export type PaneId = 'nodes' | 'detail' | 'jobs';

export interface Binding<A extends string = string> {
  /** key names as `keyName` produces them: 'j', 'down', 'pageup', 'ctrl+c', 'space', 'return', ... */
  readonly keys: readonly string[];
  readonly action: A;
  readonly description: string;
  /** changes something on the cluster: confirmed, and removed in read-only mode */
  readonly dangerous: boolean;
  /** shown in the footer (the rest only in help) */
  readonly footer?: boolean;
  /** the footer's shorter wording (80 columns are few) */
  readonly short?: string;
}

const b = <A extends string>(keys: string[], action: A, description: string, opts: { dangerous?: boolean; footer?: boolean; short?: string } = {}): Binding<A> => ({
  keys,
  action,
  description,
  dangerous: opts.dangerous ?? false,
  footer: opts.footer ?? opts.short !== undefined,
  short: opts.short,
});

const listMoves = [
  b(['up', 'k'], 'up', 'cursor up'),
  b(['down', 'j'], 'down', 'cursor down'),
  b(['pageup'], 'pageUp', 'page up'),
  b(['pagedown'], 'pageDown', 'page down'),
  b(['home', 'g'], 'home', 'first'),
  b(['end', 'G'], 'end', 'last'),
];
const scrollMoves = listMoves.map((x) => ({ ...x, description: x.description.replace('cursor', 'scroll') }));

/** The panes' keymaps and those of the dialogs listed in help. Adding a key: a line here, a handler where the compiler says. */
const MAPS = {
  global: [
    b(['?'], 'help', 'help', { short: 'help' }),
    b(['q'], 'quit', 'quit', { short: 'quit' }),
    b(['tab'], 'nextPane', 'next pane', { short: 'pane' }),
    b(['shift+tab'], 'prevPane', 'previous pane'),
    b([':'], 'prompt', 'IPC prompt', { short: 'prompt' }),
    b(['t'], 'theme', 'next theme'),
    b(['ctrl+c'], 'cancelJob', 'cancel the selected job'),
    b(['e'], 'events', 'events timeline (all nodes; / filters)'),
    b(['+'], 'chartIn', 'load chart: a shorter span (1 min, 5 min, 1 h, 24 h)'),
    b(['-'], 'chartOut', 'load chart: a longer span'),
  ],
  nodes: [
    ...listMoves,
    b(['left', 'h'], 'left', 'cursor left (overview)'),
    b(['right', 'l'], 'right', 'cursor right (overview)'),
    b(['space'], 'mark', 'mark / unmark', { short: 'mark' }),
    b(['a'], 'markAll', 'mark every shown node'),
    b(['escape'], 'clearMarks', 'clear the filter, then the marks'),
    b(['/'], 'filter', 'filter (node set or text)', { short: 'filter' }),
    b(['s'], 'sort', 'sort: name, load, state'),
    b(['v'], 'overview', 'list / overview'),
    b(['n'], 'nextTrouble', 'next node down or unknown'),
    b(['N'], 'prevTrouble', 'previous node down or unknown'),
    b(['p'], 'power', 'power menu', { short: 'power' }),
    b(['x'], 'exec', 'run a command (SSH:EXEC; asks unless exec.safe)', { short: 'exec' }),
    b(['c'], 'console', 'serial console of the node, full screen (~. leaves, ~B break, ~? help)'),
    b(['u'], 'undo', 'undo the last Esc (or a): filter and marks back'),
  ],
  detail: [] as Binding<never>[],
  jobs: [
    ...listMoves,
    b(['return'], 'open', 'full per-node output', { short: 'output' }),
  ],
  help: [
    ...scrollMoves,
    b(['/'], 'helpSearch', 'search the help (Enter keeps the matches)'),
    b(['escape'], 'back', 'clear a search, else close'),
    b(['?', 'q'], 'close', 'close'),
  ],
  powerMenu: [
    b(['o'], 'powerOn', 'power on', { dangerous: true }),
    b(['f'], 'powerOff', 'power off', { dangerous: true }),
    b(['c'], 'powerCycle', 'power cycle', { dangerous: true }),
    b(['r'], 'powerReset', 'hard reset', { dangerous: true }),
    b(['s'], 'powerSoft', 'soft off (ACPI)', { dangerous: true }),
    b(['t'], 'powerStatus', 'power status'),
  ],
  events: [
    ...scrollMoves,
    b(['f'], 'eventsFollow', 'follow: keep the newest in view (on when opened)'),
    b(['/'], 'eventsFilter', 'filter by node set (Enter applies; empty shows all)'),
    b(['escape'], 'back', 'clear a filter, else close'),
    b(['e', 'q'], 'close', 'close'),
  ],
};

export type KeymapName = keyof typeof MAPS;
/** The actions of one keymap (what its handler table must cover). */
export type ActionOf<M extends KeymapName> = (typeof MAPS)[M][number]['action'];
export type Keymaps = { readonly [K in KeymapName]: readonly Binding<ActionOf<K>>[] };
export const KEYMAPS: Keymaps = MAPS;

/** What a key does with no dialog open: the focused pane's keymap, then the global one. */
export type PaneAction = ActionOf<'global'> | ActionOf<'nodes'> | ActionOf<'detail'> | ActionOf<'jobs'>;
export type PowerAction = ActionOf<'powerMenu'>;

/**
 * The dialogs' own keys besides those above (the prompts' Enter/Esc/Tab, the confirmations' y/n,
 * a job's output view). Not subject to read-only: none of them is dangerous by itself (a request is
 * checked, and confirmed, on its own).
 */
const DIALOG_MAPS = {
  /** typing a search in help */
  helpSearch: [b(['return'], 'keep', 'keep the matches'), b(['escape', 'ctrl+c'], 'cancel', 'clear the search')],
  /** typing the events timeline's node-set filter */
  eventsFilter: [b(['return'], 'apply', 'apply the filter (empty shows all)'), b(['escape', 'ctrl+c'], 'cancel', 'stop editing')],
  exec: [b(['return'], 'run', 'run the command (asks first unless exec.safe)'), b(['escape', 'ctrl+c'], 'close', 'close')],
  filter: [b(['return'], 'keep', 'keep the filter'), b(['escape', 'ctrl+c'], 'cancel', 'back to the filter it opened on'), b(['tab'], 'complete', 'complete a node name or @group')],
  prompt: [b(['return'], 'run', 'check and run'), b(['escape', 'ctrl+c'], 'close', 'close'), b(['tab'], 'complete', 'complete module, command, node, group or action name')],
  confirm: [b(['y', 'return'], 'yes', 'confirm'), b(['n', 'q', 'escape', 'ctrl+c'], 'no', 'cancel')],
  /** a confirmation of more than TYPE_COUNT_ABOVE targets: the count is typed */
  confirmCount: [b(['return'], 'yes', 'confirm (when the typed count is right)'), b(['escape', 'ctrl+c'], 'no', 'cancel')],
  quit: [b(['y', 'return'], 'yes', 'quit (running jobs are cancelled)'), b(['n', 'escape', 'q'], 'no', 'stay')],
  /** the power menu's own keys (its actions are `powerMenu`) */
  power: [b(['escape', 'p', 'q'], 'close', 'close')],
  /** a job's full output (Enter in the jobs pane) */
  output: [
    b(['up', 'k'], 'up', 'cursor line up'),
    b(['down', 'j'], 'down', 'cursor line down'),
    b(['pageup'], 'pageUp', 'page up'),
    b(['pagedown'], 'pageDown', 'page down'),
    b(['home'], 'home', 'first line'),
    b(['end', 'G'], 'end', 'last line'),
    b(['g'], 'gathered', 'gathered / per node'),
    b(['space', 'm'], 'markGroup', 'mark (again: unmark) the group under the cursor'),
    b(['F'], 'markFailed', 'mark exactly the failed nodes'),
    b(['r'], 'rerun', 're-run on the marked (else the failed) nodes; asks'),
    b(['escape', 'q', 'return'], 'close', 'close'),
  ],
};

export type DialogKeymapName = keyof typeof DIALOG_MAPS;
export type DialogActionOf<M extends DialogKeymapName> = (typeof DIALOG_MAPS)[M][number]['action'];
export const DIALOG_KEYMAPS: { readonly [K in DialogKeymapName]: readonly Binding<DialogActionOf<K>>[] } = DIALOG_MAPS;

/** Every action a key can name. */
export type Action = { [K in KeymapName]: ActionOf<K> }[KeymapName] | { [K in DialogKeymapName]: DialogActionOf<K> }[DialogKeymapName];

/** The POWER command each power-menu action sends (the power menu's handlers: one per action, or it does not compile). */
export const POWER_COMMANDS: Readonly<Record<PowerAction, string>> = {
  powerOn: 'ON',
  powerOff: 'OFF',
  powerCycle: 'CYCLE',
  powerReset: 'RESET',
  powerSoft: 'SOFT',
  powerStatus: 'STATUS',
};

/** The keymaps in effect: in read-only mode every dangerous binding is gone. The one place that decides. */
export function activeKeymaps(readOnly: boolean, maps: Keymaps = KEYMAPS): Keymaps {
  if (!readOnly) return maps;
  const out: Record<string, readonly Binding[]> = {};
  for (const [name, list] of Object.entries(maps) as [KeymapName, readonly Binding[]][]) out[name] = list.filter((x) => !x.dangerous);
  return out as unknown as Keymaps;
}

/** The subset of ink's Key we look at. */
export interface KeyInfo {
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  home?: boolean;
  end?: boolean;
  return?: boolean;
  escape?: boolean;
  ctrl?: boolean;
  shift?: boolean;
  tab?: boolean;
  backspace?: boolean;
  delete?: boolean;
  meta?: boolean;
}

/** One name for a key press, as keymaps spell it. */
export function keyName(input: string, key: KeyInfo): string {
  if (key.upArrow) return 'up';
  if (key.downArrow) return 'down';
  if (key.leftArrow) return 'left';
  if (key.rightArrow) return 'right';
  if (key.pageUp) return 'pageup';
  if (key.pageDown) return 'pagedown';
  if (key.home) return 'home';
  if (key.end) return 'end';
  if (key.return) return 'return';
  if (key.escape) return 'escape';
  if (key.tab) return key.shift ? 'shift+tab' : 'tab';
  if (key.backspace || key.delete) return key.meta ? 'alt+backspace' : 'backspace';
  if (key.ctrl) return `ctrl+${input}`;
  // Alt-<key> arrives as ESC <key>: ink strips the ESC and sets meta
  if (key.meta && input.length === 1) return `alt+${input}`;
  if (input === ' ') return 'space';
  return input;
}

export function lookup<A extends string>(map: readonly Binding<A>[], name: string): Binding<A> | undefined {
  return map.find((x) => x.keys.includes(name));
}

const KEY_LABEL: Record<string, string> = { up: '↑', down: '↓', left: '←', right: '→', return: 'Enter', escape: 'Esc', pageup: 'PgUp', pagedown: 'PgDn', home: 'Home', end: 'End', tab: 'Tab', 'shift+tab': 'S-Tab', space: 'Space', 'ctrl+c': 'C-c' };

export function keyLabel(k: string): string {
  return KEY_LABEL[k] ?? k;
}

export function bindingKeys(x: Binding): string {
  return x.keys.map(keyLabel).join('/');
}

/** The footer line of a pane: the global essentials, then the pane's own keys (first keys only, short words). */
export function footerText(maps: Keymaps, pane: PaneId, actions: readonly CustomAction[] = []): string {
  const fmt = (x: Binding) => `${keyLabel(x.keys[0])} ${x.short ?? x.description}`;
  const own = maps[pane].filter((x) => x.footer).map(fmt);
  const global = maps.global.filter((x) => x.footer).map(fmt);
  const custom = actions.map((a) => `${keyLabel(a.key)} ${a.name}`);
  return [...global, ...(own.length ? ['│', ...own] : []), '↑↓ move', ...(custom.length ? ['│', ...custom] : [])].join('  ');
}

export const KEYMAP_TITLES: Record<KeymapName, string> = {
  global: 'Everywhere',
  nodes: 'Nodes pane',
  detail: 'Detail pane',
  jobs: 'Jobs pane',
  powerMenu: 'Power menu (p)',
  help: 'Help (?)',
  events: 'Events timeline (e)',
};

const SHOWN_MAPS: KeymapName[] = ['global', 'nodes', 'jobs', 'powerMenu', 'help', 'events'];

/**
 * The help lines that match `search` (case-insensitive), each under its section's title; every line
 * when the search is empty.
 */
export function searchHelp(lines: readonly string[], search: string): string[] {
  const q = search.trim().toLowerCase();
  if (q === '') return [...lines];
  const out: string[] = [];
  let title: string | undefined;
  for (const l of lines) {
    if (!l.startsWith(' ')) {
      title = l;
      continue;
    }
    if (!l.toLowerCase().includes(q)) continue;
    if (title !== undefined) out.push(title);
    title = undefined;
    out.push(l);
  }
  return out;
}

/** The built-in binding a custom action's key would shadow (the maps in effect with no dialog open), if any. */
export function builtinKeyFor(key: string, maps: Keymaps = KEYMAPS): { map: KeymapName; binding: Binding } | undefined {
  for (const map of ['global', 'nodes', 'detail', 'jobs'] as const) {
    const b = lookup(maps[map], key);
    if (b) return { map, binding: b };
  }
  return undefined;
}

/** Codes that mean a custom action's template names no valid request (checked once, when the dashboard starts). */
const TEMPLATE_CODES = new Set(['ERR_PROTO_PARSE', 'ERR_UNKNOWN_MODULE', 'ERR_UNKNOWN_COMMAND', 'ERR_BAD_ARGS', 'ERR_NOT_ALLOWED']);

/**
 * Why the config's custom actions cannot start, or undefined: a key a built-in key already has, or a
 * template that is no valid request once expanded for `sample` (a node of the cluster).
 */
export function customActionProblem(actions: readonly CustomAction[], check: (line: string) => { ok: true } | { ok: false; code: string; message: string }, sample: string, maps: Keymaps = KEYMAPS): string | undefined {
  for (const a of actions) {
    const where = a.source ?? 'vacm.yaml: actions';
    const clash = builtinKeyFor(a.key, maps);
    if (clash) return `${where}.key: ${keyLabel(a.key)} is a built-in key (${clash.binding.description}, ${KEYMAP_TITLES[clash.map].toLowerCase()}); choose another key for "${a.name}"`;
    const c = check(expandAction(a.request, { nodes: sample, node: sample }));
    if (!c.ok && TEMPLATE_CODES.has(c.code)) return `${where}.request: "${a.request}" is not a valid request: ${c.code}: ${c.message}`;
  }
  return undefined;
}

/** The help screen's lines, generated from the keymaps (and the config's custom actions). */
export function helpLines(maps: Keymaps, actions: readonly CustomAction[] = []): string[] {
  const out: string[] = [];
  if (actions.length) {
    out.push('Custom actions (vacm.yaml)');
    for (const a of actions) out.push(`  ${keyLabel(a.key).padEnd(14)} ${a.name}`);
  }
  for (const name of SHOWN_MAPS) {
    if (maps[name].length === 0) continue;
    out.push(KEYMAP_TITLES[name]);
    for (const x of maps[name]) out.push(`  ${bindingKeys(x).padEnd(14)} ${x.description}${x.dangerous ? '  (asks first)' : ''}`);
  }
  out.push('Job output (Enter in jobs)');
  for (const x of DIALOG_KEYMAPS.output) out.push(`  ${bindingKeys(x).padEnd(14)} ${x.description}`);
  out.push('Text input (: / x)');
  for (const [k, d] of TEXT_INPUT_KEYS) out.push(`  ${k.padEnd(14)} ${d}`);
  out.push('Prompt (:)');
  out.push('  Tab            complete module, command, node or group');
  out.push('  ↑/↓            history');
  out.push('  Enter/Esc      run / close');
  out.push('Console (c)');
  out.push('  ~.             leave the console (at the start of a line)');
  out.push('  ~B / ~? / ~~   serial break / help / type a ~');
  return out;
}

/** The editing keys of every text input (src/ui/text-input.ts), for help and docs/keys.md. */
export const TEXT_INPUT_KEYS: readonly (readonly [string, string])[] = [
  ['←/→ C-b/C-f', 'cursor left / right'],
  ['Home/End', 'start / end of line (also C-a / C-e)'],
  ['M-b/M-f', 'word left / right'],
  ['C-w', 'delete the word (or IPC field) before the cursor'],
  ['C-k/C-u', 'delete to the end / to the start'],
  ['C-d', 'delete the character under the cursor'],
  ['↑/↓', 'recall history (each prompt has its own)'],
  ['C-r', 'search the history backwards (C-r again: older)'],
  ['Tab', 'complete a node name or @group (/ and :)'],
  ['typing', 'a pre-filled text is selected: a key replaces it'],
];

/** docs/keys.md, generated from the keymaps (a test checks the file matches). */
export function keysMarkdown(maps: Keymaps = KEYMAPS): string {
  const out: string[] = ['# vacm dashboard keys', '', '<!-- generated from src/ui/keymaps.ts; test/ui/keys-doc.test.ts checks it -->', ''];
  for (const name of SHOWN_MAPS) {
    out.push(`## ${KEYMAP_TITLES[name]}`, '', '| keys | action | dangerous |', '| --- | --- | --- |');
    for (const x of maps[name]) out.push(`| ${x.keys.map((k) => '`' + keyLabel(k) + '`').join(' ')} | ${x.description} | ${x.dangerous ? 'yes (confirmed; gone with --read-only)' : ''} |`);
    out.push('');
  }
  out.push('## Prompt (`:`)', '', '| keys | action |', '| --- | --- |', '| `Tab` | complete module, command, node name or group |', '| `↑` `↓` | history (kept in the state dir) |', '| `Enter` | check and run (parse errors are shown inline; dangerous requests ask first) |', '| `Esc` | close |', '');
  out.push('## Console (`c`)', '', 'Every other key goes to the node. The escapes count at the start of a line (after Enter), as in ssh and ipmitool; a second operator on the same console watches read-only.', '', '| keys | action |', '| --- | --- |', '| `~.` | leave the console, back to the dashboard as it was |', '| `~B` | send a serial break |', '| `~?` | show or hide the escapes |', '| `~~` | type a `~` |', '');
  out.push('## Job output (`Enter` in the jobs pane)', '', '| keys | action |', '| --- | --- |', ...DIALOG_KEYMAPS.output.map((x) => `| ${x.keys.map((k) => '`' + keyLabel(k) + '`').join(' ')} | ${x.description} |`), '');
  out.push('## Text input (`:`, `/`, `x`)', '', '| keys | action |', '| --- | --- |', ...TEXT_INPUT_KEYS.map(([k, d]) => `| ${k.split('/').map((x) => '`' + x + '`').join(' ')} | ${d} |`), '', 'The `/` filter narrows the nodes as you type (from 4096 nodes on, after a short pause); Esc goes back to the filter you started from, Enter keeps the new one.', '');
  out.push('## Confirmations', '', 'Every dangerous action names the action, the folded targets and their count. `y` or `Enter` confirms, `n` or `Esc` cancels; for more than 16 nodes type the count and press `Enter`.', '');
  return out.join('\n');
}
