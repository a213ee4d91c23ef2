/**
 * What a module's events mean for the engine's store: each module declares, per event type, the
 * fact an event tells about its node (reachable or not, its power, its stats); the engine applies
 * the facts and knows no event by name. A new module (SENSORS, SEL) declares its own mapping here
 * in its ModuleDef (`facts`), with no engine change. Pure: table-tested.
 */
import type { EventBody, EventType, PowerState, StatValue } from './events.js';

/** One thing learnt about a node. */
export type NodeFact =
  /** reachability evidence: a ping reply or its absence, a connection that found no host */
  | { readonly kind: 'reach'; readonly node: string; readonly state: 'up' | 'down'; readonly reason?: string }
  | { readonly kind: 'power'; readonly node: string; readonly state: PowerState }
  /** a reading of the node's stats (load, memory, ...): its load history grows by it */
  | { readonly kind: 'stats'; readonly node: string; readonly stats: Readonly<Record<string, StatValue>> }
  /** a sensor reading (SENSORS) or an event log record (SEL): the node's sensors in the store (protocol/sensors.ts) */
  | { readonly kind: 'sensor'; readonly node: string; readonly event: EventOf<'SENSOR'> }
  | { readonly kind: 'sel'; readonly node: string; readonly event: EventOf<'SEL'> };

/** The event of one type. */
export type EventOf<T extends EventType> = Extract<EventBody, { type: T }>;

/** Per event type, the fact its event tells (undefined: nothing this time). */
export type EventFacts = { readonly [T in EventType]?: (e: EventOf<T>) => NodeFact | undefined };

/** The fact an event tells under a module's mapping, if any. */
export function factOf(facts: EventFacts | undefined, e: EventBody): NodeFact | undefined {
  const f = facts?.[e.type] as ((e: EventBody) => NodeFact | undefined) | undefined;
  return f ? f(e) : undefined;
}

/** PING: a reply is up, its absence down (with why). */
export function pingReach(e: EventOf<'PING'>): NodeFact {
  return { kind: 'reach', node: e.node, state: e.state, reason: e.state === 'down' ? e.reason ?? 'no ping reply' : undefined };
}

/** The error codes that say a node could not be reached (not merely that it refused). */
const UNREACHABLE_CODES: ReadonlySet<string> = new Set(['ERR_SSH_UNREACHABLE']);

/** ERROR: an SSH connection that found no host is evidence the node is down; other errors say nothing. */
export function sshUnreachable(e: EventOf<'ERROR'>): NodeFact | undefined {
  return e.node !== undefined && UNREACHABLE_CODES.has(e.code) ? { kind: 'reach', node: e.node, state: 'down', reason: `ssh: ${e.message}` } : undefined;
}

/** POWER: the node's power state after an action or a status query. */
export function powerState(e: EventOf<'POWER'>): NodeFact {
  return { kind: 'power', node: e.node, state: e.state };
}

/** STAT: a reading of the node's stats. */
export function statReading(e: EventOf<'STAT'>): NodeFact {
  return { kind: 'stats', node: e.node, stats: e.stats };
}

/** What every module reaching nodes over SSH declares: its ERROR events carry reachability evidence. */
export const SSH_REACH_FACTS: EventFacts = { ERROR: sshUnreachable };

/** SENSOR: one reading of the node's sensors (the engine makes its texts safe and bounds them). */
export function sensorReading(e: EventOf<'SENSOR'>): NodeFact {
  return { kind: 'sensor', node: e.node, event: e };
}

/** SEL: a record of the node's BMC event log. */
export function selRecord(e: EventOf<'SEL'>): NodeFact {
  return { kind: 'sel', node: e.node, event: e };
}
