/**
 * Typed events. Modules emit `EventBody` values; the engine stamps them with tag, job id and time
 * (`VacmEvent`); printers turn them into response lines with `toWire` / `toJsonLine`. Never free-form
 * strings: add a variant here (and its wire shape in `toWire`) for a new kind of event.
 */
import type { ErrorCode } from './errors.js';
import { formatResponse } from './ipc.js';

export type NodeState = 'up' | 'down' | 'off' | 'unknown';
export type PowerState = 'on' | 'off' | 'unknown';
export type StatValue = string | number;

export type EventBody =
  // job lifecycle (the engine emits these, modules never do)
  | { type: 'JOB_STARTED'; request: string; targets: number }
  | { type: 'JOB_COMPLETED'; ok: number; failed: number; skipped?: number }
  | { type: 'JOB_FAILED'; code: ErrorCode; message: string }
  | { type: 'JOB_CANCELLED' }
  // errors: with a node when they belong to one
  | { type: 'ERROR'; node?: string; code: ErrorCode; message: string }
  // NEXXUS
  | { type: 'NODELIST'; node: string }
  | { type: 'MODULE'; module: string; commands: string[]; summary: string }
  | { type: 'GROUP'; group: string; nodes: string; count: number }
  | { type: 'VAR'; node: string; key: string; value: string }
  | { type: 'VAR_UNSET'; node: string; key: string }
  | { type: 'JOB'; id: number; state: JobState; done: number; total: number; request: string }
  // NEXXUS:JOBS: who submitted the job just listed, through which door (local, ssh, socket)
  | { type: 'JOB_BY'; id: number; user: string; door: string; addr: string; key: string }
  // NEXXUS:WHO: one attached session of vacm serve
  | { type: 'WHO'; session: number; user: string; role: string; door: string; addr: string; kind: string; since: string; key: string }
  | { type: 'CANCELLED'; id: number }
  | { type: 'HELP'; module: string; command: string; usage: string; lane: Lane; dangerous: boolean; summary: string }
  // node events of the modules
  | { type: 'PING'; node: string; state: 'up' | 'down'; rttMs?: number; reason?: string }
  | { type: 'STAT'; node: string; stats: Readonly<Record<string, StatValue>> }
  | { type: 'OUTPUT'; node: string; stream: 'stdout' | 'stderr'; line: string }
  | { type: 'EXIT'; node: string; code: number; signal?: string }
  // SSH:PUSH / SSH:PULL: a node's copy is done (bytes moved and the content's sha256, or unchanged
  // when SKIP_SAME found the node's copy identical); PROGRESS: the job's bytes so far, at most 2/s
  | { type: 'COPY'; node: string; bytes: number; sha256: string | 'unchanged' }
  | { type: 'PROGRESS'; bytes: number; total: number; done: number; nodes: number }
  // a node not run because it is known down or off (exec.skip_states): neither ok nor failed
  | { type: 'SKIPPED'; node: string; state: NodeState | 'drained'; reason: string }
  | { type: 'POWER'; node: string; state: PowerState }
  | { type: 'BOOTDEV'; node: string; device: string; persistence: 'once' | 'persistent'; efi: boolean }
  | { type: 'IDENTIFY'; node: string; state: string }
  | { type: 'SENSOR'; node: string; name: string; value: string; unit: string; status: string }
  | { type: 'SEL'; node: string; id: number; time: string; sensor: string; event: string; direction: 'asserted' | 'deasserted' }
  | { type: 'SEL_INFO'; node: string; entries: number; freeBytes: number; added: string; erased: string }
  // a serial console line (`part`: the line so far, shown after a quiet moment; the whole line follows)
  | { type: 'CONSOLE'; node: string; kind: 'line' | 'part'; line: string }
  | { type: 'CONSOLE_STATE'; node: string; state: 'connected' | 'lost' | 'retrying' | 'sent' | 'break'; message: string }
  // unsolicited (job 0): membership and discovery
  | { type: 'NODE_UP'; node: string }
  | { type: 'NODE_DOWN'; node: string; reason: string }
  | { type: 'DISCOVERED'; host: string; addr: string }
  // ROLLOUT:RUN: a wave started (its inner job's id) or ended (its counts)
  | { type: 'WAVE'; wave: number; waves: number; nodes: string; count: number; inner: number; ok?: number; failed?: number }
  // a named counter (COLLECTOR:STATS)
  | { type: 'COUNTER'; name: string; value: number }
  // NEXXUS:DRAIN / UNDRAIN / DRAINED: a node marked "do not touch" (since: ms since the epoch)
  | { type: 'DRAINED'; node: string; user: string; since: number; reason: string }
  | { type: 'UNDRAINED'; node: string; user: string }
  // NEXXUS:EVENTS: one entry of the events timeline (node: a name or a folded set, '' for none)
  | { type: 'EVENT'; at: number; kind: string; node: string; text: string };

