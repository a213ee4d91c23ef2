/**
 * `vacm console NODE`: the node's serial console on this terminal, as ipmitool's `sol activate` or
 * conman give it, with the same escapes (`~.` leave, `~B` break, `~?` help). The terminal is put
 * in raw mode (keys go to the node as typed, Ctrl-C included) and restored on every way out:
 * `~.`, the console's loss, SIGTERM, SIGHUP, an exception. What the node prints is shown one line
 * at a time with its control characters made visible, never raw: a console cannot retitle, clear
 * or write the clipboard of the operator's terminal (full-screen programs on the node render as
 * plain lines, a deliberate trade).
 */
import type { ReadStream } from 'node:tty';
import { toVacmError } from '../protocol/errors.js';
import { CONSOLE_HELP, ConsoleEscapes } from '../protocol/console-escape.js';
import { escapeControls, visible } from '../protocol/visible.js';
import type { EngineArgs } from './setup.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Io } from './io.js';
import { consoleOpener } from './console-attach.js';
import type { UiConsole } from '../ui/ui-engine.js';

const USAGE_CODES = new Set(['ERR_USAGE', 'ERR_CONFIG', 'ERR_NO_SUCH_NODE', 'ERR_UNSUPPORTED', 'ERR_NODESET_PARSE', 'ERR_UNSAFE_FILE', 'ERR_STATE_DIR']);

export async function runConsole(a: EngineArgs & { node: string; force?: boolean }, io: Io): Promise<number> {
  const failWith = (err: unknown): number => {
    const ve = toVacmError(err, 'ERR_MODULE');
    io.err(`${ve.code}: ${escapeControls(ve.message)}\n`);
    return USAGE_CODES.has(ve.code) ? EXIT_USAGE : EXIT_FAILED;
  };
  const { openEngine } = await import('./setup.js');
  let engine;
  try {
    engine = await openEngine({ ...a, monitor: false });
  } catch (err) {
    return failWith(err);
  }
  let con: UiConsole;
  try {
    const open = consoleOpener(engine);
    if (!open) throw toVacmError(new Error('this vacm has no CONSOLE module'), 'ERR_INTERNAL');
    con = await open(a.node, { force: a.force });
  } catch (err) {
    await engine.stop();
    return failWith(err);
  }

  const tty = io.stdinIsTTY ? (io.stdin as ReadStream) : undefined;
  const restore = (): void => {
    try {
      tty?.setRawMode?.(false);
    } catch {
      /* the terminal is gone */
    }
  };
  let finish!: (code: number) => void;
  const finished = new Promise<number>((r) => (finish = r));
  const onSignal = (): void => finish(EXIT_OK);
  process.once('exit', restore);
  process.once('SIGTERM', onSignal);
  process.once('SIGHUP', onSignal);
  process.once('SIGINT', onSignal); // with a raw terminal Ctrl-C goes to the node; this is kill -INT
  tty?.setRawMode?.(true);

  const nl = '\r\n'; // raw mode: the terminal adds no CR of its own
  const say = (s: string): void => io.err(`[${s}]${nl}`);
  let partialShown = false;
  const show = (text: string, partial: boolean): void => {
    io.out(`${partialShown ? '\r\x1b[K' : ''}${visible(text)}${partial ? '' : nl}`);
    partialShown = partial;
  };
  say(`${a.node}: console open; ~. leaves, ~B break, ~? help${con.readOnly ? '; read-only: another operator types on it (--force takes it over)' : ''}`);
  for (const l of con.backlog()) show(l, false);
  const off = con.listen((e) => {
    if (e.kind === 'line') show(e.text, e.partial);
    else if (e.kind === 'role') say(e.readOnly ? 'another operator took the console over: read-only now' : 'you type on the console again');
    else {
      if (partialShown) io.out(nl);
      partialShown = false;
      say(escapeControls(e.message));
    }
  });

  const escapes = new ConsoleEscapes();
  const onData = (d: Buffer | string): void => {
    const r = escapes.feed(typeof d === 'string' ? d : d.toString('utf8'));
    try {
      if (r.send) con.write(r.send);
    } catch (err) {
      say(escapeControls(toVacmError(err, 'ERR_MODULE').message));
    }
    for (const act of r.actions) {
      if (act === 'leave') finish(EXIT_OK);
      else if (act === 'help') for (const h of CONSOLE_HELP) say(h);
      else {
        try {
          con.sendBreak();
          say('break sent');
        } catch (err) {
          say(escapeControls(toVacmError(err, 'ERR_MODULE').message));
        }
      }
    }
  };
  io.stdin.on('data', onData);
  // a pipe's end leaves, once what it said had time to reach the node
  const onEnd = (): void => void setTimeout(() => finish(EXIT_OK), 1000);
  io.stdin.once('end', onEnd);
  io.stdin.resume();

  const code = await finished;
  io.stdin.off('data', onData);
  io.stdin.off('end', onEnd);
  io.stdin.pause();
  restore();
  process.off('exit', restore);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onSignal);
  process.off('SIGINT', onSignal);
  off();
  if (partialShown) io.out(nl);
  say(`${a.node}: console closed`);
  await con.close();
  await engine.stop();
  return code;
}
