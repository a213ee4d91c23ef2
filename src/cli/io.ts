/** The process's streams, passed in so that commands are tested without a real terminal. */
import type { Readable } from 'node:stream';
import { isatty } from 'node:tty';

export interface Io {
  out(s: string): void;
  err(s: string): void;
  stdin: Readable;
  stdinIsTTY: boolean;
  /** whether out/err reach a terminal (command output is then shown with its controls visible) */
  stdoutIsTTY?: boolean;
  stderrIsTTY?: boolean;
  /** resolves when stdout has taken what was written (a pipe's reader may be slower than us) */
  outDrained?(): Promise<void>;
}

/**
 * When the reader goes away (`vacm ipc ... | head -1`), further output is dropped and the command
 * goes on to its end: jobs already started (a power action, say) finish and are audited, instead of
 * the process dying in the middle of them with a stack trace.
 */
function dropOnBrokenPipe(stream: NodeJS.WriteStream): (s: string) => void {
  let broken = false;
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') {
      broken = true;
      stream.emit('drain'); // nobody waits on a reader that is gone
    } else throw err;
  });
  return (s) => {
    if (!broken) stream.write(s);
  };
}

function drained(stream: NodeJS.WriteStream): Promise<void> {
  if (!stream.writableNeedDrain || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

export function processIo(): Io {
  return {
    out: dropOnBrokenPipe(process.stdout),
    err: dropOnBrokenPipe(process.stderr),
    // made on first use: node builds process.stdin (and loads fs streams for it) when first read,
    // and a `vacm ipc` with its requests on the command line never reads it
    get stdin() {
      return process.stdin;
    },
    stdinIsTTY: isatty(0),
    stdoutIsTTY: Boolean(process.stdout.isTTY),
    stderrIsTTY: Boolean(process.stderr.isTTY),
    outDrained: () => drained(process.stdout),
  };
}

/**
 * `io` with some members replaced and the others as they are: a getter stays a getter (process.stdin
 * is made on first use, and a spread would make it here).
 */
export function ioWith<T extends object>(io: Io, over: T): Io & T {
  return Object.defineProperties(Object.defineProperties({}, Object.getOwnPropertyDescriptors(io)), Object.getOwnPropertyDescriptors(over)) as Io & T;
}

/** Exit codes: 0 all well, 1 some node or job failed, 2 usage, parse or config error. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