export type EventType = EventBody['type'];
export type Lane = 'control' | 'bulk';
export type JobState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

/** An event as subscribers see it. */
export type VacmEvent = EventBody & { readonly tag: string; readonly job: number; readonly ts: number };

export const TERMINAL_EVENTS: ReadonlySet<EventType> = new Set(['JOB_COMPLETED', 'JOB_FAILED', 'JOB_CANCELLED']);

export function isTerminal(e: EventBody): boolean {
  return TERMINAL_EVENTS.has(e.type);
}

/** The node an event is about, if any. */
export function eventNode(e: EventBody): string | undefined {
  return 'node' in e ? e.node : undefined;
}

export interface WireShape {
  event: string;
  node?: string;
  /** fields after EVENT, node first where there is one */
  fields: string[];
  verbatimLast?: boolean;
}

function fmtMs(ms: number): string {
  // three significant decimals like ping's "0.041ms"
  return `${ms < 10 ? ms.toFixed(3) : ms < 100 ? ms.toFixed(2) : ms.toFixed(1)}ms`;
}

/** The wire shape of an event: EVENT and its fields, the node first where there is one. */
export function toWire(e: EventBody): WireShape {
  switch (e.type) {
    case 'JOB_STARTED':
    case 'JOB_CANCELLED':
      return { event: e.type, fields: [] };
    case 'JOB_COMPLETED':
      // skipped=K only when nodes were skipped: `ok=N:failed=M` stays what scripts match
      return { event: e.type, fields: e.skipped ? [`ok=${e.ok}`, `failed=${e.failed}`, `skipped=${e.skipped}`] : [`ok=${e.ok}`, `failed=${e.failed}`] };
    case 'JOB_FAILED':
      return { event: e.type, fields: [e.code, e.message] };
    case 'ERROR':
      return e.node !== undefined
        ? { event: 'ERROR', node: e.node, fields: [e.node, e.code, e.message] }
        : { event: 'ERROR', fields: [e.code, e.message] };
    case 'NODELIST':
      return { event: 'NODELIST', node: e.node, fields: [e.node] };
    case 'MODULE':
      return { event: 'MODULE', fields: [e.module, e.commands.join(','), e.summary] };
    case 'GROUP':
      return { event: 'GROUP', fields: [e.group, e.nodes, String(e.count)] };
    case 'VAR':
      return { event: 'VAR', node: e.node, fields: [e.node, e.key, e.value] };
    case 'VAR_UNSET':
      return { event: 'VAR_UNSET', node: e.node, fields: [e.node, e.key] };
    case 'JOB':
      return { event: 'JOB', fields: [String(e.id), e.state, `${e.done}/${e.total}`, e.request], verbatimLast: true };
    case 'JOB_BY':
      return { event: 'JOB_BY', fields: [String(e.id), e.user, e.door, e.addr, e.key] };
    case 'WHO':
      return { event: 'WHO', fields: [String(e.session), e.user, e.role, e.door, e.addr, e.kind, e.since, e.key] };
    case 'CANCELLED':
      return { event: 'CANCELLED', fields: [String(e.id)] };
    case 'HELP':
      return { event: 'HELP', fields: [e.module, e.command, e.usage, e.lane + (e.dangerous ? ',dangerous' : ''), e.summary] };
    case 'PING':
      return { event: 'PING', node: e.node, fields: [e.node, e.state, e.state === 'up' ? fmtMs(e.rttMs ?? 0) : (e.reason ?? 'no reply')] };
    case 'STAT':
      return { event: 'STAT', node: e.node, fields: [e.node, ...Object.entries(e.stats).map(([k, v]) => `${k}=${v}`)] };
    case 'OUTPUT':
      return { event: 'OUTPUT', node: e.node, fields: [e.node, e.stream, e.line], verbatimLast: true };
    case 'EXIT':
      return { event: 'EXIT', node: e.node, fields: e.signal ? [e.node, String(e.code), e.signal] : [e.node, String(e.code)] };
    case 'COPY':
      return { event: 'COPY', node: e.node, fields: [e.node, String(e.bytes), e.sha256] };
    case 'PROGRESS':
      return { event: 'PROGRESS', fields: [String(e.bytes), String(e.total), `${e.done}/${e.nodes}`] };
    case 'SKIPPED':
      return { event: 'SKIPPED', node: e.node, fields: [e.node, e.state, e.reason] };
    case 'POWER':
      return { event: 'POWER', node: e.node, fields: [e.node, e.state] };
    case 'BOOTDEV':
      return { event: 'BOOTDEV', node: e.node, fields: e.efi ? [e.node, e.device, e.persistence, 'efi'] : [e.node, e.device, e.persistence] };
    case 'IDENTIFY':
      return { event: 'IDENTIFY', node: e.node, fields: [e.node, e.state] };
    case 'SENSOR':
      return { event: 'SENSOR', node: e.node, fields: [e.node, e.name, e.value, e.unit, e.status] };
    case 'SEL':
      return { event: 'SEL', node: e.node, fields: [e.node, String(e.id), e.time, e.sensor, e.event, e.direction] };
    case 'SEL_INFO':
      return { event: 'SEL_INFO', node: e.node, fields: [e.node, `entries=${e.entries}`, `free=${e.freeBytes}`, `added=${e.added}`, `erased=${e.erased}`] };
    case 'CONSOLE':
      return { event: 'CONSOLE', node: e.node, fields: [e.node, e.kind, e.line], verbatimLast: true };
    case 'CONSOLE_STATE':
      return { event: 'CONSOLE_STATE', node: e.node, fields: [e.node, e.state, e.message] };
    case 'NODE_UP':
      return { event: 'NODE_UP', node: e.node, fields: [e.node] };
    case 'NODE_DOWN':
      return { event: 'NODE_DOWN', node: e.node, fields: [e.node, e.reason] };
    case 'DISCOVERED':
      return { event: 'DISCOVERED', fields: [e.host, e.addr] };
    case 'COUNTER':
      return { event: 'COUNTER', fields: [e.name, String(e.value)] };
    case 'DRAINED':
      return { event: 'DRAINED', node: e.node, fields: [e.node, e.user, new Date(e.since).toISOString(), e.reason] };
    case 'UNDRAINED':
      return { event: 'UNDRAINED', node: e.node, fields: [e.node, e.user] };
    case 'EVENT':
      return { event: 'EVENT', fields: [new Date(e.at).toISOString(), e.kind, e.node, e.text] };
    case 'WAVE':
      return {
        event: 'WAVE',
        fields: [`${e.wave}/${e.waves}`, e.nodes, String(e.count), `job=${e.inner}`, ...(e.ok === undefined ? ['started'] : ['done', `ok=${e.ok}`, `failed=${e.failed ?? 0}`])],
      };
  }
}

/** Number of fields before a verbatim last field, per event name (for parseResponse). */
export function verbatimFieldsBefore(event: string): number | undefined {
  if (event === 'OUTPUT') return 2;
  if (event === 'CONSOLE') return 2;
  if (event === 'JOB') return 3;
  return undefined;
}

export function toLine(e: VacmEvent): string {
  const w = toWire(e);
  return formatResponse({ tag: e.tag, job: e.job, event: w.event, fields: w.fields, verbatimLast: w.verbatimLast });
}

// JSON.stringify escapes C0 but leaves DEL, C1 (8-bit CSI/OSC) and the JS line separators raw
const JSON_RAW_CONTROLS_G = /[\u007f-\u009f\u2028\u2029]/g;

/** JSON.stringify with no control character left raw (the same value when parsed). */
export function jsonText(v: unknown): string {
  return JSON.stringify(v).replace(JSON_RAW_CONTROLS_G, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** `{"tag","job","event","node","fields","ts"}` — one JSON object a line (`--json`). */
export function toJsonLine(e: VacmEvent): string {
  const w = toWire(e);
  return jsonText({ tag: e.tag, job: e.job, event: w.event, node: w.node ?? null, fields: w.fields, ts: new Date(e.ts).toISOString() });
}
