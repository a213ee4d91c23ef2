/**
 * IPMI v2.0 RMCP+ ("lanplus") wire format, pure: bytes in, bytes out. No sockets, no timers,
 * no randomness (random numbers and IVs are passed in), so every step is table-testable.
 *
 * Implements what power control needs with cipher suite 3: RAKP-HMAC-SHA1 authentication,
 * HMAC-SHA1-96 integrity, AES-CBC-128 confidentiality (IPMI v2.0 spec, sections 13.x and 22).
 *
 * Decoders never let a RangeError/TypeError escape on short or garbled input: every read is
 * bounds-checked and a bad packet is a VacmError('ERR_IPMI', 'malformed ...').
 */
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { VacmError } from '../../protocol/errors.js';

// ---------------------------------------------------------------------------------------------
// constants

export const RMCP_VERSION = 0x06;
export const RMCP_SEQ_NO_ACK = 0xff;
export const RMCP_CLASS_ASF = 0x06;
export const RMCP_CLASS_IPMI = 0x07;
export const ASF_IANA = 4542;

export const AUTH_TYPE_NONE = 0x00;
export const AUTH_TYPE_RMCP_PLUS = 0x06;

export const PAYLOAD_IPMI = 0x00;
export const PAYLOAD_OPEN_SESSION_REQ = 0x10;
export const PAYLOAD_OPEN_SESSION_RSP = 0x11;
export const PAYLOAD_RAKP1 = 0x12;
export const PAYLOAD_RAKP2 = 0x13;
export const PAYLOAD_RAKP3 = 0x14;
export const PAYLOAD_RAKP4 = 0x15;

export const BMC_ADDR = 0x20;
export const REMOTE_CONSOLE_ADDR = 0x81;

export const NETFN_CHASSIS = 0x00;
export const NETFN_APP = 0x06;
export const CMD_GET_CHASSIS_STATUS = 0x01;
export const CMD_CHASSIS_CONTROL = 0x02;
export const CMD_GET_CHANNEL_AUTH_CAPS = 0x38;
export const CMD_SET_SESSION_PRIVILEGE = 0x3b;
export const CMD_CLOSE_SESSION = 0x3c;
/** App netFn: Get Device ID, the keep-alive of a kept session (any privilege, no side effect) */
export const CMD_GET_DEVICE_ID = 0x01;

export const PRIV_ADMINISTRATOR = 0x04;
/** RAKP 1 role byte bit 4: look the user up by name only (not name + privilege). */
export const ROLE_NAME_ONLY_LOOKUP = 0x10;

export const AUTH_ALG_RAKP_HMAC_SHA1 = 0x01;
export const INTEGRITY_ALG_HMAC_SHA1_96 = 0x01;
export const CONF_ALG_AES_CBC_128 = 0x01;

/** Chassis Control data byte (IPMI v2.0, 28.3). */
export const CHASSIS_CONTROL_CODES = { off: 0x00, on: 0x01, cycle: 0x02, reset: 0x03, soft: 0x05 } as const;
export type ChassisControlAction = keyof typeof CHASSIS_CONTROL_CODES;

const SHA1_LEN = 20;
const INTEGRITY_LEN = 12; // HMAC-SHA1-96
const AES_BLOCK = 16;
const NEXT_HEADER = 0x07;
const RMCP_HEADER_LEN = 4;
const PLUS_HEADER_LEN = 12; // auth type, payload type, session id(4), seq(4), length(2)

// ---------------------------------------------------------------------------------------------
// errors and bounds-checked reading

export function malformed(what: string): VacmError {
  return new VacmError('ERR_IPMI', `malformed IPMI packet: ${what}`);
}

/** A bounds-checked cursor: every short read is a VacmError, never a RangeError. */
class Reader {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly what: string,
  ) {}
  need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw malformed(`${this.what} truncated (need ${this.pos + n} bytes, have ${this.buf.length})`);
    }
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u16le(): number {
    this.need(2);
    const v = this.buf[this.pos]! | (this.buf[this.pos + 1]! << 8);
    this.pos += 2;
    return v;
  }
  u32le(): number {
    this.need(4);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }
  rest(): Buffer {
    return this.bytes(this.buf.length - this.pos);
  }
}

