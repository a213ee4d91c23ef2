/**
 * The collector's socket read in batches at low rates (src/backends/collector/coalesce.ts): every
 * datagram is still read, exactly once, whatever the bursts; the pause is taken only after a
 * wake-up that emptied the socket; a Node without the handle is read as before; closing leaves the
 * socket readable and no timer. Loopback only (127.0.0.1, ports the kernel picks).
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FULL_BATCH, coalesceReads, type Coalescer } from '../../src/backends/collector/coalesce.js';
import { Engine } from '../../src/engine/engine.js';
import { parseConfig } from '../../src/engine/config.js';
import { builtinModules } from '../../src/backends/index.js';
import { deriveNodeKey, encodeAgentMsg } from '../../src/protocol/agent-msg.js';
import { eventually, until } from '../helpers/wait.js';

const open: { close(): void }[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

async function socket(): Promise<dgram.Socket> {
  // the collector's receive buffer: the bursts below fit in it (the default 208 KiB holds ~250 of them)
  const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  open.push(s);
  return s;
}

/** a receiver whose reads are coalesced, with the handle's stops and starts counted */
async function receiver(pauseMs: number, withHandle = true, maxRate?: number) {
  const s = await socket();
  const got: number[] = [];
  let stops = 0;
  let starts = 0;
  const c: Coalescer = coalesceReads(s, pauseMs, withHandle
    ? (sock) => {
      const sym = Object.getOwnPropertySymbols(sock).find((x) => x.description === 'state symbol')!;
      const state = (sock as unknown as Record<symbol, { handle: { recvStart(): number; recvStop(): number } | null }>)[sym];
      return () => {
        const h = state.handle;
        return h && { recvStop: () => (stops++, h.recvStop()), recvStart: () => (starts++, h.recvStart()) };
      };
    }
    : () => undefined, maxRate);
  s.on('message', (m) => {
    c.onMessage();
    got.push(m.readUInt32BE(0));
  });
  return { s, c, got, port: s.address().port, stops: () => stops, starts: () => starts };
}

async function sendBurst(to: number, first: number, n: number): Promise<void> {
  const s = await socket();
  let left = n;
  await new Promise<void>((r) => {
    for (let i = 0; i < n; i++) {
      const b = Buffer.alloc(64);
      b.writeUInt32BE(first + i, 0);
      s.send(b, to, '127.0.0.1', () => void (--left === 0 && r()));
    }
  });
}

