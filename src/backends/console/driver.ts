/**
 * A console driver opens a node's serial console: `ipmi` (SOL, src/backends/ipmi/sol.ts),
 * `libvirt` (`virsh console` on a pty), by the node's `console` variable; `none` (or unset) has no
 * console. A connection hands over the bytes as they come and takes bytes and breaks.
 */
import { VacmError } from '../../protocol/errors.js';
import type { NodeVars } from '../../protocol/module.js';

export type ConsoleDriverName = 'ipmi' | 'libvirt';

export interface ConsoleConnection {
  /** queue bytes for the node (throws ERR_LIMIT when too much is waiting) */
  write(data: Buffer): void;
  sendBreak(): void;
  /** everything written so far has reached the node (or the connection ended) */
  drained(): Promise<void>;
  /** settles when the connection ends: undefined after close(), the error otherwise */
  readonly ended: Promise<VacmError | undefined>;
  close(): Promise<void>;
}

export interface OpenOptions {
  signal?: AbortSignal;
  /** take over a console another session holds */
  force?: boolean;
  onData(data: Buffer): void;
}

export interface ConsoleDriver {
  readonly name: ConsoleDriverName;
  open(node: string, vars: NodeVars, opts: OpenOptions): Promise<ConsoleConnection>;
  dispose?(): Promise<void>;
}

/** The node's console driver, or ERR_UNSUPPORTED naming what to set. */
export function consoleDriverName(node: string, vars: NodeVars): ConsoleDriverName {
  const v = vars.console?.trim().toLowerCase();
  if (v === 'ipmi' || v === 'libvirt') return v;
  if (v === undefined || v === '' || v === 'none') {
    throw new VacmError('ERR_UNSUPPORTED', `${node} has no serial console: set its console variable to ipmi (SOL through bmc_host) or libvirt (virsh console)`);
  }
  throw new VacmError('ERR_CONFIG', `${node}: console is ${JSON.stringify(vars.console!.slice(0, 40))}; set it to ipmi, libvirt or none`);
}

/** whether the node has a console at all (for the kept consoles and the UI) */
export function hasConsole(vars: NodeVars): boolean {
  const v = vars.console?.trim().toLowerCase();
  return v === 'ipmi' || v === 'libvirt';
}
