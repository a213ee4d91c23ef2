/**
 * `vacm snapshot --html out.html`: gomd's clusterSnapshot. The numbers come from a running (or
 * recently stopped) `vacm serve`'s saved state in the state dir when it is fresh enough (with its
 * load history); otherwise from a one-shot sweep: ICMP_ECHO:PING and SYSSTAT:GET over every node
 * where those modules exist, and this machine's own stats — with no history to chart.
 */
import fs from 'node:fs';
import path from 'node:path';
import { defaultStateDir } from '../engine/audit.js';
import { History } from '../engine/history.js';
import type { Engine } from '../engine/engine.js';
import { toVacmError } from '../protocol/errors.js';
import type { NodeView } from '../protocol/module.js';
import { createLocalStatsSource } from '../backends/agent/stats.js';
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

function readSaved(stateDir: string, maxAgeS: number, now: number): SavedState | undefined {
  try {
    const s = JSON.parse(fs.readFileSync(path.join(stateDir, SNAPSHOT_FILE), 'utf8')) as SavedState;
    if (s.version !== 1 || !Array.isArray(s.nodes) || typeof s.savedAt !== 'number') return undefined;
    return now - s.savedAt <= maxAgeS * 1000 ? s : undefined;
  } catch {
    return undefined;
  }
}

function aggregate(history: History, groups: Readonly<Record<string, readonly string[]>>, now: number) {
  return history.aggregate(groups, now - HOUR, now);
}

async function sweep(engine: Engine, timeoutMs: number): Promise<string[]> {
  const ran: string[] = [];
  for (const line of ['ICMP_ECHO:PING:*', 'SYSSTAT:GET:*']) {
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
  const saved = readSaved(stateDir, checkWholeNumber('--max-age', a.maxAge, 0, 31_536_000) ?? 300, now);
  if (saved) {
    let history = new History({ now: () => now });
    try {
      history = History.fromBuffer(fs.readFileSync(path.join(stateDir, HISTORY_FILE)), { now: () => now });
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
    const ran = await sweep(engine, a.sweepTimeoutMs ?? 30_000);
    const local = engine.node(engine.localName);
    if (local && !local.stats) {
      try {
        engine.recordStats(local.name, await createLocalStatsSource()());
      } catch {
        /* no local stats: the row shows dashes */
      }
    }
    const snap = engine.getSnapshot();
    const nodes: readonly NodeView[] = snap.nodes;
    return {
      cluster: snap.cluster,
      generatedAt: now,
      source: `one-shot sweep (${ran.length ? ran.join(', ') : 'no ping or sysstat module'}${local ? ', local stats' : ''}); run vacm serve for live state and load history`,
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
