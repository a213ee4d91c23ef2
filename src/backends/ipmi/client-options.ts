/** The options, targets and counters of the IPMI client (client.ts). */

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

export function zeroStats(): IpmiClientStats {
  return {
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
}

/**
 * The settings of the modules' client: each module's per-node timers end a node's wait, so the
 * client's own deadline is only a backstop; sessions are kept warm, one per BMC.
 */
export const MODULE_CLIENT_DEFAULTS: Readonly<IpmiClientOptions> = { retries: 3, retryMs: 1000, timeoutMs: 3_600_000, keepSessions: 1024 };
