/**
 * `vacm agent`: every interval, one signed status datagram to the collector; an announce at start
 * (discovery). Sending never throws: a failed send is counted and logged, and the next one is tried.
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { encodeAgentMsg, type AgentMsgKind } from '../../protocol/agent-msg.js';
import type { StatsSource } from './stats.js';

export interface AgentOptions {
  name: string;
  collectorHost: string;
  collectorPort: number;
  secret: string | Buffer;
  intervalMs: number;
  stats: StatsSource;
  /** source address to bind (tests use 127.0.40.x) */
  bind?: string;
  log?: (msg: string) => void;
  now?: () => number;
}

export interface AgentHandle {
  readonly sent: () => number;
  readonly failed: () => number;
  stop(): Promise<void>;
}

export async function startAgent(o: AgentOptions): Promise<AgentHandle> {
  const family = o.collectorHost.includes(':') ? 'udp6' : 'udp4';
  const sock = dgram.createSocket(family);
  sock.on('error', (err) => o.log?.(`socket error: ${err.message}`));
  if (o.bind) await new Promise<void>((res, rej) => {
    sock.once('error', rej);
    sock.bind({ address: o.bind, port: 0 }, () => {
      sock.off('error', rej);
      res();
    });
  });
  const boot = randomBytes(4).toString('hex');
  const now = o.now ?? Date.now;
  let seq = 0;
  let sent = 0;
  let failed = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const send = async (kind: AgentMsgKind): Promise<void> => {
    let stats = {};
    try {
      stats = await o.stats();
    } catch (err) {
      o.log?.(`cannot read stats: ${(err as Error).message}`);
    }
    if (stopped) return;
    const { bytes, dropped } = encodeAgentMsg({ v: 2, kind, node: o.name, boot, seq: seq++, ts: now(), iv: o.intervalMs / 1000, stats }, o.secret);
    if (dropped.length) o.log?.(`left out to fit one datagram: ${dropped.join(', ')}`);
    await new Promise<void>((res) => sock.send(bytes, o.collectorPort, o.collectorHost, (err) => {
      if (err) {
        failed++;
        o.log?.(`send to ${o.collectorHost}:${o.collectorPort} failed: ${err.message}`);
      } else sent++;
      res();
    }));
  };

  // announce first, then a status at once and every interval (fixed rate, not drifting with collection time)
  await send('announce');
  let next = Date.now();
  const loop = async () => {
    if (stopped) return;
    await send('status');
    next += o.intervalMs;
    if (!stopped) timer = setTimeout(loop, Math.max(0, next - Date.now()));
  };
  void loop();

  return {
    sent: () => sent,
    failed: () => failed,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await new Promise<void>((res) => sock.close(() => res()));
    },
  };
}
