/**
 * `vacm serve`: the engine headless (monitor on: collector, pollers, membership, history, metrics)
 * until SIGTERM or SIGINT, reloading its config on SIGHUP; logs to stderr (one line a message, journald's
 * priority prefixes under systemd); on the way out stops the engine (jobs cancelled, modules
 * disposed, audit log closed) and writes the snapshot that `vacm snapshot` reads.
 *
 * With `serve.users` in the config, serve opens its front doors (serve-door.ts): SSH on
 * `serve.listen` / --listen-ssh and the local socket `serve.socket` (default <state dir>/serve.sock),
 * where operators and scripts log in with their keys. See docs/agent.md, "vacm serve", and docs/ipc.md.
 */
import path from 'node:path';
import type { Engine } from '../engine/engine.js';
import { defaultStateDir } from '../engine/audit.js';
import { ensureStateDir, jobSequence, readStateFile, writeStateFileAsync } from '../platform/state-files.js';
import { parseListen } from '../backends/collector/config.js';
import { toLine } from '../protocol/events.js';
import { escapeControls, maskControls } from '../protocol/visible.js';
import { VacmError, toVacmError } from '../protocol/errors.js';
import { loadConfig, startEngine, type EngineArgs } from './setup.js';
import { checkWholeNumber } from './options.js';
import { untilSignal } from './agent.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Io } from './io.js';
import type { Snapshot } from '../engine/store.js';
import type { LoadedConfig } from '../engine/config.js';
import { History } from '../engine/history.js';
import { parseServeSection, type ServeSection } from '../engine/auth.js';
import type { ServeDoor } from './serve-door.js';

export const SNAPSHOT_FILE = 'serve-snapshot.json';
export const HISTORY_FILE = 'history.bin';

