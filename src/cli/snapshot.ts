/**
 * `vacm snapshot --html out.html`: gomd's clusterSnapshot. The numbers come from a running (or
 * recently stopped) `vacm serve`'s saved state in the state dir when it is fresh enough (with its
 * load history); otherwise from a one-shot sweep: ICMP_ECHO:PING and SYSSTAT:GET over every node
 * where those modules exist, and this machine's own stats (SYSSTAT:GET of it alone when the sweep
 * left it without: the same reader as the dashboard's) — with no history to chart.
 */
import fs from 'node:fs';
import { defaultStateDir } from '../engine/audit.js';
import { readStateFile } from '../platform/state-files.js';
import { History } from '../engine/history.js';
import type { Engine } from '../engine/engine.js';
import { toVacmError } from '../protocol/errors.js';
import type { NodeView } from '../protocol/module.js';
import type { NodeState, PowerState, StatValue } from '../protocol/events.js';
import { escapeField } from '../protocol/ipc.js';
import { openEngine, type EngineArgs } from './setup.js';
import { checkWholeNumber } from './options.js';
import { HISTORY_FILE, SNAPSHOT_FILE, type SavedState } from './serve.js';
import { renderSnapshotHtml, type SnapshotData } from './snapshot-html.js';
import { EXIT_OK, EXIT_USAGE, type Io } from './io.js';

export interface SnapshotArgs extends EngineArgs {
  html: string;
  /** use serve's saved state only when it is at most this old, seconds (default 300) */
  maxAge?: number;
  /** per-sweep bound for the one-shot mode, ms (default 30 000) */
  sweepTimeoutMs?: number;
}

const HOUR = 3_600_000;

const NODE_STATES: Record<NodeState, true> = { up: true, down: true, off: true, unknown: true };
const POWER_STATES: Record<PowerState, true> = { on: true, off: true, unknown: true };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** One saved node, checked field by field and rebuilt (nothing else passes through), or why not. */
function savedNode(v: unknown, at: string): NodeView | string {
  if (!isObject(v)) return `${at} is not a mapping`;
  const { name, state, power, stateReason, stateSince, stats, statsTs, groups, loadHistory } = v;
  if (typeof name !== 'string' || name === '' || name.length > 255) return `${at}.name is not a node name`;
  if (typeof state !== 'string' || !Object.hasOwn(NODE_STATES, state)) return `${at}.state is not one of ${Object.keys(NODE_STATES).join(', ')}`;
  if (typeof power !== 'string' || !Object.hasOwn(POWER_STATES, power)) return `${at}.power is not one of ${Object.keys(POWER_STATES).join(', ')}`;
  if (stateReason !== undefined && typeof stateReason !== 'string') return `${at}.stateReason is not text`;
  if (stats !== undefined && (!isObject(stats) || Object.values(stats).some((x) => typeof x !== 'string' && typeof x !== 'number'))) return `${at}.stats is not a mapping of numbers and text`;
  if (statsTs !== undefined && !isFiniteNumber(statsTs)) return `${at}.statsTs is not a time`;
  if (groups !== undefined && (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string'))) return `${at}.groups is not a list of names`;
  return {
    name,
    groups: (groups as string[] | undefined) ?? [],
    vars: {},
    state: state as NodeState,
    ...(stateReason !== undefined ? { stateReason } : {}),
    stateSince: isFiniteNumber(stateSince) ? stateSince : 0,
    power: power as PowerState,
    local: v.local === true,
    ...(stats !== undefined ? { stats: Object.assign(Object.create(null) as Record<string, StatValue>, stats) } : {}),
    ...(statsTs !== undefined ? { statsTs } : {}),
    loadHistory: Array.isArray(loadHistory) ? loadHistory.filter(isFiniteNumber) : [],
  };
}

/**
 * serve's saved state, checked on read: it is a file, and what is in it reaches a web page. A
 * damaged or forged one is refused as a whole (the page says so and sweeps instead); the counts
 * are recomputed from the nodes rather than believed.
 */
export function parseSavedState(text: string): SavedState | string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return `not JSON (${(err as Error).message})`;
  }
  if (!isObject(raw) || raw.version !== 1) return 'not a version 1 snapshot';
  if (!isFiniteNumber(raw.savedAt)) return 'savedAt is not a time';
  if (typeof raw.cluster !== 'string') return 'cluster is not text';
  if (!Array.isArray(raw.nodes)) return 'nodes is not a list';
  const nodes: NodeView[] = [];
  for (let i = 0; i < raw.nodes.length; i++) {
    const n = savedNode(raw.nodes[i], `nodes[${i}]`);
    if (typeof n === 'string') return n;
    nodes.push(n);
  }
  const names = new Set(nodes.map((n) => n.name));
  const groups: Record<string, readonly string[]> = Object.create(null);
  if (!isObject(raw.groups)) return 'groups is not a mapping';
  for (const [g, members] of Object.entries(raw.groups)) {
    if (!Array.isArray(members) || members.some((m) => typeof m !== 'string' || !names.has(m))) return `groups.${g} is not a list of the saved nodes`;
    groups[g] = members as string[];
  }
  // a saved node carries no drain: drained nodes count under their state here
  const counts = { up: 0, down: 0, off: 0, unknown: 0, drained: 0 };
  for (const n of nodes) counts[n.state]++;
  return { version: 1, savedAt: raw.savedAt, cluster: raw.cluster, counts, nodes, groups };
}

