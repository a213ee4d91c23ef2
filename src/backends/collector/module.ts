/**
 * COLLECTOR: receives the agents' signed status datagrams over UDP (VacMon's vacmond, inside the
 * engine). Binds only when the engine monitors (serve, dashboard) and the config has a `collector:`
 * section. Every datagram is classified: accepted, or rejected with a reason and counted; nothing a
 * datagram holds can crash it. Accepted stats go to the engine (history, node state); an announce
 * from a host outside the nodelist is a discovery (`NEXXUS:0:DISCOVERED:<host>:<addr>`), cached in
 * the state dir for `NEXXUS:ADOPT`. Each node signs with its own key, derived from the master in
 * collector.secret_file; a node whose `host` is an address must send from it; the replay memory is
 * kept in the state dir across restarts; discoveries and announces are bounded.
 */
import dgram from 'node:dgram';
import { VacmError } from '../../protocol/errors.js';
import { readStateFile, writeStateFile, writeStateFileAsync } from '../../platform/state-files.js';
import {
  AgentMsgValidator,
  DEFAULT_COLLECTOR_PORT,
  REJECT_REASONS,
  deriveNodeKey,
  parseAddr,
  parseSubnet,
  validNodeName,
  type AgentMsg,
  type RejectReason,
  type Subnet,
} from '../../protocol/agent-msg.js';
import type { CommandDef, ModuleDef, ModuleHost } from '../../protocol/module.js';
import type { CounterSource } from '../capabilities.js';
import { listenField, parseListen, readSecretFile } from './config.js';
import { coalesceReads, type Coalescer } from './coalesce.js';
import { bool, checkSection, custom, int, listOf, mapping, num, section, text } from '../../protocol/config-schema.js';

export const DISCOVERED_FILE = 'discovered.json';
/** the replay memory (last boot, seq, time per node), so that a restart does not reopen the window */
export const REPLAY_FILE = 'agent-replay.json';
/** the replay memory is written at most this often (and when the collector stops) */
export const REPLAY_WRITE_EVERY_MS = 5000;
/** announces per source address: a burst of this many, then one per ANNOUNCE_REFILL_MS */
export const ANNOUNCE_BURST = 5;
export const ANNOUNCE_REFILL_MS = 12_000;
/** source addresses whose announce budget is remembered (the oldest are forgotten) */
const MAX_BUCKETS = 4096;
/** nodelist nodes whose derived key (one HMAC per datagram saved) and bound address are kept */
const MAX_KEYS = 65_536;

export interface CollectorConfig {
  listen: { host: string; port: number };
  /** the master secret: each node's key is derived from it (deriveNodeKey) */
  secret: Buffer;
  secretFile: string;
  /** the shared secret of agents not yet upgraded to per-node keys (accepted from any node) */
  legacySecret?: Buffer;
  allowed: Subnet[];
  windowS: number;
  /** intervals of silence before a node is declared down */
  miss: number;
  /** a node whose `host` is an address must send from it */
  bindAddress: boolean;
  /** the longest agent interval the collector believes (a datagram's `iv` is capped to it) */
  maxIntervalS: number;
  /** hosts outside the nodelist remembered for NEXXUS:ADOPT */
  maxDiscovered: number;
}

export interface Discovered {
  addr: string;
  first: string;
  last: string;
}

