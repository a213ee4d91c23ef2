/**
 * The engine's consoles: at most one connection per node, shared by everything that uses it
 * (WATCH jobs, SEND, BREAK, the dashboard's full-screen console, the kept consoles of
 * `console.log: true`). A connection lives while someone holds a lease on it or the node's
 * console is kept; when it drops it is reopened with a doubling backoff. Lines go to a bounded
 * ring per node, to the log file when logging, and to listeners. Of the attached people, one
 * writes at a time: a second one reads only, unless it forces (and the first then reads only).
 */
import { VacmError, toVacmError } from '../../protocol/errors.js';
import type { NodeVars } from '../../protocol/module.js';
import { consoleDriverName, type ConsoleConnection, type ConsoleDriver, type ConsoleDriverName } from './driver.js';
import { LineRing, LineSplitter, type ConsoleLine } from './lines.js';
import { ConsoleLog } from './log-file.js';
import type { ConsoleSettings } from './settings.js';

export type ConsoleEvent =
  | { kind: 'line'; ts: number; text: string; partial: boolean }
  | { kind: 'state'; ts: number; state: 'connected' | 'lost' | 'retrying'; message: string };

export type ConsoleListener = (e: ConsoleEvent) => void;

export interface ConsoleLease {
  readonly node: string;
  write(data: Buffer): void;
  sendBreak(): void;
  drained(): Promise<void>;
  /** events of the node's console from now on; returns an unsubscribe */
  listen(fn: ConsoleListener): () => void;
  /** give the lease back; the last one closes a console that is not kept */
  release(): Promise<void>;
}

/** A person at the console (the dashboard's `c`, `vacm console`): writes only while the writer. */
export interface ConsoleAttachment extends ConsoleLease {
  readonly readOnly: boolean;
  /** changes of readOnly (another person forced the console) */
  onRole(fn: (readOnly: boolean) => void): () => void;
}

export interface ConsoleHubOptions {
  drivers: Partial<Record<ConsoleDriverName, ConsoleDriver>>;
  vars(node: string): NodeVars;
  settings: ConsoleSettings;
  stateDir: string;
  /** a partial line is handed out after this much quiet (default 300 ms) */
  partialMs?: number;
  warn?(message: string): void;
}

class NodeConsole {
  readonly ring: LineRing;
  readonly listeners = new Set<ConsoleListener>();
  readonly splitter: LineSplitter;
  conn: ConsoleConnection | undefined;
  opening: Promise<ConsoleConnection> | undefined;
  refs = 0;
  kept = false;
  retryMs = 0;
  retryTimer: NodeJS.Timeout | undefined;
  partialTimer: NodeJS.Timeout | undefined;
  log: ConsoleLog | undefined;
  writer: object | undefined;
  readonly roleListeners = new Map<object, (readOnly: boolean) => void>();
  stopped = false;

  constructor(
    readonly node: string,
    keep: number,
  ) {
    this.ring = new LineRing(keep);
    this.splitter = new LineSplitter((text, partial) => this.onLine(text, partial));
  }

  emit(e: ConsoleEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // one listener's bug does not stop the others
      }
    }
  }

  onLine(text: string, partial: boolean): void {
    const ts = Date.now();
    if (!partial) {
      this.ring.push({ ts, text });
      this.log?.append(ts, text);
    }
    this.emit({ kind: 'line', ts, text, partial });
  }

  get wanted(): boolean {
    return !this.stopped && (this.kept || this.refs > 0);
  }
}

export class ConsoleHub {
  private readonly consoles = new Map<string, NodeConsole>();
  private readonly partialMs: number;
  private disposed = false;

  constructor(private readonly opts: ConsoleHubOptions) {
    this.partialMs = opts.partialMs ?? 300;
  }

  get settings(): ConsoleSettings {
    return this.opts.settings;
  }

  /** the last `n` lines kept for the node, oldest first, or undefined when none were ever kept */
  tail(node: string, n: number): ConsoleLine[] | undefined {
    const c = this.consoles.get(node);
    return c && c.ring.size ? c.ring.last(n) : undefined;
  }