function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

// ---------------------------------------------------------------------------------------------
// checksums and the IPMI LAN message (the bytes inside a session payload)

/** IPMI two's-complement checksum: the byte that makes the sum of the covered bytes 0 mod 256. */
export function ipmiChecksum(bytes: Uint8Array): number {
  let sum = 0;
  for (const b of bytes) sum = (sum + b) & 0xff;
  return (0x100 - sum) & 0xff;
}

export interface IpmiRequest {
  netFn: number;
  cmd: number;
  /** 6-bit requester sequence number; a retransmission reuses it so a BMC can spot duplicates. */
  rqSeq: number;
  data?: Uint8Array;
}

export interface IpmiResponse {
  netFn: number;
  cmd: number;
  rqSeq: number;
  completionCode: number;
  data: Buffer;
}

/** rsAddr, netFn/LUN, checksum, rqAddr, rqSeq/LUN, cmd, data, checksum. */
export function encodeIpmiRequest(req: IpmiRequest): Buffer {
  const data = req.data ?? new Uint8Array(0);
  const head = Buffer.from([BMC_ADDR, ((req.netFn & 0x3f) << 2) | 0x00]);
  const body = Buffer.concat([Buffer.from([REMOTE_CONSOLE_ADDR, ((req.rqSeq & 0x3f) << 2) | 0x00, req.cmd & 0xff]), data]);
  return Buffer.concat([head, Buffer.from([ipmiChecksum(head)]), body, Buffer.from([ipmiChecksum(body)])]);
}

/** Decode a BMC's response message; both checksums are verified. */
export function decodeIpmiResponse(msg: Uint8Array): IpmiResponse {
  if (msg.length < 8) throw malformed(`IPMI response too short (${msg.length} bytes, need at least 8)`);
  const r = new Reader(msg, 'IPMI response');
  const rqAddr = r.u8();
  const netFnLun = r.u8();
  const ck1 = r.u8();
  if (ipmiChecksum(msg.subarray(0, 2)) !== ck1) throw malformed('IPMI header checksum mismatch');
  const body = msg.subarray(3, msg.length - 1);
  if (ipmiChecksum(body) !== msg[msg.length - 1]) throw malformed('IPMI data checksum mismatch');
  if (rqAddr !== REMOTE_CONSOLE_ADDR) throw malformed(`IPMI response addressed to 0x${rqAddr.toString(16)}, not 0x81`);
  r.u8(); // rsAddr
  const seqLun = r.u8();
  const cmd = r.u8();
  const completionCode = r.u8();
  const data = Buffer.from(msg.subarray(r.pos, msg.length - 1));
  return { netFn: netFnLun >> 2, cmd, rqSeq: seqLun >> 2, completionCode, data };
}

// ---------------------------------------------------------------------------------------------
// completion codes and RMCP+ status codes

const COMPLETION_CODES: Record<number, string> = {
  0x00: 'command completed normally',
  0xc0: 'node busy',
  0xc1: 'invalid command',
  0xc2: 'command invalid for given LUN',
  0xc3: 'timeout while processing command',
  0xc4: 'out of space',
  0xc5: 'reservation cancelled or invalid reservation ID',
  0xc6: 'request data truncated',
  0xc7: 'request data length invalid',
  0xc8: 'request data field length limit exceeded',
  0xc9: 'parameter out of range',
  0xca: 'cannot return number of requested data bytes',
  0xcb: 'requested sensor, data or record not present',
  0xcc: 'invalid data field in request',
  0xcd: 'command illegal for specified sensor or record type',
  0xce: 'command response could not be provided',
  0xcf: 'cannot execute duplicated request',
  0xd0: 'SDR repository in update mode',
  0xd1: 'device in firmware update mode',
  0xd2: 'BMC initialization in progress',
  0xd3: 'destination unavailable',
  0xd4: 'insufficient privilege level (the BMC user needs ADMINISTRATOR)',
  0xd5: 'command not supported in present state',
  0xd6: 'command sub-function disabled or unavailable',
  0xff: 'unspecified error',
};

