/**
 * The I/O side of the native IPMI v2.0 RMCP+ client: one UDP socket multiplexes every session,
 * so one process drives thousands of BMCs. Replies are routed by the BMC's address:port and the
 * remote-console session id we chose (unique per client), or, before a session exists, by the
 * request's rqSeq. Every request is retransmitted on its own timer, every operation has a
 * deadline, and an AbortSignal cancels at once. The wire format lives in protocol.ts.
 *
 * A cold operation = Get Channel Auth Caps, Open Session, RAKP 1-4, Set Session Privilege
 * (ADMINISTRATOR), the command, Close Session. With `keepSessions` > 0 the client keeps one session
 * per BMC open after an operation (at most that many, least recently used evicted), keeps it alive
 * with a Get Device ID inside the BMC's session timeout, and the next operation on that BMC is only
 * its command. A kept session that no longer answers (the BMC restarted, timed it out) is dropped
 * and the operation runs on a fresh one: at once for idempotent operations, after a one-try probe
 * for the others, so a command that changes something is never sent twice.
 */
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import { VacmError } from '../../protocol/errors.js';
import { chassisControlRequest, chassisStatusRequest, decodeChassisStatus, getDeviceIdRequest, peekDemuxKey } from './protocol.js';
import { IGNORE, Session, cancelled, type IpmiPayloadSession, type IpmiSession, type Op } from './session.js';
import { chassisIdentifyRequest, decodeBootFlags, getBootDeviceRequest, setBootDeviceRequest } from './chassis.js';
import { openSession } from './handshake.js';
import { keptKey, type Kept } from './kept.js';
import { zeroStats, type BmcTarget, type ChassisAction, type IpmiClientOptions, type IpmiClientStats, type SessionOptions } from './client-options.js';
import type { BootFlags, IdentifyMode } from '../../protocol/power.js';

type Handler = (pkt: Buffer) => void;

const DEFAULT_PORT = 623;

export class IpmiClient {
  readonly stats: IpmiClientStats = zeroStats();
  /** @internal */
  readonly retries: number;
  private readonly retryMs: number;
  private readonly timeoutMs: number;
  private readonly bindAddress: string | undefined;
  private readonly dropOutgoing: IpmiClientOptions['dropOutgoing'];
  private readonly dropIncoming: IpmiClientOptions['dropIncoming'];
  private socket: Promise<dgram.Socket> | undefined;
  private readonly pending = new Map<string, Handler>();
  /** listeners for payloads a BMC sends unasked inside a session (SOL data); true = taken */
  private readonly taps = new Map<string, (pkt: Buffer) => boolean>();
  private nextConsoleSid: number;
  private nextRqSeq = 0;
  private closed = false;
  /** close() has begun: no new operation, but kept sessions may still send Close Session */
  private closing = false;
  private readonly live = new Set<AbortController>();
  private readonly keep: number;
  private readonly keepAliveMs: number;
  private readonly idleCloseMs: number;
  /** kept sessions in least-recently-used order (a Map iterates in insertion order) */
  private readonly kept = new Map<string, Kept>();

  constructor(opts: IpmiClientOptions = {}) {
    this.retries = Math.max(0, opts.retries ?? 3);
    this.retryMs = Math.max(1, opts.retryMs ?? 1000);
    this.timeoutMs = Math.max(1, opts.timeoutMs ?? 15000);
    this.bindAddress = opts.bindAddress;
    this.dropOutgoing = opts.dropOutgoing;
    this.dropIncoming = opts.dropIncoming;
    this.keep = Math.max(0, Math.floor(opts.keepSessions ?? 0));
    this.keepAliveMs = Math.max(10, opts.keepAliveMs ?? 20_000);
    this.idleCloseMs = Math.max(1, opts.idleCloseMs ?? 600_000);
    this.nextConsoleSid = randomBytes(4).readUInt32LE(0) | 1;
  }

  async powerStatus(t: BmcTarget, signal?: AbortSignal): Promise<'on' | 'off'> {
    return this.withSession(t, signal, async (s) => {
      const rsp = await s.command(chassisStatusRequest(s.rqSeq()), 'Get Chassis Status');
      return decodeChassisStatus(rsp.data).powerOn ? 'on' : 'off';
    }, { idempotent: true });
  }

