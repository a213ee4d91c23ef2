/**
 * What POWER can do to a node, as pure data and predicates: which actions each power driver has,
 * and which nodes the controller guard protects. The POWER module decides with these, and the
 * dashboard uses the same ones to offer only what a node's driver can do and to say why not.
 */
import type { NodeVars } from './module.js';

export type PowerActionName = 'on' | 'off' | 'cycle' | 'reset' | 'soft' | 'status';

export const POWER_DRIVERS = ['ipmi', 'powerman', 'libvirt', 'ssh', 'sim'] as const;
export type PowerDriverName = (typeof POWER_DRIVERS)[number];

const ALL: readonly PowerActionName[] = ['on', 'off', 'cycle', 'reset', 'soft', 'status'];

/** The actions of each driver (each driver's own `actions` must say the same; a test checks). */
export const POWER_DRIVER_ACTIONS: Readonly<Record<PowerDriverName, readonly PowerActionName[]>> = {
  ipmi: ALL,
  powerman: ['on', 'off', 'cycle', 'reset', 'status'],
  libvirt: ALL,
  ssh: ['soft', 'reset', 'status'],
  sim: ALL,
};

/** The actions that take a node down: the controller guard refuses them without FORCE. */
export const GUARDED_ACTIONS: ReadonlySet<PowerActionName> = new Set<PowerActionName>(['off', 'cycle', 'reset', 'soft']);

export function isTrue(v: string | undefined): boolean {
  return v !== undefined && /^(true|yes|1|on)$/i.test(v.trim());
}

/** Why the guard protects this node ('controller' or 'local'), or undefined. */
export function guardedBecause(node: { name: string; vars: NodeVars; local?: boolean }, localName?: string): 'controller' | 'local' | undefined {
  if (node.local === true || (localName !== undefined && node.name === localName)) return 'local';
  if (isTrue(node.vars.controller)) return 'controller';
  return undefined;
}

/** The refusal message for a guarded node, or undefined when the action may run. */
export function guardRefusal(node: { name: string; vars: NodeVars; local?: boolean }, action: PowerActionName, opts: { force?: boolean; localName?: string } = {}): string | undefined {
  if (opts.force || !GUARDED_ACTIONS.has(action)) return undefined;
  const why = guardedBecause(node, opts.localName);
  if (!why) return undefined;
  const what = why === 'local' ? 'the machine vacm runs on' : 'a controller (controller: true)';
  const verb = action.toUpperCase();
  return `refused: ${node.name} is ${what}, and ${verb} would take down the machine that controls the cluster; end the request with :FORCE (e.g. POWER:${verb}:${node.name}:FORCE) if you mean it`;
}

/** The node's driver and what it can do, or why it can do nothing. */
export function powerCapability(vars: NodeVars): { driver?: PowerDriverName; actions: readonly PowerActionName[]; reason?: string } {
  const name = vars.power?.trim();
  if (name === undefined || name === '' || name === 'none') {
    return { actions: [], reason: `${name === 'none' ? 'power: none' : 'no power variable'}; set power to one of ${POWER_DRIVERS.join(', ')}` };
  }
  if (!(POWER_DRIVERS as readonly string[]).includes(name)) {
    return { actions: [], reason: `power: ${name} is no driver; set power to one of ${POWER_DRIVERS.join(', ')} or none` };
  }
  const driver = name as PowerDriverName;
  return { driver, actions: POWER_DRIVER_ACTIONS[driver] };
}
