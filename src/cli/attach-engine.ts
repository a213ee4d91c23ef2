/**
 * The dashboard attached to a running `vacm serve` (issue 13): a UiEngine over the `vacm` subsystem
 * (serve-proto.ts, docs/ipc.md). The state comes as a snapshot then coalesced deltas and is kept here
 * as the engine's own Snapshot shape, so the dashboard cannot tell the difference; submit and cancel
 * go to the serve, which decides (roles are enforced there). What the dashboard asks synchronously
 * (a dry-run check, node-set resolution, power facts) is answered here from the state received and
 * the built-in modules' declarations, the same code the serve runs; the serve's answer is what counts.
 *
 * A dropped link shows `reconnecting…` (the `link` of `attached`) and is dialled again with a capped
 * backoff; the next snapshot replaces everything, so nothing missed while away is left stale. Every
 * string the serve sends reaches the terminal only through the dashboard's own escaping; nothing it
 * sends grows memory without bound (events per job, jobs and series are capped).
 *
 * attach-wire.ts reads the wire forms; attach-local.ts answers the synchronous questions from them.
 */
import type { Client, ClientChannel } from 'ssh2';
import { StringDecoder } from 'node:string_decoder';
import { VacmError, toVacmError } from '../protocol/errors.js';
import type { Counts, JobView, NodeView, Role } from '../protocol/module.js';
import { foldNodeSet } from '../protocol/nodeset.js';
import type { ThisMachine } from '../protocol/power.js';
import { escapeControls } from '../protocol/visible.js';
import { Registry } from '../engine/registry.js';
import { ROLES } from '../engine/auth.js';
import { Notifier } from '../engine/notifier.js';
import type { Snapshot } from '../engine/store.js';
import type { CheckResult, ModuleInfo, PowerFacts, UiEngine } from '../ui/ui-engine.js';
import type { WireJob, WireNode } from './serve-proto.js';
import { eventFromWire, jobFromWire, nodeFromWire, num, numbers, str } from './attach-wire.js';
import { OwnEvents, checkAmong, outcomesOf, powerFactsAmong, resolveAmong } from './attach-local.js';

/** Who the dashboard is attached as, and how the link is: what the header shows. */
export interface AttachedInfo {
  readonly host: string;
  readonly user: string;
  readonly role: Role;
  readonly link: 'up' | 'reconnecting';
  /** why the link is down (the last dial's error), escaped */
  readonly detail?: string;
}

export const PROTOCOL_VERSION = 1;
/** the reconnect backoff: doubling from the first, capped at the last */
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];
/** a ping this often; no message for STALE_MS means the link is dead (a stopped serve, a cut cable) */
const PING_MS = 5000;
const STALE_MS = 20_000;
const SERIES_FRESH_MS = 5000;
const SERIES_MAX = 32;
/** jobs' progress drawn at most this often (as the serve sends job deltas) */
const JOB_DRAW_MS = 100;

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };


export interface RemoteEngineOptions {
  /** dial the serve and log in (attach.ts dialServe); called again on every reconnect */
  dial: () => Promise<Client>;
  /** the serve runs on this machine (the socket door): the guard judges `host`/`bmc_host` as the serve does */
  thisMachine?: () => ThisMachine;
  /** the modules whose declarations parse requests here (the built-in ones, as the serve has) */
  modules: ConstructorParameters<typeof Registry>[0];
  /** the wait before the n-th reconnect (tests shorten it) */
  backoffMs?: readonly number[];
}

export class RemoteEngine implements UiEngine {
  private client: Client | undefined;
  private channel: ClientChannel | undefined;
  private readonly registryImpl: Registry;
  private nodes = new Map<string, NodeView>();
  private wireJobs = new Map<number, WireJob>();
  private jobViews = new Map<number, JobView>();
  private own = new OwnEvents();
  private counts: Counts = { up: 0, down: 0, off: 0, unknown: 0, drained: 0 };
  private running = 0;
  private cluster = '';
  private snap: Snapshot | undefined;
  private readonly notifier = new Notifier();
  private nodeList: readonly NodeView[] | undefined;
  private soon: NodeJS.Timeout | undefined;
  private pending = new Map<number, Pending>();
  private ref = 0;
  private execSafe: readonly string[] = [];
  private info: AttachedInfo = { host: '', user: '', role: 'viewer', link: 'reconnecting' };
  private series = new Map<string, { at: number; asked: number; ts: number[]; values: number[] }>();
  private stopped = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private lastHeard = Date.now();
  private helloWaiter: Pending | undefined;

  constructor(private readonly opts: RemoteEngineOptions) {
    this.registryImpl = new Registry(opts.modules);
    this.registryImpl.lock();
  }

  // ---- the link ----

