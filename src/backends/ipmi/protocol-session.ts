/**
 * RMCP, the IPMI 1.5 wrapper used before a session, the ASF ping, the session keys and the RMCP+
 * session packets (HMAC-SHA1-96, AES-CBC-128), pure. Re-exported by protocol.ts.
 */
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { VacmError } from '../../protocol/errors.js';
import { AES_BLOCK, ASF_IANA, AUTH_TYPE_NONE, AUTH_TYPE_RMCP_PLUS, CMD_GET_CHANNEL_AUTH_CAPS, INTEGRITY_LEN, type IpmiResponse, NETFN_APP, NEXT_HEADER, PAYLOAD_IPMI, PLUS_HEADER_LEN, PRIV_ADMINISTRATOR, RMCP_CLASS_ASF, RMCP_CLASS_IPMI, RMCP_HEADER_LEN, RMCP_SEQ_NO_ACK, RMCP_VERSION, Reader, SHA1_LEN, decodeIpmiResponse, encodeIpmiRequest, hex2, malformed, u32le } from './protocol-wire.js';

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
