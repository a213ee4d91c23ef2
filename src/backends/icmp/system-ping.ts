/**
 * One node at a time through the `ping` npm package (system ping), for machines without fping.
 *
 * ping 0.4.4 builds its spawn options with `Object.assign(process.env, { LANG: 'C' })`: it overwrites
 * LANG for the whole vacm process. The package spawns synchronously inside `probe()`, so saving LANG
 * before the call and restoring it right after keeps the child's LANG=C (which its parser needs)
 * without leaking it into the rest of vacm.
 */
import type Ping from 'ping';
import { VacmError } from '../../protocol/errors.js';
import type { ProbeResult } from './fping.js';

export interface SystemPingOptions {
  count: number;
  timeoutMs: number;
  /** ms between the pings when count > 1 */
  periodMs?: number;
  /** the package gives no handle on its process: on abort vacm stops waiting, and ping ends by its own -W */
  signal?: AbortSignal;
}

/** Call `fn` and put process.env.LANG back exactly as it was (unset stays unset). */
export function withLangPreserved<T>(fn: () => T): T {
  const had = Object.prototype.hasOwnProperty.call(process.env, 'LANG');
  const saved = process.env.LANG;
  try {
    return fn();
  } finally {
    if (had) process.env.LANG = saved;
    else delete process.env.LANG;
  }
}

function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new VacmError('ERR_CANCELLED', 'cancelled'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new VacmError('ERR_CANCELLED', 'cancelled'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

// loaded on first use: most machines sweep with fping and never need the package
let pingLib: typeof Ping | undefined;

export async function systemPing(address: string, opts: SystemPingOptions): Promise<ProbeResult> {
  const ping = (pingLib ??= (await import('ping')).default);
  const extra: string[] = [];
  if (opts.count > 1) extra.push('-i', String(Math.max(opts.periodMs ?? 100, 2) / 1000));
  const probe = withLangPreserved(() =>
    ping.promise.probe(address, {
      numeric: true,
      // seconds; iputils takes fractions
      timeout: Math.max(opts.timeoutMs, 1) / 1000,
      min_reply: opts.count,
      extra,
    }),
  );
  const res = opts.signal ? await untilAborted(probe, opts.signal) : await probe;
  if (res.alive) {
    const avg = Number(res.avg);
    const first = Number(res.time);
    const rtt = Number.isFinite(avg) ? avg : Number.isFinite(first) ? first : 0;
    return { state: 'up', rttMs: rtt };
  }
  const out = String(res.output ?? '');
  // "ping: nosuch.invalid: Name or service not known" and similar
  const err = /^ping: (.+)$/m.exec(out);
  if (err) {
    const msg = err[1].trim();
    if (/not known|resolv|unknown host|no address/i.test(msg)) {
      return { state: 'down', reason: `cannot resolve ${address} (${msg.replace(`${address}: `, '')}); set the node's host variable to an address or a resolvable name`, error: true };
    }
    return { state: 'down', reason: msg };
  }
  return { state: 'down', reason: `no reply to ${opts.count} ping${opts.count === 1 ? '' : 's'} within ${opts.timeoutMs} ms` };
}