  /** whether the engine keeps this node's console open */
  isKept(node: string): boolean {
    return this.consoles.get(node)?.kept === true;
  }

  /** Keep the node's console open (console.log: true): opened now, reopened whenever it drops. */
  keep(node: string): void {
    const c = this.entry(node);
    if (c.kept) return;
    c.kept = true;
    if (this.opts.settings.log) {
      c.log ??= new ConsoleLog(ConsoleLog.dirOf(this.opts.stateDir), node, this.opts.settings.maxBytes, (e) => this.opts.warn?.(`console log of ${node} not written: ${e.message}`));
    }
    if (!c.conn && !c.opening) this.reconnectSoon(c, 0);
  }

  /** Open (or share) the node's console. Rejects when it cannot be opened now. */
  async acquire(node: string, o: { force?: boolean; signal?: AbortSignal } = {}): Promise<ConsoleLease> {
    if (this.disposed) throw new VacmError('ERR_CANCELLED', 'the engine is stopping');
    const c = this.entry(node);
    c.refs++;
    try {
      await this.connection(c, o.force === true, o.signal);
    } catch (e) {
      c.refs--;
      if (!c.wanted) this.close(c);
      throw e;
    }
    return this.lease(c);
  }

  /** A person at the console: the first is the writer; a later one reads only unless `force`. */
  async attach(node: string, o: { force?: boolean; signal?: AbortSignal } = {}): Promise<ConsoleAttachment> {
    const lease = await this.acquire(node, o);
    const c = this.entry(node);
    const me = {};
    if (!c.writer || o.force) {
      const previous = c.writer;
      c.writer = me;
      if (previous) c.roleListeners.get(previous)?.(true);
    }
    return {
      node,
      get readOnly() {
        return c.writer !== me;
      },
      write(data) {
        if (c.writer !== me) throw new VacmError('ERR_CONSOLE_BUSY', `${node}'s console is being typed on by another operator; you are watching read-only (reopen it with force to take it over)`);
        lease.write(data);
      },
      sendBreak() {
        if (c.writer !== me) throw new VacmError('ERR_CONSOLE_BUSY', `${node}'s console is being typed on by another operator; you are watching read-only`);
        lease.sendBreak();
      },
      drained: () => lease.drained(),
      listen: (fn) => lease.listen(fn),
      onRole(fn) {
        c.roleListeners.set(me, fn);
        return () => c.roleListeners.delete(me);
      },
      async release() {
        c.roleListeners.delete(me);
        if (c.writer === me) c.writer = undefined;
        await lease.release();
      },
    };
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await Promise.all([...this.consoles.values()].map((c) => this.close(c)));
    this.consoles.clear();
    await Promise.all(Object.values(this.opts.drivers).map((d) => d?.dispose?.()));
  }

  // -------------------------------------------------------------------------------------------

  private entry(node: string): NodeConsole {
    let c = this.consoles.get(node);
    if (!c) {
      c = new NodeConsole(node, this.opts.settings.keepLines);
      this.consoles.set(node, c);
    }
    c.stopped = false;
    return c;
  }

  private lease(c: NodeConsole): ConsoleLease {
    let released = false;
    const mine = new Set<ConsoleListener>();
    const live = (): ConsoleConnection => {
      if (released) throw new VacmError('ERR_CANCELLED', `the console lease of ${c.node} was released`);
      if (!c.conn) throw new VacmError('ERR_TIMEOUT', `${c.node}'s console is not connected right now (it is being reopened); send again shortly`);
      return c.conn;
    };
    return {
      node: c.node,
      write: (data) => live().write(data),
      sendBreak: () => live().sendBreak(),
      drained: () => c.conn?.drained() ?? Promise.resolve(),
      listen(fn) {
        c.listeners.add(fn);
        mine.add(fn);
        return () => {
          c.listeners.delete(fn);
          mine.delete(fn);
        };
      },
      release: async () => {
        if (released) return;
        released = true;
        for (const fn of mine) c.listeners.delete(fn);
        c.refs--;
        if (!c.wanted) await this.close(c);
      },
    };
  }

