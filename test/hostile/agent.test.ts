/**
 * Hostile agents and networks (issue 10, item 4): forged, replayed, mis-keyed and malformed agent
 * datagrams, and unsafe secret files.
 *
 * The fuzz drives the collector core (decoder, validator, replay memory, discovery, silence) with a
 * small in-memory host and needs no socket. The "real processes" block runs `vacm serve` and
 * `vacm agent` on loopback (127.0.40.x, 127.0.0.99; UDP/TCP 26451-26459): run it under the lock,
 *   flock /tmp/vacm-peers.lock npx vitest run test/hostile/agent.test.ts
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, vacm } from '../helpers/cli.js';
import { CollectorCore, DISCOVERED_FILE, REPLAY_FILE, parseCollectorSection } from '../../src/backends/collector/module.js';
import { canonicalJson, deriveNodeKey, encodeAgentMsg, encodeV1, macOf, REJECT_REASONS, type AgentMsg, type RejectReason } from '../../src/protocol/agent-msg.js';
import type { ModuleHost, NodeView } from '../../src/protocol/module.js';
import type { NodeState } from '../../src/protocol/events.js';

const MASTER = 'hostile-test-master-secret';
const key = (node: string) => deriveNodeKey(MASTER, node);

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-hostile-agent-'));
  fs.writeFileSync(path.join(dir, 'master'), MASTER + '\n', { mode: 0o600 });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** What the collector core needs of the engine, in memory: nodes with vars, the states it sets, the events it emits. */
function fakeHost(nodes: Record<string, string>, stateDir: string) {
  const state = new Map<string, NodeState>(Object.keys(nodes).map((n) => [n, 'unknown']));
  const ups: string[] = [];
  const discovered: string[] = [];
  const view = (name: string): NodeView | undefined =>
    nodes[name] === undefined ? undefined : { name, groups: [], vars: { host: nodes[name] }, state: state.get(name)!, stateSince: 0, power: 'unknown', local: false, loadHistory: [] };
  const host = {
    stateDir,
    node: (name: string) => (Object.hasOwn(nodes, name) ? view(name) : undefined),
    setNodeState(node: string, s: NodeState) {
      if (s === 'up' && state.get(node) !== 'up') ups.push(node);
      state.set(node, s);
    },
    recordStats() {},
    emitUnsolicited(_tag: string, body: { type: string; host?: string }) {
      if (body.type === 'DISCOVERED') discovered.push(body.host!);
    },
    log() {},
  } as unknown as ModuleHost;
  return { host, state, ups, discovered };
}

function section(extra: Record<string, unknown> = {}) {
  return parseCollectorSection({ secret_file: path.join(dir, 'master'), allowed_subnets: ['127.0.0.0/8'], miss: 2, max_interval_s: 10, max_discovered: 50, ...extra });
}

/** xorshift32: the same fuzz on every run */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

type Kind = 'valid' | 'valid_v1' | 'unbound' | 'mutated' | 'random' | 'wrong_key' | 'other_node_key' | 'master_key' | 'forged_source' | 'outside_subnet' | 'replayed' | 'stale' | 'announce';

/** What each kind must come to: accepted, or refused for this reason (`mutated`: anything but accepted). */
const EXPECT: Record<Kind, 'ok' | RejectReason | 'rejected' | 'announce'> = {
  valid: 'ok', valid_v1: 'ok', unbound: 'ok',
  mutated: 'rejected', random: 'rejected',
  wrong_key: 'hmac', other_node_key: 'hmac', master_key: 'hmac',
  forged_source: 'address', outside_subnet: 'subnet', replayed: 'replay', stale: 'stale',
  announce: 'announce',
};

