/** Agents → collector over loopback (127.0.40.x, UDP 26001-26019). */
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { parseConfig } from '../../src/engine/config.js';
import { builtinModules } from '../../src/backends/index.js';
import { startAgent, type AgentHandle } from '../../src/backends/agent/agent.js';
import { canonicalJson, deriveNodeKey, encodeAgentMsg, encodeV1, macOf } from '../../src/protocol/agent-msg.js';
import { toLine, type VacmEvent } from '../../src/protocol/events.js';
import { until } from '../helpers/wait.js';

const MASTER = 's3cret-for-tests';
/** each node's own key, as `vacm agent --print-key` gives it */
const key = (node: string) => deriveNodeKey(MASTER, node);
let dir: string;
let engine: Engine | undefined;
const agents: AgentHandle[] = [];

function config(port: number, extra = '') {
  return parseConfig(`cluster: lab
nodes:
  - names: node[1-3]
    vars: { host: "127.0.40.{n}" }
collector:
  listen: 127.0.40.254:${port}
  secret_file: ${path.join(dir, 'secret')}
  allowed_subnets: [127.0.40.0/24]
  window_s: 30
  miss: 2
${extra}`);
}

async function open(port: number, extra = ''): Promise<{ engine: Engine; events: VacmEvent[] }> {
  engine = new Engine({ config: config(port, extra), modules: builtinModules(), monitor: true, stateDir: path.join(dir, 'state'), localName: 'head' });
  const events: VacmEvent[] = [];
  engine.subscribe((e) => events.push(e));
  await engine.start();
  return { engine, events };
}

async function sendRaw(bytes: Buffer, port: number, from = '127.0.40.9'): Promise<void> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind({ address: from, port: 0 }, () => r()));
  await new Promise<void>((r) => s.send(bytes, port, '127.0.40.254', () => r()));
  s.close();
}

async function stats(e: Engine): Promise<Record<string, number>> {
  const job = e.submit('COLLECTOR:STATS');
  const v = await job.done;
  return Object.fromEntries(v.events.filter((x) => x.type === 'COUNTER').map((x) => [(x as { name: string }).name, (x as { value: number }).value]));
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-collector-'));
  fs.writeFileSync(path.join(dir, 'secret'), MASTER + '\n', { mode: 0o600 });
});

afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
  await engine?.stop();
  engine = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('collector over loopback', () => {
  it('takes an agent\'s stats into the node, its history, and marks it up', async () => {
    const { engine: e, events } = await open(26001);
    let n = 0;
    agents.push(await startAgent({ name: 'node1', collectorHost: '127.0.40.254', collectorPort: 26001, secret: key('node1'), intervalMs: 200, bind: '127.0.40.1', stats: async () => ({ load1: 1.25 + n++, cpu: 40, mem_used_pct: 50 }) }));
    await until('node1 load 2.25', () => (e.node('node1')?.stats?.load1 as number) >= 2.25);
    expect(e.node('node1')?.state).toBe('up');
    expect(events.map(toLine)).toContain('NEXXUS:0:NODE_UP:node1');
    const h = e.history.query(['node1'], Date.now() - 60_000, Date.now() + 1000).get('node1')!;
    expect(h.values.load1.length).toBeGreaterThan(0);
    const c = await stats(e);
    expect(c.accepted).toBeGreaterThanOrEqual(2);
    expect(c.rejected_hmac).toBe(0);
  });

  it('counts and drops a wrong MAC, a replay, an oversized, a malformed, a foreign-subnet datagram; accepts an old schema', async () => {
    const { engine: e } = await open(26002);
    const good = encodeAgentMsg({ v: 2, kind: 'status', node: 'node2', boot: 'b1', seq: 1, ts: Date.now(), iv: 5, stats: { load1: 3 } }, key('node2')).bytes;
    await sendRaw(good, 26002, '127.0.40.2');
    await sendRaw(good, 26002, '127.0.40.2'); // replay
    await sendRaw(encodeAgentMsg({ v: 2, kind: 'status', node: 'node2', boot: 'b1', seq: 2, ts: Date.now(), iv: 5, stats: { load1: 3 } }, 'wrong secret').bytes, 26002, '127.0.40.2');
    await sendRaw(Buffer.alloc(1400, 0x7b), 26002);
    await sendRaw(Buffer.from('{"v":2,"k":'), 26002);
    await sendRaw(good, 26002, '127.0.41.9'); // not in allowed_subnets
    const body = { v: 2, k: 'status', node: 'node2', boot: 'b1', seq: 3, ts: Date.now() - 3_600_000, iv: 5, s: {} };
    await sendRaw(Buffer.from(JSON.stringify({ ...body, mac: macOf(canonicalJson(body), key('node2')) })), 26002, '127.0.40.2');
    await sendRaw(encodeAgentMsg({ v: 2, kind: 'status', node: 'node2', boot: 'b1', seq: 4, ts: Date.now(), iv: 5, stats: {} }, key('node2')).bytes, 26002, '127.0.40.9'); // not node2's host
    await sendRaw(encodeV1({ type: 'status', host: 'node3', seq: 1, time: Date.now() / 1000, load: [0.5, 0.4, 0.3] }, key('node3')), 26002, '127.0.40.3');
    await until('node3 load 0.5', () => e.node('node3')?.stats?.load1 === 0.5);
    await until('node2 load 3', () => (e as Engine).node('node2')?.stats?.load1 === 3);
    const c = await stats(e);
    expect(c).toMatchObject({ received: 9, accepted: 2, upgraded: 1, rejected_replay: 1, rejected_hmac: 1, rejected_size: 1, rejected_json: 1, rejected_subnet: 1, rejected_stale: 1, rejected_address: 1 });
    const line = (await e.submit('COLLECTOR:STATS').done).events.map(toLine);
    expect(line).toContain(`COLLECTOR:${line[0].split(':')[1]}:COUNTER:rejected_hmac:1`);
  });

  it('declares a node down when its agent stops, with the reason', async () => {
    const { engine: e, events } = await open(26003);
    const a = await startAgent({ name: 'node1', collectorHost: '127.0.40.254', collectorPort: 26003, secret: key('node1'), intervalMs: 200, bind: '127.0.40.1', stats: async () => ({ load1: 1 }) });
    await until('node1 up', () => e.node('node1')?.state === 'up');
    await a.stop();
    await until('node1 down', () => e.node('node1')?.state === 'down');
    const down = events.map(toLine).find((l) => l.startsWith('NEXXUS:0:NODE_DOWN:node1:'));
    expect(down).toMatch(/^NEXXUS:0:NODE_DOWN:node1:agent silent for \d+ s$/);
  });

  it('discovers an unknown agent, caches it, and NEXXUS:ADOPT adds it to the nodelist', async () => {
    const { engine: e, events } = await open(26004);
    agents.push(await startAgent({ name: 'newbox', collectorHost: '127.0.40.254', collectorPort: 26004, secret: key('newbox'), intervalMs: 200, bind: '127.0.40.77', stats: async () => ({ load1: 2 }) }));
    await until('a DISCOVERED event', () => events.some((x) => x.type === 'DISCOVERED'));
    expect(events.map(toLine)).toContain('NEXXUS:0:DISCOVERED:newbox:127.0.40.77');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'state', 'discovered.json'), 'utf8')).newbox.addr).toBe('127.0.40.77');
    expect(e.node('newbox')).toBeUndefined();
    const refused = await e.submit('NEXXUS:ADOPT:nobody').done;
    expect(refused.events.map(toLine)).toEqual([`NEXXUS:${refused.id}:ERROR:nobody:ERR_NO_SUCH_NODE:nobody has not been discovered\\: only hosts whose agent announced itself to the collector can be adopted (add others to vacm.yaml)`, `NEXXUS:${refused.id}:JOB_COMPLETED:ok=0:failed=1`]);
    const v = await e.submit('NEXXUS:ADOPT:newbox').done;
    expect(v.events.map(toLine)).toContain(`NEXXUS:${v.id}:NODELIST:newbox`);
    expect(e.node('newbox')?.vars.host).toBe('127.0.40.77');
    expect(e.groups().discovered).toEqual(['newbox']);
    expect(e.resolve('@discovered')).toEqual(['newbox']);
    await until('newbox up', () => e.node('newbox')?.state === 'up');
    expect(e.node('newbox')?.stats?.load1).toBe(2);
    expect(fs.readFileSync(path.join(dir, 'state', 'audit.jsonl'), 'utf8')).toContain('NEXXUS:ADOPT:newbox');
  });

  it('classifies and counts 10 000 mutated datagrams without crashing (fuzz through the collector)', async () => {
    const { engine: e } = await open(26006);
    const mod = e.registry.module('COLLECTOR') as unknown as { core(): import('../../src/backends/collector/module.js').CollectorCore };
    const core = mod.core();
    let x = 0x9e3779b9;
    const rnd = () => {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      return x / 0x1_0000_0000;
    };
    const base = encodeAgentMsg({ v: 2, kind: 'status', node: 'node1', boot: 'f1', seq: 1, ts: Date.now(), iv: 5, stats: { load1: 1, cpu: 2 } }, key('node1')).bytes;
    const N = 10_000;
    for (let i = 0; i < N; i++) {
      const b = Buffer.from(base);
      const flips = 1 + Math.floor(rnd() * 3);
      for (let k = 0; k < flips; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      const cut = rnd() < 0.2 ? b.subarray(0, Math.floor(rnd() * b.length)) : b;
      core.handle(cut, rnd() < 0.05 ? '10.9.9.9' : '127.0.40.1');
    }
    const c = await stats(e);
    const rejected = Object.entries(c).filter(([k]) => k.startsWith('rejected_')).reduce((a, [, v]) => a + v, 0);
    expect(c.received).toBe(N);
    expect(c.accepted + rejected).toBe(N);
    expect(c.rejected_subnet).toBeGreaterThan(0);
    expect(c.rejected_json + c.rejected_hmac + c.rejected_schema).toBeGreaterThan(N * 0.5);
  });

  it('says where the collector runs when asked for its counters in a one-shot engine', async () => {
    engine = new Engine({ config: config(26007), modules: builtinModules(), monitor: false, stateDir: path.join(dir, 'state') });
    await engine.start();
    const v = await engine.submit('COLLECTOR:STATS').done;
    expect(v.error).toEqual({ code: 'ERR_COLLECTOR', message: expect.stringMatching(/^no collector runs in this process: it runs in vacm serve/) });
  });

  it('refuses a collector section without a secret file, saying what to write', async () => {
    engine = new Engine({ config: parseConfig('nodes:\n  - names: n1\ncollector:\n  listen: 127.0.40.254:26005\n'), modules: builtinModules(), monitor: true, stateDir: path.join(dir, 'state') });
    await expect(engine.start()).rejects.toThrow(/collector.secret_file: required/);
  });
});
