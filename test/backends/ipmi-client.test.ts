/**
 * IpmiClient against a small in-process fake BMC built from the same codec (BMC side), so the
 * paths a real ipmi_sim rarely takes are covered without peers: completion codes, RMCP+ status
 * codes, a BMC whose replies fail the integrity check, a non-v2.0 BMC; and kept (warm) sessions:
 * reuse, the probe before a non-idempotent command, a BMC that forgot its sessions, keep-alive,
 * LRU eviction and Close Session on close().
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { IpmiClient } from '../../src/backends/ipmi/client.js';
import { VacmError } from '../../src/protocol/errors.js';
import * as P from '../../src/backends/ipmi/protocol.js';

interface FakeBmcBehaviour {
  password: string;
  user: string;
  /** Completion code per IPMI command byte (default 0). */
  completion?: Record<number, number>;
  openSessionStatus?: number;
  ipmi20?: boolean;
  /** Corrupt the HMAC of session replies. */
  badIntegrity?: boolean;
  power?: boolean;
}

interface FakeBmc {
  port: number;
  seen: number[];
  /** Forget the session, as a restarted BMC does: packets of the old one go unanswered. */
  restart(): void;
  close(): Promise<void>;
}

function ipmiResponse(req: Buffer, cc: number, data: number[]): Buffer {
  const netFn = (req[1]! >> 2) | 1;
  const head = Buffer.from([0x81, netFn << 2]);
  const body = Buffer.from([0x20, req[4]!, req[5]!, cc, ...data]);
  return Buffer.concat([head, Buffer.from([P.ipmiChecksum(head)]), body, Buffer.from([P.ipmiChecksum(body)])]);
}

