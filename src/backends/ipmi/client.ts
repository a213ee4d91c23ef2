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
import { createHash, randomBytes } from 'node:crypto';
import { VacmError } from '../../protocol/errors.js';
import {
  PAYLOAD_OPEN_SESSION_REQ,
  PAYLOAD_OPEN_SESSION_RSP,
  PAYLOAD_RAKP1,
  PAYLOAD_RAKP2,
  PAYLOAD_RAKP3,
  PAYLOAD_RAKP4,
  PRIV_ADMINISTRATOR,
  ROLE_NAME_ONLY_LOOKUP,
  AUTH_ALG_RAKP_HMAC_SHA1,
  INTEGRITY_ALG_HMAC_SHA1_96,
  CONF_ALG_AES_CBC_128,
  CMD_GET_CHANNEL_AUTH_CAPS,
  chassisControlRequest,
  chassisStatusRequest,
  decodeChannelAuthCaps,
  decodeChassisStatus,
  decodeOpenSessionResponse,
  decodeRakp2,
  decodeRakp4,
  decodeRmcpPlusPacket,
  decodeV15Packet,
  deriveSessionKeys,
  getDeviceIdRequest,
  describeRmcpPlusStatus,
  encodeGetChannelAuthCaps,
  encodeOpenSessionRequest,
  encodeRakp1,
  encodeRakp3,
  encodeRmcpPlusPacket,
  hex2,
  isAuthStatus,
  passwordKey,
  peekDemuxKey,
  rakp3AuthCode,
  setSessionPrivilegeRequest,
  verifyRakp2,
  verifyRakp4,
  type RakpContext,
} from './protocol.js';
import { IGNORE, Session, RestartHandshake, cancelled, authError, rakpError, checkCompletion, type IpmiPayloadSession, type IpmiSession, type Op } from './session.js';
import { chassisIdentifyRequest, decodeBootFlags, getBootDeviceRequest, setBootDeviceRequest } from './chassis.js';
import type { BootFlags, IdentifyMode } from '../../protocol/power.js';

export interface BmcTarget {
  host: string;
  port?: number;
  user: string;
  password: string;
}

export type ChassisAction = 'on' | 'off' | 'cycle' | 'reset' | 'soft';

export interface IpmiClientOptions {
  /** Retransmissions per request after the first send (default 3, so 4 tries). */
  retries?: number;
  /** Wait for a reply before retransmitting (default 1000 ms). */
  retryMs?: number;
  /** Deadline for a whole operation, session setup to close (default 15000 ms). */
  timeoutMs?: number;
  /** Local address of the UDP socket (default: all addresses, ephemeral port). */
  bindAddress?: string;
  /** Test hook: return true to drop an outgoing datagram (simulated packet loss). */
  dropOutgoing?: (packet: Buffer, host: string, port: number) => boolean;
  /** Test hook: return true to drop an incoming datagram (a lost reply). */
  dropIncoming?: (packet: Buffer, host: string, port: number) => boolean;
  /**
   * Keep up to this many sessions open, one per BMC, and reuse them across operations (default 0:
   * a session per operation, closed after it). Least recently used ones are closed first.
   */
  keepSessions?: number;
  /** Quiet time after which a kept session gets a keep-alive (default 20000 ms; BMCs time sessions out after ~60 s). */
  keepAliveMs?: number;
  /** A kept session no operation used for this long is closed (default 600000 ms; keep-alives do not count). */
  idleCloseMs?: number;
}

/** Options of one `IpmiClient.session` call. */
export interface SessionOptions {
  /**
   * Running the body twice is harmless (reads, setting a value to the same thing): on a kept session
   * that turns out dead it is re-run at once on a fresh one, with no probe first.
   */
  idempotent?: boolean;
  /** A session of its own, never a kept one, closed afterwards (long holders such as SOL). */
  fresh?: boolean;
}

