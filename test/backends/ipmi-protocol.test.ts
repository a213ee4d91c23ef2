/**
 * Table tests of the pure RMCP+ codec. Key material is checked against values computed here,
 * independently, straight from the IPMI v2.0 formulas with node:crypto.
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { VacmError } from '../../src/protocol/errors.js';
import * as P from '../../src/backends/ipmi/protocol.js';

const hmac = (key: Uint8Array, data: Uint8Array): Buffer => createHmac('sha1', key).update(data).digest();
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const le32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

/** A decoder must reject bad input with a VacmError('ERR_IPMI'), never a TypeError/RangeError. */
function rejects(fn: () => unknown): VacmError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(VacmError);
    expect((e as VacmError).code).toBe('ERR_IPMI');
    return e as VacmError;
  }
  throw new Error('expected the decoder to reject its input');
}

// Fixed inputs for the key derivation vectors.
const rm = hex('000102030405060708090a0b0c0d0e0f');
const rc = hex('f0e1d2c3b4a5968778695a4b3c2d1e0f');
const guid = hex('a123456789abcdefa123456789abcdef');
const user = Buffer.from('admin');
const kuid = Buffer.from('vacm-secret');
const role = 0x14;
const consoleSessionId = 0x11223344;
const bmcSessionId = 0xa0b0c0d0;
const ctx: P.RakpContext = { kuid, consoleSessionId, bmcSessionId, rm, rc, guid, role, user };

describe('IPMI checksums and LAN message framing', () => {
  it.each([
    [[0x20, 0x18], 0xc8],
    [[0x81, 0x00, 0x38, 0x8e, 0x04], 0xb5],
    [[], 0x00],
    [[0xff], 0x01],
    [[0x80, 0x80], 0x00],
  ])('checksum of %j is %i', (bytes, want) => {
    expect(P.ipmiChecksum(Uint8Array.from(bytes))).toBe(want);
    expect((bytes.reduce((a, b) => a + b, 0) + want) & 0xff).toBe(0);
  });

  it('encodes Get Channel Authentication Capabilities (v2.0 bit, admin) byte for byte', () => {
    // RMCP | auth none, seq 0, session 0, len 9 | 20 18 c8 81 00 38 8e 04 b5
    expect(P.encodeGetChannelAuthCaps(0).toString('hex')).toBe('0600ff07' + '00' + '00000000' + '00000000' + '09' + '2018c88100388e04b5');
  });

  it.each([
    ['Chassis Control on', P.chassisControlRequest('on', 5), '2000e0' + '81' + '14' + '02' + '01'],
    ['Chassis Control off', P.chassisControlRequest('off', 5), '2000e0' + '81' + '14' + '02' + '00'],
    ['Chassis Control soft', P.chassisControlRequest('soft', 5), '2000e0' + '81' + '14' + '02' + '05'],
    ['Get Chassis Status', P.chassisStatusRequest(1), '2000e0' + '81' + '04' + '01'],
    ['Set Session Privilege admin', P.setSessionPrivilegeRequest(2), '2018c8' + '81' + '08' + '3b' + '04'],
    ['Close Session', P.closeSessionRequest(3, 0x04030201), '2018c8' + '81' + '0c' + '3c' + '01020304'],
  ])('frames %s with both checksums', (_name, req, want) => {
    const msg = P.encodeIpmiRequest(req);
    expect(msg.subarray(0, msg.length - 1).toString('hex')).toBe(want);
    expect(P.ipmiChecksum(msg.subarray(3, msg.length - 1))).toBe(msg[msg.length - 1]);
  });

  function response(netFn: number, cmd: number, rqSeq: number, cc: number, data: number[]): Buffer {
    const head = Buffer.from([0x81, (netFn << 2) | 0]);
    const body = Buffer.from([0x20, rqSeq << 2, cmd, cc, ...data]);
    return Buffer.concat([head, Buffer.from([P.ipmiChecksum(head)]), body, Buffer.from([P.ipmiChecksum(body)])]);
  }

  it('decodes a response and checks both checksums', () => {
    const r = P.decodeIpmiResponse(response(0x01, 0x01, 7, 0x00, [0x01, 0x00, 0x40]));
    expect(r).toMatchObject({ netFn: 0x01, cmd: 0x01, rqSeq: 7, completionCode: 0 });
    expect(P.decodeChassisStatus(r.data).powerOn).toBe(true);
    const bad1 = response(0x01, 0x01, 7, 0, [0]);
    bad1[2]! ^= 1;
    expect(rejects(() => P.decodeIpmiResponse(bad1)).message).toMatch(/header checksum/);
    const bad2 = response(0x01, 0x01, 7, 0, [0]);
    bad2[bad2.length - 1]! ^= 1;
    expect(rejects(() => P.decodeIpmiResponse(bad2)).message).toMatch(/data checksum/);
  });

  it.each([
    [0x00, undefined, undefined, 'command completed normally'],
    [0xc1, undefined, undefined, 'invalid command'],
    [0xd4, undefined, undefined, 'insufficient privilege level (the BMC user needs ADMINISTRATOR)'],
    [0xcc, 0x00, 0x02, 'invalid data field in request'],
    [0x81, P.NETFN_APP, P.CMD_SET_SESSION_PRIVILEGE, 'requested privilege level exceeds the user or channel limit'],
    [0x81, 0x00, 0x02, 'command-specific completion code'],
    [0x05, undefined, undefined, 'OEM completion code'],
    [0xff, undefined, undefined, 'unspecified error'],
  ])('completion code %i means what the spec says', (code, netFn, cmd, want) => {
    expect(P.describeCompletionCode(code, netFn, cmd)).toBe(want);
  });

  it.each([
    [0x0d, 'unauthorized name', true],
    [0x0f, 'invalid integrity check value', true],
    [0x11, 'no cipher suite match with proposed security algorithms', false],
    [0x01, 'insufficient resources to create a session', false],
  ])('RMCP+ status %i: %s', (code, text, auth) => {
    expect(P.describeRmcpPlusStatus(code)).toBe(text);
    expect(P.isAuthStatus(code)).toBe(auth);
  });

  it('decodes Get Channel Authentication Capabilities', () => {
    expect(P.decodeChannelAuthCaps(Uint8Array.from([0x01, 0x97, 0x04, 0x02, 0xf2, 0x1b, 0x00, 0x00]))).toEqual({ channel: 1, ipmi20: true, oemIana: 0x1bf2 });
    expect(P.decodeChannelAuthCaps(Uint8Array.from([0x01, 0x17, 0x04, 0x00, 0, 0, 0, 0])).ipmi20).toBe(false);
    rejects(() => P.decodeChannelAuthCaps(Uint8Array.from([1, 2, 3])));
  });
});

