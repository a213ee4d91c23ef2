/**
 * What the power menu offers and what a confirmation warns about, from what the engine knows (pure:
 * the nodes' views and their PowerFacts come in; tested without ink). A binding the targets' drivers
 * cannot do stays in the menu, greyed, with the reason; the others say how many targets they apply to.
 */
import type { NodeView } from '../protocol/module.js';
import { foldNodeSet } from '../protocol/nodeset.js';
import { GUARDED_ACTIONS, SETTABLE_BOOT_DEVICES, driverCommands, type BootDevice, type GuardReason, type PowerActionName, type PowerCommandName } from '../protocol/power.js';
import type { Binding, Keymaps, PowerAction } from './keymaps.js';
import { POWER_COMMANDS } from './keymaps.js';
import type { PowerFacts } from './ui-engine.js';
import type { Line } from './panes/Overlay.js';

/** An action in words, as a confirmation's first line says it. */
export const POWER_WORDS: Readonly<Record<PowerCommandName, string>> = {
  on: 'Power on',
  off: 'Power off',
  cycle: 'Power-cycle',
  reset: 'Hard-reset',
  soft: 'Soft-off (ACPI)',
  status: 'Read the power state of',
  boot: 'Boot (on if off, else hard-reset)',
  bootdev: 'Set the next boot device of',
  identify: 'Identify',
};

/** What the guard judges a command as: BOOT may reset. */
const guardedAs = (a: PowerCommandName): PowerActionName | undefined => (a === 'boot' ? 'reset' : a === 'bootdev' || a === 'identify' ? undefined : a);

const GUARD_WORDS: Readonly<Record<GuardReason, string>> = {
  local: 'the machine vacm runs on',
  controller: 'a controller',
  host: 'its host is this machine',
  bmc_host: 'its BMC is served by this machine',
};

export interface PowerOffer {
  readonly binding: Binding<PowerAction>;
  readonly action: PowerCommandName;
  /** the targets whose driver can do it */
  readonly targets: readonly string[];
  /** the targets left out, and why (folded, by reason) */
  readonly leftOut: readonly string[];
  /** set when no target can: the menu greys the entry and says this */
  readonly disabledReason?: string;
}

const actionOf = (b: Binding<PowerAction>): PowerCommandName => POWER_COMMANDS[b.action].toLowerCase() as PowerCommandName;
const cannotWhy = (f: PowerFacts) => (f.driver ? `power: ${f.driver}` : 'no power driver');
/** Can this node's driver do it (BOOT: STATUS, ON and RESET; the extras by driver)? */
const can = (f: PowerFacts, a: PowerCommandName) => driverCommands(f.driver, f.actions).includes(a);

function byReason(facts: readonly PowerFacts[], why: (f: PowerFacts) => string): string[] {
  const groups = new Map<string, string[]>();
  for (const f of facts) {
    const k = why(f);
    const g = groups.get(k);
    if (g) g.push(f.name);
    else groups.set(k, [f.name]);
  }
  return [...groups].map(([k, names]) => `${foldNodeSet(names)} (${k})`);
}

/** The power menu's entries for these targets: each binding with the targets it applies to. */
export function powerOffers(maps: Keymaps, facts: readonly PowerFacts[]): PowerOffer[] {
  return maps.powerMenu.map((binding) => {
    const action = actionOf(binding);
    const yes = facts.filter((f) => can(f, action));
    const no = facts.filter((f) => !can(f, action));
    const reasons = [...new Set(no.map(cannotWhy))];
    return {
      binding,
      action,
      targets: yes.map((f) => f.name),
      leftOut: byReason(no, cannotWhy),
      disabledReason: yes.length === 0 ? `not possible with ${reasons.join(', ') || 'no targets'}` : undefined,
    };
  });
}

/**
 * The second step of BOOTDEV and IDENTIFY, in the same overlay: a key per choice. BOOTDEV: a device
 * key sends it, `t` switches between next boot only and persistent; IDENTIFY: on, off, or digits and
 * Enter for that many seconds (1-255).
 */
export interface PowerSubChoice {
  readonly offer: PowerOffer;
  readonly persistent: boolean;
  /** digits typed so far (IDENTIFY's seconds) */
  readonly seconds: string;
}

export const BOOTDEV_KEYS: Readonly<Record<string, BootDevice>> = { p: 'pxe', d: 'disk', c: 'cdrom', b: 'bios', 0: 'default' };

/** The sub-choice's lines: keys and words, and where the choice goes ("3 of 5"). */
export function subChoiceLines(sub: PowerSubChoice, total: number): { title: string; lines: string[]; hint: string } {
  const n = sub.offer.targets.length;
  const count = n === total ? (n === 1 ? '' : ` · all ${n}`) : ` · ${n} of ${total}`;
  const leftOut = sub.offer.leftOut.length ? [`left out, their driver cannot ${sub.offer.action}: ${sub.offer.leftOut.join(', ')}`] : [];
  if (sub.offer.action === 'bootdev') {
    const keys = Object.entries(BOOTDEV_KEYS).filter(([, d]) => SETTABLE_BOOT_DEVICES.includes(d)).map(([k, d]) => `${k}  ${d}${d === 'default' ? ' (no override)' : ''}`);
    return { title: `NEXT BOOT DEVICE${count}`, lines: [...keys, `t  ${sub.persistent ? 'persistent (every boot)' : 'once (next boot only)'} — t switches`, ...leftOut], hint: 'a device key sets it (asks first) · Esc back' };
  }
  const typed = sub.seconds ? [`for ${sub.seconds} s — Enter sends`] : ['0-9 then Enter: for that many seconds (1-255)'];
  return { title: `IDENTIFY${count}`, lines: ['o  on (until turned off)', 'f  off', ...typed, ...leftOut], hint: 'Esc back' };
}

