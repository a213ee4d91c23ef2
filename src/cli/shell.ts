/**
 * The dashboard's `S`: the system `ssh` to the cursor's node on this terminal. The SSH module says
 * how the pool reaches the node (settings.ts, ssh-config.ts, known-hosts.ts) as an argv; this file
 * hands the terminal over (the dashboard's frames are held back, the alternate screen and raw mode
 * are left, this process stops reading the keyboard), runs ssh with the terminal as its stdio, and
 * takes the terminal back on every way out: ssh's exit, its failure to start, a signal. The engine
 * keeps running meanwhile (pollers, jobs): nothing here blocks the event loop.
 */
import { spawn } from 'node:child_process';
import type { Engine } from '../engine/engine.js';
import { VacmError, toVacmError } from '../protocol/errors.js';
import { escapeControls } from '../protocol/visible.js';
import type { SshModuleDef } from '../backends/ssh/module.js';
import type { ShellOutcome, ShellRunner } from '../ui/ui-engine.js';

/** What the shell needs from the terminal: give it up to a child, and take it back. */
export interface TerminalHandover {
  /** stop drawing, leave the alternate screen and raw mode, stop reading the keyboard */
  release(): void;
  /** back on the alternate screen, ready for a full frame */
  reclaim(): void;
  /** a line on the normal screen while the terminal is released */
  say(text: string): void;
}

/** The argv (`ssh` first) for an interactive login on `node`; throws a VacmError saying why not. */
export function shellCommand(engine: Engine, node: string): string[] {
  if (!engine.node(node)) throw new VacmError('ERR_NO_SUCH_NODE', `no node ${node} in the nodelist`);
  const ssh = engine.registry.list().find((m) => m.tag === 'SSH') as SshModuleDef | undefined;
  if (!ssh?.shellArgv) throw new VacmError('ERR_UNSUPPORTED', 'this vacm has no SSH module: no shell to open');
  return ['ssh', ...ssh.shellArgv(node, engine.vars(node))];
}

export function shellRunner(engine: Engine, term: TerminalHandover, opts: { ssh?: string } = {}): ShellRunner {
  let busy = false;
  const run = async (node: string): Promise<ShellOutcome> => {
    // refused before the terminal is touched: the dashboard says why, as it is
    const argv = shellCommand(engine, node);
    if (busy) throw new VacmError('ERR_UNSUPPORTED', 'a shell is open already');
    busy = true;
    // Ctrl-C, Ctrl-\ before ssh has the terminal in raw mode reach the whole foreground group: they
    // are ssh's to handle (it leaves), not a reason for the dashboard to die
    const ignore = (): void => undefined;
    process.on('SIGINT', ignore);
    process.on('SIGQUIT', ignore);
    term.release();
    try {
      term.say(`vacm: ssh to ${escapeControls(node)}; leave the shell (exit, Ctrl-D, ~.) to return to the dashboard`);
      const outcome = await new Promise<ShellOutcome>((resolve, reject) => {
        let child;
        try {
          child = spawn(opts.ssh ?? argv[0], argv.slice(1), { stdio: 'inherit' });
        } catch (err) {
          return reject(err);
        }
        child.once('error', (err: NodeJS.ErrnoException) => reject(new VacmError('ERR_UNSUPPORTED', err.code === 'ENOENT' ? 'ssh is not installed (the system OpenSSH client opens the shell): install openssh-client' : `ssh did not start: ${err.message}`)));
        child.once('exit', (code, signal) => resolve(signal ? { code: code ?? 255, signal } : { code: code ?? 255 }));
      });
      return outcome;
    } catch (err) {
      throw toVacmError(err, 'ERR_UNSUPPORTED');
    } finally {
      term.reclaim();
      process.off('SIGINT', ignore);
      process.off('SIGQUIT', ignore);
      busy = false;
    }
  };
  return { check: (node) => void shellCommand(engine, node), run };
}
