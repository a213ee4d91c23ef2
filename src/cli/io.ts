/** The process's streams, passed in so that commands are tested without a real terminal. */
import type { Readable } from 'node:stream';

export interface Io {
  out(s: string): void;
  err(s: string): void;
  stdin: Readable;
  stdinIsTTY: boolean;
}

export function processIo(): Io {
  return {
    out: (s) => void process.stdout.write(s),
    err: (s) => void process.stderr.write(s),
    stdin: process.stdin,
    stdinIsTTY: Boolean(process.stdin.isTTY),
  };
}

/** Exit codes: 0 all well, 1 some node or job failed, 2 usage, parse or config error. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
