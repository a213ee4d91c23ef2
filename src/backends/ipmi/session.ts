/**
 * One activated RMCP+ session (what `IpmiClient.session` hands a caller) and the errors of session
 * setup: sequence numbers, integrity and encryption per request, SOL payloads, Close Session. The
 * client (client.ts) opens, keeps and routes sessions; this is what a session does once open.
 */
import { randomBytes } from 'node:crypto';
import { VacmError } from '../../protocol/errors.js';
import type { IpmiClient } from './client.js';
import {
  PAYLOAD_IPMI,
  closeSessionRequest,
  decodeIpmiResponse,
  decodeRmcpPlusPacket,
  describeCompletionCode,
  describeRmcpPlusStatus,
  encodeIpmiRequest,
  encodeRmcpPlusPacket,
  hex2,
  isAuthStatus,
  type IpmiRequest,
  type IpmiResponse,
  type SessionKeys,
} from './protocol.js';

/** Thrown from an accept function to say "this reply is not the one awaited": keep waiting. */
export const IGNORE = Symbol('ignore');

/** One operation on one BMC: where it goes and the signal that ends it. */
export interface Op {
  host: string;
  ip: string;
  port: number;
  signal: AbortSignal;
  /** Why the op was stopped: set before the op's signal fires. */
  stopReason?: VacmError;
}

/** What a caller of `IpmiClient.session` can do with the session. */
export interface IpmiSession {
  /** "BMC host:port", for messages */
  readonly where: string;
  rqSeq(): number;
  /** a request; a non-zero completion code is an ERR_IPMI */
  command(req: IpmiRequest, what: string): Promise<IpmiResponse>;
  /** a request whose completion code the caller looks at itself */
  raw(req: IpmiRequest, what: string): Promise<IpmiResponse>;
}

/** A session that also carries another payload type (SOL): sent and received outside request/reply. */
export interface IpmiPayloadSession extends IpmiSession {
  /** send one payload of `payloadType`, encrypted and authenticated, with the next session sequence number */
  sendPayload(payloadType: number, payload: Buffer): void;
  /** payloads of `payloadType` the BMC sends in this session (integrity checked, decrypted); returns an unsubscribe */
  onPayload(payloadType: number, fn: (payload: Buffer, protectedPacket: boolean) => void): () => void;
}

/** One activated RMCP+ session: authenticated, encrypted IPMI requests with sequence numbers. */
export class Session implements IpmiPayloadSession {
  private seq = 0;
  private rq = 0;
  private closed = false;
  /** tries of the next request only (a kept session's first one after reuse) */
  firstTries: number | undefined;
  /** answers received since the last bind */
  answered = 0;
  /** false once a request got no usable answer: the session may be dead */
  healthy = true;

  constructor(
    private readonly client: IpmiClient,
    private op: Op,
    private readonly key: string,
    private readonly consoleSessionId: number,
    private readonly bmcSessionId: number,
    private readonly keys: SessionKeys,
    readonly where: string,
  ) {}

  rqSeq(): number {
    this.rq = (this.rq + 1) & 0x3f;
    return this.rq;
  }

  /** Hand a kept session to the next operation: its deadline and cancellation apply from now. */
  bind(op: Op): void {
    this.op = op;
    this.answered = 0;
    this.firstTries = undefined;
  }

  /** An Op to the same BMC under another signal. */
  rebind(signal: AbortSignal): Op {
    return { host: this.op.host, ip: this.op.ip, port: this.op.port, signal };
  }

  /** Send an IPMI request in the session; a non-zero completion code is an ERR_IPMI. */
  async command(req: IpmiRequest, what: string): Promise<IpmiResponse> {
    const rsp = await this.request(req, what, this.op);
    checkCompletion(rsp, this.where, what);
    return rsp;
  }

  raw(req: IpmiRequest, what: string): Promise<IpmiResponse> {
    return this.request(req, what, this.op);
  }

