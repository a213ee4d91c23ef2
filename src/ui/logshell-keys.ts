/**
 * What `S` (a shell on the cursor's node) and `L` (follow a log on the marked nodes) do from the
 * dashboard: checks and messages here, the work in the CLI's shell runner and the log view.
 */
import { toVacmError } from '../protocol/errors.js';
import type { ShellOutcome, UiEngine } from './ui-engine.js';

export interface LogShellContext {
  engine: UiEngine;
  cursorNode?: string;
  /** the marked nodes, else the cursor's */
  targets: readonly string[];
  say(text: string, error?: boolean): void;
  onShell?(node: string): Promise<ShellOutcome>;
  onLogs?(nodes: readonly string[]): void;
}

export function shellKey(c: LogShellContext): void {
  const node = c.cursorNode;
  if (!node) return c.say('no node under the cursor', true);
  if (!c.engine.runShell || !c.onShell) return c.say('this vacm cannot open a shell here (no terminal to hand to ssh)', true);
  try {
    c.engine.runShell.check(node);
  } catch (err) {
    const ve = toVacmError(err);
    return c.say(`${ve.code}: ${ve.message}`, true);
  }
  c.onShell(node).then(
    (o) => c.say(o.signal ? `shell on ${node} ended by signal ${o.signal}` : o.code === 0 ? `shell on ${node} closed` : `shell on ${node} ended with exit ${o.code}${o.code === 255 ? ' (ssh could not connect or log in; SSH:EXEC on the node says why)' : ''}`, o.code !== 0 || o.signal !== undefined),
    (err: unknown) => {
      const ve = toVacmError(err);
      c.say(`${ve.code}: ${ve.message}`, true);
    },
  );
}

export function logsKey(c: LogShellContext): void {
  if (c.targets.length === 0) return c.say('no node under the cursor', true);
  if (!c.engine.watchOutput || !c.onLogs) return c.say('this vacm cannot show a log view', true);
  c.onLogs(c.targets);
}
