/**
 * The events timeline: everything that happened, in one ordered feed (docs/events.md). Entries are
 * kept twice, both bounded: the newest `memory_entries` in memory (the dashboard's `e` view and
 * detail pane ask for them without I/O), and on disk in <stateDir>/events.jsonl, rotated to
 * events.1.jsonl ... events.<files-1>.jsonl when it would pass `max_file_bytes` (so at most
 * files x max_file_bytes). Appends are gathered per tick and written through
 * src/platform/state-files.ts (never through a symlink, mode 0600); no fsync: this is a record for
 * people, the audit log is the one that must survive a crash. A restart reads the files back.
 */
import { checkSection, int, mapping, section } from '../protocol/config-schema.js';
import fs from 'node:fs';
import path from 'node:path';
import { toVacmError } from '../protocol/errors.js';
import { NodeSet } from '../protocol/nodeset.js';
import { safeBlackBox, type BlackBox } from '../protocol/sensors.js';
import { MAX_NODE_TEXT, entryFromJson, entryToJson, safeFields, safeText, type TimelineEntry, type TimelineFields, type TimelineKind } from '../protocol/timeline.js';
import type { TimelineQuery } from '../protocol/module.js';
import { openStateFile, readStateFile, renameStateFile } from '../platform/state-files.js';

export const EVENTS_FILE = 'events.jsonl';

export interface TimelineSettings {
  /** entries kept in memory (the dashboard's view) */
  memoryEntries: number;
  /** bytes of one file before it is rotated */
  maxFileBytes: number;
  /** files kept: events.jsonl and files-1 rotated ones */
  files: number;
}

export const DEFAULT_TIMELINE: Readonly<TimelineSettings> = Object.freeze({ memoryEntries: 10_000, maxFileBytes: 1024 * 1024, files: 4 });

const KEYS: Record<string, { key: keyof TimelineSettings; min: number; max: number }> = {
  memory_entries: { key: 'memoryEntries', min: 10, max: 1_000_000 },
  max_file_bytes: { key: 'maxFileBytes', min: 4096, max: 1024 * 1024 * 1024 },
  files: { key: 'files', min: 2, max: 100 },
};

/** `events:` for the config loader's check (file:line:key); parseEventsSection reads it. */
export const EVENTS_SECTION = section(
  'events',
  mapping(
    Object.fromEntries(Object.entries(KEYS).map(([k, v]) => [k, int(v.min, v.max, { example: DEFAULT_TIMELINE[v.key] })])),
    { must: 'a mapping, e.g. { memory_entries: 10000, max_file_bytes: 1048576, files: 4 }', showValue: false },
  ),
);

/** vacm.yaml's `events:` section, checked against EVENTS_SECTION (the one schema), with defaults. */
export function parseEventsSection(raw: unknown): TimelineSettings {
  checkSection(EVENTS_SECTION, raw);
  const out = { ...DEFAULT_TIMELINE };
  for (const [k, v] of Object.entries((raw ?? {}) as Record<string, number>)) out[KEYS[k].key] = v;
  return out;
}

/** The name of file `i` (0: the one written now). */
export function eventsFileName(i: number): string {
  return i === 0 ? EVENTS_FILE : `events.${i}.jsonl`;
}

/** A bound on per-entry node-set expansions remembered for filtering. */
const touchCache = new WeakMap<TimelineEntry, ReadonlySet<string> | null>();