/** Command-specific completion codes (0x80-0xbe mean different things per command). */
const COMMAND_COMPLETION_CODES: Record<string, Record<number, string>> = {
  [`${NETFN_APP}:${CMD_SET_SESSION_PRIVILEGE}`]: {
    0x80: 'requested privilege level not available for this user',
    0x81: 'requested privilege level exceeds the user or channel limit',
    0x82: 'cannot disable user level authentication',
  },
  [`${NETFN_APP}:${CMD_CLOSE_SESSION}`]: {
    0x87: 'invalid session ID in request',
    0x88: 'invalid session handle in request',
  },
};

export function describeCompletionCode(code: number, netFn?: number, cmd?: number): string {
  const specific = netFn !== undefined && cmd !== undefined ? COMMAND_COMPLETION_CODES[`${netFn & 0x3e}:${cmd}`]?.[code] : undefined;
  if (specific) return specific;
  const generic = COMPLETION_CODES[code];
  if (generic) return generic;
  if (code >= 0x01 && code <= 0x7e) return 'OEM completion code';
  if (code >= 0x80 && code <= 0xbe) return 'command-specific completion code';
  return 'reserved completion code';
}

export function hex2(n: number): string {
  return `0x${(n & 0xff).toString(16).padStart(2, '0')}`;
}

const RMCP_PLUS_STATUS: Record<number, string> = {
  0x00: 'no errors',
  0x01: 'insufficient resources to create a session',
  0x02: 'invalid session ID',
  0x03: 'invalid payload type',
  0x04: 'invalid authentication algorithm',
  0x05: 'invalid integrity algorithm',
  0x06: 'no matching authentication payload',
  0x07: 'no matching integrity payload',
  0x08: 'inactive session ID',
  0x09: 'invalid role',
  0x0a: 'unauthorized role or privilege level requested',
  0x0b: 'insufficient resources to create a session at the requested role',
  0x0c: 'invalid name length',
  0x0d: 'unauthorized name',
  0x0e: 'unauthorized GUID',
  0x0f: 'invalid integrity check value',
  0x10: 'invalid confidentiality algorithm',
  0x11: 'no cipher suite match with proposed security algorithms',
  0x12: 'illegal or unrecognized parameter',
};

export function describeRmcpPlusStatus(code: number): string {
  return RMCP_PLUS_STATUS[code] ?? 'reserved status code';
}

/** Status codes that mean "wrong user name or password" rather than a protocol problem. */
export function isAuthStatus(code: number): boolean {
  return code === 0x0d || code === 0x0f || code === 0x0a || code === 0x09;
}

// ---------------------------------------------------------------------------------------------
// RMCP and the IPMI 1.5 session wrapper (used only before a session, for Get Channel Auth Caps)

export function rmcpHeader(cls: number = RMCP_CLASS_IPMI): Buffer {
  return Buffer.from([RMCP_VERSION, 0x00, RMCP_SEQ_NO_ACK, cls]);
}

/** An IPMI 1.5 packet with authentication type NONE and session 0: for pre-session commands. */
export function encodeV15Packet(message: Uint8Array): Buffer {
  const hdr = Buffer.alloc(10);
  hdr[0] = AUTH_TYPE_NONE; // seq and session id stay 0
  hdr[9] = message.length;
  return Buffer.concat([rmcpHeader(), hdr, message]);
}

export function decodeV15Packet(pkt: Uint8Array): IpmiResponse {
  const r = new Reader(pkt, 'IPMI 1.5 packet');
  checkRmcp(r);
  const authType = r.u8();
  if (authType !== AUTH_TYPE_NONE) throw malformed(`IPMI 1.5 auth type ${hex2(authType)} not supported`);
  r.u32le();
  r.u32le();
  const len = r.u8();
  return decodeIpmiResponse(r.bytes(len));
}

function checkRmcp(r: Reader): void {
  const version = r.u8();
  r.u8();
  r.u8();
  const cls = r.u8();
  if (version !== RMCP_VERSION) throw malformed(`RMCP version ${hex2(version)}, expected 0x06`);
  if ((cls & 0x1f) !== RMCP_CLASS_IPMI) throw malformed(`RMCP class ${hex2(cls)} is not IPMI`);
}

