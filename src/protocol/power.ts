/**
 * What POWER can do to a node, as pure data and predicates: which actions each power driver has,
 * and which nodes the controller guard protects. The POWER module decides with these, and the
 * dashboard uses the same ones to offer only what a node's driver can do and to say why not.
 */
import { VacmError } from './errors.js';
import type { NodeVars } from './module.js';
import { isTrue } from './vars.js';

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

/** What a driver can do besides switching power: the identify LED or beacon, the next boot device. */
export type PowerExtraName = 'identify' | 'bootdev';

/** The extras of each driver (each driver's own `identify`/`bootDevice` must say the same; a test checks). */
export const POWER_DRIVER_EXTRAS: Readonly<Record<PowerDriverName, readonly PowerExtraName[]>> = {
  ipmi: ['identify', 'bootdev'],
  powerman: ['identify'],
  libvirt: ['bootdev'],
  ssh: [],
  sim: [],
};

/** Everything POWER offers on a node: the actions, BOOT (when the driver has STATUS, ON and RESET) and the extras. */
export type PowerCommandName = PowerActionName | 'boot' | PowerExtraName;

/** The POWER commands a driver can do, from its actions and extras. */
export function driverCommands(driver: PowerDriverName | undefined, actions: readonly PowerActionName[]): PowerCommandName[] {
  const out: PowerCommandName[] = [...actions];
  if (['status', 'on', 'reset'].every((a) => actions.includes(a as PowerActionName))) out.push('boot');
  if (driver) out.push(...POWER_DRIVER_EXTRAS[driver]);
  return out;
}

/** `on` (until turned off), `off`, or a number of seconds (1-255). */
export type IdentifyMode = { kind: 'on' } | { kind: 'off' } | { kind: 'seconds'; seconds: number };

export function parseIdentify(word: string | undefined): IdentifyMode {
  const w = (word ?? '').trim().toLowerCase();
  if (w === 'on') return { kind: 'on' };
  if (w === 'off') return { kind: 'off' };
  if (/^\d{1,3}$/.test(w) && Number(w) >= 1 && Number(w) <= 255) return { kind: 'seconds', seconds: Number(w) };
  throw new VacmError('ERR_BAD_ARGS', `identify takes on, off or a number of seconds from 1 to 255, not '${(word ?? '').slice(0, 20)}'`);
}

export function identifyText(m: IdentifyMode): string {
  return m.kind === 'seconds' ? `${m.seconds}s` : m.kind;
}

/** The boot devices vacm has words for (IPMI's boot device selectors); the settable ones below. */
export const BOOT_DEVICE_NAMES = ['default', 'pxe', 'disk', 'safe', 'diag', 'cdrom', 'bios', 'floppy'] as const;
export type BootDevice = (typeof BOOT_DEVICE_NAMES)[number];
export const SETTABLE_BOOT_DEVICES: readonly BootDevice[] = ['pxe', 'disk', 'cdrom', 'bios', 'default'];

export interface BootFlags {
  device: BootDevice | 'unknown';
  persistent: boolean;
  efi: boolean;
}

/** `pxe` then any of `persistent`, `efi` (each at most once). */
export function parseBootDevice(words: readonly (string | undefined)[]): BootFlags {
  const [dev, ...opts] = words.map((w) => (w ?? '').trim().toLowerCase());
  if (!(SETTABLE_BOOT_DEVICES as readonly string[]).includes(dev ?? '')) throw new VacmError('ERR_BAD_ARGS', `the boot device is '${(dev ?? '').slice(0, 20)}'; use one of ${SETTABLE_BOOT_DEVICES.join(', ')}`);
  const flags: BootFlags = { device: dev as BootDevice, persistent: false, efi: false };
  for (const o of opts.filter((w) => w !== '')) {
    if (o === 'persistent' && !flags.persistent) flags.persistent = true;
    else if (o === 'efi' && !flags.efi) flags.efi = true;
    else throw new VacmError('ERR_BAD_ARGS', `after the boot device come persistent and efi, each at most once; not '${o.slice(0, 20)}'`);
  }
  return flags;
}

/** The actions that take a node down: the controller guard refuses them without FORCE. */
export const GUARDED_ACTIONS: ReadonlySet<PowerActionName> = new Set<PowerActionName>(['off', 'cycle', 'reset', 'soft']);

/**
 * This machine as the guard knows it, gathered by src/platform/this-machine.ts: the addresses of
 * its interfaces (canonical text, see canonicalHost) and its host names (lower case). No DNS.
 */
export interface ThisMachine {
  readonly addresses: ReadonlySet<string>;
  readonly names: ReadonlySet<string>;
}

export type GuardReason = 'controller' | 'local' | 'host' | 'bmc_host';

type GuardedNode = { name: string; vars: NodeVars; local?: boolean };

/**
 * A host as the network stack will read it: IPv4 in dotted quads (`127.1`, `2130706433` and
 * `0x7f.0.0.1` all mean 127.0.0.1 to inet_aton and getaddrinfo), IPv6 compressed without brackets
 * or zone, a name in lower case without a trailing dot. Pure (the WHATWG URL host parser).
 */