describe('fuzz: 10 000 hostile datagrams through the collector core', () => {
  it('accepts only what is valid for that node from its address, never throws, stays bounded, and caps the interval', () => {
    const NODES: Record<string, string> = { 'node9': 'node9.example' }; // a host name: nothing to bind to
    for (let n = 1; n <= 8; n++) NODES[`node${n}`] = `127.0.40.${n}`;
    const bound = Object.keys(NODES).filter((n) => n !== 'node9');
    const { host, state, ups, discovered } = fakeHost(NODES, path.join(dir, 'state'));
    const core = new CollectorCore(host, section());
    const r = rng(20261201);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
    const seq: Record<string, number> = {};
    const accepted: { bytes: Buffer; from: string; at: number }[] = []; // the valid datagrams sent so far: sources of mutations and replays
    const T0 = 1_800_000_000_000;
    let now = T0;
    const status = (node: string, over: Partial<AgentMsg> = {}, k: string | Buffer = key(node)) => {
      seq[node] = (seq[node] ?? 0) + 1;
      const iv = r() < 0.3 ? 3600 : pick([0.5, 1, 5, 10]); // a sender-chosen huge interval, often
      return encodeAgentMsg({ v: 2, kind: 'status', node, boot: 'b0', seq: seq[node], ts: now, iv, stats: { load1: r() * 4 }, ...over }, k).bytes;
    };
    const kinds: Kind[] = ['valid', 'valid', 'valid', 'valid_v1', 'unbound', 'mutated', 'mutated', 'mutated', 'random', 'wrong_key', 'other_node_key', 'master_key', 'forged_source', 'outside_subnet', 'replayed', 'stale', 'announce', 'announce'];
    const seen: Record<string, number> = {};
    const mismatches: string[] = [];
    let announcesOk = 0;
    const lastIv: Record<string, number> = {};
    const N = 10_000;
    for (let i = 0; i < N; i++) {
      now += 7;
      let kind = pick(kinds);
      if ((kind === 'mutated' || kind === 'replayed') && accepted.length === 0) kind = 'valid';
      const node = pick(bound);
      let bytes: Buffer;
      let from = NODES[node];
      let replayAge = 0;
      switch (kind) {
        case 'valid': bytes = status(node); break;
        case 'valid_v1':
          seq[node] = (seq[node] ?? 0) + 1;
          // v1 has no boot: it is the incarnation "v1", a separate sequence
          bytes = encodeV1({ type: 'status', host: node, seq: 1_000_000 + seq[node], time: now / 1000, load: [1, 1, 1] }, key(node));
          break;
        case 'unbound': bytes = status('node9'); from = `127.0.${Math.floor(r() * 250)}.${1 + Math.floor(r() * 250)}`; break;
        case 'mutated': {
          const orig = pick(accepted);
          bytes = Buffer.from(orig.bytes);
          for (let k = 0, ops = 1 + Math.floor(r() * 4); k < ops; k++) {
            const op = Math.floor(r() * 5);
            const at = Math.floor(r() * Math.max(1, bytes.length));
            if (op === 0 && bytes.length) bytes[at] = Math.floor(r() * 256);
            else if (op === 1) bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + Math.floor(r() * 8))]);
            else if (op === 2) bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(pick(['"', '{', '}', ':', ',', '9', ' ', '\\', '[', 'null', '3600'])), bytes.subarray(at)]);
            else if (op === 3) bytes = bytes.subarray(0, at);
            else {
              // a field changed under the old MAC, or re-signed with a key that is not this node's
              const o = JSON.parse(orig.bytes.toString()) as Record<string, unknown>;
              o[pick(['node', 'seq', 'ts', 'iv', 'boot', 'k'])] = pick([3600, 1e308, -1, 'node2', 'node9', 'announce', '', null, now + 1]);
              const { mac: _m, ...body } = o;
              bytes = Buffer.from(JSON.stringify(r() < 0.5 ? o : { ...body, mac: macOf(canonicalJson(body), pick([MASTER, key('nobody'), 'x'])) }));
            }
          }
          // a mutation that still parses to the same message is a replay of one already accepted
          from = orig.from;
          break;
        }
        case 'random': bytes = Buffer.from(Array.from({ length: Math.floor(r() * 1400) }, () => Math.floor(r() * 256))); break;
        case 'wrong_key': bytes = status(node, {}, `random key ${r()}`); break;
        case 'other_node_key': bytes = status(node, {}, key(pick(bound.filter((m) => m !== node)))); break;
        case 'master_key': bytes = status(node, {}, MASTER); break;
        case 'forged_source': {
          bytes = status(node);
          do from = `127.0.${pick([0, 40, 41])}.${1 + Math.floor(r() * 250)}`; while (from === NODES[node]);
          break;
        }
        case 'outside_subnet': bytes = status(node); from = pick(['10.0.0.1', '192.0.2.7', '::1', 'fd00::7']); break;
        case 'replayed': {
          const orig = pick(accepted);
          ({ bytes, from } = orig);
          replayAge = now - orig.at;
          break;
        }
        case 'stale': bytes = status(node, { ts: now - 31_000 - Math.floor(r() * 1e9) }); break;
        case 'announce': {
          // new hosts, each with its own (derived) key, from a few addresses: discovery is capped, announces rate-limited
          const name = `new${Math.floor(r() * 400)}`;
          seq[name] = (seq[name] ?? 0) + 1;
          bytes = encodeAgentMsg({ v: 2, kind: 'announce', node: name, boot: 'b0', seq: seq[name], ts: now, iv: 5, stats: {} }, key(name)).bytes;
          from = `127.0.50.${1 + Math.floor(r() * 20)}`;
          break;
        }
      }
      seen[kind] = (seen[kind] ?? 0) + 1;
      const res = core.handle(bytes, from, now);
      // a replay older than collector.window_s (30 s) is already stale
      const want = kind === 'replayed' && replayAge > 30_000 ? 'stale' : EXPECT[kind];
      if (want === 'announce') {
        if (!res.ok && res.reason === 'unknown_node') announcesOk++;
        else if (res.ok || !['rate', 'discovery_limit'].includes(res.reason)) mismatches.push(`${i} announce: ${JSON.stringify(res)}`);
        continue;
      }
      const got = res.ok ? 'ok' : res.reason;
      const fine = want === 'rejected' ? !res.ok && res.reason !== 'unknown_node' : got === want;
      if (!fine) mismatches.push(`${i} ${kind} ${node} from ${from}: want ${want}, got ${got}`);
      if (res.ok && kind !== 'valid_v1') accepted.push({ bytes, from, at: now });
      if (res.ok) lastIv[res.msg.node] = res.msg.iv;
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
    for (const k of Object.keys(EXPECT)) expect(seen[k], k).toBeGreaterThan(100);

    const c = core.counters.counters();
    const rejected = REJECT_REASONS.reduce((a, x) => a + c[`rejected_${x}`], 0);
    expect(c.received).toBe(N);
    expect(c.accepted + rejected).toBe(N);
    expect(c.accepted).toBe(seen.valid + seen.valid_v1 + seen.unbound + announcesOk);
    for (const x of ['address', 'hmac', 'replay', 'stale', 'subnet', 'json', 'rate', 'discovery_limit'] as const) expect(c[`rejected_${x}`], x).toBeGreaterThan(0);
    expect(c.capped_interval).toBeGreaterThan(0);

    // bounded: discoveries stop at collector.max_discovered, in memory, on disk and in events
    const sizes = core.sizes();
    expect(sizes.discovered).toBe(50);
    expect(new Set(discovered).size).toBe(50);
    expect(Object.keys(JSON.parse(fs.readFileSync(path.join(dir, 'state', DISCOVERED_FILE), 'utf8'))).length).toBe(50);
    expect(sizes.announceBuckets).toBeLessThanOrEqual(20);
    expect(sizes.seen).toBe(9);

    // every bound node came up only through datagrams valid for it; iv 3600 keeps none up past
    // miss (2) x max_interval_s (10): all are down 21 s after the last datagram
    expect(new Set(ups)).toEqual(new Set(Object.keys(NODES)));
    expect([...state.values()].filter((s) => s === 'up').length).toBe(9);
    expect(Object.values(lastIv).filter((iv) => iv === 3600).length).toBeGreaterThan(0);
    core.checkSilence(now + 21_000);
    expect(Object.fromEntries(state)).toEqual(Object.fromEntries(Object.keys(NODES).map((n) => [n, 'down'])));
  });
});

