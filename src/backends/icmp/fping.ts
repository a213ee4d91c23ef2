/**
 * fping, driven as one process per sweep: `fping -c<count> -t<timeout> -i0 -q -f -` prints one
 * summary line per target on stderr, which `parseFpingSummary` turns into results. The parsers are
 * pure (tested with captured output); `runFpingSweep` owns the process.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { MIN_FREE_BYTES, anonymousFiles, readBounded } from '../../platform/anonymous-file.js';

export interface ProbeResult {
  state: 'up' | 'down';
  /** average round-trip time of the replies, ms (up only) */
  rttMs?: number;
  reason?: string;
  /** no answer about reachability: the address itself is unusable (unresolvable name) */
  error?: boolean;
}

/** The full path of an executable found on $PATH (or the standard sbin dirs), or undefined. */
export function findBinary(name: string, envPath = process.env.PATH ?? ''): string | undefined {
  const dirs = [...envPath.split(path.delimiter), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = path.join(d, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

// "127.0.30.1   : xmt/rcv/%loss = 1/1/0%, min/avg/max = 0.026/0.026/0.026": the target, xmt, rcv
// and avg are captured, the rest only matched (a capture is a string per line: 1024 lines a sweep)
const SUMMARY_RE = /^(\S+)\s+:\s+xmt\/rcv\/%loss = (\d+)\/(\d+)\/\d+%(?:, min\/avg\/max = [\d.]+\/([\d.]+)\/[\d.]+)?/;
// "nosuchhost.invalid: Name or service not known"
const TARGET_ERROR_RE = /^(\S+?):\s+(.+)$/;

/**
 * One line of the `-q -c` summary into `out`: a summary line sets its target's result; an error
 * line sets it only when nothing did yet. With `only`, lines about other targets are not kept.
 */
function summaryLine(out: Map<string, ProbeResult>, raw: string, timeoutMs: number, only?: ReadonlySet<string>): void {
  const line = raw.trim();
  if (!line) return;
  const m = SUMMARY_RE.exec(line);
  if (m) {
    // by index: destructuring walks an iterator, once a line
    const target = m[1], xmt = m[2], rcv = m[3];
    if (only && !only.has(target)) return;
    if (Number(rcv) > 0) out.set(target, { state: 'up', rttMs: Number(m[4]) });
    else out.set(target, { state: 'down', reason: `no reply to ${xmt} ping${xmt === '1' ? '' : 's'} within ${timeoutMs} ms` });
    return;
  }
  const e = TARGET_ERROR_RE.exec(line);
  if (e && (!only || only.has(e[1])) && !out.has(e[1])) out.set(e[1], { state: 'down', reason: e[2], error: true });
}

/**
 * Parse the `-q -c` summary of fping. Targets with no summary line but an error line (an
 * unresolvable name) get that message as their reason, marked `error`.
 */
export function parseFpingSummary(text: string, timeoutMs: number): Map<string, ProbeResult> {
  const out = new Map<string, ProbeResult>();
  for (const raw of text.split('\n')) summaryLine(out, raw, timeoutMs);
  return out;
}

/**
 * The longest line of fping's output that is read: a target (a host name is at most 253 characters,
 * fping pads them to the longest) and its figures fit many times over. A longer line is no answer
 * fping gives about one of our targets: it is dropped as it streams, never kept whole.
 */
export const MAX_FPING_LINE = 4096;

/** A text stream cut into lines for `onLine`, bounded: a line over `max` characters is dropped, and never held past `max`. */
export function boundedLines(onLine: (line: string) => void, max = MAX_FPING_LINE): { push(s: string): void; end(): void } {
  let rest = '';
  let skipping = false;
  return {
    push(s) {
      let start = 0;
      for (let nl = s.indexOf('\n'); nl >= 0; nl = s.indexOf('\n', start)) {
        if (!skipping && rest.length + nl - start <= max) onLine(rest + s.slice(start, nl));
        rest = '';
        skipping = false;
        start = nl + 1;
      }
      if (skipping || start === s.length) return;
      if (rest.length + s.length - start > max) {
        rest = '';
        skipping = true;
      } else rest += s.slice(start);
    },
    end() {
      if (!skipping && rest) onLine(rest);
      rest = '';
      skipping = false;
    },
  };
}

/** One line of `fping -l` (loop mode): a reply, or a timeout, for one target. */
export type FpingLoopLine =
  | { target: string; kind: 'reply'; seq: number; rttMs: number }
  | { target: string; kind: 'timeout'; seq: number };

// "127.0.30.7   : [2], 64 bytes, 0.016 ms (0.548 avg, 0% loss)" / "127.0.33.250 : [0], timed out (NaN avg, 100% loss)"
const LOOP_RE = /^(\S+)\s+:\s+\[(\d+)\],\s+(?:\d+ bytes,\s+([\d.]+) ms|(timed out))/;

export function parseFpingLoopLine(line: string): FpingLoopLine | undefined {
  const m = LOOP_RE.exec(line.trim());
  if (!m) return undefined;
  if (m[4]) return { target: m[1], kind: 'timeout', seq: Number(m[2]) };
  return { target: m[1], kind: 'reply', seq: Number(m[2]), rttMs: Number(m[3]) };
}

export interface FpingSweepOptions {
  count: number;
  timeoutMs: number;
  /** ms between the pings to one target when count > 1 */
  periodMs?: number;
  signal?: AbortSignal;
  bin?: string;
  /** through pipes, not files: the second try of targets whose lines a disk filling up lost */
  pipes?: boolean;
}

/** fping's arguments for one sweep (exported for the docs and tests). */
export function fpingSweepArgs(opts: { count: number; timeoutMs: number; periodMs?: number }): string[] {
  const period = Math.max(opts.periodMs ?? 100, 10);
  // -i 0: fire at all targets back to back (its default -i 10 takes 10 s for 1024 targets)
  const args = [`-c${opts.count}`, `-t${Math.max(1, Math.round(opts.timeoutMs))}`, '-i0', '-q'];
  if (opts.count > 1) args.push(`-p${period}`);
  return args;
}

/** fping's output read from its files: this much a target, plus 64 KiB (a real summary line is < 400 bytes) */
const OUTPUT_BYTES_PER_TARGET = 1024;

/**
 * Where fping's stdout and stderr go: two anonymous files (src/platform/anonymous-file.ts), read
 * once fping has ended. fping writes each summary line on its own (stderr is unbuffered): into a
 * pipe, that was ~200 wake-ups and reads of vacm for a 1024-address sweep, ~12 ms of vacm's CPU and
 * ~10 ms more of fping's wall; into a file, none. Pipes when no file can be made (a full /tmp).
 */
function outputFiles(budget: number): number[] | undefined {
  try {
    // room for what may be read, beyond the least free space a directory must have
    return anonymousFiles(2, 'vacm-fping-', MIN_FREE_BYTES + budget);
  } catch {
    return undefined;
  }
}

/**
 * Ping every target with one fping process. Resolves with a result for every target (targets fping
 * said nothing about are down with a reason); rejects only when fping cannot be run at all.
 *
 * fping's output is hostile input like any other: it is read line by line (stdout and stderr each
 * cut on their own), each line bounded (MAX_FPING_LINE), at most OUTPUT_BYTES_PER_TARGET a target
 * in all, and only lines about our targets are kept: whatever fping prints costs at most a chunk,
 * a line and a result per target of memory.
 */
export function runFpingSweep(targets: readonly string[], opts: FpingSweepOptions): Promise<Map<string, ProbeResult>> {
  const bin = opts.bin ?? findBinary('fping') ?? 'fping';
  const ours = new Set(targets);
  const unique = [...ours];
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(new Error('cancelled'));
    const budget = 65_536 + unique.length * OUTPUT_BYTES_PER_TARGET;
    const files = opts.pipes ? undefined : outputFiles(budget);
    let open = files !== undefined;
    const closeFiles = () => {
      // once only: a descriptor number closed twice could be somebody else's by then
      if (!open) return;
      open = false;
      for (const fd of files!) fs.closeSync(fd);
    };
    let child: ReturnType<typeof spawn>;
    try {
      // targets go on stdin (-f -): no argv length limit for big sweeps
      child = spawn(bin, [...fpingSweepArgs(opts), '-f', '-'], { stdio: ['pipe', files?.[0] ?? 'pipe', files?.[1] ?? 'pipe'], env: { ...process.env, LANG: 'C', LC_ALL: 'C' } });
    } catch (e) {
      closeFiles();
      throw e; // the promise's rejection, as before
    }
    const parsed = new Map<string, ProbeResult>();
    let firstLine: string | undefined;
    const lines = () => boundedLines((line) => {
      // the error of a failed fping is its first line, as it was of its whole output
      firstLine ??= line.trimStart() || undefined;
      summaryLine(parsed, line, opts.timeoutMs, ours);
    });
    const out = lines();
    const err = lines();
    let piped = 0;
    const take = (into: ReturnType<typeof lines>) => (d: string) => {
      if (piped > budget) return;
      piped += d.length;
      into.push(d);
    };
    child.stdout?.setEncoding('utf8').on('data', take(out));
    child.stderr?.setEncoding('utf8').on('data', take(err));
    const onAbort = () => child.kill('SIGKILL');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (e) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (child.pid === undefined) closeFiles(); // never started: no 'close' to wait for
      reject(new Error(`cannot run ${bin}: ${e.message}`));
    });
    child.once('close', (code) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (files && open) {
        try {
          // stderr first: the summary and any error are there (with -q stdout stays empty)
          const left = budget - readBounded(files[1], budget, (d) => err.push(d));
          readBounded(files[0], Math.max(0, left), (d) => out.push(d));
        } catch {
          // a read that fails (EIO) leaves what was read: the targets not in it get their reason below
        } finally {
          closeFiles();
        }
      }
      out.end();
      err.end();
      if (opts.signal?.aborted) return reject(new Error('cancelled'));
      if (code !== null && code >= 3) {
        return reject(new Error(`fping failed (exit ${code})${firstLine ? `: ${firstLine}` : ''}`));
      }
      // with -q fping prints a line for every target it could resolve (exit 0 or 1): a line missing
      // from the files is a write that failed (the disk filled during the sweep); those once more,
      // through pipes
      const lost = files && (code === 0 || code === 1) ? unique.filter((t) => !parsed.has(t)) : [];
      if (lost.length > 0) {
        runFpingSweep(lost, { ...opts, pipes: true }).then((again) => {
          for (const [t, r] of again) parsed.set(t, r);
          resolve(parsed);
        }, reject);
        return;
      }
      // with -q, fping says nothing about a name it cannot resolve (exit 2): that is the usual cause
      for (const t of unique) {
        if (!parsed.has(t)) parsed.set(t, { state: 'down', reason: code === 2 ? `cannot resolve ${t}; set the node's host variable to an address or a resolvable name` : 'fping gave no answer for this address', error: true });
      }
      resolve(parsed);
    });
    child.stdin!.on('error', () => {}); // fping exiting early closes the pipe
    child.stdin!.end(unique.join('\n') + '\n');
  });
}