export interface IpmiClientStats {
  /** sessions opened (the RAKP handshake done) */
  sessionsOpened: number;
  /** operations that ran on a kept session instead of opening one */
  sessionsReused: number;
  /** kept sessions open now */
  sessionsKept: number;
  /** kept sessions found dead on use or keep-alive (then reopened) */
  sessionsStale: number;
  /** kept sessions closed to make room (LRU) or after idleCloseMs */
  sessionsEvicted: number;
  keepAlives: number;
  retransmits: number;
  packetsSent: number;
  packetsDropped: number;
  packetsIgnored: number;
}

type Handler = (pkt: Buffer) => void;



const DEFAULT_PORT = 623;

/**
 * The settings of the modules' client: each module's per-node timers end a node's wait, so the
 * client's own deadline is only a backstop; sessions are kept warm, one per BMC.
 */
export const MODULE_CLIENT_DEFAULTS: Readonly<IpmiClientOptions> = { retries: 3, retryMs: 1000, timeoutMs: 3_600_000, keepSessions: 1024 };

/** A session kept open for the next operation on its BMC. */
interface Kept {
  key: string;
  session: Session;
  /** an operation or a keep-alive is using it */
  busy: boolean;
  /** last use by an operation (keep-alives do not count) */
  lastUsed: number;
  timer?: NodeJS.Timeout;
}

/** One kept session per BMC address, port and account (the password only as a hash). */
function keptKey(t: BmcTarget, port: number): string {
  return `${t.host}:${port}\n${t.user}\n${createHash('sha256').update(t.password).digest('base64')}`;
}

export class IpmiClient {
  readonly stats: IpmiClientStats = {
    sessionsOpened: 0,
    sessionsReused: 0,
    sessionsKept: 0,
    sessionsStale: 0,
    sessionsEvicted: 0,
    keepAlives: 0,
    retransmits: 0,
    packetsSent: 0,
    packetsDropped: 0,
    packetsIgnored: 0,
  };
  private readonly retries: number;
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