  private connection(c: NodeConsole, force: boolean, signal?: AbortSignal): Promise<ConsoleConnection> {
    if (c.conn) return Promise.resolve(c.conn);
    if (c.opening) return c.opening;
    if (c.retryTimer) {
      clearTimeout(c.retryTimer);
      c.retryTimer = undefined;
    }
    const vars = this.opts.vars(c.node);
    let driver: ConsoleDriver | undefined;
    try {
      const name = consoleDriverName(c.node, vars);
      driver = this.opts.drivers[name];
      if (!driver) throw new VacmError('ERR_UNSUPPORTED', `${c.node}: console driver ${name} is not available here`);
    } catch (e) {
      return Promise.reject(e);
    }
    const p = driver
      .open(c.node, vars, {
        force,
        signal,
        onData: (d) => {
          c.splitter.push(d);
          if (c.partialTimer) clearTimeout(c.partialTimer);
          c.partialTimer = c.splitter.pending ? setTimeout(() => c.splitter.flushPartial(), this.partialMs) : undefined;
        },
      })
      .then(
        (conn) => {
          c.opening = undefined;
          if (!c.wanted) {
            void conn.close();
            throw new VacmError('ERR_CANCELLED', `${c.node}'s console was closed while it opened`);
          }
          c.conn = conn;
          c.retryMs = 0;
          c.emit({ kind: 'state', ts: Date.now(), state: 'connected', message: `${c.node}: console connected` });
          void conn.ended.then((err) => this.onEnded(c, conn, err));
          return conn;
        },
        (e: unknown) => {
          c.opening = undefined;
          throw toVacmError(e, 'ERR_MODULE');
        },
      );
    c.opening = p;
    return p;
  }

  private onEnded(c: NodeConsole, conn: ConsoleConnection, err: VacmError | undefined): void {
    if (c.conn !== conn) return;
    c.conn = undefined;
    if (c.splitter.pending) c.splitter.end();
    if (!c.wanted || this.disposed) return;
    c.emit({ kind: 'state', ts: Date.now(), state: 'lost', message: `${c.node}: console lost: ${err?.message ?? 'closed'}` });
    this.reconnectSoon(c);
  }

  private reconnectSoon(c: NodeConsole, wait?: number): void {
    const s = this.opts.settings;
    const ms = wait ?? (c.retryMs = c.retryMs ? Math.min(s.reconnectMaxMs, c.retryMs * 2) : s.reconnectMinMs);
    if (c.retryTimer) clearTimeout(c.retryTimer);
    c.retryTimer = setTimeout(() => {
      c.retryTimer = undefined;
      if (!c.wanted || this.disposed) return;
      this.connection(c, false).catch((e: unknown) => {
        const ve = toVacmError(e, 'ERR_MODULE');
        c.emit({ kind: 'state', ts: Date.now(), state: 'retrying', message: `${c.node}: console: ${ve.message}` });
        if (ve.code === 'ERR_UNSUPPORTED' || ve.code === 'ERR_CONFIG') {
          this.opts.warn?.(`console of ${c.node} not kept: ${ve.message}`);
          c.kept = false;
          return;
        }
        this.reconnectSoon(c);
      });
    }, ms);
    c.retryTimer.unref?.();
  }

  private async close(c: NodeConsole): Promise<void> {
    c.stopped = true;
    if (c.retryTimer) clearTimeout(c.retryTimer);
    if (c.partialTimer) clearTimeout(c.partialTimer);
    c.retryTimer = c.partialTimer = undefined;
    const conn = c.conn;
    c.conn = undefined;
    if (c.splitter.pending) c.splitter.end();
    c.log?.close();
    await conn?.close();
    if (c.opening) await c.opening.then((x) => x.close(), () => undefined);
  }
}
