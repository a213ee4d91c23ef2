/**
 * IPMI wire basics, pure: constants, bounds-checked reading, the IPMI LAN message and its
 * checksums, completion and RMCP+ status codes. Re-exported by protocol.ts.
 */
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

export const SHA1_LEN = 20;
export const INTEGRITY_LEN = 12; // HMAC-SHA1-96
export const AES_BLOCK = 16;
export const NEXT_HEADER = 0x07;
export const RMCP_HEADER_LEN = 4;
export const PLUS_HEADER_LEN = 12; // auth type, payload type, session id(4), seq(4), length(2)

// ---------------------------------------------------------------------------------------------
// errors and bounds-checked reading

export function malformed(what: string): VacmError {
  return new VacmError('ERR_IPMI', `malformed IPMI packet: ${what}`);
}

/** A bounds-checked cursor: every short read is a VacmError, never a RangeError. */
export class Reader {
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

export function u32le(n: number): Buffer {
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