  sendPayload(payloadType: number, payload: Buffer): void {
    if (this.closed) return;
    this.seq = (this.seq + 1) >>> 0 || 1;
    this.client.sendOnly(this.op, encodeRmcpPlusPacket({ payloadType, sessionId: this.bmcSessionId, seq: this.seq, payload, keys: this.keys, iv: randomBytes(16) }));
  }

  onPayload(payloadType: number, fn: (payload: Buffer, protectedPacket: boolean) => void): () => void {
    return this.client.tap(this.op, this.key, (pkt) => {
      let p;
      try {
        p = decodeRmcpPlusPacket(pkt, this.keys);
      } catch {
        return false; // not for us, or forged: the request path (or nobody) looks at it
      }
      if (p.payloadType !== payloadType || p.sessionId !== this.consoleSessionId) return false;
      fn(p.payload, p.encrypted && p.authenticated);
      return true;
    });
  }

  private async request(req: IpmiRequest, what: string, op: Op, maxTries?: number): Promise<IpmiResponse> {
    const msg = encodeIpmiRequest(req);
    const tries = maxTries ?? this.firstTries;
    this.firstTries = undefined;
    let rsp: IpmiResponse;
    try {
      rsp = await this.exchange(req, msg, what, op, tries);
    } catch (e) {
      this.healthy = false;
      throw e;
    }
    this.answered++;
    return rsp;
  }

  private exchange(req: IpmiRequest, msg: Buffer, what: string, op: Op, maxTries: number | undefined): Promise<IpmiResponse> {
    return this.client.sessionExchange(
      op,
      this.key,
      what,
      () => {
        this.seq = (this.seq + 1) >>> 0 || 1;
        return encodeRmcpPlusPacket({ payloadType: PAYLOAD_IPMI, sessionId: this.bmcSessionId, seq: this.seq, payload: msg, keys: this.keys, iv: randomBytes(16) });
      },
      (pkt) => {
        const p = decodeRmcpPlusPacket(pkt, this.keys);
        if (p.payloadType !== PAYLOAD_IPMI || p.sessionId !== this.consoleSessionId) throw IGNORE;
        const rsp = decodeIpmiResponse(p.payload);
        if (rsp.rqSeq !== req.rqSeq || rsp.cmd !== req.cmd || rsp.netFn !== (req.netFn | 1)) throw IGNORE;
        return rsp;
      },
      maxTries,
    );
  }

  /**
   * Close Session, best effort: the BMC frees the slot at once instead of at its idle timeout.
   * It runs even when the operation was cancelled, with its own short budget (one retry).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), 2000);
    const op: Op = { ...this.op, signal: ctl.signal, stopReason: cancelled() };
    try {
      // two tries at most: a BMC that closed the session on the first one ignores a resend
      await this.request(closeSessionRequest(this.rqSeq(), this.bmcSessionId), 'Close Session', op, 2);
    } catch {
      // the BMC times idle sessions out on its own
    } finally {
      clearTimeout(timer);
    }
  }
}

export class RestartHandshake extends Error {}

export function cancelled(): VacmError {
  return new VacmError('ERR_CANCELLED', 'IPMI operation cancelled');
}

export function authError(where: string, detail: string): VacmError {
  return new VacmError('ERR_IPMI_AUTH', `${where} rejected the login: ${detail}; check bmc_user and bmc_password_file (wrong user name or password)`);
}

export function rakpError(where: string, step: string, status: number): VacmError {
  if (isAuthStatus(status)) return authError(where, `${step} status ${hex2(status)} (${describeRmcpPlusStatus(status)})`);
  return new VacmError('ERR_IPMI', `${where} failed session setup at ${step}: ${describeRmcpPlusStatus(status)} (status ${hex2(status)})`);
}

export function checkCompletion(rsp: IpmiResponse, where: string, what?: string): void {
  if (rsp.completionCode === 0) return;
  const netFn = rsp.netFn & 0x3e;
  const meaning = describeCompletionCode(rsp.completionCode, netFn, rsp.cmd);
  throw new VacmError('ERR_IPMI', `${where}: ${what ?? `command ${hex2(rsp.cmd)}`} failed with completion code ${hex2(rsp.completionCode)} (${meaning})`);
}
