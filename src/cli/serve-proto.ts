/**
 * The `vacm` subsystem of vacm serve (`ssh -s -p PORT alice@head01 vacm`): the machine protocol that
 * vacm's own clients speak, JSON lines both ways, versioned (PROTOCOL_VERSION; docs/ipc.md, "The vacm
 * subsystem"). The server speaks first (`hello`); the client sends requests (`submit`, `cancel`,
 * `subscribe`, `view`, `ping`); the server answers and streams the events of the client's own jobs,
 * and, once subscribed, the state: a snapshot, then deltas, coalesced (node state at most once a
 * second, jobs at most 10 times a second). A client that reads slowly gets fewer, fuller deltas; one
 * that stops reading is disconnected once serve.max_unread_bytes are waiting for it. Nothing here
 * waits on a client: the engine and the other clients never slow down for it.
 */
import type { ServerChannel } from 'ssh2';
import { jsonText, toWire, type VacmEvent } from '../protocol/events.js';
import { toVacmError } from '../protocol/errors.js';
import { MAX_LINE_BYTES } from '../protocol/ipc.js';
import type { DrainInfo, JobOrigin, JobView, NodeView } from '../protocol/module.js';
import { NodeSet } from '../protocol/nodeset.js';
import type { Engine } from '../engine/engine.js';
import { execSafeList } from '../engine/auth.js';
import { FINE_SPAN_S } from '../engine/history.js';
import { readRequestLines } from './request-lines.js';
import type { DoorConnection } from './serve-door.js';
import { channelInput } from './serve-channel.js';

export const PROTOCOL_VERSION = 1;
const NODE_EVERY_MS = 1000;
const JOB_EVERY_MS = 100;
/** stats are sent for at most this many nodes (the ones the client shows: `view`) */
const MAX_VIEW = 1024;

/** A node as the protocol carries it: the state for every node; load and stats for the viewed ones. */
export interface WireNode {
  name: string;
  state: string;
  power: string;
  reason?: string;
  since: number;
  load1?: number;
  stats?: Readonly<Record<string, string | number>>;
  statsTs?: number;
  groups?: readonly string[];
  vars?: Readonly<Record<string, string>>;
  load?: readonly number[];
  /** the machine the serve runs on (in full views) */
  local?: boolean;
  drain?: DrainInfo;
}

export interface WireJob {
  id: number;
  line: string;
  state: string;
  done: number;
  total: number;
  ok: number;
  failed: number;
  targets: string;
  user?: string;
  door?: string;
  addr?: string;
  startedAt: number;
  endedAt?: number;
  error?: { code: string; message: string };
}

function wireJob(j: JobView): WireJob {
  const w: WireJob = { id: j.id, line: j.line, state: j.state, done: j.done, total: j.targets.length > 0 ? j.targets.length : j.done, ok: j.ok, failed: j.failed, targets: j.targetsFolded, startedAt: j.startedAt };
  if (j.user !== undefined) w.user = j.user;
  w.door = j.origin?.door ?? 'local';
  if (j.origin) w.addr = j.origin.addr;
  if (j.endedAt !== undefined) w.endedAt = j.endedAt;
  if (j.error) w.error = j.error;
  return w;
}

function wireNode(n: NodeView, full: boolean, stats: boolean): WireNode {
  const w: WireNode = { name: n.name, state: n.state, power: n.power, since: n.stateSince };
  if (n.stateReason !== undefined) w.reason = n.stateReason;
  if (n.drain) w.drain = n.drain;
  if (stats) {
    const l = n.loadHistory.at(-1);
    if (l !== undefined) w.load1 = l;
    if (n.stats) w.stats = n.stats;
    if (n.statsTs !== undefined) w.statsTs = n.statsTs;
    // the load history once (snapshot, newly viewed); deltas carry load1, which the client appends
    if (full) w.load = n.loadHistory;
  }
  if (full) {
    w.groups = n.groups;
    w.vars = n.vars; // secrets masked (store.ts)
    if (n.local) w.local = true;
  }
  return w;
}

/** Views are rebuilt on every change of a node: its variables are compared by content. */
function sameVars(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  if (a === b) return true;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}

/** An event of one of the client's jobs, as `vacm ipc --json` prints it. */
function wireEvent(e: VacmEvent): object {
  const w = toWire(e);
  // body: the event itself, for vacm's own dashboard (the job output it draws); fields stay the ipc --json shape
  const { tag: _t, job: _j, ts: _ts, ...body } = e;
  return { type: 'event', tag: e.tag, job: e.job, event: w.event, node: w.node ?? null, fields: w.fields, ts: new Date(e.ts).toISOString(), body };
}

