/**
 * IPMI v2.0 Serial over LAN, the wire side (section 15 of the specification): the SOL payload
 * (payload type 1) and the Activate / Deactivate / Get Payload Activation Status requests that
 * start and stop it. Pure: bytes in, bytes out; the I/O is sol.ts.
 *
 * A SOL packet is: packet sequence number (4 bits, 1-15; 0 = an ack-only packet), the sequence
 * number it acknowledges (0 = none), how many characters of that packet were accepted, an
 * operation/status byte, then the characters.
 */
import { NETFN_APP, type IpmiRequest, malformed } from './protocol.js';

export const PAYLOAD_SOL = 0x01;
export const CMD_GET_DEVICE_ID = 0x01;
export const CMD_ACTIVATE_PAYLOAD = 0x48;
export const CMD_DEACTIVATE_PAYLOAD = 0x49;
export const CMD_GET_PAYLOAD_ACTIVATION_STATUS = 0x4a;

/** Completion codes of Activate Payload (IPMI v2.0 table 24-2). */
export const CC_PAYLOAD_ALREADY_ACTIVE = 0x80;
export const CC_PAYLOAD_DISABLED = 0x81;
export const CC_PAYLOAD_LIMIT = 0x82;
export const CC_PAYLOAD_NO_ENCRYPTION = 0x83;
export const CC_PAYLOAD_NEEDS_ENCRYPTION = 0x84;

/** Operation bits, console to BMC. */
export const SOL_OP_NACK = 0x40;
export const SOL_OP_BREAK = 0x10;
/** Status bits, BMC to console. */
export const SOL_ST_NACK = 0x40;
export const SOL_ST_UNAVAILABLE = 0x20;
export const SOL_ST_DEACTIVATING = 0x10;
export const SOL_ST_OVERRUN = 0x08;
export const SOL_ST_BREAK = 0x04;

/** The most characters vacm puts in one SOL packet (BMCs announce their own limit, often 255). */
export const SOL_MAX_CHARS = 200;

export interface SolPacket {
  /** 1-15; 0 for a packet that only acknowledges */
  seq: number;
  /** the sequence number acknowledged (0: none) */
  ack: number;
  /** characters of the acknowledged packet that were accepted */
  accepted: number;
  /** operation (to the BMC) or status (from it) bits */
  op: number;
  data: Buffer;
}

export function encodeSolPacket(p: SolPacket): Buffer {
  return Buffer.concat([Buffer.from([p.seq & 0x0f, p.ack & 0x0f, p.accepted & 0xff, p.op & 0xff]), p.data]);
}

export function decodeSolPacket(payload: Uint8Array): SolPacket {
  if (payload.length < 4) throw malformed(`SOL payload of ${payload.length} bytes is shorter than its 4-byte header`);
  return { seq: payload[0]! & 0x0f, ack: payload[1]! & 0x0f, accepted: payload[2]!, op: payload[3]!, data: Buffer.from(payload.subarray(4)) };
}

/** The next packet sequence number: 1..15, never 0 (0 marks an ack-only packet). */
export function nextSolSeq(seq: number): number {
  return (seq % 15) + 1;
}

/**
 * Activate Payload for SOL instance 1, encrypted and authenticated; serial alerts deferred while
 * SOL is active (as ipmitool and ipmiconsole ask).
 */
export function activateSolRequest(rqSeq: number, instance = 1): IpmiRequest {
  return { netFn: NETFN_APP, cmd: CMD_ACTIVATE_PAYLOAD, rqSeq, data: Buffer.from([PAYLOAD_SOL, instance, 0xc0 | 0x04, 0, 0, 0]) };
}

export function deactivateSolRequest(rqSeq: number, instance = 1): IpmiRequest {
  return { netFn: NETFN_APP, cmd: CMD_DEACTIVATE_PAYLOAD, rqSeq, data: Buffer.from([PAYLOAD_SOL, instance, 0, 0, 0, 0]) };
}

export function solActivationStatusRequest(rqSeq: number): IpmiRequest {
  return { netFn: NETFN_APP, cmd: CMD_GET_PAYLOAD_ACTIVATION_STATUS, rqSeq, data: Buffer.from([PAYLOAD_SOL]) };
}

/** Get Device ID: a harmless request that keeps the session from timing out. */
export function getDeviceIdRequest(rqSeq: number): IpmiRequest {
  return { netFn: NETFN_APP, cmd: CMD_GET_DEVICE_ID, rqSeq, data: Buffer.alloc(0) };
}

export interface SolActivation {
  /** the most characters the BMC takes in one packet from us */
  inboundMax: number;
  outboundMax: number;
  /** the UDP port SOL runs on (vacm only supports the session's own port) */
  port: number;
}

export function decodeActivateSol(data: Uint8Array): SolActivation {
  if (data.length < 10) throw malformed(`Activate Payload answer of ${data.length} bytes, expected 12`);
  const b = Buffer.from(data);
  return { inboundMax: b.readUInt16LE(4), outboundMax: b.readUInt16LE(6), port: b.readUInt16LE(8) };
}

/** Which SOL instances are active (bit i-1 of the answer's bitmap for instance i). */
export function decodeSolActivationStatus(data: Uint8Array): { capacity: number; active: number[] } {
  if (data.length < 3) throw malformed(`Get Payload Activation Status answer of ${data.length} bytes, expected 3`);
  const bits = data[1]! | (data[2]! << 8);
  const active: number[] = [];
  for (let i = 0; i < 16; i++) if (bits & (1 << i)) active.push(i + 1);
  return { capacity: data[0]! & 0x0f, active };
}

export function describeActivateFailure(cc: number): string {
  switch (cc) {
    case CC_PAYLOAD_ALREADY_ACTIVE:
      return 'the SOL payload is already active on another session (another console is open)';
    case CC_PAYLOAD_DISABLED:
      return 'SOL is disabled on this BMC';
    case CC_PAYLOAD_LIMIT:
      return 'the BMC cannot activate more SOL sessions';
    case CC_PAYLOAD_NO_ENCRYPTION:
      return 'the BMC cannot activate SOL with encryption';
    case CC_PAYLOAD_NEEDS_ENCRYPTION:
      return 'the BMC requires encryption for SOL';
    default:
      return `completion code 0x${cc.toString(16).padStart(2, '0')}`;
  }
}