export interface ServeArgs extends EngineArgs {
  listen?: string;
  /** ADDR:PORT of the SSH front door (overrides serve.listen) */
  listenSsh?: string;
  metrics?: string;
  /** seconds between snapshot writes (default 60) */
  snapshotEvery?: number;
  /** the environment (JOURNAL_STREAM: log for journald) */
  env?: NodeJS.ProcessEnv;
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

/** The load history the last serve saved (history.bin), to go on with; none when there is none or it is damaged. */
function savedHistory(stateDir: string, warn: (m: string) => void): History | undefined {
  try {
    const b = readStateFile(stateDir, HISTORY_FILE, 1 << 30);
    return b ? History.fromBuffer(b) : undefined;
  } catch (err) {
    warn(`the saved load history ${path.join(stateDir, HISTORY_FILE)} is not read (${(err as Error).message}); it starts again`);
    return undefined;
  }
}

type Level = 'debug' | 'info' | 'warn' | 'error' | 'event';

/** syslog priorities, which journald reads from a `<N>` prefix (sd-daemon(3)) */
const PRIORITY: Record<Level, number> = { error: 3, warn: 4, event: 5, info: 6, debug: 7 };


/**
 * One line per message, no colours. Under systemd (JOURNAL_STREAM set: stderr is the journal) the
 * line starts with its priority, `<6>started`, and journald stamps the time; elsewhere it starts with
 * the time and the level.
 */
export function serveLogger(write: (s: string) => void, env: NodeJS.ProcessEnv = process.env, now: () => Date = () => new Date()): (level: Level, m: string) => void {
  const journal = env.JOURNAL_STREAM !== undefined && env.JOURNAL_STREAM !== '';
  return (level, m) => {
    const text = maskControls(m, { newline: ' | ' }); // one line of plain text: no control from a message
    write(journal ? `<${PRIORITY[level]}>${level === 'event' ? 'event ' : ''}${text}\n` : `${now().toISOString()} ${level} ${text}\n`);
  };
}

/** The config serve runs with: the file (or none), --demo's nodes, --listen and --metrics applied. */
function serveConfig(a: ServeArgs): LoadedConfig {
  if (a.listen !== undefined) parseListen(a.listen, 0, '127.0.0.1');
  const config = loadConfig(a);
  // --listen is where the collector hears the agents, --metrics where /metrics is served: each
  // overrides its section's listen key
  const override = (section: string, listen: string) => {
    const prev = config.view.sections[section];
    const base = typeof prev === 'object' && prev !== null ? prev : {};
    config.view = { ...config.view, sections: { ...config.view.sections, [section]: { ...base, listen } } };
  };
  if (a.listenSsh !== undefined) {
    parseListen(a.listenSsh, 0, '127.0.0.1');
    override('serve', a.listenSsh);
  }
  if (a.listen !== undefined) {
    if (typeof config.view.sections.collector !== 'object' || config.view.sections.collector === null) {
      throw new VacmError('ERR_USAGE', `--listen ${a.listen} sets the collector's address, but the config has no collector: section (it needs at least secret_file; see docs/agent.md)`);
    }
    override('collector', a.listen);
  }
  if (a.metrics !== undefined) override('metrics', a.metrics);
  return config;
}

export async function runServe(a: ServeArgs, io: Io, stop?: AbortSignal): Promise<number> {
  const log = serveLogger(io.err, a.env);
  const stateDir = a.stateDir ?? defaultStateDir();
  let engine: Engine;
  let off = () => {};
  // job ids, the audit log and the load history go on across restarts (and config reloads)
  let jobIds: ReturnType<typeof jobSequence> | undefined;
  const open = async (config: LoadedConfig, history?: History) => {
    jobIds ??= jobSequence(stateDir, (m) => log('warn', m));
    history ??= savedHistory(stateDir, (m) => log('warn', m));
    const e = await startEngine(config, { ...a, monitor: true, stateDir }, { log, history, jobIds });
    engine = e;
    off = e.subscribe((ev) => {
      if (ev.job === 0) log('event', toLine(ev));
    });
    const snap = e.getSnapshot();
    log('info', `vacm serve: cluster ${snap.cluster}, ${snap.nodes.length} nodes, state in ${e.stateDir}`);
    if (e.config.sections.collector === undefined) log('warn', 'no collector: section in the config: agents are not listened to (see docs/agent.md)');
  };
  // SIGHUP is taken from the start: one that arrives while serve starts (before it can reload) is
  // kept for when it can, rather than killing the process with the signal's default action
  let hupPending = false;
  let whenHup: (() => void) | undefined;
  const onHup = () => (whenHup ? whenHup() : void (hupPending = true));
  process.on('SIGHUP', onHup);
  let config: LoadedConfig;
  let door: ServeDoor | undefined;
  try {
    checkWholeNumber('--snapshot-every', a.snapshotEvery, 1, 86_400);
    config = serveConfig(a);
    ensureStateDir(stateDir); // a long-running root process: an unsafe or unusable state dir stops it here, not at the first job
    const section = parseServeSection(config.view.sections.serve);
    await open(config);
    door = await openDoors(section, stateDir, () => engine, log);
  } catch (err) {
    const ve = toVacmError(err, 'ERR_USAGE');
    io.err(`${ve.code}: ${escapeControls(ve.message)}\n`);
    process.off('SIGHUP', onHup);
    await door?.close();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
    if (engine!) await engine.stop().catch(() => undefined);
    return EXIT_USAGE;
  }
  const every = (a.snapshotEvery ?? 60) * 1000;
  let saving: Promise<void> = Promise.resolve();
  const save = () => {
    const e = engine;
    saving = saving.then(() => saveState(e)).then(
      () => undefined,
      (err: Error) => log('warn', `cannot write the snapshot in ${e.stateDir}: ${err.message}`),
    );
    return saving;
  };
  const timer = setInterval(() => void save(), every);

  // SIGHUP: read the config again. A config that does not load is reported and the running engine
  // kept; a good one replaces the engine (its load history carried over), as if restarted.
  let reloading: Promise<void> = Promise.resolve();
  let failed = false;
  let wake = () => {};
  const reload = async () => {
    let next: LoadedConfig;
    let nextSection: ServeSection;
    try {
      next = serveConfig(a);
      nextSection = parseServeSection(next.view.sections.serve);
    } catch (err) {
      const ve = toVacmError(err, 'ERR_CONFIG');
      log('error', `SIGHUP: ${ve.code}: ${ve.message}; still running with the previous config`);
      return;
    }
    const old = engine;
    // attached clients log in again to the new engine (vacm's own clients do it by themselves)
    door?.dropAll('vacm serve reloaded its config (SIGHUP); log in again');
    door?.configure(nextSection);
    off();
    await old.stop();
    await save();
    const keep = new Set(next.nodes.map((n) => n.name));
    for (const n of old.nodeNames()) if (!keep.has(n)) old.history.forget(n);
    try {
      await open(next, old.history);
      config = next;
      log('info', 'SIGHUP: config reloaded');
    } catch (err) {
      const ve = toVacmError(err, 'ERR_CONFIG');
      log('error', `SIGHUP: the new config does not start (${ve.code}: ${ve.message}); back to the previous one`);
      try {
        await open(config, old.history);
      } catch (err2) {
        log('error', `cannot start again with the previous config either: ${toVacmError(err2).message}; exiting`);
        failed = true;
        wake();
      }
    }
  };
  whenHup = () => {
    // logrotate: after `mv audit.jsonl audit.jsonl.1` the next record starts a new audit.jsonl (a
    // reloaded engine opens its own; a config that does not load keeps the running one's)
    engine.audit.reopen();
    log('info', `SIGHUP: the audit log ${engine.audit.file} is reopened by name at its next record; reloading the config`);
    reloading = reloading.then(reload);
  };
  if (hupPending) whenHup();
  const broken = new Promise<string>((r) => (wake = () => r('failed')));
  const sig = await Promise.race([untilSignal(stop), broken]);
  process.off('SIGHUP', onHup);
  await reloading;
  log('info', `${sig}: stopping`);
  clearInterval(timer);
  off();
  await door?.close();
  await engine!.stop();
  await save();
  log('info', 'stopped cleanly');
  return failed ? EXIT_FAILED : EXIT_OK;
}

/**
 * The front doors, when serve.users names someone: SSH on serve.listen (or --listen-ssh), the local
 * socket (serve.socket, default <state dir>/serve.sock, unless false). With no users there is no
 * door at all: nobody could log in, and a client must not take an unanswerable socket for a serve.
 */
async function openDoors(section: ServeSection, stateDir: string, engine: () => Engine, log: (level: Level, m: string) => void): Promise<ServeDoor | undefined> {
  if (section.users.length === 0) {
    if (section.listen !== undefined) log('warn', `serve.listen ${section.listen} is not opened: serve.users names nobody who could log in`);
    return undefined;
  }
  const { ServeDoor, SOCKET_FILE } = await import('./serve-door.js');
  const { serveHostKey } = await import('./serve-hostkey.js');
  const { attachSubsystem } = await import('./serve-proto.js');
  const key = await serveHostKey(stateDir);
  log('info', `${key.created ? 'made a new host key' : 'host key'} ${path.join(stateDir, 'serve_host_ed25519_key')}: ${key.fingerprint}`);
  const door = new ServeDoor({ engine, section, hostKey: key.pem, log, subsystem: (ch, origin, conn) => attachSubsystem(engine(), ch, origin, conn) });
  await door.init();
  try {
    if (section.listen !== undefined) {
      const { host, port } = parseListen(section.listen, 2200, '127.0.0.1');
      const at = await door.listenTcp(host, port);
      log('info', `ssh front door on ${at.address}:${at.port} for ${section.users.length} user(s)`);
    }
    if (section.socket !== false) {
      const file = section.socket ?? path.join(stateDir, SOCKET_FILE);
      await door.listenSocket(file);
      log('info', `local socket ${file}`);
    }
  } catch (err) {
    await door.close();
    throw err;
  }
  return door;
}
