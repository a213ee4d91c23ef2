/**
 * fping, driven as one process per sweep: `fping -c<count> -t<timeout> -i0 -q <targets...>` prints one
 * summary line per target on stderr, which `parseFpingSummary` turns into results. The parsers are
 * pure (tested with captured output); `runFpingSweep` owns the process.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

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

// "127.0.30.1   : xmt/rcv/%loss = 1/1/0%, min/avg/max = 0.026/0.026/0.026"
const SUMMARY_RE = /^(\S+)\s+:\s+xmt\/rcv\/%loss = (\d+)\/(\d+)\/(\d+)%(?:, min\/avg\/max = ([\d.]+)\/([\d.]+)\/([\d.]+))?/;
// "nosuchhost.invalid: Name or service not known"
const TARGET_ERROR_RE = /^(\S+?):\s+(.+)$/;

/**
 * Parse the `-q -c` summary of fping. Targets with no summary line but an error line (an
 * unresolvable name) get that message as their reason, marked `error`.
 */
export function parseFpingSummary(text: string, timeoutMs: number): Map<string, ProbeResult> {
  const out = new Map<string, ProbeResult>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const m = SUMMARY_RE.exec(line);
    if (m) {
      const [, target, xmt, rcv] = m;
      if (Number(rcv) > 0) out.set(target, { state: 'up', rttMs: Number(m[6]) });
      else out.set(target, { state: 'down', reason: `no reply to ${xmt} ping${xmt === '1' ? '' : 's'} within ${timeoutMs} ms` });
      continue;
    }
    const e = TARGET_ERROR_RE.exec(line);
    if (e && !out.has(e[1])) out.set(e[1], { state: 'down', reason: e[2], error: true });
  }
  return out;
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
}

/** fping's arguments for one sweep (exported for the docs and tests). */
export function fpingSweepArgs(opts: { count: number; timeoutMs: number; periodMs?: number }): string[] {
  const period = Math.max(opts.periodMs ?? 100, 10);
  // -i 0: fire at all targets back to back (its default -i 10 takes 10 s for 1024 targets)
  const args = [`-c${opts.count}`, `-t${Math.max(1, Math.round(opts.timeoutMs))}`, '-i0', '-q'];
  if (opts.count > 1) args.push(`-p${period}`);
  return args;
}

/**
 * Ping every target with one fping process. Resolves with a result for every target (targets fping
 * said nothing about are down with a reason); rejects only when fping cannot be run at all.
 */
export function runFpingSweep(targets: readonly string[], opts: FpingSweepOptions): Promise<Map<string, ProbeResult>> {
  const bin = opts.bin ?? findBinary('fping') ?? 'fping';
  const unique = [...new Set(targets)];
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(new Error('cancelled'));
    // targets go on stdin (-f -): no argv length limit for big sweeps
    const child = spawn(bin, [...fpingSweepArgs(opts), '-f', '-'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LANG: 'C', LC_ALL: 'C' } });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (text += d));
    const onAbort = () => child.kill('SIGKILL');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (err) => {
      opts.signal?.removeEventListener('abort', onAbort);
      reject(new Error(`cannot run ${bin}: ${err.message}`));
    });
    child.once('close', (code) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (opts.signal?.aborted) return reject(new Error('cancelled'));
      if (code !== null && code >= 3) {
        const msg = text.trim().split('\n')[0] ?? '';
        return reject(new Error(`fping failed (exit ${code})${msg ? `: ${msg}` : ''}`));
      }
      const parsed = parseFpingSummary(text, opts.timeoutMs);
      // with -q, fping says nothing about a name it cannot resolve (exit 2): that is the usual cause
      for (const t of unique) {
        if (!parsed.has(t)) parsed.set(t, { state: 'down', reason: code === 2 ? `cannot resolve ${t}; set the node's host variable to an address or a resolvable name` : 'fping gave no answer for this address', error: true });
      }
      resolve(parsed);
    });
    child.stdin.on('error', () => {}); // fping exiting early closes the pipe
    child.stdin.end(unique.join('\n') + '\n');
  });
}
