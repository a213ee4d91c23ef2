/**
 * Command bodies shared by the yargs command line (index.ts) and the launcher's fast path (fast.ts).
 * Heavy code (the engine, its modules) is imported when a command runs, not when this file loads.
 */
import { toVacmError } from '../protocol/errors.js';
import { escapeControls } from '../protocol/visible.js';
import type { Engine } from '../engine/engine.js';
import type { EngineArgs } from './setup.js';
import { EXIT_USAGE, type Io } from './io.js';

/** Print the error as `ERR_*: message` and give the usage exit code. */
export function fail(io: Io, err: unknown): number {
  const ve = toVacmError(err, 'ERR_USAGE');
  io.err(`${ve.code}: ${escapeControls(ve.message)}\n`);
  return EXIT_USAGE;
}

export async function withEngine(io: Io, args: EngineArgs, fn: (e: Engine) => Promise<number>): Promise<number> {
  let engine: Engine;
  try {
    const { openEngine } = await import('./setup.js');
    engine = await openEngine(args);
  } catch (err) {
    return fail(io, err);
  }
  try {
    return await fn(engine);
  } finally {
    await engine.stop();
  }
}

export interface IpcCommandArgs {
  config?: string;
  demo?: boolean;
  nodes?: number;
  'read-only'?: boolean;
  json?: boolean;
  gather?: boolean;
  parallel?: boolean;
  raw?: boolean;
  diff?: boolean;
  similar?: boolean;
  messages?: readonly (string | number)[];
}

/** `vacm ipc`: an in-process engine, the requests, the exit status. */
export async function ipcCommand(a: IpcCommandArgs, io: Io): Promise<number> {
  const { runIpc } = await import('./ipc.js');
  return withEngine(io, { config: a.config, demo: a.demo, nodes: a.nodes, readOnly: a['read-only'] }, (engine) =>
    runIpc(engine, { json: a.json, gather: a.gather, parallel: a.parallel, raw: a.raw, diff: a.diff, similar: a.similar, messages: (a.messages ?? []).map(String) }, io),
  );
}