describe('RAKP-HMAC-SHA1 key exchange, against the spec formulas', () => {
  it('SIK = HMAC_KG(Rm | Rc | RoleM | ULengthM | UNameM), K1/K2 = HMAC_SIK(0x01*20 / 0x02*20)', () => {
    const sik = hmac(kuid, Buffer.concat([rm, rc, Buffer.from([role, user.length]), user]));
    const k1 = hmac(sik, Buffer.alloc(20, 1));
    const k2 = hmac(sik, Buffer.alloc(20, 2));
    const keys = P.deriveSessionKeys(kuid, rm, rc, role, user);
    expect(keys.sik.toString('hex')).toBe(sik.toString('hex'));
    expect(keys.k1.toString('hex')).toBe(k1.toString('hex'));
    expect(keys.k2.toString('hex')).toBe(k2.toString('hex'));
    expect(keys.aesKey.toString('hex')).toBe(k2.subarray(0, 16).toString('hex'));
    expect(keys.aesKey.length).toBe(16);
  });

  it('RAKP 2 auth code = HMAC_Kuid(SIDm | SIDc | Rm | Rc | GUIDc | RoleM | ULengthM | UNameM)', () => {
    const want = hmac(kuid, Buffer.concat([le32(consoleSessionId), le32(bmcSessionId), rm, rc, guid, Buffer.from([role, 5]), user]));
    expect(P.rakp2AuthCode(ctx).toString('hex')).toBe(want.toString('hex'));
    expect(P.verifyRakp2(ctx, want)).toBe(true);
    expect(P.verifyRakp2({ ...ctx, kuid: Buffer.from('wrong') }, want)).toBe(false);
    expect(P.verifyRakp2(ctx, want.subarray(0, 12))).toBe(false);
  });

  it('RAKP 3 auth code = HMAC_Kuid(Rc | SIDm | RoleM | ULengthM | UNameM)', () => {
    const want = hmac(kuid, Buffer.concat([rc, le32(consoleSessionId), Buffer.from([role, 5]), user]));
    expect(P.rakp3AuthCode(ctx).toString('hex')).toBe(want.toString('hex'));
  });

  it('RAKP 4 ICV = HMAC_SIK(Rm | SIDc | GUIDc), first 12 bytes', () => {
    const sik = P.deriveSessionKeys(kuid, rm, rc, role, user).sik;
    const want = hmac(sik, Buffer.concat([rm, le32(bmcSessionId), guid])).subarray(0, 12);
    expect(P.rakp4Icv(sik, ctx).toString('hex')).toBe(want.toString('hex'));
    expect(P.verifyRakp4(sik, ctx, want)).toBe(true);
    const bad = Buffer.from(want);
    bad[0]! ^= 0x80;
    expect(P.verifyRakp4(sik, ctx, bad)).toBe(false);
  });

  it('encodes Open Session for cipher suite 3 and RAKP 1 / 3 byte for byte', () => {
    expect(P.encodeOpenSessionRequest({ tag: 0, consoleSessionId }).toString('hex')).toBe(
      '00040000' + '44332211' + '0000000801000000' + '0100000801000000' + '0200000801000000',
    );
    expect(P.encodeRakp1({ tag: 1, bmcSessionId, rm, role, user }).toString('hex')).toBe(
      '01000000' + 'd0c0b0a0' + rm.toString('hex') + '14' + '0000' + '05' + user.toString('hex'),
    );
    const code = P.rakp3AuthCode(ctx);
    expect(P.encodeRakp3({ tag: 2, bmcSessionId, authCode: code }).toString('hex')).toBe('02000000' + 'd0c0b0a0' + code.toString('hex'));
  });

  it('decodes Open Session Response, RAKP 2 and RAKP 4, and their error statuses', () => {
    const open = Buffer.concat([hex('00 00 04 00'), le32(consoleSessionId), le32(bmcSessionId), hex('0000000801000000 0100000801000000 0200000801000000')]);
    expect(P.decodeOpenSessionResponse(open)).toEqual({ tag: 0, status: 0, maxPrivilege: 4, consoleSessionId, bmcSessionId, authAlg: 1, integrityAlg: 1, confAlg: 1 });
    expect(P.decodeOpenSessionResponse(Buffer.concat([hex('00 11 00 00'), le32(consoleSessionId)])).status).toBe(0x11);
    const auth = P.rakp2AuthCode(ctx);
    const r2 = P.decodeRakp2(Buffer.concat([hex('01 00 0000'), le32(consoleSessionId), rc, guid, auth]));
    expect(r2.rc.equals(rc) && r2.guid.equals(guid) && r2.authCode.equals(auth)).toBe(true);
    expect(P.decodeRakp2(Buffer.concat([hex('01 0d 0000'), le32(consoleSessionId)])).status).toBe(0x0d);
    const icv = Buffer.alloc(12, 7);
    expect(P.decodeRakp4(Buffer.concat([hex('02 00 0000'), le32(consoleSessionId), icv])).icv.equals(icv)).toBe(true);
    rejects(() => P.decodeRakp2(Buffer.concat([hex('01 00 0000'), le32(consoleSessionId), rc])));
    rejects(() => P.decodeRakp4(hex('02 00 00')));
    rejects(() => P.decodeOpenSessionResponse(Buffer.concat([hex('00 00 04 00'), le32(1), le32(2), hex('00000008')])));
  });

  it('refuses passwords over 20 bytes and user names over 16 bytes, without echoing them', () => {
    const long = 'p'.repeat(21);
    const e = (() => {
      try {
        P.passwordKey(long);
      } catch (err) {
        return err as VacmError;
      }
      return undefined;
    })();
    expect(e?.code).toBe('ERR_IPMI_AUTH');
    expect(e?.message).not.toContain(long);
    expect(() => P.encodeRakp1({ tag: 1, bmcSessionId, rm, role, user: Buffer.alloc(17, 0x61) })).toThrow(VacmError);
  });
});