  /** Dial, log in and receive the first snapshot; throws (a VacmError) when the serve cannot be reached. */
  async start(): Promise<void> {
    await this.connect();
  }

  get attached(): AttachedInfo {
    return this.info;
  }

  private setInfo(patch: Partial<AttachedInfo>): void {
    this.info = { ...this.info, ...patch };
    this.changed();
  }

  private connect(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      // a stale socket's NotAnswering passes as it is: openAttached tells it from a refusal
      const fail = (err: unknown) => reject(err instanceof Error ? err : toVacmError(err, 'ERR_SSH_CONNECT'));
      this.opts.dial().then((client) => {
        if (this.stopped) {
          client.end();
          return resolve();
        }
        this.client = client;
        client.on('error', () => this.lost(client, 'the SSH connection failed'));
        client.on('close', () => this.lost(client, 'the serve closed the connection'));
        client.subsys('vacm', (err, ch) => {
          if (err) {
            client.end();
            return fail(new VacmError('ERR_SSH_CONNECT', `the serve refused the vacm subsystem: ${err.message}`));
          }
          this.channel = ch;
          this.helloWaiter = { resolve: () => resolve(), reject: fail };
          this.read(ch, client);
          ch.on('close', () => this.lost(client, 'the serve ended the session'));
        });
      }, fail);
    });
  }

  private read(ch: ClientChannel, client: Client): void {
    const dec = new StringDecoder('utf8');
    let buf = '';
    ch.on('data', (d: Buffer) => {
      if (this.client !== client) return;
      this.lastHeard = Date.now();
      buf += dec.write(d);
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.message(line);
      }
      // a snapshot of many nodes is one long line; anything past this bound is not a message of ours
      if (buf.length > 256 * 1024 * 1024) this.lost(client, 'the serve sent a line over 256 MiB');
    });
    ch.stderr.on('data', () => {});
  }

  private send(o: object): void {
    const ch = this.channel;
    if (!ch || ch.destroyed) throw new VacmError('ERR_SSH_CONNECT', 'not attached to the serve right now (reconnecting…); try again in a moment');
    ch.write(JSON.stringify(o) + '\n');
  }

  private ask<T>(o: Record<string, unknown>): Promise<T> {
    const ref = ++this.ref;
    return new Promise<T>((resolve, reject) => {
      try {
        this.send({ ...o, ref });
      } catch (err) {
        return reject(err as Error);
      }
      this.pending.set(ref, { resolve: resolve as (v: unknown) => void, reject });
    });
  }

  private lost(client: Client, why: string): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.channel = undefined;
    clearInterval(this.pingTimer);
    try {
      client.end();
    } catch {
      /* gone */
    }
    const err = new VacmError('ERR_SSH_CONNECT', `the link to the serve dropped (${why}); the request may have reached it: see the jobs pane`);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    if (this.helloWaiter) {
      this.helloWaiter.reject(err);
      this.helloWaiter = undefined;
      return; // the first connect: start() reports it
    }
    if (this.stopped) return;
    this.setInfo({ link: 'reconnecting', detail: why });
    this.retry();
  }

  private retry(): void {
    if (this.stopped || this.retryTimer) return;
    const steps = this.opts.backoffMs ?? BACKOFF_MS;
    const wait = steps[Math.min(this.attempt, steps.length - 1)];
    this.attempt++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect().then(
        () => {
          this.attempt = 0;
        },
        (err: unknown) => {
          this.setInfo({ link: 'reconnecting', detail: escapeControls(toVacmError(err).message).slice(0, 200) });
          this.retry();
        },
      );
    }, wait);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.soon);
    clearInterval(this.pingTimer);
    const c = this.client;
    this.client = undefined;
    this.channel = undefined;
    c?.end();
  }

  // ---- messages from the serve ----

  private message(line: string): void {
    if (line.trim() === '') return;
    let o: Record<string, unknown>;
    try {
      const x: unknown = JSON.parse(line);
      if (typeof x !== 'object' || x === null || Array.isArray(x)) return;
      o = x as Record<string, unknown>;
    } catch {
      return;
    }
    const ref = num(o.ref);
    switch (o.type) {
      case 'hello': {
        if (o.v !== PROTOCOL_VERSION) {
          const c = this.client;
          const err = new VacmError('ERR_SSH_CONNECT', `the serve speaks protocol version ${escapeControls(String(o.v)).slice(0, 20)}, this vacm ${PROTOCOL_VERSION}: use the same vacm version on both sides`);
          this.helloWaiter?.reject(err);
          this.helloWaiter = undefined;
          this.stopped = true;
          c?.end();
          return;
        }
        const role = ROLES.includes(o.role as Role) ? (o.role as Role) : 'viewer';
        this.execSafe = Array.isArray(o.execSafe) ? o.execSafe.filter((x): x is string => typeof x === 'string').slice(0, 1024) : [];
        this.info = { host: str(o.host, 256) ?? '?', user: str(o.user, 256) ?? '?', role, link: this.info.link };
        // the rows in sight first, so the snapshot carries their stats and no one else's
        if (this.viewing) this.send({ op: 'view', nodes: this.viewing });
        this.send({ op: 'subscribe' });
        return;
      }
      case 'snapshot':
        this.applySnapshot(o);
        this.lastHeard = Date.now();
        clearInterval(this.pingTimer);
        this.pingTimer = setInterval(() => this.keepAlive(), PING_MS);
        this.pingTimer.unref();
        this.info = { ...this.info, link: 'up', detail: undefined };
        this.changed();
        this.helloWaiter?.resolve(undefined);
        this.helloWaiter = undefined;
        return;
      case 'nodes':
        if (Array.isArray(o.nodes)) for (const w of o.nodes as WireNode[]) this.putNode(w);
        this.putCounts(o.counts);
        this.changed();
        return;
      case 'jobs':
        if (Array.isArray(o.jobs)) for (const w of o.jobs as WireJob[]) this.putJob(w);
        if (Array.isArray(o.gone)) for (const id of o.gone) if (typeof id === 'number') this.dropJob(id);
        this.running = num(o.running) ?? this.running;
        this.changedSoon();
        return;
      case 'event': {
        const e = eventFromWire(o);
        if (!e || e.job === 0) return;
        this.own.add(e);
        const w = this.wireJobs.get(e.job);
        if (w) this.putJob(w);
        this.changedSoon();
        return;
      }
      case 'series': {
        const node = str(o.node, 256);
        const span = num(o.span_ms);
        if (node !== undefined && span !== undefined) {
          this.series.set(`${node}\0${span}`, { at: Date.now(), asked: Date.now(), ts: numbers(o.ts, 100_000), values: numbers(o.values, 100_000) });
          while (this.series.size > SERIES_MAX) this.series.delete(this.series.keys().next().value!);
          this.changed();
        }
        break;
      }
      default:
        break;
    }
    if (ref !== undefined) {
      const p = this.pending.get(ref);
      if (!p) return;
      this.pending.delete(ref);
      if (o.type === 'error') p.reject(new VacmError((str(o.code, 64) ?? 'ERR_INTERNAL') as never, str(o.message) ?? ''));
      else p.resolve(o);
    }
  }

  private keepAlive(): void {
    const c = this.client;
    if (!c) return;
    if (Date.now() - this.lastHeard > STALE_MS) return this.lost(c, `no word from the serve for ${STALE_MS / 1000} s`);
    try {
      this.send({ op: 'ping' });
    } catch {
      /* reconnecting */
    }
  }

  private applySnapshot(o: Record<string, unknown>): void {
    this.cluster = str(o.cluster, 256) ?? '';
    this.nodes = new Map();
    this.nodeList = undefined;
    if (Array.isArray(o.nodes)) for (const w of o.nodes as WireNode[]) this.putNode(w);
    this.putCounts(o.counts);
    this.wireJobs = new Map();
    this.jobViews = new Map();
    if (Array.isArray(o.jobs)) for (const w of o.jobs as WireJob[]) this.putJob(w);
    this.running = num(o.running) ?? 0;
  }

  private putNode(w: WireNode): void {
    if (typeof w !== 'object' || w === null) return;
    const v = nodeFromWire(w, this.nodes.get(w.name));
    if (!v) return;
    this.nodes.set(v.name, v);
    this.nodeList = undefined;
  }

  private putCounts(c: unknown): void {
    if (typeof c !== 'object' || c === null) return;
    const x = c as Record<string, unknown>;
    this.counts = { up: num(x.up) ?? 0, down: num(x.down) ?? 0, off: num(x.off) ?? 0, unknown: num(x.unknown) ?? 0, drained: num(x.drained) ?? 0 };
  }

  private putJob(w: WireJob): void {
    if (typeof w !== 'object' || w === null || typeof w.id !== 'number') return;
    const mine = this.own.get(w.id);
    const before = this.jobViews.get(w.id);
    // whether it is dangerous is its line's, checked once (a check resolves the line's node set)
    const dangerous = before && before.line === w.line ? before.dangerous : ((c) => c.ok && c.dangerous)(this.check(String(w.line)));
    const v = jobFromWire(w, mine?.events ?? [], mine?.truncated ?? 0, dangerous, before);
    if (!v) return;
    this.wireJobs.set(v.id, w);
    this.jobViews.set(v.id, v);
    // the serve keeps a bounded list; a serve that does not forget cannot grow this one without bound
    while (this.jobViews.size > 1000) this.dropJob(this.jobViews.keys().next().value!);
  }

  private dropJob(id: number): void {
    this.wireJobs.delete(id);
    this.jobViews.delete(id);
    this.own.delete(id);
  }

  private changed(): void {
    clearTimeout(this.soon);
    this.soon = undefined;
    this.snap = undefined;
    this.notifier.changed();
  }

  /**
   * Jobs' progress and the own jobs' events are drawn at most JOB_DRAW_MS apart (the serve's own
   * rate for job deltas): a job of 4096 nodes streams thousands of events, and each one is not a frame.
   */
  private changedSoon(): void {
    this.soon ??= setTimeout(() => this.changed(), JOB_DRAW_MS);
  }

  // ---- the UiEngine ----

  getSnapshot = (): Snapshot => {
    if (this.snap) return this.snap;
    const jobs = [...this.jobViews.values()].sort((a, b) => b.startedAt - a.startedAt || b.id - a.id);
    // the same node list while no node changed: the dashboard's filter and sort of it are kept
    this.nodeList ??= Object.freeze([...this.nodes.values()]);
    this.snap = Object.freeze({ version: this.notifier.version, cluster: this.cluster, nodes: this.nodeList, jobs: Object.freeze(jobs), counts: Object.freeze({ ...this.counts }), runningJobs: this.running });
    return this.snap;
  };

  subscribe(listener: () => void): () => void {
    return this.notifier.subscribe(listener);
  }

  /** The serve gives the job its id: the answer comes back over the link. */
  submit(line: string): Promise<{ id: number }> {
    return this.ask<{ job: number }>({ op: 'submit', line }).then((a) => ({ id: a.job }));
  }

  cancel(id: number): boolean {
    const j = this.jobViews.get(id);
    if (!j || (j.state !== 'running' && j.state !== 'queued')) return false;
    this.ask({ op: 'cancel', job: id }).catch(() => {});
    return true;
  }

  private viewing: string | undefined;

  /** The nodes in sight: the serve sends load and stats for these (at most 1024) and state for all. */
  view(names: readonly string[]): void {
    const folded = names.length ? foldNodeSet(names.slice(0, 1024)) : '';
    if (folded === '' || folded === this.viewing) return;
    this.viewing = folded;
    if (!this.channel) return; // sent on the next hello
    this.ask({ op: 'view', nodes: folded }).catch(() => {});
  }

  /** The sessions attached to the serve (NEXXUS:WHO). */
  async who(): Promise<unknown[]> {
    const a = await this.ask<{ sessions?: unknown }>({ op: 'who' });
    return Array.isArray(a.sessions) ? a.sessions : [];
  }

  check(line: string): CheckResult {
    return checkAmong(line, { registry: this.registryImpl, resolve: (e) => this.resolve(e), execSafe: this.execSafe, nodes: this.nodes, jobs: this.jobViews, user: this.info.user, role: this.info.role });
  }

  resolve(expr: string): string[] {
    return resolveAmong(this.nodes, expr);
  }

  loadSeries(name: string, spanMs: number): { ts: readonly number[]; values: readonly number[] } {
    const key = `${name}\0${Math.min(Math.max(spanMs, 1000), 86_400_000)}`;
    const s = this.series.get(key);
    const now = Date.now();
    if (this.channel && (!s || (now - s.at > SERIES_FRESH_MS && now - s.asked > SERIES_FRESH_MS))) {
      if (s) s.asked = now;
      else this.series.set(key, { at: 0, asked: now, ts: [], values: [] });
      this.ask({ op: 'series', node: name, span_ms: spanMs }).catch(() => {});
    }
    return s ?? { ts: [], values: [] };
  }

  jobOutcomes(id: number): ReadonlyMap<string, 'ok' | 'failed' | 'skipped'> | undefined {
    const mine = this.own.get(id);
    return mine ? outcomesOf(mine.events) : undefined;
  }

  /** Not asked through a serve: SSH:USERS would be a job every operator sees (the confirmation says "not asked"). */
  async usersLoggedIn(): Promise<ReadonlyMap<string, number>> {
    return new Map();
  }

  powerFacts(names: readonly string[]): PowerFacts[] {
    return powerFactsAmong(this.nodes, names, this.info.host, this.opts.thisMachine?.());
  }

  readonly registry = {
    modules: (): readonly ModuleInfo[] => this.registryImpl.list().map((m) => ({ tag: m.tag, commands: m.commands.map((c) => ({ name: c.name, summary: c.summary })), gather: m.gather })),
    groups: (): readonly string[] => {
      const g = new Set<string>(['drained']);
      for (const n of this.nodes.values()) for (const x of n.groups) g.add(x);
      return [...g].sort();
    },
  };

  /** the serve's roles decide; nothing is hidden here (what the role forbids is refused with its reason) */
  readonly readOnly = false;
}