const subnetProblem = (v: unknown): string | undefined => {
  try {
    parseSubnet(String(v));
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
};

export const COLLECTOR_SECTION = section(
  'collector',
  mapping(
    {
      listen: listenField(DEFAULT_COLLECTOR_PORT),
      secret_file: text(),
      legacy_secret_file: text({ says: 'must be the file with the old shared secret (while agents are upgraded to per-node keys)' }),
      allowed_subnets: listOf(custom(subnetProblem), { must: 'a list of subnets, e.g. ["10.1.0.0/16", "127.0.0.0/8"]' }),
      window_s: num(Number.MIN_VALUE, 86400, { says: 'must be seconds (1-86400) of accepted clock difference, e.g. 30' }),
      miss: int(1, 1000, { says: 'must be a whole number of missed intervals (1-1000) before a node is declared down, e.g. 3' }),
      bind_address: bool({ says: 'must be true (a node whose host is an address must send from it) or false' }),
      max_interval_s: num(0.1, 3600, { says: 'must be seconds (0.1-3600): the longest agent interval believed, e.g. 30' }),
      max_discovered: int(0, 100_000, { says: 'must be a whole number of hosts (0-100000), e.g. 1024' }),
    },
    {
      must: 'a mapping (listen:, secret_file:, allowed_subnets:, window_s:, miss:, ...)',
      showValue: false,
      required: { secret_file: "required: the master secret that the agents' keys are derived from (e.g. /etc/vacm/agent.secret, mode 0600; see docs/agent.md)" },
    },
  ),
);

export function parseCollectorSection(raw: unknown): CollectorConfig {
  const bad = (key: string, what: string, code: 'ERR_CONFIG' | 'ERR_UNSAFE_FILE' = 'ERR_CONFIG'): never => {
    throw new VacmError(code, `collector.${key}: ${what}`);
  };
  checkSection(COLLECTOR_SECTION, raw ?? 0); // absent: still required where the collector runs
  const s = raw as Record<string, unknown>;
  const listen = s.listen === undefined ? { host: '0.0.0.0', port: DEFAULT_COLLECTOR_PORT } : parseListen(String(s.listen), DEFAULT_COLLECTOR_PORT);
  const secret = (key: string, file: string, what: string): Buffer => {
    try {
      return readSecretFile(file, what);
    } catch (err) {
      return bad(key, (err as Error).message, (err as VacmError).code === 'ERR_UNSAFE_FILE' ? 'ERR_UNSAFE_FILE' : 'ERR_CONFIG');
    }
  };
  const master = secret('secret_file', s.secret_file as string, 'agent master secret');
  let legacySecret: Buffer | undefined;
  if (s.legacy_secret_file !== undefined) {
    legacySecret = secret('legacy_secret_file', s.legacy_secret_file as string, 'legacy agent secret');
    if (legacySecret.equals(master)) bad('legacy_secret_file', 'holds the same secret as secret_file: every node that knew the shared secret could derive every node\'s key; make a new master for secret_file');
  }
  const allowed: Subnet[] = ((s.allowed_subnets ?? []) as unknown[]).map((x) => parseSubnet(String(x)));
  return {
    listen,
    secret: master,
    secretFile: s.secret_file as string,
    ...(legacySecret ? { legacySecret } : {}),
    allowed,
    windowS: (s.window_s as number | undefined) ?? 30,
    miss: (s.miss as number | undefined) ?? 3,
    bindAddress: (s.bind_address as boolean | undefined) ?? true,
    maxIntervalS: (s.max_interval_s as number | undefined) ?? 30,
    maxDiscovered: (s.max_discovered as number | undefined) ?? 1024,
  };
}

/**
 * Discovered hosts from the state dir: only well-formed entries, at most `max` (the most recently
 * heard). A damaged file is as if nothing was discovered; an unsafe state dir or file is too,
 * unless `refuseUnsafe` (ADOPT: an operator's action says why it cannot read them).
 */
export function readDiscovered(stateDir: string, max = Infinity, refuseUnsafe = false): Record<string, Discovered> {
  const out: Record<string, Discovered> = Object.create(null);
  let o: unknown;
  try {
    o = JSON.parse(readStateFile(stateDir, DISCOVERED_FILE, 16 * 1024 * 1024)?.toString('utf8') ?? '{}');
  } catch (err) {
    if (refuseUnsafe && err instanceof VacmError) throw err;
    return out;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return out;
  const good = Object.entries(o as Record<string, unknown>).filter((e): e is [string, Discovered] => {
    const d = e[1] as Partial<Discovered> | null;
    return validNodeName(e[0]) && typeof d === 'object' && d !== null && typeof d.addr === 'string' && parseAddr(d.addr) !== undefined && typeof d.first === 'string' && typeof d.last === 'string';
  });
  good.sort((a, b) => (a[1].last < b[1].last ? 1 : a[1].last > b[1].last ? -1 : 0));
  for (const [k, d] of good.slice(0, max)) out[k] = { addr: d.addr, first: d.first.slice(0, 40), last: d.last.slice(0, 40) };
  return out;
}

function writeDiscovered(stateDir: string, d: Record<string, Discovered>): void {
  writeStateFile(stateDir, DISCOVERED_FILE, JSON.stringify(d, null, 1) + '\n');
}

/** The collector's counters, by name (`received`, `accepted`, `rejected_<reason>`, ...). */
export class CollectorCounters implements CounterSource {
  received = 0;
  accepted = 0;
  upgraded = 0;
  unknownNode = 0;
  discovered = 0;
  /** accepted under collector.legacy_secret_file */
  legacy = 0;
  /** datagrams whose `iv` was above collector.max_interval_s */
  cappedInterval = 0;
  readonly rejected: Record<RejectReason, number> = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
  active = false;

  counters(): Record<string, number> {
    const out: Record<string, number> = {
      received: this.received, accepted: this.accepted, upgraded: this.upgraded, unknown_node: this.unknownNode, discovered: this.discovered, legacy_secret: this.legacy, capped_interval: this.cappedInterval,
    };
    for (const r of REJECT_REASONS) out[`rejected_${r}`] = this.rejected[r];
    return out;
  }
}

/** A token bucket per source address: ANNOUNCE_BURST announces, then one per ANNOUNCE_REFILL_MS. Bounded. */
class AnnounceLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  get size(): number {
    return this.buckets.size;
  }

  take(addr: string, now: number): boolean {
    let b = this.buckets.get(addr);
    if (b) {
      b.tokens = Math.min(ANNOUNCE_BURST, b.tokens + (now - b.at) / ANNOUNCE_REFILL_MS);
      b.at = now;
    } else {
      if (this.buckets.size >= MAX_BUCKETS) this.buckets.delete(this.buckets.keys().next().value as string);
      b = { tokens: ANNOUNCE_BURST, at: now };
      this.buckets.set(addr, b);
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

/** What the collector keeps of a nodelist node (CollectorCore.knownNode). */
interface Known {
  key: Buffer;
  bound: string | undefined;
}

export type HandleResult = { ok: true; msg: AgentMsg } | { ok: false; reason: RejectReason | 'unknown_node' };

/** The part that needs no socket: classify one datagram and feed the engine. */
export class CollectorCore {
  readonly counters: CollectorCounters;
  private readonly validator: AgentMsgValidator;
  private readonly seen = new Map<string, { at: number; iv: number; silent: boolean }>();
  private discovered: Record<string, Discovered>;
  /**
   * nodelist nodes heard from: each one's key and the address it must send from, looked up once
   * (not a node view per datagram: that view lived until the node's next datagram, a second of
   * garbage per node for the GC to copy). Forgotten when one of the node's variables changes.
   */
  private readonly known = new Map<string, Known>();
  private readonly offVars: () => void;
  /** the node knownNode answered last, and its answer (a nodelist node only: unknown ones are asked again) */
  private lastNode: string | undefined;
  private lastKnown: Known | undefined;
  private readonly announces = new AnnounceLimiter();
  private savedChanges = 0;
  private savedAt = -Infinity;
  private saving: Promise<void> | undefined;

  constructor(private readonly host: ModuleHost, private readonly cfg: CollectorConfig, counters = new CollectorCounters()) {
    this.counters = counters;
    this.validator = new AgentMsgValidator({
      secret: (node) => this.keyFor(node),
      ...(cfg.legacySecret ? { legacySecret: cfg.legacySecret } : {}),
      windowS: cfg.windowS,
      allowed: cfg.allowed,
      boundAddress: cfg.bindAddress ? (node) => this.knownNode(node)?.bound : undefined,
    });
    // a node's host may change at run time (SET_VAR): look it up again at its next datagram
    this.offVars = host.onVarChange((node) => {
      this.known.delete(node);
      this.lastNode = undefined;
    });
    this.discovered = readDiscovered(host.stateDir, cfg.maxDiscovered);
    this.loadReplay();
  }

  /**
   * A nodelist node's key (derived from the master) and bound address (its `host` when that is an
   * address; undefined for names: no binding), kept (bounded) for nodelist nodes only; undefined for
   * a node not in the nodelist. A node added later (NEXXUS:ADOPT) is found when it first sends.
   */
  private knownNode(node: string): Known | undefined {
    // the binding, the key and the handler ask in turn about the node of the datagram in hand
    if (node === this.lastNode) return this.lastKnown;
    let k = this.known.get(node);
    if (k === undefined) {
      const view = this.host.node(node);
      if (view === undefined) return undefined;
      const h = view.vars.host;
      k = { key: Buffer.from(deriveNodeKey(this.cfg.secret, node), 'utf8'), bound: h !== undefined && parseAddr(h) !== undefined ? h : undefined };
      if (this.known.size >= MAX_KEYS) this.known.delete(this.known.keys().next().value as string);
      this.known.set(node, k);
    }
    this.lastNode = node;
    this.lastKnown = k;
    return k;
  }

  /** names a datagram merely claims are derived each time, so a flood of made-up names cannot evict the real ones */
  private keyFor(node: string): Buffer {
    return this.knownNode(node)?.key ?? Buffer.from(deriveNodeKey(this.cfg.secret, node), 'utf8');
  }

  /** stop following the nodelist's variables (the collector stops) */
  close(): void {
    this.offVars();
  }

  /** How much the collector holds, for tests of its bounds. */
  sizes(): { discovered: number; replay: number; keys: number; announceBuckets: number; seen: number } {
    return { discovered: Object.keys(this.discovered).length, replay: this.validator.guard.size, keys: this.known.size, announceBuckets: this.announces.size, seen: this.seen.size };
  }

  handle(bytes: Uint8Array, from: string, now = Date.now()): HandleResult {
    this.counters.received++;
    const r = this.validator.check(bytes, from, now);
    if (!r.ok) return this.reject(r.reason);
    const m = r.msg;
    if (m.kind === 'announce' && !this.announces.take(from.replace(/^::ffff:/i, ''), now)) return this.reject('rate');
    const known = this.knownNode(m.node) !== undefined;
    if (!known && m.kind === 'announce' && !this.discover(m.node, from, now)) return this.reject('discovery_limit');
    this.counters.accepted++;
    if (r.upgradedFrom !== undefined) this.counters.upgraded++;
    if (r.legacy) this.counters.legacy++;
    if (!known) {
      if (m.kind !== 'announce') this.counters.unknownNode++;
      return { ok: false, reason: 'unknown_node' };
    }
    if (m.iv > this.cfg.maxIntervalS) this.counters.cappedInterval++;
    const iv = Math.min(m.iv, this.cfg.maxIntervalS);
    const seen = this.seen.get(m.node);
    if (seen) {
      seen.at = now;
      seen.iv = iv;
      seen.silent = false;
    } else this.seen.set(m.node, { at: now, iv, silent: false });
    this.host.setNodeState(m.node, 'up');
    for (const _ in m.stats) {
      // frozen: the engine keeps this fresh plain object as the node's stats instead of a copy of it
      this.host.recordStats(m.node, Object.freeze(m.stats), m.ts); // (any stat at all: no key array per datagram)
      break;
    }
    return { ok: true, msg: m };
  }

  private reject(reason: RejectReason): HandleResult {
    this.counters.rejected[reason]++;
    return { ok: false, reason };
  }

  /** false when the host is new and collector.max_discovered hosts are already remembered */
  private discover(host: string, addr: string, now: number): boolean {
    const plain = addr.replace(/^::ffff:/i, '');
    const prev = this.discovered[host];
    if (!prev && Object.keys(this.discovered).length >= this.cfg.maxDiscovered) return false;
    const iso = new Date(now).toISOString();
    this.discovered[host] = { addr: plain, first: prev?.first ?? iso, last: iso };
    if (!prev || prev.addr !== plain) {
      this.counters.discovered++;
      this.host.emitUnsolicited('NEXXUS', { type: 'DISCOVERED', host, addr: plain });
      try {
        writeDiscovered(this.host.stateDir, this.discovered);
      } catch (err) {
        this.host.log('warn', `cannot cache discovered hosts in ${this.host.stateDir}: ${(err as Error).message}`);
      }
    }
    return true;
  }

  /** Agents silent past `miss` intervals: membership evidence "down". */
  checkSilence(now = Date.now()): void {
    for (const [node, s] of this.seen) {
      if (s.silent) continue;
      const limit = this.cfg.miss * s.iv * 1000;
      if (now - s.at > limit) {
        s.silent = true;
        this.host.setNodeState(node, 'down', `agent silent for ${Math.round((now - s.at) / 1000)} s`);
      }
    }
  }

  // ---- the replay memory across restarts ------------------------------------------------------

  private loadReplay(): void {
    let text: string | undefined;
    try {
      text = readStateFile(this.host.stateDir, REPLAY_FILE, 64 * 1024 * 1024)?.toString('utf8');
    } catch (err) {
      this.host.log('warn', `ignoring ${REPLAY_FILE} in ${this.host.stateDir}: ${(err as Error).message.slice(0, 120)}`);
    }
    if (text === undefined) return;
    try {
      const o = JSON.parse(text) as { version?: unknown; entries?: unknown };
      if (o.version === 1) this.validator.guard.load(o.entries);
    } catch (err) {
      this.host.log('warn', `ignoring ${REPLAY_FILE} in ${this.host.stateDir}: ${(err as Error).message.slice(0, 80)}`);
    }
    this.savedChanges = this.validator.guard.changes;
  }

  /**
   * Write the replay memory when it changed, at most every REPLAY_WRITE_EVERY_MS (`force`: now, as
   * when the collector stops). A crash loses at most that much: datagrams of those few seconds could
   * be replayed after a restart, inside collector.window_s.
   */
  persist(now = Date.now(), force = false): Promise<void> {
    if (this.saving) return force ? this.saving.then(() => this.persist(now, true)) : this.saving;
    const changes = this.validator.guard.changes;
    if (changes === this.savedChanges || (!force && now - this.savedAt < REPLAY_WRITE_EVERY_MS)) return Promise.resolve();
    this.savedAt = now;
    const data = JSON.stringify({ version: 1, entries: this.validator.guard.entries() });
    const dir = this.host.stateDir;
    this.saving = writeStateFileAsync(dir, REPLAY_FILE, data)
      .then(
        () => void (this.savedChanges = changes),
        (err: Error) => this.host.log('warn', `cannot write the agents' replay memory in ${dir}: ${err.message}`),
      )
      .finally(() => (this.saving = undefined));
    return this.saving;
  }
}

export interface CollectorModuleOptions {
  counters?: CollectorCounters;
  /** how often silence is checked (default 1 s) */
  checkEveryMs?: number;
  /** ms the socket is not read after a wake-up that emptied it (coalesce.ts; default READ_PAUSE_MS, 0: read as it comes) */
  readPauseMs?: number;
}

/** the collector's read pause at low rates (coalesce.ts): a status is at most this much later */
export const READ_PAUSE_MS = 50;

export function createCollectorModule(opts: CollectorModuleOptions = {}): ModuleDef & { counters: CollectorCounters; core(): CollectorCore | undefined; address(): { address: string; port: number } | undefined } {
  const counters = opts.counters ?? new CollectorCounters();
  let sock: dgram.Socket | undefined;
  let timer: NodeJS.Timeout | undefined;
  let core: CollectorCore | undefined;
  let reads: Coalescer | undefined;

  const commands: CommandDef[] = [
    {
      name: 'STATS', summary: 'datagrams received, accepted, and rejected by reason', nodes: 'none', args: [], lane: 'control', dangerous: false,
      async run(ctx) {
        if (!counters.active) {
          throw new VacmError('ERR_COLLECTOR', 'no collector runs in this process: it runs in vacm serve (or the dashboard) when the config has a collector: section; read its counters from vacm serve --metrics');
        }
        for (const [name, value] of Object.entries(counters.counters())) {
          ctx.emit({ type: 'COUNTER', name, value });
          ctx.outcome(name, 'ok');
        }
      },
    },
  ];

  return {
    tag: 'COLLECTOR',
    summary: 'signed agent status datagrams over UDP: node stats, liveness and discovery',
    commands,
    counters,
    core: () => core,
    address: () => {
      if (!sock) return undefined;
      const a = sock.address();
      return { address: a.address, port: a.port };
    },
    async init(host) {
      const raw = host.config.sections.collector;
      if (raw === undefined || !host.monitor) return;
      const cfg = parseCollectorSection(raw);
      core = new CollectorCore(host, cfg, counters);
      const c = core;
      const s = dgram.createSocket({ type: cfg.listen.host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 4 * 1024 * 1024 });
      s.on('message', (msg, rinfo) => {
        reads?.onMessage();
        try {
          c.handle(msg, rinfo.address);
        } catch (err) {
          host.log('error', `collector: ${(err as Error).message}`); // a bug, not a datagram's fault: keep listening
        }
      });
      await new Promise<void>((res, rej) => {
        s.once('error', (err) => rej(new VacmError('ERR_COLLECTOR', `cannot listen on udp ${cfg.listen.host}:${cfg.listen.port}: ${err.message}; change collector.listen`)));
        s.bind(cfg.listen.port, cfg.listen.host, () => res());
      });
      s.on('error', (err) => host.log('warn', `collector socket: ${err.message}`));
      sock = s;
      reads = coalesceReads(s, opts.readPauseMs ?? READ_PAUSE_MS);
      counters.active = true;
      timer = setInterval(() => {
        c.checkSilence();
        void c.persist();
      }, opts.checkEveryMs ?? 1000);
      timer.unref();
      const a = s.address();
      host.log('info', `collector listening on udp ${a.address}:${a.port}`);
    },
    async dispose() {
      if (timer) clearInterval(timer);
      reads?.close();
      reads = undefined;
      counters.active = false;
      await core?.persist(Date.now(), true);
      if (sock) {
        const s = sock;
        sock = undefined;
        await new Promise<void>((res) => s.close(() => res()));
      }
    },
  };
}
