/**
 * Agent messages (after VacMon's VacQuery datagrams): one small signed JSON object per UDP datagram,
 * from `vacm agent` on a node to the collector in the engine. Pure: no sockets, no clocks (time is
 * passed in), so the whole grammar is tested with tables.
 *
 * Wire (schema v2):
 *   {"k":"status","mac":"<hex hmac-sha256>","node":"n01","s":{"load1":0.5,...},"seq":12,"ts":1700000000123,"v":2,"boot":"5f3a","iv":5}
 * The MAC covers the canonical body: the object without `mac`, keys sorted at every level,
 * JSON.stringify's number form. An agent sends the canonical form itself, `mac` in its sorted place
 * (after `boot`, `iv`, `k`), so the collector verifies the received bytes less that one field and
 * re-serialises only a datagram spelled otherwise (`signedSpan`). Each node signs with its own key, derived on the head node from a
 * master secret (`deriveNodeKey`): the collector derives the key of the node a datagram claims, so
 * a node can speak only for itself. A message is under MAX_DATAGRAM bytes; stats that do not fit are
 * dropped lowest priority first, never truncated mid-JSON.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { StatValue } from './events.js';
import { inSubnets, sameAddr, type Subnet } from './subnet.js';
import { MAX_NODE_NAME, MAX_STATS, MAX_STAT_KEY, MAX_STAT_STRING, readAgentSpelling } from './agent-wire.js';

export { inSubnets, parseAddr, parseSubnet, sameAddr, type Subnet } from './subnet.js';

export const SCHEMA_VERSION = 2;
/** Oldest schema version still accepted (and transformed to the current one). */
export const OLDEST_SCHEMA_VERSION = 1;
/** No IP fragmentation on a 1500-byte MTU (VacMon's bound). */
export const MAX_DATAGRAM = 1200;
export const DEFAULT_COLLECTOR_PORT = 8884;
export { MAX_NODE_NAME } from './agent-wire.js';

export type AgentMsgKind = 'status' | 'announce';

export interface AgentMsg {
  v: number;
  kind: AgentMsgKind;
  node: string;
  /** agent incarnation: a random id chosen when the agent starts (sequence numbers restart with it) */
  boot: string;
  seq: number;
  /** sender's clock, ms since the epoch */
  ts: number;
  /** the agent's send interval in seconds (membership uses it to notice silence) */
  iv: number;
  stats: Record<string, StatValue>;
}

/**
 * Why a datagram was dropped. The validator gives the first nine; the collector adds `rate` (too many
 * announces from one address) and `discovery_limit` (collector.max_discovered reached).
 */
export type RejectReason = 'subnet' | 'size' | 'json' | 'schema' | 'version' | 'address' | 'hmac' | 'stale' | 'replay' | 'rate' | 'discovery_limit';
export const REJECT_REASONS: readonly RejectReason[] = ['subnet', 'size', 'json', 'schema', 'version', 'address', 'hmac', 'stale', 'replay', 'rate', 'discovery_limit'];

/** `legacy`: signed with collector.legacy_secret_file (the shared secret of agents not yet upgraded) */
export type Rejected = { ok: false; reason: RejectReason; detail: string };
export type DecodeResult = { ok: true; msg: AgentMsg; upgradedFrom?: number; legacy?: boolean } | Rejected;

/**
 * The key that verifies a node's datagrams: one key for every node (tests, a single-key setup), or
 * a lookup by the node a datagram claims (the collector: the key derived from the master).
 */
export type KeyFor = string | Buffer | ((node: string) => string | Buffer);

/**
 * Stats in the order they are kept when a message must shrink: the first ones survive longest.
 * Anything not listed ranks after these, in insertion order.
 */
export const STAT_PRIORITY: readonly string[] = [
  'load1', 'load5', 'load15', 'cpu', 'mem_used_pct', 'mem_total', 'mem_used', 'swap_used_pct', 'disk_used_pct',
  'uptime', 'procs', 'net_rx_bps', 'net_tx_bps', 'temp_cpu', 'swap_total', 'disk_total', 'cpus', 'os', 'kernel',
];