describe('the collector reads its socket in batches at low rates', () => {
  it('reads every datagram of bursts of every size exactly once, pausing after a wake-up that emptied the socket', async () => {
    const r = await receiver(10);
    expect(r.c.coalesced).toBe(true);
    // bursts around libuv's batch of FULL_BATCH, and one far above it (the kernel buffer holds it)
    const bursts = [1, 2, 5, FULL_BATCH - 1, FULL_BATCH, FULL_BATCH + 1, 2 * FULL_BATCH, 500, 1500, 1];
    let sent = 0;
    for (const n of bursts) {
      await sendBurst(r.port, sent, n);
      sent += n;
      await until(`${sent} datagrams read`, () => r.got.length >= sent);
    }
    expect(r.got.length).toBe(sent);
    expect(new Set(r.got).size).toBe(sent);
    expect(Math.max(...r.got)).toBe(sent - 1);
    // it did pause, and every pause ended: the socket is read again
    expect(r.stops()).toBeGreaterThan(0);
    await until('the last pause ended', () => r.starts() === r.stops());
    await sendBurst(r.port, sent, 1);
    await until('a datagram after the pauses', () => r.got.length === sent + 1);
  });

  it('reads as it comes, and says so, where the socket has no handle it knows (the fallback)', async () => {
    const r = await receiver(10, false);
    expect(r.c.coalesced).toBe(false);
    let sent = 0;
    for (const n of [1, 40, 1000]) {
      await sendBurst(r.port, sent, n);
      sent += n;
      await until(`${sent} datagrams read`, () => r.got.length >= sent);
    }
    expect(new Set(r.got).size).toBe(sent);
    expect(r.stops()).toBe(0);
  });

  it('takes no pause once the last whole second\'s rate reached maxRate (the socket read as before)', async () => {
    const r = await receiver(10, true, 5); // 5 datagrams a second is a high rate here
    await sendBurst(r.port, 0, 20);
    await until('20 datagrams read', () => r.got.length === 20);
    await until('the first pause ended', () => r.stops() >= 1 && r.starts() === r.stops());
    await new Promise((res) => setTimeout(res, 1100)); // the first second's window closes at the next wake-up
    const stops = r.stops();
    let sent = 20;
    for (let k = 0; k < 5; k++) {
      await sendBurst(r.port, sent, 10);
      sent += 10;
      await until(`${sent} datagrams read`, () => r.got.length === sent);
    }
    expect(r.stops()).toBe(stops);
    expect(new Set(r.got).size).toBe(sent);
  });

  it('a pause of 0 is no coalescing', async () => {
    const r = await receiver(0);
    expect(r.c.coalesced).toBe(false);
    await sendBurst(r.port, 0, 3);
    await until('3 datagrams read', () => r.got.length === 3);
    expect(r.stops()).toBe(0);
  });

  it('closing it while paused reads the socket again at once, and the socket closes cleanly', async () => {
    const r = await receiver(60_000); // a pause no test waits for
    await sendBurst(r.port, 0, 1);
    await until('the first datagram', () => r.got.length === 1);
    await until('the socket paused', () => r.stops() === 1);
    await sendBurst(r.port, 1, 1);
    // paused for a minute: the second datagram waits in the kernel
    expect(await eventually(() => r.got.length === 2, 300)).toBe(false);
    r.c.close();
    await until('the waiting datagram, read once closed', () => r.got.length === 2);
    expect(r.starts()).toBe(1);
    await new Promise<void>((res) => r.s.close(() => res()));
    open.splice(open.indexOf(r.s), 1);
  });
});

describe('the collector module, its reads coalesced', () => {
  let dir: string | undefined;
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('accepts every one of 4000 signed statuses sent in bursts from 200 nodes', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-coalesce-'));
    const master = 'coalesce-master-secret-for-tests';
    fs.writeFileSync(path.join(dir, 'secret'), master, { mode: 0o600 });
    engine = new Engine({
      config: parseConfig(`cluster: lab
nodes:
  - names: n[1-200]
    vars: { host: "127.0.0.1" }
collector:
  listen: 127.0.0.1:0
  secret_file: ${path.join(dir, 'secret')}
  allowed_subnets: [127.0.0.0/8]
`),
      modules: builtinModules(),
      monitor: true,
      stateDir: path.join(dir, 'state'),
      localName: 'head',
    });
    await engine.start();
    const mod = engine.registry.module('COLLECTOR') as unknown as { address(): { port: number }; counters: { received: number; accepted: number } };
    const port = mod.address().port;
    const s = await socket();
    const keys = Array.from({ length: 200 }, (_, i) => deriveNodeKey(master, `n${i + 1}`));
    const ts = Date.now();
    let sent = 0;
    // rounds of every node once, in bursts of 1 to 400 datagrams with gaps between them
    for (let round = 0; round < 20; round++) {
      const burst = [1, 3, 7, 31, 32, 33, 93, 200, 400][round % 9];
      for (let i = 0; i < 200; i += burst) {
        const n = Math.min(burst, 200 - i);
        await new Promise<void>((r) => {
          let left = n;
          for (let k = i; k < i + n; k++) {
            const b = encodeAgentMsg({ v: 2, kind: 'status', node: `n${k + 1}`, boot: 'b1', seq: round + 1, ts: ts + round, iv: 1, stats: { load1: round } }, keys[k]).bytes;
            s.send(b, port, '127.0.0.1', () => void (--left === 0 && r()));
          }
        });
        sent += n;
        if (burst < 32) await new Promise((r) => setTimeout(r, 2));
      }
    }
    await until(() => `${sent} accepted (have ${mod.counters.accepted} of ${mod.counters.received})`, () => mod.counters.received >= sent);
    expect(mod.counters.received).toBe(sent);
    expect(mod.counters.accepted).toBe(sent);
    expect(engine.node('n200')?.stats?.load1).toBe(19);
    expect(engine.node('n1')?.state).toBe('up');
  });
});
