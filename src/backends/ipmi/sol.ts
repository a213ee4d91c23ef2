/**
 * Serial over LAN on the shared RMCP+ client: one SOL console = one session (client.ts's session
 * opening, as POWER uses it) in which the SOL payload is activated, the BMC's characters are
 * acknowledged as they arrive, ours are sent one packet at a time and retransmitted until
 * acknowledged, a keep-alive request holds the session open, and the payload is deactivated when
 * the console closes, is cancelled or fails, so that the next `sol activate` finds it free.
 * An active payload (another console) is refused, and taken over only with `force`.
 */
import { VacmError } from '../../protocol/errors.js';
import type { BmcTarget, IpmiClient, IpmiPayloadSession } from './client.js';
import {
  CC_PAYLOAD_ALREADY_ACTIVE,
  PAYLOAD_SOL,
  SOL_MAX_CHARS,
  SOL_OP_BREAK,
  SOL_ST_DEACTIVATING,
  SOL_ST_NACK,
  activateSolRequest,
  deactivateSolRequest,
  decodeActivateSol,
  decodeSolPacket,
  describeActivateFailure,
  encodeSolPacket,
  getDeviceIdRequest,
  nextSolSeq,
} from './sol-protocol.js';

export interface SolOptions {
  /** take over a payload another session has active (deactivate it first) */
  force?: boolean;
  /** cancels the opening; once open, use close() */
  signal?: AbortSignal;
  /** characters from the serial port, as they arrive */
  onData: (data: Buffer) => void;
  /** a keep-alive request this often (default 10 s): also how a dead BMC is noticed */
  keepaliveMs?: number;
  /** wait for the ack of a SOL packet before resending it (default 500 ms) */
  retryMs?: number;
  /** sends of one SOL packet before the console is given up (default 8) */
  tries?: number;
  /** the most bytes waiting to be sent (default 64 KiB); more is ERR_LIMIT */
  maxQueued?: number;
}

export interface SolConsole {
  /** queue characters for the serial port; throws ERR_LIMIT when the queue is full */
  write(data: Buffer): void;
  /** a serial break */
  sendBreak(): void;
  /** resolves once everything queued before it was acknowledged (or the console ended) */
  drained(): Promise<void>;
  /** settles when the console ends: undefined after close(), the error otherwise */
  readonly ended: Promise<VacmError | undefined>;
  /** deactivate the payload and close the session */
  close(): Promise<void>;
}

interface Outgoing {
  data: Buffer;
  op: number;
}