// ---- canonical form and MAC --------------------------------------------------------------------

/** JSON with keys sorted at every level: the bytes the MAC covers. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

export function macOf(body: string, secret: string | Buffer): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** Domain separation for the per-node keys (a new scheme gets a new prefix). */
export const NODE_KEY_CONTEXT = 'vacm-agent-v2:';

/**
 * A node's own key, derived from the master secret as munge and collectd derive theirs:
 * HMAC-SHA256(master, "vacm-agent-v2:" + node), as 64 hex digits. That text is what the node's key
 * file holds and what it signs with (as bytes), so the node never learns the master.
 */
export function deriveNodeKey(master: string | Buffer, node: string): string {
  return createHmac('sha256', master).update(NODE_KEY_CONTEXT + node).digest('hex');
}

const HEX_MAC = /^[0-9a-f]{64}$/;

/** the MAC as sent, decoded (reused: no Buffer per datagram; compared at once) */
const SENT_MAC = Buffer.alloc(32);

/** Whether `mac` (64 hex digits, as sent) is HMAC-SHA256(secret, body): constant-time compare of the bytes. */
function macMatches(mac: string, body: string, secret: string | Buffer): boolean {
  if (!HEX_MAC.test(mac)) return false;
  SENT_MAC.write(mac, 0, 'hex');
  return timingSafeEqual(SENT_MAC, createHmac('sha256', secret).update(body).digest());
}

// ---- encoding ----------------------------------------------------------------------------------

function rank(key: string, order: readonly string[]): number {
  const i = STAT_PRIORITY.indexOf(key);
  return i >= 0 ? i : STAT_PRIORITY.length + order.indexOf(key);
}

function wireBody(m: AgentMsg, stats: Record<string, StatValue>): Record<string, unknown> {
  return { v: SCHEMA_VERSION, k: m.kind, node: m.node, boot: m.boot, seq: m.seq, ts: m.ts, iv: m.iv, s: stats };
}

export interface Encoded {
  bytes: Buffer;
  /** stats left out to stay under the size bound, lowest priority first */
  dropped: string[];
}

/** Sign and serialise; drops the lowest-priority stats until the datagram fits. */
export function encodeAgentMsg(m: AgentMsg, secret: string | Buffer, maxBytes = MAX_DATAGRAM): Encoded {
  if (!validNodeName(m.node)) throw new Error(`bad node name "${m.node}": 1-${MAX_NODE_NAME} letters, digits, - _ .`);
  const order = Object.keys(m.stats);
  const keys = order.filter((k) => validStat(k, m.stats[k])).sort((a, b) => rank(a, order) - rank(b, order)).slice(0, MAX_STATS);
  const dropped = order.filter((k) => !keys.includes(k));
  for (;;) {
    const stats: Record<string, StatValue> = {};
    for (const k of keys) stats[k] = m.stats[k];
    const body = wireBody(m, stats);
    const canon = canonicalJson(body);
    const text = canonicalJson({ ...body, mac: macOf(canon, secret) });
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length <= maxBytes || keys.length === 0) {
      if (bytes.length > maxBytes) throw new Error(`a message for ${m.node} does not fit in ${maxBytes} bytes even without stats`);
      return { bytes, dropped };
    }
    dropped.push(keys.pop()!);
  }
}

// ---- validation (shape) ------------------------------------------------------------------------

const NODE_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function validNodeName(s: unknown): s is string {
  return typeof s === 'string' && s.length >= 1 && s.length <= MAX_NODE_NAME && NODE_RE.test(s);
}

