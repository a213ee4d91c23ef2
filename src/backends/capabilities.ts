/**
 * Small capability interfaces that modules hand each other (STYLE.md: a power driver, an executor,
 * a pinger, a stats source). Types, and the providers of a build without simulation; implementations live with the module that owns them (the
 * simulated ones in src/backends/sim/capabilities.ts), are chosen per node in one place
 * (src/backends/providers.ts) and wired in src/backends/index.ts.
 */
import type { NodeVars } from '../protocol/module.js';
import type { PowerState, StatValue } from '../protocol/events.js';
import type { BootFlags, IdentifyMode, PowerActionName } from '../protocol/power.js';
import type { SshSection } from './ssh/settings.js';

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs a command on a node and collects its output, bounded (ERR_LIMIT past a few MiB) (SSH pool; SYSSTAT's /proc read, soft power). */
export interface RemoteExecutor {
  run(node: string, vars: NodeVars, command: string, opts?: { signal?: AbortSignal; timeoutMs?: number }): Promise<ExecResult>;
  /** forget a kept connection to the node, so the next run connects anew (POWER's WAIT=ssh) */
  drop?(node: string): void;
}

/** Runs a command on a node, streaming its output line by line (the SSH pool; SSH:EXEC, LOG:FOLLOW). */
export interface StreamingExecutor {
  exec(node: string, vars: NodeVars, command: string, opts: StreamExecOptions): Promise<ExecExit>;
  /** the module hands the validated `ssh` config section to the pool (read-only: no known_hosts writes) */
  configure?(section: SshSection, opts?: { readOnly?: boolean }): void;
  /** a node's host/ssh_* variable changed: forget its connection */
  drop?(node: string): void;
  close?(): Promise<void> | void;
}

export interface StreamExecOptions {
  signal?: AbortSignal;
  /** command timeout (none when undefined) */
  timeoutMs?: number;
  onLine(stream: 'stdout' | 'stderr', line: string): void;
}

export interface ExecExit {
  code: number;
  signal?: string;
}

/** One way of switching power (ipmi, powerman, libvirt, ssh, sim). */
export interface PowerDriver {
  readonly name: string;
  /** the actions this driver can do; the UI offers only these and says why for the others */
  readonly actions: readonly PowerActionName[];
  /**
   * Do `action` on the nodes (a driver may batch them, e.g. one powerman request for many plugs);
   * report each node's state after the action through `report`, or an error for that node.
   */
  run(action: PowerActionName, nodes: readonly { node: string; vars: NodeVars }[], opts: { signal: AbortSignal; timeoutMs: number; report: (node: string, result: PowerState | Error) => void }): Promise<void>;
  /** POWER:IDENTIFY on one node (a chassis identify LED, a PDU's beacon); the state it is in after, as the IDENTIFY event says it */
  identify?(node: string, vars: NodeVars, mode: IdentifyMode, signal: AbortSignal): Promise<string>;
  /** POWER:BOOTDEV on one node: set the next boot device when `set` is given, then read it back */
  bootDevice?(node: string, vars: NodeVars, set: BootFlags | undefined, signal: AbortSignal): Promise<BootFlags>;
  close?(): Promise<void> | void;
}

/** Named counters another module exports (the collector's received/accepted/rejected_* to METRICS). */
export interface CounterSource {
  /** false while the source is not running (e.g. no collector configured) */
  readonly active: boolean;
  counters(): Record<string, number>;
}

/** One ping of one node: up with the round-trip time, or down with why. */
export type PingReply = { state: 'up'; rttMs: number } | { state: 'down'; reason: string };

/** Pings one node (ICMP_ECHO:PING, where it stands in for fping / the system ping); throws a VacmError when it cannot ask. */
export interface NodePinger {
  ping(node: string): Promise<PingReply>;
}

/** Reads one node's stats (SYSSTAT:GET, where it stands in for systeminformation and /proc over SSH); throws ERR_STAT when the node does not answer. */
export interface StatsSource {
  read(node: string, signal: AbortSignal): Promise<Readonly<Record<string, StatValue>>>;
}

/**
 * What a node is reached through, as the one resolver (src/backends/providers.ts) chose it. A field
 * that is there stands in for the module's real way (the sim backend's, for `sim: true` nodes); one
 * that is absent means the real thing: fping or ping, systeminformation or /proc over SSH, the SSH pool.
 */
export interface NodeCapabilities {
  /** its provider reports the node's state, power and stats itself (the SIM module): the pollers, the heartbeat and doctor leave it out */
  readonly selfReporting: boolean;
  readonly pinger?: NodePinger;
  readonly stats?: StatsSource;
  /** runs commands instead of the SSH pool; a node reached through it has no files to copy, no login and no logs (SSH:PUSH/PULL, `S`, LOG:FOLLOW refuse it) */
  readonly shell?: StreamingExecutor;
}

/** The one place a module asks how to reach a node (made by createProviders, src/backends/providers.ts). */
export interface Providers {
  of(node: string, vars: NodeVars): NodeCapabilities;
  /** a power driver the providers add by name, besides POWER's own (the sim backend's `sim`) */
  powerDriver(name: string): PowerDriver | undefined;
}

/** A node reached for real: nothing stands in for the modules' own ways. */
export const REAL_NODE: NodeCapabilities = Object.freeze({ selfReporting: false });

/** Providers without the simulated cluster (a module built alone, in a test or benchmark): every node is real, `power: sim` has no driver. */
export const REAL_PROVIDERS: Providers = Object.freeze({ of: () => REAL_NODE, powerDriver: () => undefined });
