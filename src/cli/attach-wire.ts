/**
 * The attached dashboard's reading of what the serve sends (serve-proto.ts, docs/ipc.md): each wire
 * node, job and event made into the engine's own view shape, every string bounded and every field
 * checked for its type; what does not fit is dropped, never trusted (attach-engine.ts holds them).
 */
import { MAX_LINE_BYTES } from '../protocol/ipc.js';
import type { DrainInfo, JobOrigin, JobView, NodeView } from '../protocol/module.js';
import type { NodeState, PowerState, VacmEvent, JobState, Lane } from '../protocol/events.js';
import { NodeSet } from '../protocol/nodeset.js';
import { LOAD_HISTORY } from '../engine/store.js';
import type { WireJob, WireNode } from './serve-proto.js';

const NODE_STATES: ReadonlySet<string> = new Set(['up', 'down', 'off', 'unknown']);
const POWER_STATES: ReadonlySet<string> = new Set(['on', 'off', 'unknown']);
const JOB_STATES: ReadonlySet<string> = new Set(['queued', 'running', 'completed', 'failed', 'cancelled']);

export const str = (x: unknown, max = 4096): string | undefined => (typeof x === 'string' ? x.slice(0, max) : undefined);
export const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);

function strRecord(x: unknown, max = 512): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  if (typeof x !== 'object' || x === null) return out;
  let n = 0;
  for (const [k, v] of Object.entries(x)) {
    if (n++ >= max) break;
    if (typeof v === 'string') out[k.slice(0, 256)] = v.slice(0, 4096);
  }
  return out;
}

function statRecord(x: unknown): Record<string, string | number> | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const out: Record<string, string | number> = Object.create(null);
  let n = 0;
  for (const [k, v] of Object.entries(x)) {
    if (n++ >= 256) break;
    if (typeof v === 'string') out[k.slice(0, 128)] = v.slice(0, 256);
    else if (typeof v === 'number' && Number.isFinite(v)) out[k.slice(0, 128)] = v;
  }
  return out;
}

export function numbers(x: unknown, max: number): number[] {
  return Array.isArray(x) ? x.filter((v): v is number => typeof v === 'number' && Number.isFinite(v)).slice(-max) : [];
}

/** The view of a node from its wire form, merged over what was known (deltas leave out what did not change). */
export function nodeFromWire(w: WireNode, before: NodeView | undefined): NodeView | undefined {
  const name = str(w.name, 256);
  if (!name) return undefined;
  const state = (NODE_STATES.has(w.state) ? w.state : 'unknown') as NodeState;
  const power = (POWER_STATES.has(w.power) ? w.power : 'unknown') as PowerState;
  let loadHistory: readonly number[] = before?.loadHistory ?? [];
  const statsTs = num(w.statsTs) ?? before?.statsTs;
  if (w.load !== undefined) loadHistory = numbers(w.load, LOAD_HISTORY);
  else if (num(w.load1) !== undefined && statsTs !== before?.statsTs) loadHistory = [...loadHistory, w.load1!].slice(-LOAD_HISTORY);
  const drain = typeof w.drain === 'object' && w.drain !== null
    ? ({ who: str(w.drain.who, 256) ?? '?', since: num(w.drain.since) ?? 0, reason: str(w.drain.reason, 512) ?? '' } satisfies DrainInfo)
    : undefined;
  const v: NodeView = {
    name,
    groups: Array.isArray(w.groups) ? w.groups.filter((g): g is string => typeof g === 'string').slice(0, 256) : (before?.groups ?? []),
    vars: w.vars !== undefined ? strRecord(w.vars) : (before?.vars ?? {}),
    state,
    stateReason: str(w.reason, 512),
    stateSince: num(w.since) ?? before?.stateSince ?? 0,
    power,
    local: w.vars !== undefined ? w.local === true : (before?.local ?? false),
    stats: w.stats !== undefined ? statRecord(w.stats) : before?.stats,
    statsTs,
    loadHistory,
    drain,
  };
  return Object.freeze(v);
}

/** A job's view from its wire form; `events` are this client's own (the serve streams only those); `before`, its last view. */
export function jobFromWire(w: WireJob, events: readonly VacmEvent[], truncated: number, dangerous: boolean, before?: JobView): JobView | undefined {
  const id = num(w.id);
  const line = str(w.line, MAX_LINE_BYTES);
  if (id === undefined || line === undefined) return undefined;
  const [tag = '', command = ''] = line.split(':', 2);
  const folded = str(w.targets, 65536) ?? '';
  // a job's targets do not change while it runs: expanded once, not at every delta and event of it
  let targets: readonly string[] = [];
  if (before && before.targetsFolded === folded) targets = before.targets;
  else {
    try {
      targets = folded ? NodeSet.parse(folded, { maxNodes: 100_000 }).expand() : [];
    } catch {
      targets = [];
    }
  }
  const origin: JobOrigin | undefined = w.door === 'ssh' || w.door === 'socket'
    ? { user: str(w.user, 256) ?? '?', role: 'viewer', door: w.door, addr: str(w.addr, 256) ?? '', key: '', session: 0 }
    : undefined;
  const error = typeof w.error === 'object' && w.error !== null ? { code: str(w.error.code, 64) ?? 'ERR_INTERNAL', message: str(w.error.message) ?? '' } : undefined;
  const v: JobView = {
    id,
    tag: tag.toUpperCase(),
    command: command.toUpperCase(),
    line,
    targets,
    targetsFolded: folded,
    state: (JOB_STATES.has(w.state) ? w.state : 'queued') as JobState,
    dangerous,
    lane: 'control' as Lane,
    done: num(w.done) ?? 0,
    ok: num(w.ok) ?? 0,
    failed: num(w.failed) ?? 0,
    startedAt: num(w.startedAt) ?? 0,
    endedAt: num(w.endedAt),
    error,
    events,
    truncated,
    quiet: false,
    user: str(w.user, 256),
    origin,
  };
  return Object.freeze(v);
}

/** The event of a job of ours from its `body` (the serve's event, a bounded copy). */
export function eventFromWire(o: Record<string, unknown>): VacmEvent | undefined {
  const body = o.body;
  const job = num(o.job);
  if (typeof body !== 'object' || body === null || job === undefined) return undefined;
  const b = body as Record<string, unknown>;
  if (typeof b.type !== 'string') return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(b)) {
    if (typeof v === 'string') out[k] = v.slice(0, MAX_LINE_BYTES);
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else if (Array.isArray(v)) out[k] = v.filter((x) => typeof x === 'string').slice(0, 256);
    else if (typeof v === 'object' && v !== null) out[k] = statRecord(v);
  }
  const ts = Date.parse(String(o.ts));
  return { ...out, tag: str(o.tag, 32) ?? '', job, ts: Number.isFinite(ts) ? ts : Date.now() } as unknown as VacmEvent;
}
