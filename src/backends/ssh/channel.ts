/**
 * The channel: a command's output as bounded lines (LineSplitter), its exit status or signal, stop
 * on cancel or timeout (TERM to the remote process group, then KILL), and SFTP sessions, over one
 * open ssh2 connection.
 */
import type { Client, ClientChannel, SFTPWrapper } from 'ssh2';
import { VacmError } from '../../protocol/errors.js';
import { peerText } from '../../protocol/visible.js';
import type { ExecExit, StreamExecOptions } from '../capabilities.js';

const SIGNALS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, ILL: 4, ABRT: 6, FPE: 8, KILL: 9, SEGV: 11, PIPE: 13, ALRM: 14, TERM: 15, USR1: 10, USR2: 12 };

/** The longest output line kept: the rest of a longer line is counted and dropped (IPC lines are 64 KiB too). */
export const MAX_LINE_BYTES = 64 * 1024;

/** Output a command vacm runs for itself (SYSSTAT's /proc read, ssh power) may answer before it is stopped. */
export const RUN_MAX_BYTES = 4 * 1024 * 1024;

/** The suffix of a line cut at MAX_LINE_BYTES: it says how many bytes were dropped. */
export function cutSuffix(bytes: number): string {
  return `…[cut ${bytes} bytes]`;
}

/** Where a line cut at `end` bytes may end without splitting a UTF-8 character (a partial last one is dropped). */
function utf8Boundary(b: Buffer, end: number): number {
  let i = end - 1;
  while (i >= 0 && end - i < 4 && (b[i] & 0xc0) === 0x80) i--;
  if (i < 0) return end;
  const lead = b[i];
  const len = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return i + len <= end ? end : i;
}

/**
 * Splits a byte stream into lines; the last unterminated line is flushed at the end. Each chunk is
 * scanned once, for its own newlines only, and a line is decoded as a whole once its newline has
 * come (so a UTF-8 character split between chunks survives). A line longer than `maxLineBytes`
 * keeps its first `maxLineBytes` bytes (to a character boundary); the rest is counted and dropped
 * until the newline, and the line is handed out then, ending in `…[cut N bytes]`: a remote line
 * of any length costs at most `maxLineBytes` of memory and one pass over its bytes.
 */
export class LineSplitter {
  /** the current line's kept bytes (copies: ssh2 may reuse the buffers it hands out) */
  private parts: Buffer[] = [];
  private kept = 0;
  private cut = 0;
  private readonly max: number;
  constructor(private readonly onLine: (line: string) => void, opts: { maxLineBytes?: number } = {}) {
    this.max = opts.maxLineBytes ?? MAX_LINE_BYTES;
  }

  push(chunk: Buffer | string): void {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    let nl: number;
    while ((nl = b.indexOf(10, start)) >= 0) {
      if (this.kept === 0 && this.cut === 0 && nl - start <= this.max) this.onLine(b.toString('utf8', start, nl));
      else {
        this.take(b, start, nl);
        this.flush();
      }
      start = nl + 1;
    }
    if (start < b.length) this.take(b, start, b.length);
  }

  end(): void {
    if (this.kept > 0 || this.cut > 0) this.flush();
  }

  private take(b: Buffer, from: number, to: number): void {
    const n = Math.min(this.max - this.kept, to - from);
    if (n > 0) {
      this.parts.push(Buffer.from(b.subarray(from, from + n)));
      this.kept += n;
    }
    this.cut += to - from - n;
  }

  private flush(): void {
    const line = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.kept);
    if (this.cut === 0) this.onLine(line.toString('utf8'));
    else {
      const end = utf8Boundary(line, this.kept);
      this.onLine(line.toString('utf8', 0, end) + cutSuffix(this.cut + this.kept - end));
    }
    this.parts = [];
    this.kept = 0;
    this.cut = 0;
  }
}


export function abortError(signal: AbortSignal): Error {
  const r = signal.reason;
  return r instanceof Error ? r : new VacmError('ERR_CANCELLED', 'cancelled');
}

/** Wait for `p`, or reject when `signal` aborts (p keeps running: it may be shared). */
export function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Start `command` on an open connection. */
export function openChannel(client: Client, command: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    try {
      client.exec(command, (err, stream) => (err ? reject(err) : resolve(stream)));
    } catch (err) {
      reject(err);
    }
  });
}

/** Start an SFTP session on an open connection. */
export function openSftp(client: Client): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => {
    try {
      client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp)));
    } catch (err) {
      reject(err);
    }
  });
}

/** Stream a started command's output line by line until it exits, is cancelled or times out. */
export function runChannel(stream: ClientChannel, opts: StreamExecOptions): Promise<ExecExit> {
  const { signal } = opts;
  return new Promise<ExecExit>((resolve, reject) => {
    const out = new LineSplitter((l) => opts.onLine('stdout', l));
    const err = new LineSplitter((l) => opts.onLine('stderr', l));
    let exit: ExecExit | undefined;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (e?: Error) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (e) {
        reject(e);
        return;
      }
      out.end();
      err.end();
      resolve(exit ?? { code: 255, signal: 'LOST' });
    };
    // stop the remote command: sshd delivers the signal to its whole process group, then close
    const stop = () => {
      try {
        stream.signal('TERM');
        const kill = setTimeout(() => {
          try {
            stream.signal('KILL');
            stream.close();
          } catch {
            /* already closed */
          }
        }, 1000);
        kill.unref();
        stream.once('close', () => clearTimeout(kill));
      } catch {
        /* already closed */
      }
    };
    const onAbort = () => {
      stop();
      finish(abortError(signal!));
    };
    stream.on('data', (d: Buffer) => out.push(d));
    stream.stderr.on('data', (d: Buffer) => err.push(d));
    let closed = false;
    const noteExit = (code: number | null | undefined, sig?: string) => {
      if (exit) return;
      if (typeof code === 'number') exit = { code };
      else if (sig) {
        const name = sig.replace(/^SIG/, '');
        exit = { code: 128 + (SIGNALS[name] ?? 127), signal: name };
      }
    };
    stream.on('exit', (code: number | null, sig?: string) => {
      noteExit(code, sig);
      if (closed) finish();
    });
    // the Duplex may report 'close' before the exit status has been read: give it a moment
    stream.on('close', (code?: number | null, sig?: string) => {
      noteExit(code, sig);
      closed = true;
      if (exit) finish();
      else setTimeout(() => finish(), 250).unref();
    });
    stream.on('error', (e: Error) => finish(new VacmError('ERR_EXEC', `the SSH channel failed: ${peerText(e.message)}`)));
    if (signal) {
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
    if (opts.timeoutMs !== undefined && opts.timeoutMs > 0) {
      timer = setTimeout(() => {
        stop();
        finish(new VacmError('ERR_TIMEOUT', `the command did not finish within ${opts.timeoutMs} ms and was stopped (ssh.command_timeout_ms)`));
      }, opts.timeoutMs);
    }
  });
}
