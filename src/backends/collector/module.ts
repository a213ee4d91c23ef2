/**
 * COLLECTOR: receives the agents' signed status datagrams over UDP (VacMon's vacmond, inside the
 * engine). Binds only when the engine monitors (serve, dashboard) and the config has a `collector:`
 * section. Every datagram is classified: accepted, or rejected with a reason and counted; nothing a
 * datagram holds can crash it. Accepted stats go to the engine (history, node state); an announce
 * from a host outside the nodelist is a discovery (`NEXXUS:0:DISCOVERED:<host>:<addr>`), cached in
 * the state dir for `NEXXUS:ADOPT`.
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { VacmError } from '../../protocol/errors.js';
import {
  AgentMsgValidator,
  DEFAULT_COLLECTOR_PORT,
  REJECT_REASONS,
  parseSubnet,
  type AgentMsg,
  type RejectReason,
  type Subnet,
} from '../../protocol/agent-msg.js';
import type { CommandDef, ModuleDef, ModuleHost } from '../../protocol/module.js';
import type { CounterSource } from '../capabilities.js';
import { parseListen, readSecretFile } from './config.js';
import { makeDirectory } from '../../platform/make-dir.js';

export const DISCOVERED_FILE = 'discovered.json';

export interface CollectorConfig {
  listen: { host: string; port: number };
  secret: Buffer;
  secretFile: string;
  allowed: Subnet[];
  windowS: number;
  /** intervals of silence before a node is declared down */
  miss: number;
}

export interface Discovered {
  addr: string;
  first: string;
  last: string;
}

const KEYS = ['listen', 'secret_file', 'allowed_subnets', 'window_s', 'miss'];