async function startFakeBmc(b: FakeBmcBehaviour): Promise<FakeBmc> {
  const sock = dgram.createSocket('udp4');
  const seen: number[] = [];
  let bmcSid = 0x0badf00d;
  let consoleSid = 0;
  let rm: Buffer = Buffer.alloc(0);
  let role = 0;
  let user: Buffer = Buffer.alloc(0);
  const rc = randomBytes(16);
  const guid = randomBytes(16);
  let keys: P.SessionKeys | undefined;
  let seq = 0;
  sock.on('message', (pkt, rinfo) => {
    const reply = (buf: Buffer): void => void sock.send(buf, rinfo.port, rinfo.address);
    if (pkt[4] === P.AUTH_TYPE_NONE) {
      const msg = pkt.subarray(14, 14 + pkt[13]!);
      seen.push(msg[5]!);
      reply(P.encodeV15Packet(ipmiResponse(msg, 0, [0x01, b.ipmi20 === false ? 0x17 : 0x97, 0x04, b.ipmi20 === false ? 0 : 0x02, 0, 0, 0, 0])));
      return;
    }
    const type = pkt[5]! & 0x3f;
    seen.push(0x100 | type);
    const plus = (payloadType: number, payload: Buffer): void => reply(P.encodeRmcpPlusPacket({ payloadType, sessionId: 0, seq: 0, payload }));
    if (type === P.PAYLOAD_OPEN_SESSION_REQ) {
      const p = P.decodeRmcpPlusPacket(pkt).payload;
      consoleSid = p.readUInt32LE(4);
      const out = Buffer.alloc(36);
      out[1] = b.openSessionStatus ?? 0;
      out[2] = 4;
      out.writeUInt32LE(consoleSid, 4);
      out.writeUInt32LE(bmcSid, 8);
      p.subarray(8, 32).copy(out, 12);
      plus(P.PAYLOAD_OPEN_SESSION_RSP, b.openSessionStatus ? out.subarray(0, 8) : out);
    } else if (type === P.PAYLOAD_RAKP1) {
      const p = P.decodeRmcpPlusPacket(pkt).payload;
      rm = p.subarray(8, 24);
      role = p[24]!;
      user = p.subarray(28, 28 + p[27]!);
      if (user.toString() !== b.user) {
        const out = Buffer.alloc(8);
        out[1] = 0x0d;
        out.writeUInt32LE(consoleSid, 4);
        return plus(P.PAYLOAD_RAKP2, out);
      }
      const ctx = { kuid: Buffer.from(b.password), consoleSessionId: consoleSid, bmcSessionId: bmcSid, rm, rc, guid, role, user };
      const head = Buffer.alloc(8);
      head.writeUInt32LE(consoleSid, 4);
      plus(P.PAYLOAD_RAKP2, Buffer.concat([head, rc, guid, P.rakp2AuthCode(ctx)]));
    } else if (type === P.PAYLOAD_RAKP3) {
      keys = P.deriveSessionKeys(Buffer.from(b.password), rm, rc, role, user);
      const head = Buffer.alloc(8);
      head.writeUInt32LE(consoleSid, 4);
      plus(P.PAYLOAD_RAKP4, Buffer.concat([head, P.rakp4Icv(keys.sik, { rm, bmcSessionId: bmcSid, guid })]));
    } else if (type === P.PAYLOAD_IPMI && keys) {
      if (pkt.readUInt32LE(6) !== bmcSid) return; // not a session of this BMC (any more)
      const req = P.decodeRmcpPlusPacket(pkt, keys).payload;
      const cmd = req[5]!;
      seen[seen.length - 1] = 0x200 | cmd;
      const cc = b.completion?.[cmd] ?? 0;
      const data = cmd === P.CMD_GET_CHASSIS_STATUS ? [b.power ? 1 : 0, 0, 0] : cmd === P.CMD_SET_SESSION_PRIVILEGE ? [4] : [];
      if (cmd === P.CMD_CHASSIS_CONTROL && cc === 0) b.power = req[6] !== 0;
      const out = P.encodeRmcpPlusPacket({ payloadType: 0, sessionId: consoleSid, seq: ++seq, payload: ipmiResponse(req, cc, cc ? [] : data), keys, iv: randomBytes(16) });
      if (b.badIntegrity) out[out.length - 1]! ^= 0xff;
      reply(out);
    }
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.20.198', r));
  const restart = (): void => {
    bmcSid = (bmcSid + 1) >>> 0;
    keys = undefined;
  };
  return { port: sock.address().port, seen, restart, close: () => new Promise<void>((r) => sock.close(() => r())) };
}

describe('IpmiClient against an in-process fake BMC', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  async function setup(b: FakeBmcBehaviour, opts: ConstructorParameters<typeof IpmiClient>[0] = {}) {
    const bmc = await startFakeBmc(b);
    const client = new IpmiClient({ retries: 1, retryMs: 100, timeoutMs: 2000, bindAddress: '127.0.0.1', ...opts });
    cleanups.push(() => client.close(), () => bmc.close());
    return { bmc, client, target: { host: '127.0.20.198', port: bmc.port, user: b.user, password: b.password } };
  }

  it('runs the whole sequence: caps, open, RAKP 1-4, privilege, command, close', async () => {
    const { bmc, client, target } = await setup({ user: 'root', password: 'pw', power: false });
    await client.chassisControl(target, 'on');
    // the answer comes before Close Session's: the close goes on in the background
    expect(bmc.seen).toEqual([0x38, 0x110, 0x112, 0x114, 0x23b, 0x202]);
    await client.settled();
    expect(bmc.seen).toEqual([0x38, 0x110, 0x112, 0x114, 0x23b, 0x202, 0x23c]);
    expect(await client.powerStatus(target)).toBe('on');
    await client.settled();
    expect(client.stats).toMatchObject({ sessionsOpened: 2, retransmits: 0, packetsSent: 14 });
  });

  it.each([
    [0xd4, /0xd4 \(insufficient privilege level/],
    [0xcc, /0xcc \(invalid data field in request\)/],
    [0xc0, /0xc0 \(node busy\)/],
  ])('turns completion code %i into ERR_IPMI with its meaning, and still closes the session', async (cc, re) => {
    const { bmc, client, target } = await setup({ user: 'root', password: 'pw', completion: { [P.CMD_CHASSIS_CONTROL]: cc } });
    const err = (await client.chassisControl(target, 'cycle').catch((e: unknown) => e)) as VacmError;
    expect(err).toBeInstanceOf(VacmError);
    expect(err.code).toBe('ERR_IPMI');
    expect(err.message).toMatch(re);
    expect(err.message).toMatch(/Chassis Control \(cycle\)/);
    await client.settled();
    expect(bmc.seen[bmc.seen.length - 1]).toBe(0x23c);
  });

  it('explains a refused privilege level', async () => {
    const { client, target } = await setup({ user: 'root', password: 'pw', completion: { [P.CMD_SET_SESSION_PRIVILEGE]: 0x81 } });
    await expect(client.powerStatus(target)).rejects.toThrow(/exceeds the user or channel limit/);
  });

  it('reports an RMCP+ Open Session status (no cipher suite match) as ERR_IPMI', async () => {
    const { client, target } = await setup({ user: 'root', password: 'pw', openSessionStatus: 0x11 });
    const err = (await client.powerStatus(target).catch((e: unknown) => e)) as VacmError;
    expect(err.code).toBe('ERR_IPMI');
    expect(err.message).toMatch(/no cipher suite match.*cipher suite 3/);
  });

  it('maps an unknown user and a wrong password to ERR_IPMI_AUTH without leaking the password', async () => {
    const { client, target } = await setup({ user: 'root', password: 'right-password' });
    for (const t of [{ ...target, user: 'nobody' }, { ...target, password: 'wrong-password' }]) {
      const err = (await client.powerStatus(t).catch((e: unknown) => e)) as VacmError;
      expect(err.code).toBe('ERR_IPMI_AUTH');
      expect(err.message).toMatch(/check bmc_user and bmc_password_file/);
      expect(err.message).not.toContain('right-password');
      expect(err.message).not.toContain('wrong-password');
    }
  });

  it('refuses a BMC without IPMI v2.0', async () => {
    const { client, target } = await setup({ user: 'root', password: 'pw', ipmi20: false });
    await expect(client.powerStatus(target)).rejects.toMatchObject({ code: 'ERR_IPMI', message: expect.stringMatching(/IPMI v2.0/) });
  });

  it('ignores replies that fail the integrity check and times out', async () => {
    const { client, target } = await setup({ user: 'root', password: 'pw', badIntegrity: true });
    await expect(client.powerStatus(target)).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(client.stats.packetsIgnored).toBeGreaterThan(0);
  });

  it('rejects after close() and refuses unknown actions', async () => {
    const { client, target } = await setup({ user: 'root', password: 'pw' });
    await expect(client.chassisControl(target, 'explode' as never)).rejects.toMatchObject({ code: 'ERR_BAD_ARGS' });
    await client.close();
    await expect(client.powerStatus(target)).rejects.toMatchObject({ code: 'ERR_CANCELLED' });
  });
});

describe('IpmiClient with kept sessions (keepSessions > 0)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  async function setup(b: FakeBmcBehaviour, opts: ConstructorParameters<typeof IpmiClient>[0] = {}) {
    const bmc = await startFakeBmc(b);
    const client = new IpmiClient({ retries: 1, retryMs: 100, timeoutMs: 2000, bindAddress: '127.0.0.1', keepSessions: 4, ...opts });
    cleanups.push(() => client.close(), () => bmc.close());
    return { bmc, client, target: { host: '127.0.20.198', port: bmc.port, user: b.user, password: b.password } };
  }
  const CLOSE = 0x200 | P.CMD_CLOSE_SESSION;
  const STATUS = 0x200 | P.CMD_GET_CHASSIS_STATUS;
  const CONTROL = 0x200 | P.CMD_CHASSIS_CONTROL;
  const DEVICE_ID = 0x200 | P.CMD_GET_DEVICE_ID;
  /** an IPMI packet the fake could not take: of a session it forgot */
  const UNKNOWN = 0x100 | P.PAYLOAD_IPMI;

  it('keeps the session open after an operation; the next one sends only its command', async () => {
    const { bmc, client, target } = await setup({ user: 'root', password: 'pw', power: false });
    await client.chassisControl(target, 'on');
    expect(bmc.seen).toEqual([0x38, 0x110, 0x112, 0x114, 0x23b, CONTROL]);
    bmc.seen.length = 0;
    expect(await client.powerStatus(target)).toBe('on');
    expect(await client.powerStatus(target)).toBe('on');
    expect(bmc.seen).toEqual([STATUS, STATUS]);
    expect(client.stats).toMatchObject({ sessionsOpened: 1, sessionsReused: 2, sessionsKept: 1 });
  });

  it('checks a kept session with Get Device ID before a command that must not run twice', async () => {
    const { bmc, client, target } = await setup({ user: 'root', password: 'pw', power: true });
    await client.powerStatus(target);
    bmc.seen.length = 0;
    await client.chassisControl(target, 'cycle');
    expect(bmc.seen).toEqual([DEVICE_ID, CONTROL]);
  });

  it('a BMC that forgot the session (restarted): idempotent operations reopen at once and succeed', async () => {
    const { bmc, client, target } = await setup({ user: 'root', password: 'pw', power: true });
    await client.powerStatus(target);
    bmc.restart();
    bmc.seen.length = 0;
    expect(await client.powerStatus(target)).toBe('on');
    // one unanswered try on the old session, then a whole fresh session
    expect(bmc.seen).toEqual([UNKNOWN, 0x38, 0x110, 0x112, 0x114, 0x23b, STATUS]);
    expect(client.stats).toMatchObject({ sessionsOpened: 2, sessionsStale: 1, sessionsKept: 1 });
  });

  it('a BMC that forgot the session: a cycle goes out exactly once, on the fresh session', async () => {
    const { bmc, client, target } = await setup({ user: 'root', password: 'pw', power: true });
    await client.powerStatus(target);
    bmc.restart();
    bmc.seen.length = 0;
    await client.chassisControl(target, 'cycle');
    expect(bmc.seen.filter((c) => c === CONTROL)).toHaveLength(1);
    expect(bmc.seen).toEqual([UNKNOWN, 0x38, 0x110, 0x112, 0x114, 0x23b, CONTROL]);
  });

  it('a completion code leaves the kept session in use; the error is the same as cold', async () => {
    const { bmc, client, target } = await setup({ user: 'root', password: 'pw', completion: { [P.CMD_CHASSIS_CONTROL]: 0xc0 } });
    await client.powerStatus(target);
    await expect(client.chassisControl(target, 'off')).rejects.toMatchObject({ code: 'ERR_IPMI', message: expect.stringMatching(/0xc0 \(node busy\)/) });
    bmc.seen.length = 0;
    await client.powerStatus(target);
    expect(bmc.seen).toEqual([STATUS]);
    expect(client.stats.sessionsOpened).toBe(1);
  });

  it('sends a keep-alive when quiet, and closes a session nobody used for idleCloseMs', async () => {
    const { bmc, client, target } = await setup({ user: 'root', password: 'pw' }, { keepAliveMs: 40, idleCloseMs: 400 });
    await client.powerStatus(target);
    for (let i = 0; i < 100 && client.stats.sessionsKept > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(client.stats.keepAlives).toBeGreaterThan(0);
    expect(bmc.seen).toContain(DEVICE_ID);
    expect(client.stats).toMatchObject({ sessionsKept: 0, sessionsEvicted: 1 });
    for (let i = 0; i < 50 && bmc.seen.at(-1) !== CLOSE; i++) await new Promise((r) => setTimeout(r, 20));
    expect(bmc.seen.at(-1)).toBe(CLOSE);
  });

  it('keeps at most keepSessions open: the least recently used is closed for a new one', async () => {
    const a = await setup({ user: 'root', password: 'pw' }, { keepSessions: 1 });
    const b = await startFakeBmc({ user: 'root', password: 'pw' });
    cleanups.push(() => b.close());
    await a.client.powerStatus(a.target);
    await a.client.powerStatus({ ...a.target, port: b.port });
    for (let i = 0; i < 50 && a.bmc.seen.at(-1) !== CLOSE; i++) await new Promise((r) => setTimeout(r, 20));
    expect(a.bmc.seen.at(-1)).toBe(CLOSE);
    expect(b.seen).not.toContain(CLOSE);
    expect(a.client.stats).toMatchObject({ sessionsKept: 1, sessionsEvicted: 1 });
  });

  it('close() ends kept sessions with Close Session', async () => {
    const { bmc, client, target } = await setup({ user: 'root', password: 'pw' });
    await client.powerStatus(target);
    await client.close();
    expect(bmc.seen.at(-1)).toBe(CLOSE);
  });

  it('a fresh session when asked (long holders such as SOL): opened and closed around the body', async () => {
    const { bmc, client, target } = await setup({ user: 'root', password: 'pw' });
    await client.session(target, undefined, async (s) => s.command(P.chassisStatusRequest(s.rqSeq()), 'Get Chassis Status'), { fresh: true });
    await client.settled();
    expect(bmc.seen.at(-1)).toBe(CLOSE);
    expect(client.stats.sessionsKept).toBe(0);
  });
});