/** Get Channel Authentication Capabilities, asking for IPMI v2.0 extended data (bit 7). */
export function encodeGetChannelAuthCaps(rqSeq: number, privilege = PRIV_ADMINISTRATOR): Buffer {
  return encodeV15Packet(
    encodeIpmiRequest({ netFn: NETFN_APP, cmd: CMD_GET_CHANNEL_AUTH_CAPS, rqSeq, data: Buffer.from([0x80 | 0x0e, privilege]) }),
  );
}

export interface ChannelAuthCaps {
  channel: number;
  /** The BMC speaks IPMI v2.0 / RMCP+. */
  ipmi20: boolean;
  oemIana: number;
}

export function decodeChannelAuthCaps(data: Uint8Array): ChannelAuthCaps {
  const r = new Reader(data, 'Get Channel Authentication Capabilities response');
  const channel = r.u8();
  const authTypes = r.u8();
  r.u8();
  const ext = r.u8();
  const oem = r.bytes(3);
  return { channel, ipmi20: (authTypes & 0x80) !== 0 && (ext & 0x02) !== 0, oemIana: oem[0]! | (oem[1]! << 8) | (oem[2]! << 16) };
}

// ---------------------------------------------------------------------------------------------
// ASF presence ping (optional; lets a caller see that something answers RMCP on the port)

export function encodeAsfPing(tag: number): Buffer {
  const b = Buffer.alloc(8); // IANA, type, tag, reserved, data length 0
  b.writeUInt32BE(ASF_IANA, 0);
  b[4] = 0x80; // presence ping
  b[5] = tag & 0xff;
  return Buffer.concat([rmcpHeader(RMCP_CLASS_ASF), b]);
}

export function decodeAsfPong(pkt: Uint8Array): { tag: number; ipmi: boolean } {
  const r = new Reader(pkt, 'ASF presence pong');
  r.u8();
  r.u8();
  r.u8();
  const cls = r.u8();
  if (cls !== RMCP_CLASS_ASF) throw malformed('not an ASF message');
  r.need(4);
  r.pos += 4;
  const type = r.u8();
  if (type !== 0x40) throw malformed(`ASF message type ${hex2(type)} is not a pong`);
  const tag = r.u8();
  r.u8();
  r.u8(); // data length
  r.need(16);
  const entities = pkt[RMCP_HEADER_LEN + 8 + 8]!;
  return { tag, ipmi: (entities & 0x80) !== 0 };
}

// ---------------------------------------------------------------------------------------------
// session keys (RAKP-HMAC-SHA1)