export function parseCollectorSection(raw: unknown): CollectorConfig {
  const bad = (key: string, what: string): never => {
    throw new VacmError('ERR_CONFIG', `collector.${key}: ${what}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad('', 'must be a mapping (listen:, secret_file:, allowed_subnets:, window_s:, miss:)');
  const s = raw as Record<string, unknown>;
  for (const k of Object.keys(s)) if (!KEYS.includes(k)) bad(k, `unknown key; collector takes ${KEYS.join(', ')}`);
  let listen = { host: '0.0.0.0', port: DEFAULT_COLLECTOR_PORT };
  if (s.listen !== undefined) {
    try {
      listen = parseListen(String(s.listen), DEFAULT_COLLECTOR_PORT);
    } catch (err) {
      bad('listen', (err as Error).message);
    }
  }
  if (typeof s.secret_file !== 'string' || s.secret_file === '') bad('secret_file', 'required: a file holding the secret the agents share (e.g. /etc/vacm/agent.secret, mode 0600)');
  let secret: Buffer;
  try {
    secret = readSecretFile(s.secret_file as string);
  } catch (err) {
    bad('secret_file', (err as Error).message);
  }
  const allowed: Subnet[] = [];
  if (s.allowed_subnets !== undefined) {
    if (!Array.isArray(s.allowed_subnets)) bad('allowed_subnets', 'must be a list of subnets, e.g. ["10.1.0.0/16", "127.0.0.0/8"]');
    for (const x of s.allowed_subnets as unknown[]) {
      try {
        allowed.push(parseSubnet(String(x)));
      } catch (err) {
        bad('allowed_subnets', (err as Error).message);
      }
    }
  }
  const windowS = s.window_s ?? 30;
  if (typeof windowS !== 'number' || !(windowS > 0 && windowS <= 86400)) bad('window_s', 'must be seconds (1-86400) of accepted clock difference, e.g. 30');
  const miss = s.miss ?? 3;
  if (typeof miss !== 'number' || !Number.isInteger(miss) || miss < 1 || miss > 1000) bad('miss', 'must be a whole number of missed intervals (1-1000) before a node is declared down, e.g. 3');
  return { listen, secret: secret!, secretFile: s.secret_file as string, allowed, windowS: windowS as number, miss: miss as number };
}

export function readDiscovered(stateDir: string): Record<string, Discovered> {
  try {
    const o = JSON.parse(fs.readFileSync(path.join(stateDir, DISCOVERED_FILE), 'utf8')) as unknown;
    return typeof o === 'object' && o !== null && !Array.isArray(o) ? (o as Record<string, Discovered>) : {};
  } catch {
    return {};
  }
}

function writeDiscovered(stateDir: string, d: Record<string, Discovered>): void {
  makeDirectory(stateDir);
  const file = path.join(stateDir, DISCOVERED_FILE);
  fs.writeFileSync(file + '.tmp', JSON.stringify(d, null, 1) + '\n', { mode: 0o600 });
  fs.renameSync(file + '.tmp', file);
}

/** The collector's counters, by name (`received`, `accepted`, `rejected_<reason>`, ...). */
export class CollectorCounters implements CounterSource {
  received = 0;
  accepted = 0;
  upgraded = 0;
  unknownNode = 0;
  discovered = 0;
  readonly rejected: Record<RejectReason, number> = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
  active = false;

  counters(): Record<string, number> {
    const out: Record<string, number> = { received: this.received, accepted: this.accepted, upgraded: this.upgraded, unknown_node: this.unknownNode, discovered: this.discovered };
    for (const r of REJECT_REASONS) out[`rejected_${r}`] = this.rejected[r];
    return out;
  }
}

/** The part that needs no socket: classify one datagram and feed the engine. */
export class CollectorCore {
  readonly counters: CollectorCounters;
  private readonly validator: AgentMsgValidator;
  private readonly seen = new Map<string, { at: number; iv: number; silent: boolean }>();
  private discovered: Record<string, Discovered>;

  constructor(private readonly host: ModuleHost, private readonly cfg: CollectorConfig, counters = new CollectorCounters()) {
    this.counters = counters;
    this.validator = new AgentMsgValidator({ secret: cfg.secret, windowS: cfg.windowS, allowed: cfg.allowed });
    this.discovered = readDiscovered(host.stateDir);
  }

  handle(bytes: Uint8Array, from: string, now = Date.now()): { ok: true; msg: AgentMsg } | { ok: false; reason: RejectReason | 'unknown_node' } {
    this.counters.received++;
    const r = this.validator.check(bytes, from, now);
    if (!r.ok) {
      this.counters.rejected[r.reason]++;
      return { ok: false, reason: r.reason };
    }
    this.counters.accepted++;
    if (r.upgradedFrom !== undefined) this.counters.upgraded++;
    const m = r.msg;
    if (!this.host.node(m.node)) {
      if (m.kind === 'announce') this.discover(m.node, from, now);
      else this.counters.unknownNode++;
      return { ok: false, reason: 'unknown_node' };
    }
    this.seen.set(m.node, { at: now, iv: m.iv, silent: false });
    this.host.setNodeState(m.node, 'up');
    if (Object.keys(m.stats).length > 0) this.host.recordStats(m.node, m.stats, m.ts);
    return { ok: true, msg: m };
  }

  private discover(host: string, addr: string, now: number): void {
    const plain = addr.replace(/^::ffff:/i, '');
    const prev = this.discovered[host];
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
}

export interface CollectorModuleOptions {
  counters?: CollectorCounters;
  /** how often silence is checked (default 1 s) */
  checkEveryMs?: number;
}

export function createCollectorModule(opts: CollectorModuleOptions = {}): ModuleDef & { counters: CollectorCounters; core(): CollectorCore | undefined; address(): { address: string; port: number } | undefined } {
  const counters = opts.counters ?? new CollectorCounters();
  let sock: dgram.Socket | undefined;
  let timer: NodeJS.Timeout | undefined;
  let core: CollectorCore | undefined;

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
      counters.active = true;
      timer = setInterval(() => c.checkSilence(), opts.checkEveryMs ?? 1000);
      timer.unref();
      const a = s.address();
      host.log('info', `collector listening on udp ${a.address}:${a.port}`);
    },
    async dispose() {
      if (timer) clearInterval(timer);
      counters.active = false;
      if (sock) {
        const s = sock;
        sock = undefined;
        await new Promise<void>((res) => s.close(() => res()));
      }
    },
  };
}
