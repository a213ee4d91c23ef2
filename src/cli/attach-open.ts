/** Opening the attached dashboard's engine (tui.ts): dial, log in, first snapshot, or what to do instead. */
import { VacmError, toVacmError } from '../protocol/errors.js';
import { escapeControls } from '../protocol/visible.js';
import { RemoteEngine } from './attach-engine.js';

/**
 * The dashboard's engine attached to `to` (the resolver's answer, commands.ts attachTargetFor), or
 * undefined when the default socket turned out stale (the caller embeds an engine). Throws a
 * VacmError saying what to do when an asked-for serve cannot be reached.
 */
export async function openAttached(to: { target: string; explicit: boolean }): Promise<RemoteEngine | undefined> {
  const { dialServe, parseAttachTarget, NotAnswering } = await import('./attach.js');
  const { builtinModules } = await import('../backends/index.js');
  const { thisMachine } = await import('../platform/this-machine.js');
  const target = parseAttachTarget(to.target);
  const remote = new RemoteEngine({ dial: () => dialServe(target), modules: builtinModules(), thisMachine: target.kind === 'socket' ? thisMachine : undefined });
  try {
    await remote.start();
  } catch (err) {
    await remote.stop();
    if (err instanceof NotAnswering) {
      if (!to.explicit) return undefined;
      throw new VacmError('ERR_SSH_CONNECT', `no vacm serve answers on ${escapeControls(to.target)}; start it, or use --embedded`);
    }
    const ve = toVacmError(err, 'ERR_SSH_CONNECT');
    throw new VacmError(ve.code, `attaching to vacm serve at ${escapeControls(to.target)}: ${escapeControls(ve.message)}; --embedded runs an engine of this process instead`);
  }
  return remote;
}