export function hmacSha1(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = createHmac('sha1', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Kuid: the user's password as a key (at most 20 bytes for RAKP-HMAC-SHA1). */
export function passwordKey(password: string): Buffer {
  const b = Buffer.from(password, 'utf8');
  if (b.length > 20) throw new VacmError('ERR_IPMI_AUTH', 'BMC password is longer than 20 bytes; IPMI v2.0 allows at most 20 (check bmc_password_file)');
  return b;
}

export interface SessionKeys {
  sik: Buffer;
  k1: Buffer;
  k2: Buffer;
  aesKey: Buffer;
}

/** SIK = HMAC_KG(Rm | Rc | RoleM | ULengthM | UNameM); K1/K2 = HMAC_SIK(0x01 * 20 / 0x02 * 20). */
export function deriveSessionKeys(kg: Uint8Array, rm: Uint8Array, rc: Uint8Array, role: number, user: Uint8Array): SessionKeys {
  const sik = hmacSha1(kg, rm, rc, Buffer.from([role, user.length]), user);
  const k1 = hmacSha1(sik, Buffer.alloc(SHA1_LEN, 0x01));
  const k2 = hmacSha1(sik, Buffer.alloc(SHA1_LEN, 0x02));
  return { sik, k1, k2, aesKey: k2.subarray(0, 16) };
}

// ---------------------------------------------------------------------------------------------
// RMCP+ session packets

export interface RmcpPlusPacket {
  payloadType: number;
  encrypted: boolean;
  authenticated: boolean;
  sessionId: number;
  seq: number;
  /** The payload in the clear (decrypted when it was encrypted). */
  payload: Buffer;
}

export interface EncodePlusOptions {
  payloadType: number;
  sessionId: number;
  seq: number;
  payload: Uint8Array;
  /** With keys, the payload is AES-CBC-128 encrypted and the packet carries HMAC-SHA1-96. */
  keys?: SessionKeys;
  /** 16-byte IV for AES-CBC-128; required with keys (the caller supplies randomness). */
  iv?: Uint8Array;
}

/** Confidentiality trailer: pad bytes 1, 2, 3, ... then the pad length, to a 16-byte multiple. */
export function confidentialityPad(dataLen: number): Buffer {
  const padLen = (AES_BLOCK - ((dataLen + 1) % AES_BLOCK)) % AES_BLOCK;
  const out = Buffer.alloc(padLen + 1);
  for (let i = 0; i < padLen; i++) out[i] = i + 1;
  out[padLen] = padLen;
  return out;
}

export function encryptPayload(aesKey: Uint8Array, iv: Uint8Array, clear: Uint8Array): Buffer {
  if (iv.length !== AES_BLOCK) throw new VacmError('ERR_INTERNAL', 'AES-CBC-128 needs a 16-byte IV');
  const c = createCipheriv('aes-128-cbc', aesKey, iv);
  c.setAutoPadding(false);
  const body = Buffer.concat([clear, confidentialityPad(clear.length)]);
  return Buffer.concat([Buffer.from(iv), c.update(body), c.final()]);
}

export function decryptPayload(aesKey: Uint8Array, enc: Uint8Array): Buffer {
  if (enc.length < 2 * AES_BLOCK || enc.length % AES_BLOCK !== 0) {
    throw malformed(`encrypted payload length ${enc.length} is not IV plus whole AES blocks`);
  }
  const d = createDecipheriv('aes-128-cbc', aesKey, enc.subarray(0, AES_BLOCK));
  d.setAutoPadding(false);
  const clear = Buffer.concat([d.update(enc.subarray(AES_BLOCK)), d.final()]);
  const padLen = clear[clear.length - 1]!;
  if (padLen >= AES_BLOCK || padLen + 1 > clear.length) throw malformed(`confidentiality pad length ${padLen} invalid`);
  for (let i = 0; i < padLen; i++) {
    if (clear[clear.length - 1 - padLen + i] !== i + 1) throw malformed('confidentiality pad bytes invalid (wrong key?)');
  }
  return clear.subarray(0, clear.length - 1 - padLen);
}

export function encodeRmcpPlusPacket(o: EncodePlusOptions): Buffer {
  const secure = o.keys !== undefined;
  let payload: Buffer = Buffer.from(o.payload);
  if (o.keys) {
    if (!o.iv) throw new VacmError('ERR_INTERNAL', 'an encrypted RMCP+ packet needs an IV');
    payload = encryptPayload(o.keys.aesKey, o.iv, payload);
  }
  const hdr = Buffer.alloc(PLUS_HEADER_LEN);
  hdr[0] = AUTH_TYPE_RMCP_PLUS;
  hdr[1] = (secure ? 0xc0 : 0x00) | (o.payloadType & 0x3f);
  hdr.writeUInt32LE(o.sessionId >>> 0, 2);
  hdr.writeUInt32LE(o.seq >>> 0, 6);
  hdr.writeUInt16LE(payload.length, 10);
  if (!o.keys) return Buffer.concat([rmcpHeader(), hdr, payload]);
  // integrity pad (0xff) makes auth type .. next header a multiple of 4 bytes
  const padLen = (4 - ((PLUS_HEADER_LEN + payload.length + 2) % 4)) % 4;
  const covered = Buffer.concat([hdr, payload, Buffer.alloc(padLen, 0xff), Buffer.from([padLen, NEXT_HEADER])]);
  const authCode = hmacSha1(o.keys.k1, covered).subarray(0, INTEGRITY_LEN);
  return Buffer.concat([rmcpHeader(), covered, authCode]);
}

/**
 * Decode an RMCP+ packet. With keys, an authenticated packet's HMAC-SHA1-96 is checked and an
 * encrypted payload decrypted; a packet that should be protected but is not is rejected.
 */
export function decodeRmcpPlusPacket(pkt: Uint8Array, keys?: SessionKeys): RmcpPlusPacket {
  const r = new Reader(pkt, 'RMCP+ packet');
  checkRmcp(r);
  const authType = r.u8();
  if (authType !== AUTH_TYPE_RMCP_PLUS) throw malformed(`auth type ${hex2(authType)} is not RMCP+`);
  const pt = r.u8();
  const payloadType = pt & 0x3f;
  const encrypted = (pt & 0x80) !== 0;
  const authenticated = (pt & 0x40) !== 0;
  if (payloadType === 0x02) throw malformed('OEM payloads are not supported');
  const sessionId = r.u32le();
  const seq = r.u32le();
  const len = r.u16le();
  let payload = r.bytes(len);
  if (authenticated) {
    if (!keys) throw malformed('authenticated packet outside a session');
    const trailerStart = r.pos;
    const remaining = pkt.length - trailerStart;
    if (remaining < 2 + INTEGRITY_LEN) throw malformed('integrity trailer truncated');
    const padLen = pkt[pkt.length - INTEGRITY_LEN - 2]!;
    const nextHeader = pkt[pkt.length - INTEGRITY_LEN - 1]!;
    if (nextHeader !== NEXT_HEADER) throw malformed(`next header ${hex2(nextHeader)}, expected 0x07`);
    if (padLen > 3 || trailerStart + padLen + 2 + INTEGRITY_LEN !== pkt.length) throw malformed('integrity pad length invalid');
    const covered = pkt.subarray(RMCP_HEADER_LEN, pkt.length - INTEGRITY_LEN);
    const expect = hmacSha1(keys.k1, covered).subarray(0, INTEGRITY_LEN);
    const got = pkt.subarray(pkt.length - INTEGRITY_LEN);
    if (!timingSafeEqual(expect, got)) throw malformed('integrity check (HMAC-SHA1-96) failed');
  } else if (keys && payloadType === PAYLOAD_IPMI) {
    throw malformed('unauthenticated IPMI payload inside an authenticated session');
  }
  if (encrypted) {
    if (!keys) throw malformed('encrypted packet outside a session');
    payload = decryptPayload(keys.aesKey, payload);
  } else if (keys && payloadType === PAYLOAD_IPMI) {
    throw malformed('unencrypted IPMI payload inside an encrypted session');
  }
  return { payloadType, encrypted, authenticated, sessionId, seq, payload };
}

/**
 * What a demultiplexer needs without keys: the remote-console session id a reply belongs to.
 * For the session-setup replies (0x11, 0x13, 0x15) it sits at payload offset 4; for session
 * traffic it is the header session id. For IPMI 1.5 replies it is the rqSeq of the message.
 */
export type DemuxKey = { kind: 'plus'; consoleSessionId: number; payloadType: number } | { kind: 'v15'; rqSeq: number } | { kind: 'asf'; tag: number };

export function peekDemuxKey(pkt: Uint8Array): DemuxKey {
  const r = new Reader(pkt, 'RMCP packet');
  const version = r.u8();
  r.u8();
  r.u8();
  const cls = r.u8();
  if (version !== RMCP_VERSION) throw malformed(`RMCP version ${hex2(version)}`);
  if (cls === RMCP_CLASS_ASF) return { kind: 'asf', tag: decodeAsfPong(pkt).tag };
  if ((cls & 0x1f) !== RMCP_CLASS_IPMI) throw malformed(`RMCP class ${hex2(cls)}`);
  const authType = r.u8();
  if (authType === AUTH_TYPE_RMCP_PLUS) {
    const payloadType = r.u8() & 0x3f;
    const sid = r.u32le();
    r.u32le();
    r.u16le();
    // session traffic (IPMI and SOL, type 1) carries our session id in the header
    if (payloadType === PAYLOAD_IPMI || payloadType === 0x01) return { kind: 'plus', consoleSessionId: sid, payloadType };
    r.need(8);
    r.pos += 4;
    return { kind: 'plus', consoleSessionId: r.u32le(), payloadType };
  }
  const res = decodeV15Packet(pkt);
  return { kind: 'v15', rqSeq: res.rqSeq };
}

// ---------------------------------------------------------------------------------------------
// Open Session and RAKP 1-4 (payloads only; wrap them with encodeRmcpPlusPacket, session 0)

export function encodeOpenSessionRequest(o: { tag: number; consoleSessionId: number; maxPrivilege?: number }): Buffer {
  const b = Buffer.alloc(32);
  b[0] = o.tag & 0xff;
  b[1] = o.maxPrivilege ?? PRIV_ADMINISTRATOR;
  b.writeUInt32LE(o.consoleSessionId >>> 0, 4);
  // authentication, integrity, confidentiality payloads: type, reserved(2), length 8, algorithm, reserved(3)
  const algs = [AUTH_ALG_RAKP_HMAC_SHA1, INTEGRITY_ALG_HMAC_SHA1_96, CONF_ALG_AES_CBC_128];
  algs.forEach((alg, i) => {
    const off = 8 + i * 8;
    b[off] = i;
    b[off + 3] = 0x08;
    b[off + 4] = alg;
  });
  return b;
}

export interface OpenSessionResponse {
  tag: number;
  status: number;
  maxPrivilege: number;
  consoleSessionId: number;
  bmcSessionId: number;
  authAlg: number;
  integrityAlg: number;
  confAlg: number;
}

export function decodeOpenSessionResponse(p: Uint8Array): OpenSessionResponse {
  const r = new Reader(p, 'Open Session Response');
  const tag = r.u8();
  const status = r.u8();
  const maxPrivilege = r.u8();
  r.u8();
  const consoleSessionId = r.u32le();
  if (status !== 0) return { tag, status, maxPrivilege, consoleSessionId, bmcSessionId: 0, authAlg: 0, integrityAlg: 0, confAlg: 0 };
  const bmcSessionId = r.u32le();
  const algs: number[] = [];
  for (let i = 0; i < 3; i++) {
    r.need(8);
    algs.push(p[r.pos + 4]! & 0x3f);
    r.pos += 8;
  }
  return { tag, status, maxPrivilege, consoleSessionId, bmcSessionId, authAlg: algs[0]!, integrityAlg: algs[1]!, confAlg: algs[2]! };
}

export function encodeRakp1(o: { tag: number; bmcSessionId: number; rm: Uint8Array; role: number; user: Uint8Array }): Buffer {
  if (o.rm.length !== 16) throw new VacmError('ERR_INTERNAL', 'RAKP 1 needs a 16-byte random number');
  if (o.user.length > 16) throw new VacmError('ERR_IPMI_AUTH', 'BMC user name is longer than 16 bytes (check bmc_user)');
  const head = Buffer.alloc(8);
  head[0] = o.tag & 0xff;
  head.writeUInt32LE(o.bmcSessionId >>> 0, 4);
  return Buffer.concat([head, o.rm, Buffer.from([o.role, 0, 0, o.user.length]), o.user]);
}

export interface Rakp2 {
  tag: number;
  status: number;
  consoleSessionId: number;
  rc: Buffer;
  guid: Buffer;
  authCode: Buffer;
}

export function decodeRakp2(p: Uint8Array): Rakp2 {
  const r = new Reader(p, 'RAKP Message 2');
  const tag = r.u8();
  const status = r.u8();
  r.u16le();
  const consoleSessionId = r.u32le();
  if (status !== 0) return { tag, status, consoleSessionId, rc: Buffer.alloc(0), guid: Buffer.alloc(0), authCode: Buffer.alloc(0) };
  const rc = r.bytes(16);
  const guid = r.bytes(16);
  const authCode = r.bytes(SHA1_LEN);
  return { tag, status, consoleSessionId, rc, guid, authCode };
}

export interface RakpContext {
  kuid: Uint8Array;
  consoleSessionId: number;
  bmcSessionId: number;
  rm: Uint8Array;
  rc: Uint8Array;
  guid: Uint8Array;
  role: number;
  user: Uint8Array;
}

/** RAKP 2 key exchange auth code: HMAC_Kuid(SIDm | SIDc | Rm | Rc | GUIDc | RoleM | ULengthM | UNameM). */
export function rakp2AuthCode(c: RakpContext): Buffer {
  return hmacSha1(c.kuid, u32le(c.consoleSessionId), u32le(c.bmcSessionId), c.rm, c.rc, c.guid, Buffer.from([c.role, c.user.length]), c.user);
}

/** RAKP 3 key exchange auth code: HMAC_Kuid(Rc | SIDm | RoleM | ULengthM | UNameM). */
export function rakp3AuthCode(c: RakpContext): Buffer {
  return hmacSha1(c.kuid, c.rc, u32le(c.consoleSessionId), Buffer.from([c.role, c.user.length]), c.user);
}

/** RAKP 4 integrity check value: HMAC_SIK(Rm | SIDc | GUIDc), first 12 bytes. */
export function rakp4Icv(sik: Uint8Array, c: Pick<RakpContext, 'rm' | 'bmcSessionId' | 'guid'>): Buffer {
  return hmacSha1(sik, c.rm, u32le(c.bmcSessionId), c.guid).subarray(0, INTEGRITY_LEN);
}

export function verifyRakp2(c: RakpContext, authCode: Uint8Array): boolean {
  const expect = rakp2AuthCode(c);
  return authCode.length === expect.length && timingSafeEqual(expect, authCode);
}

export function encodeRakp3(o: { tag: number; status?: number; bmcSessionId: number; authCode: Uint8Array }): Buffer {
  const head = Buffer.alloc(8);
  head[0] = o.tag & 0xff;
  head[1] = o.status ?? 0;
  head.writeUInt32LE(o.bmcSessionId >>> 0, 4);
  return Buffer.concat([head, o.authCode]);
}

export interface Rakp4 {
  tag: number;
  status: number;
  consoleSessionId: number;
  icv: Buffer;
}

export function decodeRakp4(p: Uint8Array): Rakp4 {
  const r = new Reader(p, 'RAKP Message 4');
  const tag = r.u8();
  const status = r.u8();
  r.u16le();
  const consoleSessionId = r.u32le();
  if (status !== 0) return { tag, status, consoleSessionId, icv: Buffer.alloc(0) };
  return { tag, status, consoleSessionId, icv: r.bytes(INTEGRITY_LEN) };
}

export function verifyRakp4(sik: Uint8Array, c: Pick<RakpContext, 'rm' | 'bmcSessionId' | 'guid'>, icv: Uint8Array): boolean {
  const expect = rakp4Icv(sik, c);
  return icv.length === expect.length && timingSafeEqual(expect, icv);
}

// ---------------------------------------------------------------------------------------------
// commands used by power control

export function chassisControlRequest(action: ChassisControlAction, rqSeq: number): IpmiRequest {
  return { netFn: NETFN_CHASSIS, cmd: CMD_CHASSIS_CONTROL, rqSeq, data: Buffer.from([CHASSIS_CONTROL_CODES[action]]) };
}

export function chassisStatusRequest(rqSeq: number): IpmiRequest {
  return { netFn: NETFN_CHASSIS, cmd: CMD_GET_CHASSIS_STATUS, rqSeq };
}

export function setSessionPrivilegeRequest(rqSeq: number, privilege = PRIV_ADMINISTRATOR): IpmiRequest {
  return { netFn: NETFN_APP, cmd: CMD_SET_SESSION_PRIVILEGE, rqSeq, data: Buffer.from([privilege]) };
}

export function getDeviceIdRequest(rqSeq: number): IpmiRequest {
  return { netFn: NETFN_APP, cmd: CMD_GET_DEVICE_ID, rqSeq };
}

export function closeSessionRequest(rqSeq: number, bmcSessionId: number): IpmiRequest {
  return { netFn: NETFN_APP, cmd: CMD_CLOSE_SESSION, rqSeq, data: u32le(bmcSessionId) };
}

/** Get Chassis Status: byte 1 bit 0 is "system power is on". */
export function decodeChassisStatus(data: Uint8Array): { powerOn: boolean; powerFault: boolean } {
  const r = new Reader(data, 'Get Chassis Status response');
  const state = r.u8();
  r.u8();
  r.u8();
  return { powerOn: (state & 0x01) !== 0, powerFault: (state & 0x10) !== 0 };
}
