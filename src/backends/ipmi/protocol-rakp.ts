/**
 * Open Session and RAKP 1-4 (RAKP-HMAC-SHA1), pure: the payloads only; they are wrapped with
 * encodeRmcpPlusPacket in session 0. Re-exported by protocol.ts.
 */
import { timingSafeEqual } from 'node:crypto';
import { VacmError } from '../../protocol/errors.js';
import { AUTH_ALG_RAKP_HMAC_SHA1, CONF_ALG_AES_CBC_128, INTEGRITY_ALG_HMAC_SHA1_96, INTEGRITY_LEN, PRIV_ADMINISTRATOR, Reader, SHA1_LEN, u32le } from './protocol-wire.js';
import { hmacSha1 } from './protocol-session.js';

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

/**
 * The head Open Session Response, RAKP 2 and RAKP 4 share: tag, status, one byte (the maximum
 * privilege, reserved in RAKP), a reserved byte, the remote console's session id.
 */
function readHead(p: Uint8Array, what: string): { r: Reader; tag: number; status: number; third: number; consoleSessionId: number } {
  const r = new Reader(p, what);
  const tag = r.u8();
  const status = r.u8();
  const third = r.u8();
  r.u8();
  return { r, tag, status, third, consoleSessionId: r.u32le() };
}

export function decodeOpenSessionResponse(p: Uint8Array): OpenSessionResponse {
  const { r, tag, status, third: maxPrivilege, consoleSessionId } = readHead(p, 'Open Session Response');
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
  const { r, tag, status, consoleSessionId } = readHead(p, 'RAKP Message 2');
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
  const { r, tag, status, consoleSessionId } = readHead(p, 'RAKP Message 4');
  if (status !== 0) return { tag, status, consoleSessionId, icv: Buffer.alloc(0) };
  return { tag, status, consoleSessionId, icv: r.bytes(INTEGRITY_LEN) };
}

export function verifyRakp4(sik: Uint8Array, c: Pick<RakpContext, 'rm' | 'bmcSessionId' | 'guid'>, icv: Uint8Array): boolean {
  const expect = rakp4Icv(sik, c);
  return icv.length === expect.length && timingSafeEqual(expect, icv);
}