function validStat(k: string, v: unknown): v is StatValue {
  if (k.length === 0 || k.length > MAX_STAT_KEY || !/^[a-z][a-z0-9_]*$/.test(k)) return false;
  if (typeof v === 'number') return Number.isFinite(v);
  return typeof v === 'string' && v.length <= MAX_STAT_STRING;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(reason: RejectReason, detail: string): Rejected {
  return { ok: false, reason, detail };
}

/** Schema v1 (the first agents): `{"v":1,"type","host","seq","time"(s),"load":[1,5,15],"stats":{},"cookie"}`. */
function fromV1(o: Record<string, unknown>): { msg: AgentMsg; mac: unknown } | string {
  if (o.type !== 'status' && o.type !== 'announce') return 'type must be status or announce';
  if (!validNodeName(o.host)) return 'host must be a node name';
  if (!Number.isSafeInteger(o.seq) || (o.seq as number) < 0) return 'seq must be a whole number';
  if (typeof o.time !== 'number' || !Number.isFinite(o.time)) return 'time must be a number (seconds)';
  const stats: Record<string, StatValue> = {};
  if (o.load !== undefined) {
    if (!Array.isArray(o.load) || o.load.length !== 3 || o.load.some((x) => typeof x !== 'number' || !Number.isFinite(x))) return 'load must be [load1, load5, load15]';
    [stats.load1, stats.load5, stats.load15] = o.load as number[];
  }
  if (o.stats !== undefined) {
    if (!isObj(o.stats)) return 'stats must be an object';
    for (const [k, v] of Object.entries(o.stats)) {
      if (!validStat(k, v)) return `bad stat ${k.slice(0, 40)}`;
      stats[k] = v;
    }
  }
  return {
    msg: { v: SCHEMA_VERSION, kind: o.type, node: o.host, boot: 'v1', seq: o.seq as number, ts: Math.round((o.time as number) * 1000), iv: 5, stats },
    mac: o.cookie,
  };
}

const V2_FIELDS = new Set(['v', 'k', 'node', 'boot', 'seq', 'ts', 'iv', 's', 'mac']);

function fromV2(o: Record<string, unknown>): { msg: AgentMsg; mac: unknown } | string {
  for (const k of Object.keys(o)) if (!V2_FIELDS.has(k)) return `unknown field ${k.slice(0, 40)}`;
  if (o.k !== 'status' && o.k !== 'announce') return 'k must be status or announce';
  if (!validNodeName(o.node)) return 'node must be a node name';
  if (typeof o.boot !== 'string' || !/^[0-9a-zA-Z]{1,16}$/.test(o.boot)) return 'boot must be 1-16 letters or digits';
  if (!Number.isSafeInteger(o.seq) || (o.seq as number) < 0) return 'seq must be a whole number';
  if (!Number.isSafeInteger(o.ts) || (o.ts as number) < 0) return 'ts must be ms since the epoch';
  if (typeof o.iv !== 'number' || !(o.iv > 0 && o.iv <= 3600)) return 'iv must be the interval in seconds (0-3600]';
  if (!isObj(o.s)) return 's must be an object of stats';
  const entries = Object.entries(o.s);
  if (entries.length > MAX_STATS) return `more than ${MAX_STATS} stats`;
  const stats: Record<string, StatValue> = {};
  for (const [k, v] of entries) {
    if (!validStat(k, v)) return `bad stat ${k.slice(0, 40)}`;
    stats[k] = v;
  }
  return { msg: { v: SCHEMA_VERSION, kind: o.k, node: o.node, boot: o.boot, seq: o.seq as number, ts: o.ts as number, iv: o.iv, stats }, mac: o.mac };
}

/**
 * A datagram that parsed (size, JSON, version, shape), its MAC not yet checked. `span`: the received
 * text less its `mac` field, when the datagram is spelled as agents send it (see `signedSpan`);
 * `canonical()`: the body re-serialised (computed once, only when the span does not verify).
 */
export type Parsed = { ok: true; msg: AgentMsg; mac: unknown; span?: string; canonical: () => string; upgradedFrom?: number };

/**
 * The signed bytes of a v2 datagram without re-serialising it: an agent sends canonical JSON with
 * `mac` in its sorted place, `{"boot":B,"iv":I,"k":K,"mac":M,"node":...}`, so the canonical body is
 * the text with `"mac":M,` cut out. Those first fields were checked by the shape (boot letters and
 * digits, iv a number, k a word), so the prefix is rebuilt from the parsed values and must match the
 * text exactly. A verified span is the parsed message: the cut pair sits between two whole pairs at
 * the top level, so the rest of the text parses to the same fields with or without it. Undefined for
 * any other spelling (whitespace, another key order, v1): the caller re-serialises instead.
 */
export function signedSpan(text: string, o: Record<string, unknown>): string | undefined {
  if (typeof o.mac !== 'string' || !HEX_MAC.test(o.mac) || typeof o.iv !== 'number') return undefined;
  const head = `{"boot":"${o.boot as string}","iv":${JSON.stringify(o.iv)},"k":"${o.k as string}",`;
  const mac = `"mac":"${o.mac}",`;
  if (!text.startsWith(head) || !text.startsWith(mac, head.length)) return undefined;
  return head + text.slice(head.length + mac.length);
}

/** The canonical body (the object less its MAC field), computed on first use. */
function lazyCanonical(o: Record<string, unknown>, macField: 'mac' | 'cookie'): () => string {
  let c: string | undefined;
  return () => {
    if (c === undefined) {
      const { [macField]: _mac, ...body } = o;
      c = canonicalJson(body);
    }
    return c;
  };
}

/**
 * Size, JSON, schema version (older versions transformed to the current one) and shape; the MAC is
 * checked apart (`verifyMac`), so that cheaper checks on the claimed node can run first.
 */
export function parseAgentMsg(bytes: Uint8Array, maxBytes = MAX_DATAGRAM): Parsed | Rejected {
  if (bytes.length > maxBytes) return fail('size', `${bytes.length} bytes, over ${maxBytes}`);
  if (bytes.length === 0) return fail('size', 'empty datagram');
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // the agent's own spelling without JSON.parse (latin1: the reader takes only ASCII, where it is utf8)
  const r = readAgentSpelling(buf.toString('latin1'));
  if (r === undefined) return parseAgentJson(buf, maxBytes);
  const m = r.msg;
  let c: string | undefined;
  const canonical = () => (c ??= canonicalJson({ boot: m.boot, iv: m.iv, k: m.kind, node: m.node, s: m.stats, seq: m.seq, ts: m.ts, v: m.v }));
  return { ok: true, msg: m, mac: r.mac, span: r.span, canonical };
}

/** `parseAgentMsg` by JSON.parse and the shape checks: any spelling (`readAgentSpelling` reads the agent's own faster). */
export function parseAgentJson(bytes: Uint8Array, maxBytes = MAX_DATAGRAM): Parsed | Rejected {
  if (bytes.length > maxBytes) return fail('size', `${bytes.length} bytes, over ${maxBytes}`);
  if (bytes.length === 0) return fail('size', 'empty datagram');
  let o: unknown;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  try {
    o = JSON.parse(text);
  } catch (err) {
    return fail('json', (err as Error).message.slice(0, 80));
  }
  if (!isObj(o)) return fail('json', 'not a JSON object');
  const v = o.v;
  if (typeof v !== 'number' || !Number.isInteger(v)) return fail('schema', 'v must be the schema version number');
  if (v < OLDEST_SCHEMA_VERSION || v > SCHEMA_VERSION) return fail('version', `schema version ${v}; this collector reads ${OLDEST_SCHEMA_VERSION}-${SCHEMA_VERSION}`);
  const parsed = v === 1 ? fromV1(o) : fromV2(o);
  if (typeof parsed === 'string') return fail('schema', parsed);
  const canonical = lazyCanonical(o, v === 1 ? 'cookie' : 'mac');
  if (v !== SCHEMA_VERSION) return { ok: true, msg: parsed.msg, mac: parsed.mac, canonical, upgradedFrom: v };
  const span = signedSpan(text, o);
  return span === undefined ? { ok: true, msg: parsed.msg, mac: parsed.mac, canonical } : { ok: true, msg: parsed.msg, mac: parsed.mac, span, canonical };
}

export { readAgentSpelling } from './agent-wire.js';

export function keyOf(key: KeyFor, node: string): string | Buffer {
  return typeof key === 'function' ? key(node) : key;
}

/**
 * Whether a parsed datagram's MAC verifies under `key` (constant-time compare): over the received
 * span when there is one, else (or when that fails: an agent whose JSON is spelled otherwise but
 * signed the canonical body) over the canonical body.
 */
export function verifyMac(p: Parsed, key: string | Buffer): boolean {
  if (typeof p.mac !== 'string') return false;
  if (p.span !== undefined && macMatches(p.mac, p.span, key)) return true;
  return macMatches(p.mac, p.canonical(), key);
}

function decoded(p: Parsed, legacy = false): DecodeResult {
  const r: DecodeResult = { ok: true, msg: p.msg };
  if (p.upgradedFrom !== undefined) r.upgradedFrom = p.upgradedFrom;
  if (legacy) r.legacy = true;
  return r;
}

/**
 * Size, JSON, schema version, shape and MAC (under the claimed node's key).
 * Time window and replay need state: see `ReplayGuard` / `AgentMsgValidator`.
 */
export function decodeAgentMsg(bytes: Uint8Array, key: KeyFor, maxBytes = MAX_DATAGRAM): DecodeResult {
  const p = parseAgentMsg(bytes, maxBytes);
  if (!p.ok) return p;
  if (!verifyMac(p, keyOf(key, p.msg.node))) return fail('hmac', macHint(p.msg.node));
  return decoded(p);
}

function macHint(node: string): string {
  return `bad or missing MAC: the agent's key file must hold the key derived for ${node} (vacm agent --print-key ${node} --secret-file MASTER on the head node)`;
}

/** Build a v1 datagram (tests and mixed-version fleets). */
export function encodeV1(m: { type: AgentMsgKind; host: string; seq: number; time: number; load?: [number, number, number]; stats?: Record<string, StatValue> }, secret: string | Buffer): Buffer {
  const body: Record<string, unknown> = { v: 1, ...m };
  return Buffer.from(canonicalJson({ ...body, cookie: macOf(canonicalJson(body), secret) }));
}

// ---- the stateful checks -----------------------------------------------------------------------

/** What the replay guard remembers of a node: its agent's incarnation, last sequence number and time. */
export interface ReplayEntry {
  boot: string;
  seq: number;
  ts: number;
}

/**
 * Replay protection: per node, the last accepted (boot, seq, ts). Within one agent incarnation the
 * sequence must grow; a new incarnation is accepted only when it is newer in time, so an old
 * incarnation's datagrams replayed later are dropped. Bounded: the oldest entries are forgotten.
 * `entries()` / `load()` carry the memory across a collector restart (the collector persists it).
 */
export class ReplayGuard {
  private readonly last = new Map<string, ReplayEntry>();
  /** bumped on every change: the collector writes the memory out when it moved */
  changes = 0;
  constructor(private readonly maxNodes = 100_000) {}

  get size(): number {
    return this.last.size;
  }

  /** true and remembered when fresh; false for a replay */
  accept(m: Pick<AgentMsg, 'node' | 'boot' | 'seq' | 'ts'>): boolean {
    const prev = this.last.get(m.node);
    if (prev) {
      if (!(prev.boot === m.boot ? m.seq > prev.seq : m.ts > prev.ts)) return false;
      // the node's entry is updated in place (no object per datagram) and re-inserted: the map
      // stays in least-recently-heard order
      prev.boot = m.boot;
      prev.seq = m.seq;
      prev.ts = m.ts;
      this.last.delete(m.node);
      this.last.set(m.node, prev);
    } else {
      if (this.last.size >= this.maxNodes) this.last.delete(this.last.keys().next().value as string);
      this.last.set(m.node, { boot: m.boot, seq: m.seq, ts: m.ts });
    }
    this.changes++;
    return true;
  }

  forget(node: string): void {
    if (this.last.delete(node)) this.changes++;
  }

  /** least recently heard first */
  entries(): [string, ReplayEntry][] {
    // copies: the guard updates its entries in place
    return Array.from(this.last, ([node, e]) => [node, { boot: e.boot, seq: e.seq, ts: e.ts }]);
  }

  /** Take remembered entries (from a file: anything malformed is skipped); never lowers what is already known. */
  load(entries: unknown): number {
    if (!Array.isArray(entries)) return 0;
    let n = 0;
    for (const x of entries) {
      if (!Array.isArray(x) || x.length !== 2 || !validNodeName(x[0]) || !isObj(x[1])) continue;
      const { boot, seq, ts } = x[1];
      if (typeof boot !== 'string' || boot.length > 16 || !Number.isSafeInteger(seq) || !Number.isSafeInteger(ts)) continue;
      const e = { node: x[0], boot, seq: seq as number, ts: ts as number };
      if (this.accept(e)) n++;
    }
    return n;
  }
}

export interface ValidatorOptions {
  /** the key that verifies a node's datagrams (the collector: derived from the master per node) */
  secret: KeyFor;
  /** also accepted, from any node: the old shared secret while agents are being upgraded */
  legacySecret?: string | Buffer;
  /** accepted clock difference between agent and collector, seconds */
  windowS: number;
  /** empty: any source address */
  allowed: readonly Subnet[];
  /** the address a node's datagrams must come from (its `host`, when that is an address: never a name); undefined: any */
  boundAddress?: (node: string) => string | undefined;
  maxBytes?: number;
  /** nodes the replay memory keeps (default 100 000) */
  maxNodes?: number;
}

/** source addresses whose allowed_subnets answer the validator keeps */
const MAX_SOURCES = 65_536;

/** Every check in order: subnet, size, JSON, schema, source address, MAC, time window, replay. */
export class AgentMsgValidator {
  readonly guard: ReplayGuard;
  /** collector.allowed_subnets' answer per source address, so an address is parsed once (bounded: cleared when full) */
  private readonly allowedFrom = new Map<string, boolean>();
  constructor(private readonly opts: ValidatorOptions) {
    this.guard = new ReplayGuard(opts.maxNodes);
  }

  private allowed(from: string): boolean {
    let ok = this.allowedFrom.get(from);
    if (ok === undefined) {
      if (this.allowedFrom.size >= MAX_SOURCES) this.allowedFrom.clear();
      ok = inSubnets(from, this.opts.allowed);
      this.allowedFrom.set(from, ok);
    }
    return ok;
  }

  /** source addresses whose subnet answer is kept */
  get sources(): number {
    return this.allowedFrom.size;
  }

  check(bytes: Uint8Array, from: string, now: number): DecodeResult {
    if (this.opts.allowed.length > 0 && !this.allowed(from)) return fail('subnet', `source ${from} is not in collector.allowed_subnets`);
    const p = parseAgentMsg(bytes, this.opts.maxBytes);
    if (!p.ok) return p;
    const node = p.msg.node;
    const bound = this.opts.boundAddress?.(node);
    // (spelled alike is the usual case: no parsing)
    if (bound !== undefined && from !== bound && !sameAddr(from, bound)) return fail('address', `${node} sends from ${bound} (its host), not ${from}; set collector.bind_address: false if its agent sends from another address`);
    let legacy = false;
    if (!verifyMac(p, keyOf(this.opts.secret, node))) {
      if (this.opts.legacySecret === undefined || !verifyMac(p, this.opts.legacySecret)) return fail('hmac', macHint(node));
      legacy = true;
    }
    const skew = p.msg.ts - now;
    if (Math.abs(skew) > this.opts.windowS * 1000) return fail('stale', `timestamp ${Math.round(skew / 1000)} s from the collector's clock (window ${this.opts.windowS} s): check NTP on ${node}`);
    if (!this.guard.accept(p.msg)) return fail('replay', `${node} seq ${p.msg.seq} already seen`);
    return decoded(p, legacy);
  }
}