  async chassisControl(t: BmcTarget, action: ChassisAction, signal?: AbortSignal): Promise<void> {
    if (!(action in { on: 1, off: 1, cycle: 1, reset: 1, soft: 1 })) {
      throw new VacmError('ERR_BAD_ARGS', `unknown chassis action '${String(action)}' (on, off, cycle, reset, soft)`);
    }
    await this.withSession(t, signal, async (s) => {
      await s.command(chassisControlRequest(action, s.rqSeq()), `Chassis Control (${action})`);
    }, { idempotent: action === 'on' || action === 'off' });
  }

  /** Chassis Identify (the locator LED): on, off, or for some seconds. */
  async identify(t: BmcTarget, mode: IdentifyMode, signal?: AbortSignal): Promise<void> {
    await this.withSession(t, signal, async (s) => {
      // the answer carries no data worth reading (ipmi_sim even sends stray bytes)
      await s.command(chassisIdentifyRequest(s.rqSeq(), mode), 'Chassis Identify');
    }, { idempotent: true });
  }

  /** Set System Boot Options parameter 5: the next (or every) boot's device. */
  async setBootDevice(t: BmcTarget, flags: BootFlags, signal?: AbortSignal): Promise<void> {
    await this.withSession(t, signal, async (s) => {
      await s.command(setBootDeviceRequest(s.rqSeq(), flags), 'Set System Boot Options (boot flags)');
    }, { idempotent: true });
  }

  async getBootDevice(t: BmcTarget, signal?: AbortSignal): Promise<BootFlags> {
    return this.withSession(t, signal, async (s) => decodeBootFlags((await s.command(getBootDeviceRequest(s.rqSeq()), 'Get System Boot Options (boot flags)')).data), { idempotent: true });
  }

  /**
   * Run `body` inside one RMCP+ session (ADMINISTRATOR): a kept one, or one opened for it and then
   * kept or closed. SENSORS and SEL send their own commands through it; the deadline and
   * cancellation hold. The body has the session to itself until it returns.
   */
  async session<T>(t: BmcTarget, signal: AbortSignal | undefined, body: (s: IpmiSession) => Promise<T>, opts: SessionOptions = {}): Promise<T> {
    return this.withSession(t, signal, body, opts);
  }

  /** Like `session`, for a caller that also sends and receives other payload types in it (SOL, sol.ts). */
  async payloadSession<T>(t: BmcTarget, signal: AbortSignal | undefined, body: (s: IpmiPayloadSession) => Promise<T>): Promise<T> {
    return this.withSession(t, signal, body, { fresh: true }); // a console lives as long as it is watched: never a kept session
  }