/** The node names an entry is about: its node, or every node of its folded set. */
function namesOf(e: TimelineEntry): ReadonlySet<string> | null {
  if (e.node === '') return null;
  let s = touchCache.get(e);
  if (s !== undefined) return s;
  if (!/[[,!&^]/.test(e.node)) s = new Set([e.node]);
  else {
    try {
      s = new Set(NodeSet.parse(e.node).expand());
    } catch {
      s = new Set([e.node]); // not a node set: matched as a plain name
    }
  }
  touchCache.set(e, s);
  return s;
}

/** Whether an entry touches one of `names`. */
export function entryTouches(e: TimelineEntry, names: ReadonlySet<string>): boolean {
  const mine = namesOf(e);
  if (!mine) return false;
  if (mine.size <= names.size) {
    for (const n of mine) if (names.has(n)) return true;
    return false;
  }
  for (const n of names) if (mine.has(n)) return true;
  return false;
}

/** The entries matching a query, in order (pure; exported for tests). */
export function filterEntries(entries: readonly TimelineEntry[], q: TimelineQuery): TimelineEntry[] {
  const names = q.nodes ? new Set(q.nodes) : undefined;
  return entries.filter((e) => (q.since === undefined || e.at >= q.since) && (q.until === undefined || e.at <= q.until) && (!names || entryTouches(e, names)));
}

const byTime = (a: TimelineEntry, b: TimelineEntry) => a.at - b.at || a.seq - b.seq;

export interface TimelineOptions {
  /** where the files go; none: memory only */
  stateDir?: string;
  settings?: Partial<TimelineSettings>;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
  now?: () => number;
}

/** At most one "cannot write the timeline" warning this often. */
const WARN_EVERY_MS = 60_000;

export class Timeline {
  readonly settings: TimelineSettings;
  private mem: TimelineEntry[] = [];
  private seq = 0;
  private pending: string[] = [];
  private pendingBytes = 0;
  private flushing: NodeJS.Immediate | undefined;
  private fd: number | undefined;
  private opened: { dev: number; ino: number; size: number } | undefined;
  private lastWarn = -Infinity;
  private readonly stateDir: string | undefined;
  private readonly logger: NonNullable<TimelineOptions['log']>;
  private readonly now: () => number;
  private closed = false;
  /** changes with every entry (the UI re-reads when it moved) */
  version = 0;

  constructor(opts: TimelineOptions = {}) {
    this.settings = { ...DEFAULT_TIMELINE, ...opts.settings };
    this.stateDir = opts.stateDir;
    this.logger = opts.log ?? (() => {});
    this.now = opts.now ?? Date.now;
  }

  /** Read the files back (oldest first) into memory: a restart goes on with the same feed. */
  load(): void {
    this.flush();
    const entries = this.readDisk();
    if (entries.length > this.settings.memoryEntries) entries.splice(0, entries.length - this.settings.memoryEntries);
    this.mem = entries;
    this.version++;
  }

  private readDisk(): TimelineEntry[] {
    if (!this.stateDir) return [];
    const out: TimelineEntry[] = [];
    for (let i = this.settings.files - 1; i >= 0; i--) {
      let buf: Buffer | undefined;
      try {
        // a file may pass the bound by one write; one larger than twice it was not written by us
        buf = readStateFile(this.stateDir, eventsFileName(i), this.settings.maxFileBytes * 2 + 65_536);
      } catch (err) {
        this.warn(`the events timeline file ${eventsFileName(i)} was not read: ${toVacmError(err).message}`);
        continue;
      }
      if (!buf) continue;
      for (const line of buf.toString('utf8').split('\n')) {
        const e = entryFromJson(line, this.seq + 1);
        if (e) {
          this.seq++;
          out.push(e);
        }
      }
    }
    return out.sort(byTime);
  }

  /** Add an entry (see ModuleHost.record). Never throws. */
  record(kind: TimelineKind, node: string | undefined, text: string, fields?: TimelineFields, blackBox?: BlackBox): TimelineEntry {
    const box = blackBox === undefined ? undefined : safeBlackBox(blackBox);
    const e: TimelineEntry = Object.freeze({ at: this.now(), seq: ++this.seq, kind, node: node === undefined ? '' : safeText(node, MAX_NODE_TEXT), text: safeText(text), fields: Object.freeze(safeFields(fields)), ...(box ? { blackBox: box } : {}) });
    this.mem.push(e);
    // dropped in batches: a splice per entry would be quadratic at the bound
    if (this.mem.length > this.settings.memoryEntries + Math.max(16, this.settings.memoryEntries >> 4)) this.mem.splice(0, this.mem.length - this.settings.memoryEntries);
    this.version++;
    if (this.stateDir && !this.closed) {
      const line = entryToJson(e) + '\n';
      this.pending.push(line);
      this.pendingBytes += line.length;
      // entries waiting for the next tick's write: never more than the files could hold
      if (this.pendingBytes > this.settings.maxFileBytes * this.settings.files) this.flush();
      this.flushing ??= setImmediate(() => this.flush());
    }
    return e;
  }

  /** The newest entries in memory, oldest first (bounded by memory_entries). */
  recent(q: TimelineQuery = {}): TimelineEntry[] {
    const list = this.mem.length > this.settings.memoryEntries ? this.mem.slice(this.mem.length - this.settings.memoryEntries) : this.mem;
    return filterEntries(list, q);
  }

  /**
   * Everything kept that matches, oldest first: from the files (which hold more than memory, and
   * what other vacm processes on this state dir recorded), else from memory.
   */
  query(q: TimelineQuery = {}): TimelineEntry[] {
    if (!this.stateDir) return this.recent(q);
    this.flush();
    return filterEntries(this.readDisk(), q);
  }

  /** Write what is pending now (the tick's entries); rotate when a file would pass its bound. */
  flush(): void {
    if (this.flushing) clearImmediate(this.flushing);
    this.flushing = undefined;
    if (!this.stateDir || this.pending.length === 0) return;
    const lines = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    try {
      let fd = this.file();
      let chunk = '';
      let chunkBytes = 0;
      for (const l of lines) {
        const n = Buffer.byteLength(l);
        const size = this.opened!.size + chunkBytes;
        if (size > 0 && size + n > this.settings.maxFileBytes) {
          this.write(fd, chunk);
          chunk = '';
          chunkBytes = 0;
          this.rotate();
          fd = this.file();
        }
        chunk += l;
        chunkBytes += n;
      }
      this.write(fd, chunk);
    } catch (err) {
      this.close(false);
      this.warn(`the events timeline was not written (${lines.length} entries kept in memory only): ${toVacmError(err).message}`);
    }
  }

  private write(fd: number, text: string): void {
    if (text === '') return;
    const buf = Buffer.from(text);
    fs.writeSync(fd, buf);
    this.opened!.size += buf.length;
  }

  /** The open events.jsonl; reopened when another process rotated it away. */
  private file(): number {
    if (this.fd !== undefined && this.movedAway()) this.close(false);
    if (this.fd === undefined) {
      this.fd = openStateFile(this.stateDir!, EVENTS_FILE);
      const st = fs.fstatSync(this.fd);
      this.opened = { dev: st.dev, ino: st.ino, size: st.size };
    }
    return this.fd;
  }

  private movedAway(): boolean {
    try {
      const st = fs.lstatSync(path.join(this.stateDir!, EVENTS_FILE));
      return st.ino !== this.opened?.ino || st.dev !== this.opened?.dev;
    } catch {
      return true;
    }
  }

  private rotate(): void {
    this.close(false);
    const dir = this.stateDir!;
    for (let i = this.settings.files - 1; i >= 1; i--) renameStateFile(dir, eventsFileName(i - 1), eventsFileName(i));
  }

  private warn(message: string): void {
    const now = Date.now();
    if (now - this.lastWarn < WARN_EVERY_MS) return;
    this.lastWarn = now;
    this.logger('warn', message);
  }

  /** Close the file (`final`: flush first and take no more writes). */
  close(final = true): void {
    if (final) {
      this.flush();
      this.closed = true;
    }
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        /* already closed */
      }
    }
    this.fd = undefined;
    this.opened = undefined;
  }
}
