/**
 * What the power menu offers and what a confirmation warns about, from what the engine knows (pure:
 * the nodes' views and their PowerFacts come in; tested without ink). A binding the targets' drivers
 * cannot do stays in the menu, greyed, with the reason; the others say how many targets they apply to.
 */
import type { NodeView } from '../protocol/module.js';
import { foldNodeSet } from '../protocol/nodeset.js';
import { GUARDED_ACTIONS, type GuardReason, type PowerActionName } from '../protocol/power.js';
import type { Binding, Keymaps, PowerAction } from './keymaps.js';
import { POWER_COMMANDS } from './keymaps.js';
import type { PowerFacts } from './ui-engine.js';
import type { Line } from './panes/Overlay.js';

/** An action in words, as a confirmation's first line says it. */
export const POWER_WORDS: Readonly<Record<PowerActionName, string>> = {
  on: 'Power on',
  off: 'Power off',
  cycle: 'Power-cycle',
  reset: 'Hard-reset',
  soft: 'Soft-off (ACPI)',
  status: 'Read the power state of',
};

const GUARD_WORDS: Readonly<Record<GuardReason, string>> = {
  local: 'the machine vacm runs on',
  controller: 'a controller',
  host: 'its host is this machine',
  bmc_host: 'its BMC is served by this machine',
};

export interface PowerOffer {
  readonly binding: Binding<PowerAction>;
  readonly action: PowerActionName;
  /** the targets whose driver can do it */
  readonly targets: readonly string[];
  /** the targets left out, and why (folded, by reason) */
  readonly leftOut: readonly string[];
  /** set when no target can: the menu greys the entry and says this */
  readonly disabledReason?: string;
}

const actionOf = (b: Binding<PowerAction>): PowerActionName => POWER_COMMANDS[b.action].toLowerCase() as PowerActionName;
const cannotWhy = (f: PowerFacts) => (f.driver ? `power: ${f.driver}` : 'no power driver');

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
    const can = facts.filter((f) => f.actions.includes(action));
    const cannot = facts.filter((f) => !f.actions.includes(action));
    const reasons = [...new Set(cannot.map(cannotWhy))];
    return {
      binding,
      action,
      targets: can.map((f) => f.name),
      leftOut: byReason(cannot, cannotWhy),
      disabledReason: can.length === 0 ? `not possible with ${reasons.join(', ') || 'no targets'}` : undefined,
    };
  });
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
    const a = r.command.toLowerCase() as PowerActionName;
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
    const a = r.command.toLowerCase() as PowerActionName;
    if (GUARDED_ACTIONS.has(a) && !forced(r)) {
      const guarded = facts.filter((f) => f.guard !== undefined);
      if (guarded.length) add('✖', 'error', `refused without FORCE: ${byReason(guarded, (f) => GUARD_WORDS[f.guard!]).join(', ')}`);
    }
    const cannot = facts.filter((f) => !f.actions.includes(a));
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