export function attachSubsystem(engine: Engine, ch: ServerChannel, origin: JobOrigin, conn: DoorConnection): void {
  let open = true;
  const send = (o: object) => {
    if (!open || ch.destroyed) return;
    const s = jsonText(o) + '\n';
    // the bound is on what waits unread: one message (a snapshot of many nodes) may pass it alone
    const waiting = conn.unread();
    if (waiting > 0 && waiting + s.length > conn.maxUnread) {
      conn.drop(`${origin.user} at ${origin.addr} left more than ${conn.maxUnread} bytes unread (serve.max_unread_bytes): disconnected`);
      close();
      return;
    }
    ch.write(s);
  };
  /** a delta waits while the client has half its allowance unread: it gets the sum later, not a queue */
  const congested = () => conn.unread() > conn.maxUnread / 2;

  const mine = new Set<number>();
  const offEvents = engine.subscribe((e) => {
    if (mine.has(e.job)) {
      send(wireEvent(e));
      if (e.type === 'JOB_COMPLETED' || e.type === 'JOB_FAILED' || e.type === 'JOB_CANCELLED') mine.delete(e.job);
    } else if (e.job === 0 && subscribed && (e.type === 'NODE_UP' || e.type === 'NODE_DOWN' || e.type === 'DISCOVERED')) send(wireEvent(e));
  });

  // ---- state subscription: snapshot, then coalesced deltas ----
  let subscribed = false;
  let view: Set<string> | undefined; // undefined: stats of every node
  const sentNodes = new Map<string, NodeView>();
  const sentJobs = new Map<number, JobView>();
  let nodeTimer: NodeJS.Timeout | undefined;
  let jobTimer: NodeJS.Timeout | undefined;
  const wantsStats = (name: string) => (view ? view.has(name) : true);

  const nodeDelta = () => {
    if (congested()) return;
    const changed: WireNode[] = [];
    for (const n of engine.getSnapshot().nodes) {
      const before = sentNodes.get(n.name);
      if (before === n) continue;
      sentNodes.set(n.name, n);
      const stateChanged = !before || before.state !== n.state || before.power !== n.power || before.stateReason !== n.stateReason || before.drain !== n.drain;
      const statsChanged = wantsStats(n.name) && (!before || before.statsTs !== n.statsTs);
      const varsChanged = !before || !sameVars(before.vars, n.vars);
      if (stateChanged || statsChanged || varsChanged) changed.push(wireNode(n, !before || varsChanged, wantsStats(n.name)));
    }
    const snap = engine.getSnapshot();
    if (changed.length > 0) send({ type: 'nodes', nodes: changed, counts: snap.counts });
  };
  const jobDelta = () => {
    if (congested()) return;
    const snap = engine.getSnapshot();
    const changed: WireJob[] = [];
    const seen = new Set<number>();
    for (const j of snap.jobs) {
      seen.add(j.id);
      if (sentJobs.get(j.id) === j) continue;
      const before = sentJobs.get(j.id);
      sentJobs.set(j.id, j);
      if (before && before.state === j.state && before.done === j.done && before.failed === j.failed) continue;
      changed.push(wireJob(j));
    }
    const gone: number[] = [];
    for (const id of sentJobs.keys()) if (!seen.has(id)) gone.push(id);
    for (const id of gone) sentJobs.delete(id);
    if (changed.length > 0 || gone.length > 0) send({ type: 'jobs', jobs: changed, gone, running: snap.runningJobs });
  };

  const subscribe = () => {
    const snap = engine.getSnapshot();
    sentNodes.clear();
    sentJobs.clear();
    for (const n of snap.nodes) sentNodes.set(n.name, n);
    for (const j of snap.jobs) sentJobs.set(j.id, j);
    send({ type: 'snapshot', cluster: snap.cluster, counts: snap.counts, running: snap.runningJobs, nodes: snap.nodes.map((n) => wireNode(n, true, wantsStats(n.name))), jobs: snap.jobs.map(wireJob) });
    subscribed = true;
    nodeTimer ??= setInterval(nodeDelta, NODE_EVERY_MS);
    jobTimer ??= setInterval(jobDelta, JOB_EVERY_MS);
  };

  const close = () => {
    if (!open) return;
    open = false;
    offEvents();
    clearInterval(nodeTimer);
    clearInterval(jobTimer);
  };
  ch.on('close', close);
  ch.on('error', close);

  send({ type: 'hello', v: PROTOCOL_VERSION, server: 'vacm serve', cluster: engine.getSnapshot().cluster, host: engine.localName, user: origin.user, role: origin.role, door: origin.door, session: origin.session, execSafe: execSafeList(engine.config) });

  const handle = (o: Record<string, unknown>) => {
    const ref = o.ref;
    const err = (code: string, message: string) => send({ type: 'error', ref: ref ?? null, code, message });
    switch (o.op) {
      case 'ping':
        send({ type: 'pong', ref: ref ?? null });
        return;
      case 'submit': {
        if (typeof o.line !== 'string') return err('ERR_PROTO_PARSE', 'submit takes "line": an IPC request');
        try {
          const h = engine.submit(o.line, { origin });
          mine.add(h.id);
          send({ type: 'submitted', ref: ref ?? null, job: h.id });
        } catch (e) {
          const ve = toVacmError(e, 'ERR_PROTO_PARSE');
          err(ve.code, ve.message);
        }
        return;
      }
      case 'cancel': {
        if (typeof o.job !== 'number') return err('ERR_BAD_ARGS', 'cancel takes "job": a job id');
        try {
          const h = engine.submit(`NEXXUS:CANCEL::${o.job}`, { origin });
          mine.add(h.id);
          send({ type: 'submitted', ref: ref ?? null, job: h.id });
        } catch (e) {
          const ve = toVacmError(e);
          err(ve.code, ve.message);
        }
        return;
      }
      case 'subscribe':
        subscribe();
        return;
      case 'view': {
        // the nodes whose load and stats the client shows (a node set); others get state only
        if (o.nodes === null || o.nodes === '*') view = undefined;
        else if (typeof o.nodes === 'string') {
          try {
            const names = engine.resolve(o.nodes).slice(0, MAX_VIEW);
            view = new Set(names);
            for (const n of names) sentNodes.delete(n); // sent again in full at the next tick
          } catch (e) {
            const ve = toVacmError(e, 'ERR_NODESET_PARSE');
            return err(ve.code, ve.message);
          }
        } else return err('ERR_BAD_ARGS', 'view takes "nodes": a node set, or "*"');
        send({ type: 'ok', ref: ref ?? null, viewing: view ? NodeSet.fromNames(view).fold() : '*' });
        return;
      }
      case 'who':
        send({ type: 'who', ref: ref ?? null, sessions: engine.sessions() });
        return;
      case 'series': {
        // a node's load over the last span_ms, from the engine's history: what the detail pane's chart draws
        const span = typeof o.span_ms === 'number' && Number.isFinite(o.span_ms) ? Math.min(Math.max(o.span_ms, 1000), 86_400_000) : 0;
        if (typeof o.node !== 'string' || span === 0 || engine.node(o.node) === undefined) return err('ERR_BAD_ARGS', 'series takes "node" (a node of the nodelist) and "span_ms"');
        const now = Date.now();
        const s = engine.history.query([o.node], now - span, now, span <= FINE_SPAN_S * 1000 ? 'fine' : 'coarse').get(o.node);
        send({ type: 'series', ref: ref ?? null, node: o.node, span_ms: span, ts: s?.ts ?? [], values: s?.values.load1 ?? [] });
        return;
      }
      default:
        err('ERR_UNKNOWN_COMMAND', `unknown op ${JSON.stringify(String(o.op)).slice(0, 40)}; ops: submit, cancel, subscribe, view, who, series, ping`);
    }
  };

  void (async () => {
    try {
      for await (const r of readRequestLines(channelInput(ch), MAX_LINE_BYTES)) {
        if (!open) break;
        conn.touch();
        if ('tooLong' in r) {
          send({ type: 'error', ref: null, code: 'ERR_LINE_TOO_LONG', message: `a line of ${r.tooLong} bytes is over the ${MAX_LINE_BYTES}-byte limit; it was dropped` });
          continue;
        }
        if (r.line.trim() === '') continue;
        let o: unknown;
        try {
          o = JSON.parse(r.line);
        } catch {
          send({ type: 'error', ref: null, code: 'ERR_PROTO_PARSE', message: 'not a JSON object; each line is one request, e.g. {"op":"ping"}' });
          continue;
        }
        if (typeof o !== 'object' || o === null || Array.isArray(o)) {
          send({ type: 'error', ref: null, code: 'ERR_PROTO_PARSE', message: 'each line is one JSON object with "op"' });
          continue;
        }
        handle(o as Record<string, unknown>);
      }
    } catch {
      /* the channel went away */
    }
    close();
    try {
      if (!ch.destroyed) {
        ch.exit(0);
        ch.end();
      }
    } catch {
      /* gone */
    }
  })();
}
