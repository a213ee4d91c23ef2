/**
 * Opening an RMCP+ session (cipher suite 3): Get Channel Authentication Capabilities, Open Session,
 * RAKP 1-4 and Set Session Privilege (ADMINISTRATOR). The client (client.ts) sends and routes the
 * datagrams; the wire format is protocol.ts.
 */
import { randomBytes } from 'node:crypto';
import { VacmError } from '../../protocol/errors.js';
import {
  PAYLOAD_OPEN_SESSION_REQ,
  PAYLOAD_OPEN_SESSION_RSP,
  PAYLOAD_RAKP1,
  PAYLOAD_RAKP2,
  PAYLOAD_RAKP3,
  PAYLOAD_RAKP4,
  PRIV_ADMINISTRATOR,
  ROLE_NAME_ONLY_LOOKUP,
  AUTH_ALG_RAKP_HMAC_SHA1,
  INTEGRITY_ALG_HMAC_SHA1_96,
  CONF_ALG_AES_CBC_128,
  CMD_GET_CHANNEL_AUTH_CAPS,
  decodeChannelAuthCaps,
  decodeOpenSessionResponse,
  decodeRakp2,
  decodeRakp4,
  decodeRmcpPlusPacket,
  decodeV15Packet,
  deriveSessionKeys,
  describeRmcpPlusStatus,
  encodeGetChannelAuthCaps,
  encodeOpenSessionRequest,
  encodeRakp1,
  encodeRakp3,
  encodeRmcpPlusPacket,
  hex2,
  isAuthStatus,
  passwordKey,
  rakp3AuthCode,
  setSessionPrivilegeRequest,
  verifyRakp2,
  verifyRakp4,
  type RakpContext,
} from './protocol.js';
import { IGNORE, Session, RestartHandshake, authError, rakpError, checkCompletion, type Op } from './session.js';
import type { BmcTarget } from './client-options.js';
import type { IpmiClient } from './client.js';

export async function openSession(client: IpmiClient, op: Op, t: BmcTarget): Promise<Session> {
  const where = `BMC ${op.host}:${op.port}`;
  // 1. Get Channel Authentication Capabilities (IPMI 1.5 framing, asks for v2.0 data)
  const capsSeq = client.freeCapsSeq(op);
  const caps = await client.sessionExchange(op, `q${capsSeq}`, 'Get Channel Authentication Capabilities', () => encodeGetChannelAuthCaps(capsSeq), (pkt) => {
    const rsp = decodeV15Packet(pkt);
    if (rsp.cmd !== CMD_GET_CHANNEL_AUTH_CAPS || rsp.rqSeq !== capsSeq) throw IGNORE;
    checkCompletion(rsp, where);
    return decodeChannelAuthCaps(rsp.data);
  });
  if (!caps.ipmi20) throw new VacmError('ERR_IPMI', `${where} does not offer IPMI v2.0 (RMCP+) on its LAN channel; enable lanplus on the BMC`);

  // A lost RAKP 4 cannot be recovered by resending RAKP 3 (BMCs ignore it once the session is
  // active), so then the handshake starts over with a new Open Session, a bounded number of times.
  for (let attempt = 1; ; attempt++) {
    try {
      return await handshake(client, op, t, where, attempt < 3);
    } catch (e) {
      if (e instanceof RestartHandshake) continue;
      throw e;
    }
  }
}