export type SubKey = { kind: 'send'; line: string } | { kind: 'update'; sub: PowerSubChoice } | { kind: 'back' } | { kind: 'error'; message: string } | { kind: 'none' };

/** A key in the sub-choice: the request it sends, the new sub-choice, or back to the menu (pure). */
export function subChoiceKey(sub: PowerSubChoice, name: string): SubKey {
  const nodes = foldNodeSet([...sub.offer.targets]);
  if (name === 'escape') return { kind: 'back' };
  if (sub.offer.action === 'bootdev') {
    if (name === 't') return { kind: 'update', sub: { ...sub, persistent: !sub.persistent } };
    const dev = BOOTDEV_KEYS[name];
    if (dev === undefined) return { kind: 'none' };
    return { kind: 'send', line: `POWER:BOOTDEV:${nodes}:${dev}${sub.persistent ? ':persistent' : ''}` };
  }
  if (name === 'o' || name === 'f') return { kind: 'send', line: `POWER:IDENTIFY:${nodes}:${name === 'o' ? 'on' : 'off'}` };
  if (/^\d$/.test(name)) return sub.seconds.length < 3 ? { kind: 'update', sub: { ...sub, seconds: sub.seconds + name } } : { kind: 'none' };
  if (name === 'backspace' || name === 'delete') return { kind: 'update', sub: { ...sub, seconds: sub.seconds.slice(0, -1) } };
  if (name === 'return') {
    const n = Number(sub.seconds);
    if (!(n >= 1 && n <= 255)) return { kind: 'error', message: 'identify for 1 to 255 seconds; type the number, then Enter' };
    return { kind: 'send', line: `POWER:IDENTIFY:${nodes}:${n}` };
  }
  return { kind: 'none' };
}

export interface Requested {
  readonly tag: string;
  readonly command: string;
  readonly label: string;
  readonly names: readonly string[];
  readonly folded: string;
  readonly args: Readonly<Record<string, string>>;
}

const nodesWord = (n: number) => `${n} node${n === 1 ? '' : 's'}`;
/** FORCE alone or among POWER's flags (FORCE,WAIT) */
const forced = (r: Requested) => (r.args.force ?? '').toUpperCase().split(',').includes('FORCE');

/** The confirmation's first line: the action in words, the count, the folded targets. */
export function describeRequest(r: Requested): string {
  const on = r.names.length > 0 ? ` ${nodesWord(r.names.length)}: ${r.folded}` : ' no nodes';
  if (r.tag === 'POWER') {
    const a = r.command.toLowerCase() as PowerCommandName;
    if (a === 'bootdev' && r.args.device) return `${POWER_WORDS[a]}${on} to ${r.args.device}${[r.args.opt1, r.args.opt2].includes('persistent') ? ' (persistent)' : ' (next boot only)'}`;
    if (a === 'identify' && r.args.mode) return `${POWER_WORDS[a]}${on}: ${/^\d+$/.test(r.args.mode) ? `for ${r.args.mode} s` : r.args.mode}`;
    if (a in POWER_WORDS) return `${POWER_WORDS[a]}${on}${forced(r) ? ' (FORCE: the guard is off)' : ''}`;
  }
  if (r.tag === 'SSH' && r.command === 'EXEC' && r.args.command !== undefined) return `Run \`${r.args.command}\` on${on}`;
  return `${r.label} on${on}`;
}

/**
 * Per-target warnings, worst first, each naming its nodes folded: refused by the controller guard
 * (this machine, a controller) without FORCE, a driver that cannot do it, already in that power
 * state, down, not reached yet.
 */
export function requestWarnings(r: Requested, nodes: ReadonlyMap<string, NodeView>, facts?: readonly PowerFacts[]): Line[] {
  const out: Line[] = [];
  const add = (glyph: string, slot: 'error' | 'node.down' | 'node.off' | 'node.unknown', text: string) => out.push([{ text: `${glyph} `, slot, bold: true }, { text, slot }]);
  const fold = (names: string[]) => `${foldNodeSet(names)} (${names.length})`;
  if (r.tag === 'POWER' && facts) {
    const a = r.command.toLowerCase() as PowerCommandName;
    const g = guardedAs(a);
    if (g !== undefined && GUARDED_ACTIONS.has(g) && !forced(r)) {
      const guarded = facts.filter((f) => f.guard !== undefined);
      if (guarded.length) add('✖', 'error', `refused without FORCE: ${byReason(guarded, (f) => GUARD_WORDS[f.guard!]).join(', ')}`);
    }
    const cannot = facts.filter((f) => !can(f, a));
    if (cannot.length) add('✖', 'error', `will fail, the driver cannot ${a}: ${byReason(cannot, cannotWhy).join(', ')}`);
    const already = (p: 'on' | 'off') => r.names.filter((n) => nodes.get(n)?.power === p);
    if (a === 'off' || a === 'soft') {
      const off = already('off');
      if (off.length) add('⚠', 'node.off', `already off: ${fold(off)}`);
    } else if (a === 'on') {
      const on = already('on');
      if (on.length) add('⚠', 'node.off', `already on: ${fold(on)}`);
    }
  } else {
    const off = r.names.filter((n) => nodes.get(n)?.state === 'off');
    if (off.length) add('⚠', 'node.off', `off (will fail): ${fold(off)}`);
  }
  const down = r.names.filter((n) => nodes.get(n)?.state === 'down');
  if (down.length) add('⚠', 'node.down', `down, not answering: ${fold(down)}`);
  const unknown = r.names.filter((n) => nodes.get(n)?.state === 'unknown');
  if (unknown.length) add('⚠', 'node.unknown', `not reached yet (state unknown): ${fold(unknown)}`);
  return out;
}