describe('the collector\'s state files', () => {
  it('keeps the replay memory across a restart: a datagram accepted before is refused after', async () => {
    const nodes = { node1: '127.0.40.1' };
    const a = fakeHost(nodes, path.join(dir, 'state'));
    const first = new CollectorCore(a.host, section());
    const d = encodeAgentMsg({ v: 2, kind: 'status', node: 'node1', boot: 'b1', seq: 5, ts: Date.now(), iv: 1, stats: {} }, key('node1')).bytes;
    expect(first.handle(d, '127.0.40.1').ok).toBe(true);
    await first.persist(Date.now(), true);
    const file = path.join(dir, 'state', REPLAY_FILE);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const b = fakeHost(nodes, path.join(dir, 'state'));
    const second = new CollectorCore(b.host, section());
    expect(second.handle(d, '127.0.40.1')).toEqual({ ok: false, reason: 'replay' });
    expect(b.ups).toEqual([]);
    const next = encodeAgentMsg({ v: 2, kind: 'status', node: 'node1', boot: 'b1', seq: 6, ts: Date.now(), iv: 1, stats: {} }, key('node1')).bytes;
    expect(second.handle(next, '127.0.40.1').ok).toBe(true);
  });

  it('writes no more often than every few seconds, however many datagrams arrive', async () => {
    const h = fakeHost({ node1: '127.0.40.1' }, path.join(dir, 'state'));
    const core = new CollectorCore(h.host, section());
    const file = path.join(dir, 'state', REPLAY_FILE);
    const t = Date.now();
    let writes = 0;
    for (let i = 1; i <= 100; i++) {
      core.handle(encodeAgentMsg({ v: 2, kind: 'status', node: 'node1', boot: 'b1', seq: i, ts: t, iv: 1, stats: {} }, key('node1')).bytes, '127.0.40.1', t);
      const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
      await core.persist(t + i * 10); // 1 s of datagrams, 10 ms apart
      if ((fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '') !== before) writes++;
    }
    expect(writes).toBe(1);
    await core.persist(t + 6000);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).entries).toEqual([['node1', { boot: 'b1', seq: 100, ts: t }]]);
  });

  it('never writes through a planted symlink, and ignores symlinked or oversized files on reading', async () => {
    const state = path.join(dir, 'state');
    fs.mkdirSync(state, { mode: 0o700 });
    const victim = path.join(dir, 'victim');
    fs.writeFileSync(victim, 'precious\n');
    fs.symlinkSync(victim, path.join(state, REPLAY_FILE + '.tmp'));
    fs.symlinkSync(victim, path.join(state, DISCOVERED_FILE + '.tmp'));
    fs.symlinkSync(victim, path.join(state, REPLAY_FILE));
    const h = fakeHost({ node1: '127.0.40.1' }, state);
    const core = new CollectorCore(h.host, section());
    core.handle(encodeAgentMsg({ v: 2, kind: 'status', node: 'node1', boot: 'b1', seq: 1, ts: Date.now(), iv: 1, stats: {} }, key('node1')).bytes, '127.0.40.1');
    core.handle(encodeAgentMsg({ v: 2, kind: 'announce', node: 'newbox', boot: 'b1', seq: 1, ts: Date.now(), iv: 1, stats: {} }, key('newbox')).bytes, '127.0.40.77');
    await core.persist(Date.now(), true);
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(fs.lstatSync(path.join(state, REPLAY_FILE)).isSymbolicLink()).toBe(false);
    expect(fs.statSync(path.join(state, DISCOVERED_FILE)).mode & 0o777).toBe(0o600);
    // a discovered.json with more hosts than the cap, and junk, loads only the newest good ones
    const many: Record<string, unknown> = { 'bad name': { addr: '127.0.0.1', first: 'x', last: 'z' }, junk: 'x', noaddr: { addr: 'nowhere', first: 'a', last: 'b' } };
    for (let i = 0; i < 200; i++) many[`h${i}`] = { addr: '127.0.60.1', first: '2026', last: `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}.${String(i).padStart(3, '0')}Z` };
    fs.writeFileSync(path.join(state, DISCOVERED_FILE), JSON.stringify(many));
    const again = new CollectorCore(fakeHost({}, state).host, section({ max_discovered: 10 }));
    expect(again.sizes().discovered).toBe(10);
  });
});
