/**
 * Command bodies shared by the yargs command line (index.ts) and the launcher's fast path (fast.ts).
 * Heavy code (the engine, its modules) is imported when a command runs, not when this file loads.
 */
import { VacmError, toVacmError } from '../protocol/errors.js';
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
  attach?: string;
  embedded?: boolean;
  messages?: readonly (string | number)[];
}

/**
 * Where `vacm ipc` and the dashboard go: --attach, else $VACM_ATTACH, else the local serve's socket
 * when there is one and no engine option (--config, --demo, --read-only) asks for an engine of this
 * process; --embedded always runs one here. `explicit` says whether a stale target is an error. The
 * one resolver of both (issue 13).
 */
export async function attachTargetFor(a: Pick<IpcCommandArgs, 'attach' | 'embedded' | 'config' | 'demo' | 'read-only'>, env: NodeJS.ProcessEnv = process.env): Promise<{ target: string; explicit: boolean } | undefined> {
  if (a.embedded && a.attach !== undefined) throw new VacmError('ERR_USAGE', '--attach and --embedded contradict each other: give one');
  if (a.embedded) return undefined;
  if (a.attach !== undefined) return { target: a.attach, explicit: true };
  if (env.VACM_ATTACH) return { target: env.VACM_ATTACH, explicit: true };
  if (a.config !== undefined || a.demo || a['read-only']) return undefined;
  const { defaultSocket } = await import('./attach.js');
  const sock = defaultSocket(env);
  return sock ? { target: sock, explicit: false } : undefined;
}

/** `vacm ipc`: an in-process engine, the requests, the exit status. */
export async function ipcCommand(a: IpcCommandArgs, io: Io): Promise<number> {
  let to: { target: string; explicit: boolean } | undefined;
  try {
    to = await attachTargetFor(a);
  } catch (err) {
    return fail(io, err);
  }
  if (to) {
    const { ipcAttached, parseAttachTarget, NotAnswering } = await import('./attach.js');
    const ipcArgs = { json: a.json, gather: a.gather, parallel: a.parallel, raw: a.raw, diff: a.diff, similar: a.similar, messages: (a.messages ?? []).map(String) };
    try {
      return await ipcAttached(parseAttachTarget(to.target), ipcArgs, io);
    } catch (err) {
      // a socket left by a serve that is gone: as if there were none (unless it was asked for)
      if (!(err instanceof NotAnswering)) return fail(io, err);
      if (to.explicit) return fail(io, new VacmError('ERR_SSH_CONNECT', `no vacm serve answers on ${to.target}; start it, or use --embedded`));
    }
  }
  const { runIpc } = await import('./ipc.js');
  return withEngine(io, { config: a.config, demo: a.demo, nodes: a.nodes, readOnly: a['read-only'] }, (engine) =>
    runIpc(engine, { json: a.json, gather: a.gather, parallel: a.parallel, raw: a.raw, diff: a.diff, similar: a.similar, messages: (a.messages ?? []).map(String) }, io),
  );
}

export interface CopyCommandArgs {
  config?: string;
  demo?: boolean;
  nodes?: number;
  'read-only'?: boolean;
  json?: boolean;
  targets?: string;
  from?: string;
  to?: string;
  recursive?: boolean;
  preserve?: boolean;
  'skip-same'?: boolean;
}

/**
 * `vacm push NODES SRC DST` / `vacm pull NODES SRC DIR`: SSH:PUSH / SSH:PULL with the local path made
 * absolute here (the engine may run elsewhere than this shell) and every field escaped; what each node
 * got is gathered (`node[01-64] (64): copied ... sha256 ...`), failures summed up on stderr.
 */
export async function copyCommand(command: 'PUSH' | 'PULL', a: CopyCommandArgs, io: Io): Promise<number> {
  const { copyRequest } = await import('../protocol/copy.js');
  const { runIpc } = await import('./ipc.js');
  const path = await import('node:path');
  if (!a.targets || !a.from || !a.to) return fail(io, new VacmError('ERR_USAGE', `vacm ${command.toLowerCase()} needs NODES, a source and a destination; see vacm ${command.toLowerCase()} --help`));
  const local = (p: string) => path.resolve(p);
  const line = command === 'PUSH'
    ? copyRequest('PUSH', a.targets, local(a.from), a.to, { recursive: !!a.recursive, preserve: !!a.preserve, skipSame: !!a['skip-same'] })
    : copyRequest('PULL', a.targets, a.from, local(a.to), { recursive: !!a.recursive, preserve: !!a.preserve, skipSame: false });
  if (command === 'PULL' && a['skip-same']) return fail(io, new VacmError('ERR_USAGE', '--skip-same is for vacm push only'));
  return withEngine(io, { config: a.config, demo: a.demo, nodes: a.nodes, readOnly: a['read-only'] }, (engine) =>
    runIpc(engine, { json: a.json, messages: [line], show: a.json ? undefined : (e) => e.type !== 'COPY' && e.type !== 'PROGRESS' }, io),
  );
}
