/** The SOL wire format (sol-protocol.ts), table-tested without a network. */
import { describe, expect, it } from 'vitest';
import {
  activateSolRequest,
  decodeActivateSol,
  decodeSolActivationStatus,
  decodeSolPacket,
  deactivateSolRequest,
  encodeSolPacket,
  nextSolSeq,
} from '../../src/backends/ipmi/sol-protocol.js';
import { peekDemuxKey, encodeRmcpPlusPacket } from '../../src/backends/ipmi/protocol.js';

describe('SOL packets', () => {
  it.each([
    [{ seq: 1, ack: 0, accepted: 0, op: 0, data: Buffer.from('ls\r') }, '01000000' + Buffer.from('ls\r').toString('hex')],
    [{ seq: 0, ack: 7, accepted: 12, op: 0, data: Buffer.alloc(0) }, '00070c00'],
    [{ seq: 3, ack: 0, accepted: 0, op: 0x10, data: Buffer.alloc(0) }, '03000010'],
  ])('encodes %o', (p, hex) => {
    expect(encodeSolPacket(p).toString('hex')).toBe(hex);
    expect(decodeSolPacket(encodeSolPacket(p))).toEqual(p);
  });

  it('refuses a payload shorter than its header', () => {
    expect(() => decodeSolPacket(Buffer.from([1, 0, 0]))).toThrow(/shorter than its 4-byte header/);
  });

  it('counts sequence numbers 1..15 and never 0 (0 marks an ack-only packet)', () => {
    const seen: number[] = [];
    let s = 0;
    for (let i = 0; i < 16; i++) seen.push((s = nextSolSeq(s)));
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 1]);
  });
});

describe('Activate / Deactivate Payload', () => {
  it('asks for SOL instance 1, encrypted and authenticated', () => {
    expect(activateSolRequest(5)).toMatchObject({ netFn: 0x06, cmd: 0x48, rqSeq: 5 });
    expect([...activateSolRequest(5).data!]).toEqual([1, 1, 0xc4, 0, 0, 0]);
    expect([...deactivateSolRequest(6).data!]).toEqual([1, 1, 0, 0, 0, 0]);
  });

  it('reads the payload sizes and port of the answer', () => {
    const data = Buffer.from([0, 0, 0, 0, 0xff, 0x00, 0x00, 0x01, 0x6f, 0x02, 0xff, 0xff]);
    expect(decodeActivateSol(data)).toEqual({ inboundMax: 255, outboundMax: 256, port: 623 });
    expect(() => decodeActivateSol(Buffer.alloc(4))).toThrow(/Activate Payload answer of 4 bytes/);
  });

  it('reads which instances are active', () => {
    expect(decodeSolActivationStatus(Buffer.from([1, 0x01, 0]))).toEqual({ capacity: 1, active: [1] });
    expect(decodeSolActivationStatus(Buffer.from([2, 0, 0]))).toEqual({ capacity: 2, active: [] });
  });

  it('routes a SOL packet by the session id in its header, as IPMI replies are', () => {
    const pkt = encodeRmcpPlusPacket({ payloadType: 1, sessionId: 0xabcdef01, seq: 9, payload: Buffer.from([1, 0, 0, 0, 0x41]) });
    expect(peekDemuxKey(pkt)).toEqual({ kind: 'plus', consoleSessionId: 0xabcdef01, payloadType: 1 });
  });
});