describe('RMCP+ packets: AES-CBC-128 and HMAC-SHA1-96', () => {
  const keys = P.deriveSessionKeys(kuid, rm, rc, role, user);
  const iv = hex('00112233445566778899aabbccddeeff');
  const msg = P.encodeIpmiRequest(P.chassisControlRequest('cycle', 9));

  it.each([
    [0, 15],
    [1, 14],
    [7, 8],
    [14, 1],
    [15, 0],
    [16, 15],
    [31, 0],
  ])('confidentiality pad for %i data bytes is %i bytes 1,2,3... plus the length', (len, padLen) => {
    const pad = P.confidentialityPad(len);
    expect(pad.length).toBe(padLen + 1);
    expect([...pad.subarray(0, padLen)]).toEqual(Array.from({ length: padLen }, (_, i) => i + 1));
    expect(pad[padLen]).toBe(padLen);
    expect((len + pad.length) % 16).toBe(0);
  });

  it('builds a packet an independent AES/HMAC implementation reads', () => {
    const pkt = P.encodeRmcpPlusPacket({ payloadType: P.PAYLOAD_IPMI, sessionId: bmcSessionId, seq: 3, payload: msg, keys, iv });
    expect(pkt.subarray(0, 4).toString('hex')).toBe('0600ff07');
    expect(pkt[4]).toBe(0x06);
    expect(pkt[5]).toBe(0xc0); // encrypted + authenticated, payload type 0
    expect(pkt.readUInt32LE(6)).toBe(bmcSessionId);
    expect(pkt.readUInt32LE(10)).toBe(3);
    const len = pkt.readUInt16LE(14);
    const enc = pkt.subarray(16, 16 + len);
    expect(enc.subarray(0, 16).equals(iv)).toBe(true);
    const d = createDecipheriv('aes-128-cbc', hmac(keys.sik, Buffer.alloc(20, 2)).subarray(0, 16), iv);
    d.setAutoPadding(false);
    const clear = Buffer.concat([d.update(enc.subarray(16)), d.final()]);
    const padLen = clear[clear.length - 1]!;
    expect(clear.subarray(0, msg.length).equals(msg)).toBe(true);
    expect(clear.length).toBe(msg.length + padLen + 1);
    // integrity trailer: 0xff pad to a 4-byte multiple from auth type to next header, then 0x07, then 12-byte HMAC
    const trailer = pkt.subarray(16 + len);
    const intPad = trailer[trailer.length - 14]!;
    expect(trailer[trailer.length - 13]).toBe(0x07);
    expect((12 + len + intPad + 2) % 4).toBe(0);
    expect([...trailer.subarray(0, intPad)].every((b) => b === 0xff)).toBe(true);
    const k1 = hmac(keys.sik, Buffer.alloc(20, 1));
    const covered = pkt.subarray(4, pkt.length - 12);
    expect(pkt.subarray(pkt.length - 12).equals(hmac(k1, covered).subarray(0, 12))).toBe(true);
  });

  it('round-trips through decode and reads a reply a BMC would build', () => {
    const pkt = P.encodeRmcpPlusPacket({ payloadType: P.PAYLOAD_IPMI, sessionId: bmcSessionId, seq: 3, payload: msg, keys, iv });
    const back = P.decodeRmcpPlusPacket(pkt, keys);
    expect(back).toMatchObject({ payloadType: 0, encrypted: true, authenticated: true, sessionId: bmcSessionId, seq: 3 });
    expect(back.payload.equals(msg)).toBe(true);
    // a BMC-side packet built with independent crypto
    const head = Buffer.from([0x81, 0x04]);
    const body = Buffer.from([0x20, 9 << 2, 0x02, 0x00]);
    const reply = Buffer.concat([head, Buffer.from([P.ipmiChecksum(head)]), body, Buffer.from([P.ipmiChecksum(body)])]);
    expect(reply.length).toBe(8);
    const clear = Buffer.concat([reply, Buffer.from([1, 2, 3, 4, 5, 6, 7, 7])]); // pad 1..7, pad length 7
    const c = createCipheriv('aes-128-cbc', keys.aesKey, iv);
    c.setAutoPadding(false);
    const enc = Buffer.concat([iv, c.update(clear), c.final()]);
    const hdr = Buffer.alloc(12);
    hdr[0] = 0x06;
    hdr[1] = 0xc0;
    hdr.writeUInt32LE(consoleSessionId, 2);
    hdr.writeUInt32LE(1, 6);
    hdr.writeUInt16LE(enc.length, 10);
    const pad = (4 - ((12 + enc.length + 2) % 4)) % 4;
    const covered = Buffer.concat([hdr, enc, Buffer.alloc(pad, 0xff), Buffer.from([pad, 0x07])]);
    const wire = Buffer.concat([hex('0600ff07'), covered, hmac(keys.k1, covered).subarray(0, 12)]);
    const got = P.decodeRmcpPlusPacket(wire, keys);
    expect(got.sessionId).toBe(consoleSessionId);
    expect(P.decodeIpmiResponse(got.payload)).toMatchObject({ netFn: 1, cmd: 2, rqSeq: 9, completionCode: 0 });
    expect(P.peekDemuxKey(wire)).toEqual({ kind: 'plus', consoleSessionId, payloadType: 0 });
  });

  it('rejects tampering, wrong keys and downgrade to clear text', () => {
    const pkt = P.encodeRmcpPlusPacket({ payloadType: P.PAYLOAD_IPMI, sessionId: 1, seq: 3, payload: msg, keys, iv });
    for (const at of [5 + 1, 20, pkt.length - 20, pkt.length - 1]) {
      const bad = Buffer.from(pkt);
      bad[at]! ^= 0x01;
      rejects(() => P.decodeRmcpPlusPacket(bad, keys));
    }
    const other = P.deriveSessionKeys(Buffer.from('other'), rm, rc, role, user);
    expect(rejects(() => P.decodeRmcpPlusPacket(pkt, other)).message).toMatch(/integrity/);
    rejects(() => P.decodeRmcpPlusPacket(pkt)); // authenticated packet with no session keys
    const clear = P.encodeRmcpPlusPacket({ payloadType: P.PAYLOAD_IPMI, sessionId: 1, seq: 3, payload: msg });
    expect(rejects(() => P.decodeRmcpPlusPacket(clear, keys)).message).toMatch(/unauthenticated/);
  });

  it('routes session-setup replies by the console session id at payload offset 4', () => {
    const rsp = P.encodeRmcpPlusPacket({ payloadType: P.PAYLOAD_RAKP2, sessionId: 0, seq: 0, payload: Buffer.concat([hex('01000000'), le32(0xdeadbeef)]) });
    expect(P.peekDemuxKey(rsp)).toEqual({ kind: 'plus', consoleSessionId: 0xdeadbeef, payloadType: P.PAYLOAD_RAKP2 });
    const v15 = Buffer.concat([hex('0600ff07 00 00000000 00000000'), Buffer.from([0])]);
    rejects(() => P.peekDemuxKey(v15));
  });

  it('encodes an ASF presence ping', () => {
    expect(P.encodeAsfPing(7).toString('hex')).toBe('0600ff06' + '000011be' + '80' + '07' + '00' + '00');
  });
});