async function handshake(client: IpmiClient, op: Op, t: BmcTarget, where: string, mayRestart: boolean): Promise<Session> {
  // 2. Open Session, cipher suite 3
  const consoleSessionId = client.allocConsoleSid();
  const key = `s${consoleSessionId}`;
  const user = Buffer.from(t.user, 'utf8');
  const kuid = passwordKey(t.password);
  const open = await client.sessionExchange(
    op,
    key,
    'Open Session',
    () => encodeRmcpPlusPacket({ payloadType: PAYLOAD_OPEN_SESSION_REQ, sessionId: 0, seq: 0, payload: encodeOpenSessionRequest({ tag: 0, consoleSessionId }) }),
    (pkt) => {
      const p = decodeRmcpPlusPacket(pkt);
      if (p.payloadType !== PAYLOAD_OPEN_SESSION_RSP) throw IGNORE;
      return decodeOpenSessionResponse(p.payload);
    },
  );
  if (open.status !== 0) {
    throw new VacmError(
      isAuthStatus(open.status) ? 'ERR_IPMI_AUTH' : 'ERR_IPMI',
      `${where} refused to open an RMCP+ session: ${describeRmcpPlusStatus(open.status)} (status ${hex2(open.status)}); vacm needs cipher suite 3 (HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128)`,
    );
  }
  if (open.authAlg !== AUTH_ALG_RAKP_HMAC_SHA1 || open.integrityAlg !== INTEGRITY_ALG_HMAC_SHA1_96 || open.confAlg !== CONF_ALG_AES_CBC_128) {
    throw new VacmError('ERR_IPMI', `${where} answered Open Session with algorithms other than cipher suite 3`);
  }

  // 3. RAKP 1 / 2: the BMC proves it knows the password
  const rm = randomBytes(16);
  const role = PRIV_ADMINISTRATOR | ROLE_NAME_ONLY_LOOKUP;
  const bmcSessionId = open.bmcSessionId;
  const rakp2 = await client.sessionExchange(
    op,
    key,
    'RAKP 1',
    () => encodeRmcpPlusPacket({ payloadType: PAYLOAD_RAKP1, sessionId: 0, seq: 0, payload: encodeRakp1({ tag: 1, bmcSessionId, rm, role, user }) }),
    (pkt) => {
      const p = decodeRmcpPlusPacket(pkt);
      if (p.payloadType !== PAYLOAD_RAKP2) throw IGNORE;
      return decodeRakp2(p.payload);
    },
  );
  if (rakp2.status !== 0) throw rakpError(where, 'RAKP 2', rakp2.status);
  const ctx: RakpContext = { kuid, consoleSessionId, bmcSessionId, rm, rc: rakp2.rc, guid: rakp2.guid, role, user };
  if (!verifyRakp2(ctx, rakp2.authCode)) throw authError(where, 'the BMC’s RAKP 2 key exchange code does not match');
  const keys = deriveSessionKeys(kuid, rm, rakp2.rc, role, user);

  // 4. RAKP 3 / 4: we prove it, the BMC confirms the session integrity key
  const rakp4Tries = mayRestart ? Math.min(2, client.retries + 1) : client.retries + 1;
  const rakp4 = await client.sessionExchange(
    op,
    key,
    'RAKP 3',
    () => encodeRmcpPlusPacket({ payloadType: PAYLOAD_RAKP3, sessionId: 0, seq: 0, payload: encodeRakp3({ tag: 2, bmcSessionId, authCode: rakp3AuthCode(ctx) }) }),
    (pkt) => {
      const p = decodeRmcpPlusPacket(pkt);
      if (p.payloadType !== PAYLOAD_RAKP4) throw IGNORE;
      return decodeRakp4(p.payload);
    },
    rakp4Tries,
  ).catch((e: unknown) => {
    if (mayRestart && e instanceof VacmError && e.code === 'ERR_TIMEOUT' && !op.signal.aborted) throw new RestartHandshake();
    throw e;
  });
  if (rakp4.status !== 0) throw rakpError(where, 'RAKP 4', rakp4.status);
  if (!verifyRakp4(keys.sik, ctx, rakp4.icv)) throw authError(where, 'the BMC’s RAKP 4 integrity check value does not match');
  client.stats.sessionsOpened++;

  const session = new Session(client, op, key, consoleSessionId, bmcSessionId, keys, where);
  try {
    await session.command(setSessionPrivilegeRequest(session.rqSeq(), PRIV_ADMINISTRATOR), 'Set Session Privilege Level (ADMINISTRATOR)');
  } catch (e) {
    await session.close();
    throw e;
  }
  return session;
}
