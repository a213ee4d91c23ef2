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
import { until } from '../helpers/wait.js';

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
    onVarChange: () => () => {},
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
    expect(sizes.keys).toBe(9); // derived keys are kept for nodelist nodes only, not for every name claimed

    // every bound node came up only through datagrams valid for it; iv 3600 keeps none up past
    // miss (2) x max_interval_s (10): all are down 21 s after the last datagram
    expect(new Set(ups)).toEqual(new Set(Object.keys(NODES)));
    expect([...state.values()].filter((s) => s === 'up').length).toBe(9);
    expect(Object.values(lastIv).filter((iv) => iv === 3600).length).toBeGreaterThan(0);
    core.checkSilence(now + 21_000);
    expect(Object.fromEntries(state)).toEqual(Object.fromEntries(Object.keys(NODES).map((n) => [n, 'down'])));
  });
});

describe('collector options that relax or bridge the defences', () => {
  const d = (node: string, seq: number, k: string | Buffer = key(node)) => encodeAgentMsg({ v: 2, kind: 'status', node, boot: 'b', seq, ts: Date.now(), iv: 1, stats: {} }, k).bytes;

  it('bind_address: false lets a node send from another address (its key still has to match)', () => {
    const strict = new CollectorCore(fakeHost({ node1: '127.0.40.1' }, path.join(dir, 's1')).host, section());
    expect(strict.handle(d('node1', 1), '127.0.0.99')).toEqual({ ok: false, reason: 'address' });
    const relaxed = new CollectorCore(fakeHost({ node1: '127.0.40.1' }, path.join(dir, 's2')).host, section({ bind_address: false }));
    expect(relaxed.handle(d('node1', 1), '127.0.0.99').ok).toBe(true);
    expect(relaxed.handle(d('node1', 2, key('node2')), '127.0.0.99')).toEqual({ ok: false, reason: 'hmac' });
  });

  it('legacy_secret_file accepts agents still on the old shared secret, counted, and must differ from the master', () => {
    fs.writeFileSync(path.join(dir, 'old'), 'the-old-shared-secret\n', { mode: 0o600 });
    const core = new CollectorCore(fakeHost({ node1: '127.0.40.1' }, path.join(dir, 's3')).host, section({ legacy_secret_file: path.join(dir, 'old') }));
    expect(core.handle(d('node1', 1, 'the-old-shared-secret'), '127.0.40.1').ok).toBe(true);
    expect(core.handle(d('node1', 2, 'the-old-shared-secret'), '127.0.0.99')).toEqual({ ok: false, reason: 'address' });
    expect(core.handle(d('node1', 3), '127.0.40.1').ok).toBe(true);
    expect(core.counters.counters()).toMatchObject({ accepted: 2, legacy_secret: 1 });
    const without = new CollectorCore(fakeHost({ node1: '127.0.40.1' }, path.join(dir, 's4')).host, section());
    expect(without.handle(d('node1', 1, 'the-old-shared-secret'), '127.0.40.1')).toEqual({ ok: false, reason: 'hmac' });
    expect(() => section({ legacy_secret_file: path.join(dir, 'master') })).toThrow(/collector.legacy_secret_file: holds the same secret as secret_file/);
  });

  it.each<[Record<string, unknown>, RegExp]>([
    [{ bind_address: 'yes' }, /collector.bind_address: must be true/],
    [{ max_interval_s: 0 }, /collector.max_interval_s: must be seconds \(0.1-3600\)/],
    [{ max_discovered: -1 }, /collector.max_discovered: must be a whole number/],
  ])('refuses %o with what to write', (extra, message) => {
    expect(() => section(extra)).toThrow(message);
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

// ---- real processes: vacm serve and vacm agent on loopback ---------------------------------------

const COLLECTOR = '127.0.40.254';
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function start(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; err: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, err: () => err, exited };
}

async function metric(port: number, re: RegExp): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://${COLLECTOR}:${port}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    const m = re.exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
const rejected = (port: number, reason: string) => metric(port, new RegExp(`^vacm_collector_rejected_total\\{reason="${reason}"\\} (\\d+)$`, 'm'));
const nodeUp = (port: number, node: string) => metric(port, new RegExp(`^vacm_node_up\\{node="${node}"\\} (\\d)$`, 'm'));

/** One datagram from `from` (any loopback address: the kernel lets us bind 127.0.0.99). */
async function sendFrom(from: string, port: number, bytes: Buffer): Promise<void> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind({ address: from, port: 0 }, () => r()));
  await new Promise<void>((r) => s.send(bytes, port, COLLECTOR, () => r()));
  await new Promise<void>((r) => s.close(() => r()));
}

function writeConfig(port: number, extra = ''): string {
  const cfg = path.join(dir, 'vacm.yaml');
  fs.writeFileSync(cfg, `cluster: hostile
nodes:
  - names: node[1-3]
    vars: { host: "127.0.40.{n}" }
collector:
  listen: ${COLLECTOR}:${port}
  secret_file: ${path.join(dir, 'master')}
  allowed_subnets: [127.0.0.0/8]
  miss: 2
  max_interval_s: 1
# the agent is the only evidence under test (every 127.x address answers ping)
ping:
  enabled: false
hooks:
  - command: 'echo "$VACM_NODE $VACM_STATE" >> ${path.join(dir, 'hook-ran')}'
    on: [up]
${extra}`, { mode: 0o600 });
  return cfg;
}

function serve(port: number, metrics: number) {
  const s = start(['serve', '--config', writeConfig(port), '--metrics', `${COLLECTOR}:${metrics}`, '--snapshot-every', '3600'], { VACM_STATE_DIR: path.join(dir, 'state') });
  return { ...s, ready: until('serve start', () => s.err().includes('metrics on') || undefined, 30_000) };
}

/** A node's key as the operator makes it on the head node, in a 0600 file. */
async function keyFile(node: string): Promise<string> {
  const r = await vacm(['agent', '--print-key', node, '--secret-file', path.join(dir, 'master')]);
  expect(r.code).toBe(0);
  expect(r.out).toBe(key(node) + '\n');
  const f = path.join(dir, `${node}.key`);
  fs.writeFileSync(f, r.out, { mode: 0o600 });
  return f;
}

const upLines = (err: string, node: string) => err.split('\n').filter((l) => l.endsWith(`event NEXXUS:0:NODE_UP:${node}`)).length;

describe('real processes: vacm serve and vacm agent on loopback', () => {
  it('a datagram forged from another address does not revive a dead node, nor does another node\'s key', async () => {
    const s = serve(26451, 26452);
    await s.ready;
    const k1 = await keyFile('node1');
    const k2 = await keyFile('node2');
    // node1's real agent: up (the hook runs), then stopped: down
    const agent = start(['agent', '--collector', `${COLLECTOR}:26451`, '--secret-file', k1, '--interval', '0.3', '--name', 'node1', '--bind', '127.0.40.1']);
    await until('node1 up', () => s.err().includes('event NEXXUS:0:NODE_UP:node1') || undefined, 20_000);
    await until('hook', () => fs.existsSync(path.join(dir, 'hook-ran')) || undefined, 10_000);
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    await until('node1 down', () => /event NEXXUS:0:NODE_DOWN:node1:agent silent for \d+ s/.test(s.err()) || undefined, 20_000);
    fs.rmSync(path.join(dir, 'hook-ran'));

    // the attacker even holds node1's key, but sends from 127.0.0.99: refused
    for (let i = 0; i < 5; i++) {
      const forged = encodeAgentMsg({ v: 2, kind: 'status', node: 'node1', boot: 'evil', seq: i, ts: Date.now(), iv: 3600, stats: { load1: 99 } }, key('node1')).bytes;
      await sendFrom('127.0.0.99', 26451, forged);
    }
    await until('address rejects counted', async () => ((await rejected(26452, 'address')) ?? 0) >= 5 || undefined, 10_000);
    // a real agent with node2's key claiming node1, from node1's own address: refused too
    const impostor = start(['agent', '--collector', `${COLLECTOR}:26451`, '--secret-file', k2, '--interval', '0.3', '--name', 'node1', '--bind', '127.0.40.1']);
    await until('hmac rejects counted', async () => ((await rejected(26452, 'hmac')) ?? 0) >= 4 || undefined, 20_000);
    impostor.child.kill('SIGTERM');
    await impostor.exited;
    expect(await nodeUp(26452, 'node1')).toBe(0);
    expect(upLines(s.err(), 'node1')).toBe(1);
    expect(fs.existsSync(path.join(dir, 'hook-ran'))).toBe(false);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  }, 120_000);

  it('iv: 3600 does not keep a node up past miss x collector.max_interval_s', async () => {
    const s = serve(26453, 26454);
    await s.ready;
    const one = encodeAgentMsg({ v: 2, kind: 'status', node: 'node3', boot: 'b', seq: 1, ts: Date.now(), iv: 3600, stats: { load1: 1 } }, key('node3')).bytes;
    await sendFrom('127.0.40.3', 26453, one);
    await until('node3 up', () => s.err().includes('event NEXXUS:0:NODE_UP:node3') || undefined, 10_000);
    // 2 x 1 s, checked every second; 20 s is a generous bound against 7 200 s uncapped
    const down = await until('node3 down', () => /event NEXXUS:0:NODE_DOWN:node3:agent silent for (\d+) s/.exec(s.err()) ?? undefined, 20_000);
    expect(Number(down[1])).toBeLessThan(20);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  }, 60_000);

  it('a datagram replayed after serve restarts is refused', async () => {
    const d = (seq: number) => encodeAgentMsg({ v: 2, kind: 'status', node: 'node2', boot: 'b', seq, ts: Date.now(), iv: 1, stats: { load1: 2 } }, key('node2')).bytes;
    const captured = d(5);
    const first = serve(26455, 26456);
    await first.ready;
    await sendFrom('127.0.40.2', 26455, captured);
    await until('node2 up', () => first.err().includes('event NEXXUS:0:NODE_UP:node2') || undefined, 10_000);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(fs.statSync(path.join(dir, 'state', REPLAY_FILE)).mode & 0o777).toBe(0o600);

    const second = serve(26455, 26456);
    await second.ready;
    await sendFrom('127.0.40.2', 26455, captured);
    await until('replay counted', async () => ((await rejected(26456, 'replay')) ?? 0) >= 1 || undefined, 10_000);
    expect(await nodeUp(26456, 'node2')).toBe(0);
    // the collector itself is fine: the agent's next datagram is taken
    await sendFrom('127.0.40.2', 26455, d(6));
    await until('node2 up again', async () => (await nodeUp(26456, 'node2')) === 1 || undefined, 10_000);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(upLines(second.err(), 'node2')).toBe(1);
  }, 90_000);

  const unsafe: [string, (f: string) => void, RegExp][] = [
    ['readable by everyone (0644)', (f) => fs.writeFileSync(f, 'a-secret-long-enough-to-use\n', { mode: 0o644 }), /is readable by everyone \(mode 0644\); chmod 600 /],
    ['shorter than 16 bytes', (f) => fs.writeFileSync(f, 'short\n', { mode: 0o600 }), /holds 5 bytes, fewer than 16: a short secret can be guessed; create one with `umask 077; head -c 32 \/dev\/urandom/],
    ['empty', (f) => fs.writeFileSync(f, '\n', { mode: 0o600 }), /holds 0 bytes, fewer than 16: put a secret in it/],
  ];
  /** `vacm agent` (its key), `vacm agent --print-key` and `vacm serve` (the master) all refuse the file, exit 2. */
  async function refusedEverywhere(make: (f: string) => void, message: RegExp): Promise<void> {
    const f = path.join(dir, 'bad.secret');
    make(f);
    const file = f.replace(/[.]/g, '\\.');
    const a = await vacm(['agent', '--collector', `${COLLECTOR}:26457`, '--secret-file', f, '--name', 'node1']);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(new RegExp(`^ERR_UNSAFE_FILE: --secret-file: agent key ${file} ${message.source}`));
    const k = await vacm(['agent', '--print-key', 'node1', '--secret-file', f]);
    expect(k.code).toBe(2);
    expect(k.out).toBe('');
    expect(k.err).toMatch(new RegExp(`^ERR_UNSAFE_FILE: agent master secret ${file} ${message.source}`));
    fs.writeFileSync(path.join(dir, 'vacm.yaml'), `nodes:\n  - names: node1\ncollector:\n  listen: ${COLLECTOR}:26457\n  secret_file: ${f}\n`, { mode: 0o600 });
    const s = await vacm(['serve', '--config', path.join(dir, 'vacm.yaml')], { env: { VACM_STATE_DIR: path.join(dir, 'state') } });
    expect(s.code).toBe(2);
    expect(s.err).toMatch(new RegExp(`^ERR_UNSAFE_FILE: collector\\.secret_file: agent master secret ${file} ${message.source}`));
  }

  it.each(unsafe)('vacm agent and vacm serve refuse a secret file %s, exit 2', async (_what, make, message) => {
    await refusedEverywhere(make, message);
  }, 60_000);

  it.skipIf(process.getuid?.() !== 0)('vacm agent and vacm serve refuse a secret file owned by nobody, exit 2 (needs root to chown)', async () => {
    await refusedEverywhere((f) => {
      fs.writeFileSync(f, 'a-secret-long-enough-to-use\n', { mode: 0o600 });
      fs.chownSync(f, 65534, 65534);
    }, /is owned by uid 65534, not by you \(uid 0\) or root; chown it or remove it/);
  }, 60_000);
});