describe('malformed and truncated packets are errors, not crashes', () => {
  const keys = P.deriveSessionKeys(kuid, rm, rc, role, user);
  const good = [
    P.encodeRmcpPlusPacket({
      payloadType: P.PAYLOAD_IPMI,
      sessionId: 1,
      seq: 1,
      payload: P.encodeIpmiRequest(P.chassisStatusRequest(1)),
      keys,
      iv: Buffer.alloc(16, 9),
    }),
    P.encodeRmcpPlusPacket({ payloadType: P.PAYLOAD_RAKP2, sessionId: 0, seq: 0, payload: Buffer.alloc(60, 1) }),
    P.encodeGetChannelAuthCaps(3),
  ];
  const decoders: [string, (b: Buffer) => unknown][] = [
    ['decodeRmcpPlusPacket', (b) => P.decodeRmcpPlusPacket(b, keys)],
    ['decodeRmcpPlusPacket (no keys)', (b) => P.decodeRmcpPlusPacket(b)],
    ['decodeV15Packet', (b) => P.decodeV15Packet(b)],
    ['peekDemuxKey', (b) => P.peekDemuxKey(b)],
    ['decodeIpmiResponse', (b) => P.decodeIpmiResponse(b)],
    ['decodeOpenSessionResponse', (b) => P.decodeOpenSessionResponse(b)],
    ['decodeRakp2', (b) => P.decodeRakp2(b)],
    ['decodeRakp4', (b) => P.decodeRakp4(b)],
    ['decodeChassisStatus', (b) => P.decodeChassisStatus(b)],
    ['decodeAsfPong', (b) => P.decodeAsfPong(b)],
  ];

  it.each(decoders)('%s: every truncation of valid packets and seeded garbage', (_name, decode) => {
    let seed = 12345;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 16) & 0xff;
    const inputs: Buffer[] = [];
    for (const g of good) for (let n = 0; n < g.length; n++) inputs.push(g.subarray(0, n));
    for (let i = 0; i < 300; i++) {
      const b = Buffer.from(Array.from({ length: rand() % 80 }, rand));
      if (i % 2 === 0 && b.length >= 4) b.set([0x06, 0x00, 0xff, 0x07]);
      inputs.push(b);
    }
    for (const b of inputs) {
      try {
        decode(b);
      } catch (e) {
        expect(e, `input ${b.toString('hex')}`).toBeInstanceOf(VacmError);
        expect((e as VacmError).code).toBe('ERR_IPMI');
      }
    }
    rejects(() => decode(Buffer.alloc(0)));
    rejects(() => decode(Buffer.from([0x06, 0x00])));
  });
});