  /** Close kept sessions (Close Session) and the socket; operations still running are cancelled. */
  async close(): Promise<void> {
    this.closing = true;
    for (const c of this.live) c.abort();
    const idle = [...this.kept.values()];
    this.kept.clear();
    this.stats.sessionsKept = 0;
    for (const k of idle) clearTimeout(k.timer);
    // a busy one is closed by its operation, which was just cancelled
    await Promise.all(idle.filter((k) => !k.busy).map((k) => k.session.close()));
    await this.settled();
    this.closed = true;
    const sock = this.socket;
    this.socket = undefined;
    if (!sock) return;
    const s = await sock.catch(() => undefined);
    if (!s) return;
    await new Promise<void>((resolve) => {
      try {
        s.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }

  // -------------------------------------------------------------------------------------------

  private getSocket(): Promise<dgram.Socket> {
    if (!this.socket) {
      this.socket = new Promise((resolve, reject) => {
        const s = dgram.createSocket({ type: 'udp4' });
        s.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
        s.once('error', reject);
        s.bind({ address: this.bindAddress, port: 0 }, () => {
          s.off('error', reject);
          // Errors after bind (ICMP unreachable surfaces as nothing on Linux for UDP sendto): keep going.
          s.on('error', () => undefined);
          try {
            s.setRecvBufferSize(4 * 1024 * 1024);
            s.setSendBufferSize(4 * 1024 * 1024);
          } catch {
            // best effort: the kernel may cap it
          }
          s.unref(); // pending operations hold the process through their timers
          resolve(s);
        });
      });
    }
    return this.socket;
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.dropIncoming?.(msg, rinfo.address, rinfo.port)) {
      this.stats.packetsDropped++;
      return;
    }
    let key: string;
    try {
      const k = peekDemuxKey(msg);
      if (k.kind === 'plus') key = `${rinfo.address}:${rinfo.port}/s${k.consoleSessionId >>> 0}`;
      else if (k.kind === 'v15') key = `${rinfo.address}:${rinfo.port}/q${k.rqSeq}`;
      else key = `${rinfo.address}:${rinfo.port}/a${k.tag}`;
    } catch {
      this.stats.packetsIgnored++;
      return;
    }
    const tap = this.taps.get(key);
    if (tap?.(msg)) return;
    const h = this.pending.get(key);
    if (h) h(msg);
    else this.stats.packetsIgnored++;
  }

  /** @internal used by the handshake */
  allocConsoleSid(): number {
    for (let i = 0; i < 1000; i++) {
      const sid = this.nextConsoleSid >>> 0;
      this.nextConsoleSid = (this.nextConsoleSid + 1) >>> 0;
      if (sid !== 0) return sid;
    }
    throw new VacmError('ERR_INTERNAL', 'could not allocate an RMCP+ session id');
  }

  /**
   * Send a datagram and wait for the reply that `accept` takes, retransmitting every retryMs.
   * `build` is called for every (re)transmission, so session packets get fresh sequence numbers.
   */
  private async exchange<T>(op: Op, key: string, what: string, build: () => Buffer, accept: (pkt: Buffer) => T, maxTries = this.retries + 1): Promise<T> {
    if (this.closed) throw cancelled();
    const sock = await this.getSocket();
    if (op.signal.aborted) throw op.stopReason ?? cancelled();
    const fullKey = `${op.ip}:${op.port}/${key}`;
    if (this.pending.has(fullKey)) throw new VacmError('ERR_INTERNAL', `two IPMI requests in flight for ${fullKey}`);
    return new Promise<T>((resolve, reject) => {
      let tries = 0;
      let timer: NodeJS.Timeout | undefined;
      const finish = (err: unknown, value?: T): void => {
        if (timer) clearTimeout(timer);
        this.pending.delete(fullKey);
        op.signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(value as T);
      };
      const onAbort = (): void => finish(op.stopReason ?? cancelled());
      const send = (): void => {
        if (tries >= maxTries) {
          finish(
            new VacmError(
              'ERR_TIMEOUT',
              `BMC ${op.host}:${op.port} did not answer ${what} after ${tries} tries (${this.retryMs} ms each); check bmc_host/bmc_port and that the BMC is reachable`,
            ),
          );
          return;
        }
        if (tries > 0) this.stats.retransmits++;
        tries++;
        let pkt: Buffer;
        try {
          pkt = build();
        } catch (e) {
          finish(e);
          return;
        }
        if (this.dropOutgoing?.(pkt, op.host, op.port)) {
          this.stats.packetsDropped++;
        } else {
          this.stats.packetsSent++;
          sock.send(pkt, op.port, op.ip, () => undefined); // a send error is a lost packet: the retry covers it
        }
        timer = setTimeout(send, this.retryMs);
      };
      this.pending.set(fullKey, (pkt) => {
        let value: T;
        try {
          value = accept(pkt);
        } catch (e) {
          if (e === IGNORE || (e instanceof VacmError && e.code === 'ERR_IPMI' && e.message.startsWith('malformed'))) {
            this.stats.packetsIgnored++;
            return;
          }
          finish(e);
          return;
        }
        finish(undefined, value);
      });
      op.signal.addEventListener('abort', onAbort, { once: true });
      send();
    });
  }

  private async withSession<T>(t: BmcTarget, signal: AbortSignal | undefined, body: (s: Session) => Promise<T>, opts: SessionOptions = {}): Promise<T> {
    if (this.closed || this.closing) throw new VacmError('ERR_CANCELLED', 'IPMI client is closed');
    if (signal?.aborted) throw cancelled();
    const port = t.port ?? DEFAULT_PORT;
    const ctl = new AbortController();
    const op: Op = { host: t.host, ip: t.host, port, signal: ctl.signal };
    const onOuterAbort = (): void => {
      op.stopReason ??= cancelled();
      ctl.abort();
    };
    signal?.addEventListener('abort', onOuterAbort, { once: true });
    const deadline = setTimeout(() => {
      op.stopReason ??= new VacmError('ERR_TIMEOUT', `IPMI operation on ${t.host}:${port} did not finish within ${this.timeoutMs} ms; check that the BMC is reachable`);
      ctl.abort();
    }, this.timeoutMs);
    this.live.add(ctl);
    try {
      const key = this.keep > 0 && !opts.fresh ? keptKey(t, port) : undefined;
      const k = key === undefined ? undefined : this.kept.get(key);
      if (k && !k.busy) {
        const r = await this.onKept(k, op, body, opts.idempotent === true);
        if (r.ok) return r.value;
        // the kept session is dead (the BMC restarted or timed it out): a fresh one below
      }
      if (!isIP(t.host)) {
        try {
          op.ip = (await lookup(t.host, { family: 4 })).address;
        } catch (e) {
          throw new VacmError('ERR_IPMI', `cannot resolve BMC host '${t.host}' (check bmc_host)`, { cause: e });
        }
      }
      const session = await openSession(this, op, t);
      const mine = key === undefined ? undefined : this.adopt(key, session);
      if (!mine) {
        try {
          return await body(session);
        } finally {
          // the answer is the caller's now: Close Session (and its retry) goes on in the background
          this.background(session.close());
        }
      }
      try {
        const value = await body(session);
        this.release(mine);
        return value;
      } catch (e) {
        if (session.healthy && !op.signal.aborted) this.release(mine);
        else this.drop(mine, true);
        throw e;
      }
    } finally {
      clearTimeout(deadline);
      signal?.removeEventListener('abort', onOuterAbort);
      this.live.delete(ctl);
    }
  }

  /**
   * Run `body` on a kept session. `{ ok: false }` says it did not answer before anything changed
   * (idempotent: no answer at all; otherwise: no answer to the probe) and is now dropped.
   */
  private async onKept<T>(k: Kept, op: Op, body: (s: Session) => Promise<T>, idempotent: boolean): Promise<{ ok: true; value: T } | { ok: false }> {
    this.claim(k);
    k.session.bind(op);
    this.stats.sessionsReused++;
    try {
      // the first request gets one try: a lost answer costs a fresh session, not the full retries
      k.session.firstTries = 1;
      if (!idempotent) await k.session.raw(getDeviceIdRequest(k.session.rqSeq()), 'Get Device ID (session check)');
      const value = await body(k.session);
      this.release(k);
      return { ok: true, value };
    } catch (e) {
      // dead: nothing usable came back at all, or (idempotent) a request went unanswered
      const lost = !k.session.healthy && !op.signal.aborted;
      const noAnswer = lost && e instanceof VacmError && e.code === 'ERR_TIMEOUT';
      if (lost && (k.session.answered === 0 || (idempotent && noAnswer))) {
        this.stats.sessionsReused--;
        this.stats.sessionsStale++;
        this.drop(k, false);
        return { ok: false };
      }
      if (k.session.healthy && !op.signal.aborted) this.release(k);
      else this.drop(k, true);
      throw e;
    }
  }

  /** Keep a just-opened session for later, if there is room (evicting the least recently used idle one). */
  private adopt(key: string, session: Session): Kept | undefined {
    if (this.kept.has(key) || this.closing) return undefined; // another operation holds this BMC's slot
    if (this.kept.size >= this.keep) {
      const victim = [...this.kept.values()].find((x) => !x.busy);
      if (!victim) return undefined;
      this.stats.sessionsEvicted++;
      this.drop(victim, true);
    }
    const k: Kept = { key, session, busy: true, lastUsed: Date.now() };
    this.kept.set(key, k);
    this.stats.sessionsKept = this.kept.size;
    return k;
  }

  private claim(k: Kept): void {
    k.busy = true;
    clearTimeout(k.timer);
    k.timer = undefined;
    // most recently used last
    this.kept.delete(k.key);
    this.kept.set(k.key, k);
  }

  private release(k: Kept): void {
    k.busy = false;
    k.lastUsed = Date.now();
    this.scheduleKeepAlive(k);
  }

  private scheduleKeepAlive(k: Kept): void {
    if (this.kept.get(k.key) !== k) return;
    clearTimeout(k.timer);
    k.timer = setTimeout(() => void this.keepAlive(k), this.keepAliveMs);
    k.timer.unref(); // a kept session never holds the process
  }

  /** Forget a kept session; `close` sends Close Session in the background (not for a dead one). */
  private drop(k: Kept, close: boolean): void {
    clearTimeout(k.timer);
    k.timer = undefined;
    if (this.kept.get(k.key) === k) {
      this.kept.delete(k.key);
      this.stats.sessionsKept = this.kept.size;
    }
    if (close) this.background(k.session.close());
  }

  /** Close Sessions still under way; close() and settled() wait for them. */
  private readonly closes = new Set<Promise<void>>();

  private background(p: Promise<void>): void {
    this.closes.add(p);
    void p.finally(() => this.closes.delete(p));
  }

  /** Resolves once every Close Session sent so far has been answered or given up on. */
  async settled(): Promise<void> {
    while (this.closes.size > 0) await Promise.all([...this.closes]);
  }

  private async keepAlive(k: Kept): Promise<void> {
    if (this.kept.get(k.key) !== k || k.busy || this.closing) return;
    if (Date.now() - k.lastUsed >= this.idleCloseMs) {
      this.stats.sessionsEvicted++;
      this.drop(k, true);
      return;
    }
    k.busy = true;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), this.retryMs * (this.retries + 1) + 1000);
    timer.unref();
    this.live.add(ctl);
    k.session.bind(k.session.rebind(ctl.signal));
    try {
      await k.session.raw(getDeviceIdRequest(k.session.rqSeq()), 'Get Device ID (keep-alive)');
      this.stats.keepAlives++;
      k.busy = false;
      this.scheduleKeepAlive(k);
    } catch {
      this.stats.sessionsStale++;
      this.drop(k, false);
    } finally {
      clearTimeout(timer);
      this.live.delete(ctl);
    }
  }

