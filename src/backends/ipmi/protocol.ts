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
export * from './protocol-wire.js';
export * from './protocol-session.js';
export * from './protocol-rakp.js';
import { CHASSIS_CONTROL_CODES, CMD_CHASSIS_CONTROL, CMD_CLOSE_SESSION, CMD_GET_CHASSIS_STATUS, CMD_GET_DEVICE_ID, CMD_SET_SESSION_PRIVILEGE, type ChassisControlAction, type IpmiRequest, NETFN_APP, NETFN_CHASSIS, PRIV_ADMINISTRATOR, Reader, u32le } from './protocol-wire.js';

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
