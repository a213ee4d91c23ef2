/** What an Engine is made from (engine.ts): its options, its event listeners and its logger. */
import type { VacmEvent } from '../protocol/events.js';
import type { ModuleDef } from '../protocol/module.js';
import type { ClusterShellGroupOptions } from '../platform/clustershell-groups.js';
import type { LoadedConfig } from './config.js';
import type { History } from './history.js';
import type { Registry } from './registry.js';

export type EventListener = (e: VacmEvent) => void;
export type Logger = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

export interface EngineOptions {
  config: LoadedConfig;
  modules: readonly ModuleDef[] | Registry;
  stateDir?: string;
  readOnly?: boolean;
  /** run pollers and heartbeats (dashboard, serve); off for one-shot ipc */
  monitor?: boolean;
  /** name of the machine vacm runs on (default: short hostname) */
  localName?: string;
  log?: Logger;
  /** events kept per job for the screen and JOBS (default 20 000) */
  maxJobEvents?: number;
  /** OUTPUT bytes kept per job (default vacm.yaml's output.max_job_bytes, 16 MiB) */
  maxJobOutputBytes?: number;
  /** OUTPUT bytes kept by all finished jobs (default vacm.yaml's output.max_total_bytes, 256 MiB) */
  maxTotalOutputBytes?: number;
  /** how long a cancelled job's module may take to wind down before the job is ended anyway */
  cancelGraceMs?: number;
  /** where ClusterShell's group sources are read from (default: this process's environment) */
  clusterShellGroups?: ClusterShellGroupOptions;
  /** load history to go on with (vacm serve reloading its config); a new one when its step differs */
  history?: History;
  /** job ids go on from `last`, and each one taken is told (vacm serve keeps the sequence across restarts) */
  jobIds?: { readonly last: number; taken(id: number): void };
}
