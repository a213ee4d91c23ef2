/**
 * Small capability interfaces that modules hand each other (STYLE.md: a power driver, an executor,
 * a stats source). Types only; implementations live with the module that owns them and are wired in
 * src/backends/index.ts.
 */
import type { NodeVars } from '../protocol/module.js';
import type { PowerState } from '../protocol/events.js';
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

export type PowerAction = 'on' | 'off' | 'cycle' | 'reset' | 'soft' | 'status';

/** One way of switching power (ipmi, powerman, libvirt, ssh, sim). */
export interface PowerDriver {
  readonly name: string;
  /** the actions this driver can do; the UI offers only these and says why for the others */
  readonly actions: readonly PowerAction[];
  /**
   * Do `action` on the nodes (a driver may batch them, e.g. one powerman request for many plugs);
   * report each node's state after the action through `report`, or an error for that node.
   */
  run(action: PowerAction, nodes: readonly { node: string; vars: NodeVars }[], opts: { signal: AbortSignal; timeoutMs: number; report: (node: string, result: PowerState | Error) => void }): Promise<void>;
  close?(): Promise<void> | void;
}

/** Named counters another module exports (the collector's received/accepted/rejected_* to METRICS). */
export interface CounterSource {
  /** false while the source is not running (e.g. no collector configured) */
  readonly active: boolean;
  counters(): Record<string, number>;
}