/** Open a SOL console on the BMC `t`; resolves once the payload is active. */
export function openSol(client: IpmiClient, t: BmcTarget, opts: SolOptions): Promise<SolConsole> {
  const keepaliveMs = Math.max(100, opts.keepaliveMs ?? 10_000);
  const retryMs = Math.max(10, opts.retryMs ?? 500);
  const tries = Math.max(1, opts.tries ?? 8);
  const maxQueued = Math.max(1, opts.maxQueued ?? 64 * 1024);
  const where = `BMC ${t.host}:${t.port ?? 623}`;

  const openCtl = new AbortController();
  let inBody = false;
  const onOuterAbort = (): void => {
    if (!inBody) openCtl.abort();
    else stop();
  };
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });

  let stopped = false;
  let failure: VacmError | undefined;
  let wake: (() => void) | undefined;
  const stop = (err?: VacmError): void => {
    if (stopped) return;
    stopped = true;
    failure = err;
    wake?.();
  };

  return new Promise<SolConsole>((resolveOpen, rejectOpen) => {
    let opened = false;
    const ended = client
      .payloadSession(t, openCtl.signal, async (s) => {
        inBody = true;
        if (opts.signal?.aborted) throw new VacmError('ERR_CANCELLED', 'console opening cancelled');
        const act = await activate(s, where, opts.force === true);
        const chunk = Math.max(1, Math.min(SOL_MAX_CHARS, act.inboundMax > 4 ? act.inboundMax - 4 : SOL_MAX_CHARS));

        // --- receiving: ack every packet, deliver each sequence number once
        let lastRecv = -1;
        // --- sending: one packet in flight
        const queue: Outgoing[] = [];
        let queued = 0;
        let inFlight: (Outgoing & { seq: number; sends: number; timer?: NodeJS.Timeout }) | undefined;
        let sendSeq = 0;
        const drainWaiters: (() => void)[] = [];
        const settleDrain = (): void => {
          if (inFlight || queue.length) return;
          for (const w of drainWaiters.splice(0)) w();
        };
        const transmit = (): void => {
          if (!inFlight || stopped) return;
          if (inFlight.sends >= tries) {
            stop(new VacmError('ERR_TIMEOUT', `${where} did not acknowledge console data after ${inFlight.sends} sends; the BMC may have restarted or SOL was taken over`));
            return;
          }
          inFlight.sends++;
          s.sendPayload(PAYLOAD_SOL, encodeSolPacket({ seq: inFlight.seq, ack: 0, accepted: 0, op: inFlight.op, data: inFlight.data }));
          inFlight.timer = setTimeout(transmit, retryMs);
        };
        const pump = (): void => {
          if (inFlight || stopped) return settleDrain();
          const next = queue.shift();
          if (!next) return settleDrain();
          queued -= next.data.length;
          sendSeq = nextSolSeq(sendSeq);
          inFlight = { ...next, seq: sendSeq, sends: 0 };
          transmit();
        };
        const onAck = (ack: number, accepted: number, nack: boolean): void => {
          if (!inFlight || ack !== inFlight.seq) return;
          if (inFlight.timer) clearTimeout(inFlight.timer);
          const sent = inFlight;
          inFlight = undefined;
          if (nack) {
            // the BMC could not take the characters now: offer them again shortly, as a new packet
            queue.unshift({ data: sent.data, op: sent.op });
            queued += sent.data.length;
            setTimeout(pump, retryMs);
            return;
          }
          const rest = sent.data.subarray(Math.min(accepted, sent.data.length));
          if (rest.length) {
            queue.unshift({ data: rest, op: 0 });
            queued += rest.length;
          }
          pump();
        };

        const untap = s.onPayload(PAYLOAD_SOL, (payload, protectedPacket) => {
          if (!protectedPacket || stopped) return; // activated encrypted: anything else is forged
          let p;
          try {
            p = decodeSolPacket(payload);
          } catch {
            return;
          }
          if (p.ack !== 0) onAck(p.ack, p.accepted, (p.op & SOL_ST_NACK) !== 0);
          if (p.seq !== 0) {
            if (p.seq !== lastRecv && p.data.length) {
              lastRecv = p.seq;
              try {
                opts.onData(p.data);
              } catch {
                // a consumer's bug must not stop the acks
              }
            }
            s.sendPayload(PAYLOAD_SOL, encodeSolPacket({ seq: 0, ack: p.seq, accepted: p.data.length, op: 0, data: Buffer.alloc(0) }));
          }
          if (p.op & SOL_ST_DEACTIVATING) stop(new VacmError('ERR_IPMI', `${where} deactivated SOL (another session may have taken the console)`));
        });

        const con: SolConsole = {
          write(data) {
            if (stopped) throw failure ?? new VacmError('ERR_CANCELLED', 'the console is closed');
            if (queued + data.length > maxQueued) throw new VacmError('ERR_LIMIT', `more than ${maxQueued} bytes are waiting to reach ${where}'s console; wait and send again`);
            for (let i = 0; i < data.length; i += chunk) {
              const part = data.subarray(i, i + chunk);
              queue.push({ data: part, op: 0 });
              queued += part.length;
            }
            pump();
          },
          sendBreak() {
            if (stopped) return;
            queue.push({ data: Buffer.alloc(0), op: SOL_OP_BREAK });
            pump();
          },
          drained: () => new Promise<void>((resolve) => {
            if (stopped || (!inFlight && !queue.length)) return resolve();
            drainWaiters.push(resolve);
          }),
          ended: undefined as unknown as Promise<VacmError | undefined>,
          close: async () => {
            stop();
            await con.ended;
          },
        };
        opened = true;
        resolveOpen(Object.assign(con, { ended: endedPromise }));

        try {
          while (!stopped) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, keepaliveMs);
              wake = () => {
                clearTimeout(timer);
                resolve();
              };
            });
            wake = undefined;
            if (stopped) break;
            try {
              await s.command(getDeviceIdRequest(s.rqSeq()), 'Get Device ID (console keep-alive)');
            } catch (e) {
              stop(e instanceof VacmError ? e : new VacmError('ERR_IPMI', `${where}: console keep-alive failed: ${String(e)}`));
            }
          }
        } finally {
          untap();
          if (inFlight?.timer) clearTimeout(inFlight.timer);
          for (const w of drainWaiters.splice(0)) w();
          // release the payload, best effort and bounded by the client's retries: the next
          // `sol activate` (ours or ipmitool's) must find it free
          await s.raw(deactivateSolRequest(s.rqSeq()), 'Deactivate Payload (SOL)').catch(() => undefined);
        }
        return failure;
      })
      .finally(() => opts.signal?.removeEventListener('abort', onOuterAbort));
    const endedPromise: Promise<VacmError | undefined> = ended.then(
      (f) => f,
      (e: unknown) => (e instanceof VacmError ? e : new VacmError('ERR_IPMI', String(e))),
    );
    ended.catch((e: unknown) => {
      if (!opened) rejectOpen(e);
    });
  });
}

async function activate(s: IpmiPayloadSession, where: string, force: boolean) {
  let rsp = await s.raw(activateSolRequest(s.rqSeq()), 'Activate Payload (SOL)');
  if (rsp.completionCode === CC_PAYLOAD_ALREADY_ACTIVE && force) {
    await s.raw(deactivateSolRequest(s.rqSeq()), 'Deactivate Payload (SOL)');
    rsp = await s.raw(activateSolRequest(s.rqSeq()), 'Activate Payload (SOL)');
  }
  if (rsp.completionCode === CC_PAYLOAD_ALREADY_ACTIVE) {
    throw new VacmError('ERR_CONSOLE_BUSY', `${where}: ${describeActivateFailure(rsp.completionCode)}; close it, or add FORCE to take the console over`);
  }
  if (rsp.completionCode !== 0) throw new VacmError('ERR_IPMI', `${where} refused to activate SOL: ${describeActivateFailure(rsp.completionCode)}`);
  return decodeActivateSol(rsp.data);
}
