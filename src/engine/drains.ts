/**
 * Drains: nodes an operator marked "under repair, do not touch", with a reason, who and since when
 * (Slurm's drain, k9s's cordon). Kept in <stateDir>/drains.json through src/platform/state-files.ts
 * (atomic replace, never through a symlink), so a restart keeps them. Every change re-reads the file
 * first and writes the result whole: a `vacm ipc NEXXUS:DRAIN` and a dashboard on the same state dir
 * do not undo each other's drains (each sees the other's on its next change or restart).
 */
import { VacmError } from '../protocol/errors.js';
import { nodeNameProblem } from '../protocol/node-name.js';
import type { DrainInfo } from '../protocol/module.js';
import { safeText } from '../protocol/timeline.js';
import { MAX_DRAIN_REASON as MAX_REASON, drainReason } from '../protocol/drain.js';
import { readStateFile, writeStateFile } from '../platform/state-files.js';

export const DRAINS_FILE = 'drains.json';
/** the most drains kept (a node set of a million names is refused long before this) */
export const MAX_DRAINS = 100_000;
/** drains.json larger than this is not read (a planted file must not fill memory) */
const MAX_FILE_BYTES = 32 * 1024 * 1024;
const MAX_WHO = 128;

function parseFile(buf: Buffer | undefined): Map<string, DrainInfo> {
  const out = new Map<string, DrainInfo>();
  if (!buf) return out;
  let o: unknown;
  try {
    o = JSON.parse(buf.toString('utf8'));
  } catch {
    throw new VacmError('ERR_STATE_DIR', `${DRAINS_FILE} is not JSON; fix or remove it (NEXXUS:DRAIN writes it again)`);
  }
  const drains = (o as { drains?: unknown })?.drains;
  if (typeof drains !== 'object' || drains === null || Array.isArray(drains)) return out;
  for (const [node, d] of Object.entries(drains as Record<string, unknown>)) {
    if (out.size >= MAX_DRAINS) break;
    if (nodeNameProblem(node) || typeof d !== 'object' || d === null) continue;
    const r = d as Record<string, unknown>;
    const since = typeof r.since === 'string' ? Date.parse(r.since) : NaN;
    if (!Number.isFinite(since) || typeof r.reason !== 'string' || typeof r.who !== 'string') continue;
    // the file is ours, but what it says is shown on terminals: bounded and escaped again
    out.set(node, Object.freeze({ who: safeText(r.who, MAX_WHO), since, reason: safeText(r.reason, MAX_REASON * 4) }));
  }
  return out;
}

function fileText(m: ReadonlyMap<string, DrainInfo>): string {
  const drains: Record<string, unknown> = {};
  for (const [node, d] of [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) drains[node] = { who: d.who, since: new Date(d.since).toISOString(), reason: d.reason };
  return JSON.stringify({ version: 1, drains }, null, 1) + '\n';
}

export class DrainBook {
  private map = new Map<string, DrainInfo>();

  constructor(private readonly stateDir: string) {}

  /** Read drains.json (none when it is missing); throws ERR_STATE_DIR for an unsafe or damaged one. */
  load(): ReadonlyMap<string, DrainInfo> {
    this.map = parseFile(readStateFile(this.stateDir, DRAINS_FILE, MAX_FILE_BYTES));
    return this.map;
  }

  get(node: string): DrainInfo | undefined {
    return this.map.get(node);
  }

  all(): ReadonlyMap<string, DrainInfo> {
    return this.map;
  }

  /**
   * Apply a change on top of what the file says now and write it; only then is it in effect here.
   * Returns the drains after it. Throws ERR_STATE_DIR (nothing changed) when it cannot be kept.
   */
  change(fn: (m: Map<string, DrainInfo>) => void): ReadonlyMap<string, DrainInfo> {
    const next = parseFile(readStateFile(this.stateDir, DRAINS_FILE, MAX_FILE_BYTES));
    fn(next);
    if (next.size > MAX_DRAINS) throw new VacmError('ERR_LIMIT', `more than ${MAX_DRAINS} drained nodes; undrain some first`);
    writeStateFile(this.stateDir, DRAINS_FILE, fileText(next));
    this.map = next;
    return next;
  }

  /** Drain `nodes` (a drained node gets the new reason, who and time); returns the drain. */
  drain(nodes: readonly string[], reason: string, who: string, now = Date.now()): DrainInfo {
    const d: DrainInfo = Object.freeze({ who: safeText(who, MAX_WHO), since: now, reason: drainReason(reason) });
    this.change((m) => {
      for (const n of nodes) m.set(n, d);
    });
    return d;
  }

  /** Undrain `nodes`; returns those that were drained. */
  undrain(nodes: readonly string[]): string[] {
    const was: string[] = [];
    this.change((m) => {
      for (const n of nodes) if (m.delete(n)) was.push(n);
    });
    return was;
  }
}