  private allocConsoleSid(): number {
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
      const session = await this.openSession(op, t);
      const mine = key === undefined ? undefined : this.adopt(key, session);
      if (!mine) {
        try {
          return await body(session);
        } finally {
          await session.close();
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
    if (close) void k.session.close();
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

  private async openSession(op: Op, t: BmcTarget): Promise<Session> {
    const where = `BMC ${op.host}:${op.port}`;
    // 1. Get Channel Authentication Capabilities (IPMI 1.5 framing, asks for v2.0 data)
    const capsSeq = this.freeCapsSeq(op);
    const caps = await this.exchange(op, `q${capsSeq}`, 'Get Channel Authentication Capabilities', () => encodeGetChannelAuthCaps(capsSeq), (pkt) => {
      const rsp = decodeV15Packet(pkt);
      if (rsp.cmd !== CMD_GET_CHANNEL_AUTH_CAPS || rsp.rqSeq !== capsSeq) throw IGNORE;
      checkCompletion(rsp, where);
      return decodeChannelAuthCaps(rsp.data);
    });
    if (!caps.ipmi20) throw new VacmError('ERR_IPMI', `${where} does not offer IPMI v2.0 (RMCP+) on its LAN channel; enable lanplus on the BMC`);

    // A lost RAKP 4 cannot be recovered by resending RAKP 3 (BMCs ignore it once the session is
    // active), so then the handshake starts over with a new Open Session, a bounded number of times.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.handshake(op, t, where, attempt < 3);
      } catch (e) {
        if (e instanceof RestartHandshake) continue;
        throw e;
      }
    }
  }

  private async handshake(op: Op, t: BmcTarget, where: string, mayRestart: boolean): Promise<Session> {
    // 2. Open Session, cipher suite 3
    const consoleSessionId = this.allocConsoleSid();
    const key = `s${consoleSessionId}`;
    const user = Buffer.from(t.user, 'utf8');
    const kuid = passwordKey(t.password);
    const open = await this.exchange(
      op,
      key,
      'Open Session',
      () => encodeRmcpPlusPacket({ payloadType: PAYLOAD_OPEN_SESSION_REQ, sessionId: 0, seq: 0, payload: encodeOpenSessionRequest({ tag: 0, consoleSessionId }) }),
      (pkt) => {
        const p = decodeRmcpPlusPacket(pkt);
        if (p.payloadType !== PAYLOAD_OPEN_SESSION_RSP) throw IGNORE;
        return decodeOpenSessionResponse(p.payload);
      },
    );
    if (open.status !== 0) {
      throw new VacmError(
        isAuthStatus(open.status) ? 'ERR_IPMI_AUTH' : 'ERR_IPMI',
        `${where} refused to open an RMCP+ session: ${describeRmcpPlusStatus(open.status)} (status ${hex2(open.status)}); vacm needs cipher suite 3 (HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128)`,
      );
    }
    if (open.authAlg !== AUTH_ALG_RAKP_HMAC_SHA1 || open.integrityAlg !== INTEGRITY_ALG_HMAC_SHA1_96 || open.confAlg !== CONF_ALG_AES_CBC_128) {
      throw new VacmError('ERR_IPMI', `${where} answered Open Session with algorithms other than cipher suite 3`);
    }

    // 3. RAKP 1 / 2: the BMC proves it knows the password
    const rm = randomBytes(16);
    const role = PRIV_ADMINISTRATOR | ROLE_NAME_ONLY_LOOKUP;
    const bmcSessionId = open.bmcSessionId;
    const rakp2 = await this.exchange(
      op,
      key,
      'RAKP 1',
      () => encodeRmcpPlusPacket({ payloadType: PAYLOAD_RAKP1, sessionId: 0, seq: 0, payload: encodeRakp1({ tag: 1, bmcSessionId, rm, role, user }) }),
      (pkt) => {
        const p = decodeRmcpPlusPacket(pkt);
        if (p.payloadType !== PAYLOAD_RAKP2) throw IGNORE;
        return decodeRakp2(p.payload);
      },
    );
    if (rakp2.status !== 0) throw rakpError(where, 'RAKP 2', rakp2.status);
    const ctx: RakpContext = { kuid, consoleSessionId, bmcSessionId, rm, rc: rakp2.rc, guid: rakp2.guid, role, user };
    if (!verifyRakp2(ctx, rakp2.authCode)) throw authError(where, 'the BMC’s RAKP 2 key exchange code does not match');
    const keys = deriveSessionKeys(kuid, rm, rakp2.rc, role, user);

    // 4. RAKP 3 / 4: we prove it, the BMC confirms the session integrity key
    const rakp4Tries = mayRestart ? Math.min(2, this.retries + 1) : this.retries + 1;
    const rakp4 = await this.exchange(
      op,
      key,
      'RAKP 3',
      () => encodeRmcpPlusPacket({ payloadType: PAYLOAD_RAKP3, sessionId: 0, seq: 0, payload: encodeRakp3({ tag: 2, bmcSessionId, authCode: rakp3AuthCode(ctx) }) }),
      (pkt) => {
        const p = decodeRmcpPlusPacket(pkt);
        if (p.payloadType !== PAYLOAD_RAKP4) throw IGNORE;
        return decodeRakp4(p.payload);
      },
      rakp4Tries,
    ).catch((e: unknown) => {
      if (mayRestart && e instanceof VacmError && e.code === 'ERR_TIMEOUT' && !op.signal.aborted) throw new RestartHandshake();
      throw e;
    });
    if (rakp4.status !== 0) throw rakpError(where, 'RAKP 4', rakp4.status);
    if (!verifyRakp4(keys.sik, ctx, rakp4.icv)) throw authError(where, 'the BMC’s RAKP 4 integrity check value does not match');
    this.stats.sessionsOpened++;

    const session = new Session(this, op, key, consoleSessionId, bmcSessionId, keys, where);
    try {
      await session.command(setSessionPrivilegeRequest(session.rqSeq(), PRIV_ADMINISTRATOR), 'Set Session Privilege Level (ADMINISTRATOR)');
    } catch (e) {
      await session.close();
      throw e;
    }
    return session;
  }

  /** A pre-session rqSeq not already awaiting a reply from this BMC (replies are routed by it). */
  private freeCapsSeq(op: Op): number {
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