  /** A pre-session rqSeq not already awaiting a reply from this BMC (replies are routed by it). */
  /** @internal used by the handshake */
  freeCapsSeq(op: Op): number {
    for (let i = 0; i < 64; i++) {
      const seq = this.rqSeq();
      if (!this.pending.has(`${op.ip}:${op.port}/q${seq}`)) return seq;
    }
    throw new VacmError('ERR_IPMI', `more than 64 sessions are being opened at once to BMC ${op.host}:${op.port}; retry later`);
  }

  /** @internal used by Session */
  sessionExchange<T>(op: Op, key: string, what: string, build: () => Buffer, accept: (pkt: Buffer) => T, maxTries?: number): Promise<T> {
    return this.exchange(op, key, what, build, accept, maxTries);
  }

  /** @internal used by Session: route a session's unasked payloads to `fn` until the returned function is called */
  tap(op: Op, key: string, fn: (pkt: Buffer) => boolean): () => void {
    const fullKey = `${op.ip}:${op.port}/${key}`;
    this.taps.set(fullKey, fn);
    return () => {
      if (this.taps.get(fullKey) === fn) this.taps.delete(fullKey);
    };
  }

  /** @internal used by Session: one datagram, no reply awaited (the caller retransmits) */
  sendOnly(op: Op, pkt: Buffer): void {
    if (this.closed || op.signal.aborted) return;
    void this.getSocket().then((sock) => {
      if (this.dropOutgoing?.(pkt, op.host, op.port)) {
        this.stats.packetsDropped++;
        return;
      }
      this.stats.packetsSent++;
      sock.send(pkt, op.port, op.ip, () => undefined);
    }, () => undefined);
  }

  /** @internal 6-bit requester sequence numbers, shared so pre-session replies can be routed. */
  rqSeq(): number {
    const s = this.nextRqSeq;
    this.nextRqSeq = (this.nextRqSeq + 1) & 0x3f;
    return s;
  }
}

export type { IpmiPayloadSession, IpmiSession };
export { MODULE_CLIENT_DEFAULTS, type BmcTarget, type ChassisAction, type IpmiClientOptions, type IpmiClientStats, type SessionOptions } from './client-options.js';