/** The saved state when fresh enough; a string says why a saved state was refused. */
function readSaved(stateDir: string, maxAgeS: number, now: number): SavedState | string | undefined {
  let text: string | undefined;
  try {
    text = readStateFile(stateDir, SNAPSHOT_FILE)?.toString('utf8');
  } catch {
    return undefined; // an unusable state dir: sweep instead
  }
  if (text === undefined) return undefined; // no serve ran here
  const s = parseSavedState(text);
  if (typeof s === 'string') return `${stateDir}/${SNAPSHOT_FILE} was refused: ${s}`;
  return now - s.savedAt <= maxAgeS * 1000 ? s : undefined;
}

function aggregate(history: History, groups: Readonly<Record<string, readonly string[]>>, now: number) {
  return history.aggregate(groups, now - HOUR, now);
}

async function sweep(engine: Engine, timeoutMs: number, lines: readonly string[]): Promise<string[]> {
  const ran: string[] = [];
  for (const line of lines) {
    const tag = line.split(':')[0];
    if (!engine.registry.has(tag)) continue;
    try {
      const h = engine.submit(line, { quiet: true });
      const t = setTimeout(() => h.cancel(), timeoutMs);
      await h.done;
      clearTimeout(t);
      ran.push(line);
    } catch {
      /* a module that refuses (e.g. not configured) leaves those numbers out */
    }
  }
  return ran;
}

export async function buildSnapshot(a: SnapshotArgs, now = Date.now()): Promise<SnapshotData> {
  const stateDir = a.stateDir ?? defaultStateDir();
  const found = readSaved(stateDir, checkWholeNumber('--max-age', a.maxAge, 0, 31_536_000) ?? 300, now);
  const saved = typeof found === 'string' ? undefined : found;
  const refused = typeof found === 'string' ? `${found}; ` : '';
  if (saved) {
    let history = new History({ now: () => now });
    try {
      const b = readStateFile(stateDir, HISTORY_FILE);
      if (b) history = History.fromBuffer(b, { now: () => now });
    } catch {
      /* no history saved (or damaged): the charts say so */
    }
    const names = saved.nodes.map((n) => n.name);
    return {
      cluster: saved.cluster,
      generatedAt: now,
      source: `vacm serve's state, saved ${new Date(saved.savedAt).toISOString().replace('T', ' ').slice(0, 19)} UTC`,
      nodes: saved.nodes,
      counts: saved.counts,
      history: history.query(names, now - HOUR, now),
      groups: aggregate(history, saved.groups, now),
    };
  }
  const engine = await openEngine({ ...a, monitor: false, stateDir });
  try {
    const timeoutMs = a.sweepTimeoutMs ?? 30_000;
    const ran = await sweep(engine, timeoutMs, ['ICMP_ECHO:PING:*', 'SYSSTAT:GET:*']);
    const local = engine.node(engine.localName);
    // the sweep gave up before this machine's reading (or it failed): ask for it alone; without it the row shows dashes
    if (local && !local.stats) await sweep(engine, timeoutMs, [`SYSSTAT:GET:${escapeField(local.name)}`]);
    const snap = engine.getSnapshot();
    const nodes: readonly NodeView[] = snap.nodes;
    return {
      cluster: snap.cluster,
      generatedAt: now,
      source: `${refused}one-shot sweep (${ran.length ? ran.join(', ') : 'no ping or sysstat module'}${local ? ', local stats' : ''}); run vacm serve for live state and load history`,
      nodes,
      counts: snap.counts,
      history: engine.history.query(nodes.map((n) => n.name), now - HOUR, Date.now()),
      groups: aggregate(engine.history, engine.groups(), Date.now()),
    };
  } finally {
    await engine.stop();
  }
}

export async function runSnapshot(a: SnapshotArgs, io: Io): Promise<number> {
  try {
    const data = await buildSnapshot(a);
    const html = renderSnapshotHtml(data);
    if (a.html === '-') io.out(html);
    else {
      fs.writeFileSync(a.html, html);
      io.out(`wrote ${a.html}: ${data.nodes.length} nodes (${data.counts.up} up, ${data.counts.down} down, ${data.counts.off} off, ${data.counts.unknown} unknown) from ${data.source}\n`);
    }
    return EXIT_OK;
  } catch (err) {
    const ve = toVacmError(err, 'ERR_USAGE');
    io.err(`${ve.code}: ${ve.message}\n`);
    return EXIT_USAGE;
  }
}