export function canonicalHost(raw: string): { kind: 'ipv4' | 'ipv6' | 'name'; value: string } | undefined {
  let h = raw.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.includes(':') && h.includes('%')) h = h.slice(0, h.indexOf('%')); // fe80::1%eth0
  if (h === '' || /[\/@?#\s]/.test(h)) return h === '' ? undefined : { kind: 'name', value: h };
  try {
    const v = new URL(`http://${h.includes(':') ? `[${h}]` : h}/`).hostname;
    if (v.startsWith('[')) return { kind: 'ipv6', value: v.slice(1, -1) };
    if (/^\d+\.\d+\.\d+\.\d+$/.test(v)) return { kind: 'ipv4', value: v };
    return { kind: 'name', value: v.replace(/\.$/, '') };
  } catch {
    return { kind: 'name', value: h.replace(/\.$/, '') };
  }
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:7f00:1` → 127.0.0.1). */
function mappedIpv4(v6: string): string | undefined {
  const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
  if (!m) return undefined;
  const hi = parseInt(m[1], 16);
  const lo = parseInt(m[2], 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

const LOCAL_NAMES = new Set(['localhost', 'localhost.localdomain', 'ip6-localhost', 'ip6-loopback']);

/**
 * Is `host` this machine? Names: `localhost` (and `*.localhost`) and this machine's own names.
 * Addresses: 0.0.0.0 and ::, 127.0.0.1 and ::1, every interface address; and, when
 * `loopbackAliases`, all of 127.0.0.0/8 (each of which reaches this machine's own kernel).
 */
export function isThisMachine(host: string, self: ThisMachine, loopbackAliases: boolean): boolean {
  const c = canonicalHost(host);
  if (!c) return false;
  if (c.kind === 'name') return LOCAL_NAMES.has(c.value) || c.value.endsWith('.localhost') || self.names.has(c.value);
  const v4 = c.kind === 'ipv4' ? c.value : mappedIpv4(c.value);
  if (v4 !== undefined) {
    if (v4 === '0.0.0.0' || v4 === '127.0.0.1') return true;
    if (v4.startsWith('127.')) return loopbackAliases;
    return self.addresses.has(v4);
  }
  return c.value === '::1' || c.value === '::' || self.addresses.has(c.value);
}

/**
 * Why the guard protects this node, or undefined: it is the machine vacm runs on (by name or
 * its `local` flag), a `controller: true`, a node whose `host` is this machine, or one whose
 * `bmc_host` is served by this machine. The last two are judged only for drivers that switch a
 * real machine (not `sim`), and a `bmc_host` on a 127.x alias other than 127.0.0.1 is taken as a
 * simulated or forwarded BMC standing for another machine (see docs/power.md).
 */
export function guardedBecause(node: GuardedNode, localName?: string, self?: ThisMachine): GuardReason | undefined {
  if (node.local === true || (localName !== undefined && node.name === localName)) return 'local';
  if (isTrue(node.vars.controller)) return 'controller';
  if (self && node.vars.power?.trim() !== 'sim') {
    if (node.vars.host !== undefined && isThisMachine(node.vars.host, self, true)) return 'host';
    if (node.vars.bmc_host !== undefined && isThisMachine(node.vars.bmc_host, self, false)) return 'bmc_host';
  }
  return undefined;
}

const GUARD_WHAT: Record<GuardReason, (n: GuardedNode) => string> = {
  local: () => 'the machine vacm runs on',
  controller: () => 'a controller (controller: true)',
  host: (n) => `the machine vacm runs on (its host ${n.vars.host} is this machine)`,
  bmc_host: (n) => `powered through a BMC that this machine serves (bmc_host ${n.vars.bmc_host})`,
};

/** The refusal message for a guarded node, or undefined when the action may run. */
export function guardRefusal(node: GuardedNode, action: PowerActionName, opts: { force?: boolean; localName?: string; self?: ThisMachine } = {}): string | undefined {
  if (opts.force || !GUARDED_ACTIONS.has(action)) return undefined;
  const why = guardedBecause(node, opts.localName, opts.self);
  if (!why) return undefined;
  const verb = action.toUpperCase();
  return `refused: ${node.name} is ${GUARD_WHAT[why](node)}, and ${verb} would take down the machine that controls the cluster; end the request with :FORCE (e.g. POWER:${verb}:${node.name}:FORCE) if you mean it`;
}

/**
 * The node's driver and what it can do, or why it can do nothing: `code` is ERR_UNSUPPORTED for a
 * node without power (unset or `none`) and ERR_CONFIG for a `power` that names no driver.
 */
export function powerCapability(vars: NodeVars): { driver?: PowerDriverName; actions: readonly PowerActionName[]; reason?: string; code?: 'ERR_UNSUPPORTED' | 'ERR_CONFIG' } {
  const name = vars.power?.trim();
  if (name === undefined || name === '' || name === 'none') {
    return { actions: [], code: 'ERR_UNSUPPORTED', reason: `${name === 'none' ? 'power: none' : 'no power variable'}; set power to one of ${POWER_DRIVERS.join(', ')}` };
  }
  if (!(POWER_DRIVERS as readonly string[]).includes(name)) {
    return { actions: [], code: 'ERR_CONFIG', reason: `power: ${name}, which is no driver; set power to one of ${POWER_DRIVERS.join(', ')} or none` };
  }
  const driver = name as PowerDriverName;
  return { driver, actions: POWER_DRIVER_ACTIONS[driver] };
}
