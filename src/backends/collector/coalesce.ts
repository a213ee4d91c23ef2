/**
 * Reading the collector's socket in batches at low rates (interrupt coalescing). At 1000 agents a
 * second almost every datagram wakes the process on its own, and the wake-up (epoll, libuv, the
 * JavaScript callback, caches gone cold since the last one) costs more than the datagram's checks.
 * So after a wake-up that emptied the socket, the socket is not read for `pauseMs`; what queued
 * meanwhile is read in one go when it is read again. The kernel holds the datagrams meanwhile (its
 * receive buffer holds ~0.65 s of them at 10 000 a second; a pause is a few ms) and the statuses are
 * 1 Hz, so nothing is lost and a status is at most `pauseMs` later.
 *
 * A wake-up that read a full batch (libuv reads at most FULL_BATCH datagrams per wake-up, then goes
 * back to its loop) is not followed by a pause: more may be waiting, so the throughput is never
 * capped by the pause. Nor is any wake-up while the rate of the last whole second was at or above
 * `maxRate` (default MAX_PAUSED_RATE): at such rates each wake-up already carries several datagrams,
 * the pause bought nothing measurable (10 000 agents: 51.4 against 51.5 µs per datagram), and the
 * socket is then read exactly as before, every ms of the kernel buffer's margin kept.
 *
 * Node's dgram has no public pause: this uses the socket's handle (`recvStop`/`recvStart` of the
 * UDP handle, which dgram itself calls), found by feature detection. Where it is not there, the
 * socket is read as before (every datagram at once) and `coalesced` is false.
 */
import type dgram from 'node:dgram';

/** what libuv reads per wake-up before it goes back to its loop (uv__udp_recvmsg: 32 since libuv 1.0) */
export const FULL_BATCH = 32;
/** datagrams a second at and above which no pause is taken (the rate of the last whole second) */
export const MAX_PAUSED_RATE = 4000;

interface UdpHandle {
  recvStart(): number;
  recvStop(): number;
}

/** the socket's UDP handle, if this Node has the one dgram uses (null when closed; undefined: none found) */
function handleOf(sock: dgram.Socket): (() => UdpHandle | null) | undefined {
  const sym = Object.getOwnPropertySymbols(sock).find((s) => s.description === 'state symbol');
  if (sym === undefined) return undefined;
  const state = (sock as unknown as Record<symbol, { handle?: unknown } | undefined>)[sym];
  const h = state?.handle as Partial<UdpHandle> | null | undefined;
  if (typeof h?.recvStart !== 'function' || typeof h.recvStop !== 'function') return undefined;
  return () => (state?.handle as UdpHandle | null | undefined) ?? null;
}

export interface Coalescer {
  /** true when the socket is read in batches; false: the fallback, read as it comes */
  readonly coalesced: boolean;
  /** call once per datagram, from the socket's `message` handler */
  onMessage(): void;
  /** stop pausing (before the socket closes): a paused socket is read again, no timer is left */
  close(): void;
}

/** A coalescer for a bound socket; `find` is for tests of the fallback (a Node without the handle). */
export function coalesceReads(sock: dgram.Socket, pauseMs: number, find: (s: dgram.Socket) => (() => UdpHandle | null) | undefined = handleOf, maxRate = MAX_PAUSED_RATE): Coalescer {
  const handle = pauseMs > 0 ? find(sock) : undefined;
  if (handle === undefined) return { coalesced: false, onMessage() {}, close() {} };
  let batch = 0;
  let paused = false;
  let closed = false;
  // the rate: datagrams counted per window of at least a second, at the wake-ups (no timer of its
  // own), on the monotonic clock (a wall clock set back would hold a stale rate)
  let windowStart = performance.now();
  let windowCount = 0;
  let rate = 0;
  const resume = () => {
    paused = false;
    if (!closed) handle()?.recvStart();
  };
  let timer: NodeJS.Timeout | undefined;
  // after the wake-up's reads (the check phase follows the poll phase that read them)
  const afterReads = () => {
    const n = batch;
    batch = 0;
    windowCount += n;
    const now = performance.now();
    if (now - windowStart >= 1000) {
      rate = (windowCount * 1000) / (now - windowStart);
      windowStart = now;
      windowCount = 0;
    }
    if (closed || n >= FULL_BATCH || rate >= maxRate) return;
    const h = handle();
    if (h === null || h.recvStop() !== 0) return;
    paused = true;
    // one timer, re-armed after it fired (refresh): nothing allocated per pause
    if (timer === undefined) timer = setTimeout(resume, pauseMs);
    else timer.refresh();
  };
  return {
    coalesced: true,
    onMessage() {
      if (batch++ === 0) setImmediate(afterReads);
    },
    close() {
      closed = true;
      clearTimeout(timer);
      if (paused) {
        paused = false;
        handle()?.recvStart();
      }
    },
  };
}
