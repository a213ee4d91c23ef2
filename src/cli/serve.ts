/**
 * `vacm serve`: the engine headless (monitor on: collector, pollers, membership, history, metrics)
 * until SIGTERM or SIGINT; logs to stderr; on the way out stops the engine (jobs cancelled, modules
 * disposed, audit log closed) and writes the snapshot that `vacm snapshot` reads.
 *
 * --listen is reserved for operators attaching over SSH (a later issue): it is validated and
 * reported, not yet opened. See docs/agent.md, "vacm serve".
 */
import path from 'node:path';
import { Engine } from '../engine/engine.js';
import { defaultStateDir } from '../engine/audit.js';
import { ensureStateDir, writeStateFileAsync } from '../platform/state-files.js';
import { builtinModules } from '../backends/index.js';
import { parseListen } from '../backends/collector/config.js';
import { toLine } from '../protocol/events.js';
import { escapeControls } from '../protocol/visible.js';
import { VacmError, toVacmError } from '../protocol/errors.js';
import { loadConfig, type EngineArgs } from './setup.js';
import { checkWholeNumber } from './options.js';
import { untilSignal } from './agent.js';
import { EXIT_OK, EXIT_USAGE, type Io } from './io.js';
import type { Snapshot } from '../engine/store.js';

export const SNAPSHOT_FILE = 'serve-snapshot.json';
export const HISTORY_FILE = 'history.bin';

export interface ServeArgs extends EngineArgs {
  listen?: string;
  metrics?: string;
  /** seconds between snapshot writes (default 60) */
  snapshotEvery?: number;
}

/** What `vacm serve` leaves in the state dir for `vacm snapshot --html`. */
export interface SavedState {
  version: 1;
  savedAt: number;
  cluster: string;
  counts: Snapshot['counts'];
  nodes: Snapshot['nodes'];
  groups: Record<string, readonly string[]>;
}

/**
 * Write the state snapshot and the history (binary, see History.toBuffers) into the state dir.
 * Both are copied in memory first and written asynchronously, each to a temp file then renamed,
 * so a reader never sees half a file and the engine keeps running while the disk works.
 */
export async function saveState(engine: Engine): Promise<string> {
  const s = engine.getSnapshot();
  const saved: SavedState = {
    version: 1,
    savedAt: Date.now(),
    cluster: s.cluster,
    counts: s.counts,
    nodes: s.nodes,
    groups: { ...engine.groups() },
  };
  const history = Buffer.concat(engine.history.toBuffers());
  await writeStateFileAsync(engine.stateDir, HISTORY_FILE, history);
  await writeStateFileAsync(engine.stateDir, SNAPSHOT_FILE, JSON.stringify(saved));
  return path.join(engine.stateDir, SNAPSHOT_FILE);
}

export async function runServe(a: ServeArgs, io: Io, stop?: AbortSignal): Promise<number> {
  const log = (level: string, m: string) => io.err(`${new Date().toISOString()} ${level} ${escapeControls(m)}\n`);
  let engine: Engine;
  try {
    if (a.listen !== undefined) parseListen(a.listen, 0, '127.0.0.1');
    checkWholeNumber('--snapshot-every', a.snapshotEvery, 1, 86_400);
    const config = loadConfig(a);
    // --listen is where the collector hears the agents, --metrics where /metrics is served: each
    // overrides its section's listen key
    const override = (section: string, listen: string) => {
      const prev = config.view.sections[section];
      const base = typeof prev === 'object' && prev !== null ? prev : {};
      config.view = { ...config.view, sections: { ...config.view.sections, [section]: { ...base, listen } } };
    };
    if (a.listen !== undefined) {
      if (typeof config.view.sections.collector !== 'object' || config.view.sections.collector === null) {
        throw new VacmError('ERR_USAGE', `--listen ${a.listen} sets the collector's address, but the config has no collector: section (it needs at least secret_file; see docs/agent.md)`);
      }
      override('collector', a.listen);
    }
    if (a.metrics !== undefined) override('metrics', a.metrics);
    const stateDir = a.stateDir ?? defaultStateDir();
    ensureStateDir(stateDir); // a long-running root process: an unsafe or unusable state dir stops it here, not at the first job
    engine = new Engine({ config, modules: builtinModules(), readOnly: a.readOnly, monitor: true, stateDir, log });
    await engine.start();
  } catch (err) {
    const ve = toVacmError(err, 'ERR_USAGE');
    io.err(`${ve.code}: ${escapeControls(ve.message)}\n`);
    return EXIT_USAGE;
  }
  // logrotate: after `mv audit.jsonl audit.jsonl.1`, SIGHUP makes the next record start a new
  // audit.jsonl (and a SIGHUP no longer kills serve); installed before serve says it is up
  const onHup = () => {
    engine.audit.reopen();
    log('info', `SIGHUP: the audit log ${engine.audit.file} is reopened by name at its next record`);
  };
  process.on('SIGHUP', onHup);
  const off = engine.subscribe((e) => {
    if (e.job === 0) log('event', toLine(e));
  });
  const snap = engine.getSnapshot();
  log('info', `vacm serve: cluster ${snap.cluster}, ${snap.nodes.length} nodes, state in ${engine.stateDir}`);
  if (engine.config.sections.collector === undefined) log('warn', 'no collector: section in the config: agents are not listened to (see docs/agent.md)');
  const every = (a.snapshotEvery ?? 60) * 1000;
  let saving: Promise<void> = Promise.resolve();
  const save = () => {
    saving = saving.then(() => saveState(engine)).then(
      () => undefined,
      (err: Error) => log('warn', `cannot write the snapshot in ${engine.stateDir}: ${err.message}`),
    );
    return saving;
  };
  const timer = setInterval(() => void save(), every);
  const sig = await untilSignal(stop);
  process.off('SIGHUP', onHup);
  log('info', `${sig}: stopping`);
  clearInterval(timer);
  off();
  await engine.stop();
  await save();
  log('info', 'stopped cleanly');
  return EXIT_OK;
}
