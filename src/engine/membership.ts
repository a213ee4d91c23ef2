/**
 * Membership (after the Cluster Infrastructure's CLMS): every node's state from all evidence —
 * agent silence, ICMP heartbeats, SSH failures, power state — as up / down / off / unknown, and
 * what happens on each transition: an unsolicited `NEXXUS:0:NODE_UP:<node>` when a node comes up,
 * `NEXXUS:0:NODE_DOWN:<node>:<reason>` when an up node stops being up (a node never seen up that
 * is found down or off is not news to anyone), then — on every transition — the subscribers (hooks)
 * in priority bands: lower band first, then registration order. Operators add shell hooks in the
 * config (`hooks:`).
 *
 * Evidence rule: power off wins (the node is `off`); otherwise the latest reachability evidence
 * decides (an agent datagram or a ping reply says up; agent silence, a failed ping or an SSH
 * connect failure says down). One source's "up" ends another source's "down": the newest fact is
 * the truest one for a console that an operator watches live.
 */
import { spawn } from 'node:child_process';
import { checkSection, custom, int, listOf, mapping, section, text, words } from '../protocol/config-schema.js';
import { VacmError } from '../protocol/errors.js';
import type { EventBody, NodeState } from '../protocol/events.js';
import { shownState, type NodeRecord } from './store.js';

/** SSH errors that say the machine itself cannot be reached (not: sshd refused, auth failed). */
export interface Transition {
  node: string;
  from: NodeState;
  to: NodeState;
  reason?: string;
  ts: number;
  /** the node is drained (NEXXUS:DRAIN): its events still flow, hooks see VACM_DRAINED=1 */
  drained?: boolean;
  /** set for a new SEL record the sensors poller found (hooks with `on: [sel]`); from and to are then the node's state */
  sel?: HookSel;
}

/** A new SEL record as hooks see it (VACM_SEL_*); its texts were made safe by the engine (protocol/sensors.ts). */
export interface HookSel {
  id: number;
  time: string;
  sensor: string;
  event: string;
  direction: string;
}

export type MembershipHook = (t: Transition, signal: AbortSignal) => void | Promise<void>;

/** Named bands; a number 0-9 works as well (0 runs first). */
export const BANDS: Readonly<Record<string, number>> = { critical: 0, high: 2, normal: 5, low: 8 };
export const DEFAULT_HOOK_TIMEOUT_MS = 10_000;
/** hooks running at once across all nodes (a rack going down must not fork a thousand shells) */
export const DEFAULT_MAX_CONCURRENT_HOOKS = 8;
/** transitions waiting for their hooks beyond those; past it a transition's hooks are dropped */
export const DEFAULT_MAX_QUEUED_HOOKS = 1024;
/** at most one "hooks dropped" warning this often */
const DROP_LOG_EVERY_MS = 10_000;

interface Subscriber {
  name: string;
  band: number;
  order: number;
  timeoutMs: number;
  states?: ReadonlySet<NodeState>;
  /** runs on state transitions (default) */
  transitions: boolean;
  /** runs on new SEL records (`on: [sel]`) */
  sel: boolean;
  fn: MembershipHook;
}

export interface ShellHook {
  command: string;
  band: number;
  timeoutMs: number;
  /** states, and `sel` for new SEL records */
  on?: HookOn[];
}

export type HookOn = NodeState | 'sel';

export function bandOf(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 9) return v;
  if (typeof v === 'string' && v in BANDS) return BANDS[v];
  return undefined;
}

const STATES: NodeState[] = ['up', 'down', 'off', 'unknown'];
/** what `on:` may list: the states, and `sel` (a new BMC event log record, with $VACM_SEL_*) */
const HOOK_ON: HookOn[] = [...STATES, 'sel'];

const HOOK = mapping(
  {
    command: text({ says: 'required: a shell command; it gets $VACM_NODE, $VACM_STATE, $VACM_PREV_STATE, $VACM_REASON and $VACM_DRAINED', pattern: /\S/ }),
    band: custom((v) => (bandOf(v) === undefined ? `must be 0-9 or one of ${Object.keys(BANDS).join(', ')}` : undefined)),
    timeout_ms: int(1, 3_600_000, { says: 'must be milliseconds (1-3600000), e.g. 10000' }),
    on: words({ says: `must be a list of states: ${STATES.join(', ')}, or sel (new SEL records)`, pattern: new RegExp(`^(?:${HOOK_ON.join('|')})$`) }),
  },
  { must: 'a mapping with command:', showValue: false, required: { command: 'required: a shell command; it gets $VACM_NODE, $VACM_STATE, $VACM_PREV_STATE, $VACM_REASON and $VACM_DRAINED' }, noun: 'a hook' },
);

/** The `hooks:` config section: a list of `{ command, band, timeout_ms, on }`. */
export const HOOKS_SECTION = section('hooks', listOf(HOOK, { must: 'a list of { command: "...", band: normal, timeout_ms: 10000, on: [down, up] }' }));

export function parseHooksSection(raw: unknown): ShellHook[] {
  if (raw === undefined) return [];
  checkSection(HOOKS_SECTION, raw ?? 0); // null: not a list either
  return (raw as Record<string, unknown>[]).map((o) => ({
    command: o.command as string,
    band: o.band === undefined ? BANDS.normal : bandOf(o.band)!,
    timeoutMs: (o.timeout_ms as number | undefined) ?? DEFAULT_HOOK_TIMEOUT_MS,
    on: o.on === undefined ? undefined : typeof o.on === 'string' ? [o.on as HookOn] : (o.on as HookOn[]),
  }));
}

/** The `membership:` config section: limits on hooks and what of vacm's environment they see. */
export interface MembershipSettings {
  maxConcurrentHooks: number;
  maxQueuedHooks: number;
  /** names of further environment variables passed to shell hooks (beyond HOOK_ENV) */
  hookEnv: string[];
}

export const MEMBERSHIP_SECTION = section(
  'membership',
  mapping(
    {
      max_concurrent_hooks: int(1, 1024),
      max_queued_hooks: int(0, 1_000_000),
      hook_env: words({ pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, must: 'a list of environment variable names, e.g. [http_proxy, https_proxy]' }),
    },
    { must: 'a mapping, e.g. membership: { max_concurrent_hooks: 8, max_queued_hooks: 1024, hook_env: [http_proxy] }' },
  ),
);

export function parseMembershipSection(raw: unknown): MembershipSettings {
  checkSection(MEMBERSHIP_SECTION, raw);
  const o = (raw ?? {}) as { max_concurrent_hooks?: number; max_queued_hooks?: number; hook_env?: string | string[] };
  return {
    maxConcurrentHooks: o.max_concurrent_hooks ?? DEFAULT_MAX_CONCURRENT_HOOKS,
    maxQueuedHooks: o.max_queued_hooks ?? DEFAULT_MAX_QUEUED_HOOKS,
    hookEnv: o.hook_env === undefined ? [] : typeof o.hook_env === 'string' ? [o.hook_env] : o.hook_env,
  };
}

/**
 * What of vacm's own environment a shell hook sees (decision): a fixed allowlist, never the whole
 * environment, so a secret in it ($VACM_BMC_PASS named by bmc_password_env, an agent key, a cloud
 * token) never reaches a hook's command or whatever it runs. `extra` names further variables the
 * config lets through (membership.hook_env).
 */
export const HOOK_ENV: readonly string[] = ['PATH', 'HOME', 'LANG', 'LANGUAGE', 'TZ', 'USER', 'LOGNAME', 'SHELL', 'TERM', 'TMPDIR'];
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function hookEnvironment(parent: NodeJS.ProcessEnv, t: Transition, extra: readonly string[] = []): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(parent)) {
    if (v === undefined) continue;
    if (HOOK_ENV.includes(k) || k.startsWith('LC_') || extra.includes(k)) env[k] = v;
  }
  env.PATH ??= DEFAULT_PATH;
  env.VACM_NODE = t.node;
  env.VACM_STATE = t.to;
  env.VACM_PREV_STATE = t.from;
  env.VACM_REASON = t.reason ?? '';
  // a drained node's hooks can leave it alone (no paging for the node under repair)
  env.VACM_DRAINED = t.drained ? '1' : '';
  env.VACM_EVENT = t.sel ? 'sel' : 'state';
  if (t.sel) {
    // the BMC's texts only ever as values of variables, never in the command line; a NUL (which
    // spawn refuses) cannot be in them: the engine escaped every control
    env.VACM_SEL_ID = String(t.sel.id);
    env.VACM_SEL_TIME = t.sel.time;
    env.VACM_SEL_SENSOR = t.sel.sensor;
    env.VACM_SEL_EVENT = t.sel.event;
    env.VACM_SEL_DIRECTION = t.sel.direction;
  }
  return env;
}

/** Run a shell hook: the transition in its environment; killed (its process group) on timeout. */
export function shellHook(h: ShellHook, log: (level: 'warn' | 'info', msg: string) => void, extraEnv: readonly string[] = []): MembershipHook {
  return (t, signal) =>
    new Promise<void>((resolve) => {
      const child = spawn('/bin/sh', ['-c', h.command], {
        env: hookEnvironment(process.env, t, extraEnv),
        stdio: ['ignore', 'ignore', 'pipe'],
        detached: true,
      });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => {
        if (stderr.length < 2000) stderr += d.toString();
      });
      const kill = () => {
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      };
      signal.addEventListener('abort', kill, { once: true });
      child.on('error', (err) => {
        log('warn', `hook "${h.command}" could not start: ${err.message}`);
        resolve();
      });
      child.on('close', (code, sig) => {
        signal.removeEventListener('abort', kill);
        if (code !== 0) log('warn', `hook "${h.command}" for ${t.node} ${t.to} ended with ${sig ?? `exit ${code}`}${stderr ? `: ${stderr.trim().slice(0, 200)}` : ''}`);
        resolve();
      });
    });
}

export interface MembershipOptions {
  emit: (body: EventBody) => void;
  log: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
  now?: () => number;
  /** subscribers running at once, across all nodes (default 8) */
  maxConcurrent?: number;
  /** transitions waiting beyond those (default 1024); past it a new transition's hooks are dropped */
  maxQueued?: number;
}

export class Membership {
  private readonly subs: Subscriber[] = [];
  private order = 0;
  /** per node, the chain of its transitions' hook runs (a node's hooks see its transitions in order) */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly inflight = new Set<AbortController>();
  private stopped = false;
  private readonly maxConcurrent: number;
  private readonly maxQueued: number;
  /** subscribers running now, and those waiting for a slot */
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** transitions whose hooks have not finished (running or queued) */
  private pending = 0;
  /** transitions whose hooks were dropped because the queue was full */
  dropped = 0;
  private lastDropLog = -Infinity;
  private droppedSinceLog = 0;

  constructor(private readonly opts: MembershipOptions) {
    this.maxConcurrent = Math.max(1, opts.maxConcurrent ?? DEFAULT_MAX_CONCURRENT_HOOKS);
    this.maxQueued = Math.max(0, opts.maxQueued ?? DEFAULT_MAX_QUEUED_HOOKS);
  }

  /**
   * Run `fn` on every transition (or only into `states`), in `band` (0-9 or a name; lower first),
   * after the earlier subscribers of the same band. Returns an unsubscribe function.
   */
  subscribe(fn: MembershipHook, o: { band?: number | string; name?: string; timeoutMs?: number; states?: readonly NodeState[]; transitions?: boolean; sel?: boolean } = {}): () => void {
    const band = o.band === undefined ? BANDS.normal : bandOf(o.band);
    if (band === undefined) throw new VacmError('ERR_BAD_ARGS', `bad band ${String(o.band)}: 0-9 or ${Object.keys(BANDS).join(', ')}`);
    const s: Subscriber = { name: o.name ?? fn.name ?? 'hook', band, order: this.order++, timeoutMs: o.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS, states: o.states ? new Set(o.states) : undefined, transitions: o.transitions ?? true, sel: o.sel ?? false, fn };
    this.subs.push(s);
    this.subs.sort((a, b) => a.band - b.band || a.order - b.order);
    return () => {
      const i = this.subs.indexOf(s);
      if (i >= 0) this.subs.splice(i, 1);
    };
  }

  addShellHooks(hooks: readonly ShellHook[], extraEnv: readonly string[] = []): void {
    for (const h of hooks) {
      // decision: a hook without `on` runs on state transitions only; SEL records reach hooks that ask for `sel`
      const states = h.on?.filter((x): x is NodeState => x !== 'sel');
      const sel = h.on?.includes('sel') ?? false;
      this.subscribe(shellHook(h, (l, m) => this.opts.log(l, m), extraEnv), { band: h.band, name: h.command, timeoutMs: h.timeoutMs, states, transitions: states === undefined || states.length > 0, sel });
    }
  }

  /**
   * The record's evidence has changed (reach, reason or power); `before` is the state shown before.
   * Returns true when the shown state changed.
   */
  changed(r: NodeRecord, before: NodeState): boolean {
    const after = shownState(r);
    if (after === before) return false;
    const ts = (this.opts.now ?? Date.now)();
    r.since = ts;
    const reason = after === 'up' ? undefined : r.reason ?? after;
    const drained = r.drain !== undefined;
    if (after === 'up') this.opts.emit({ type: 'NODE_UP', node: r.name });
    else if (before === 'up') this.opts.emit({ type: 'NODE_DOWN', node: r.name, reason: reason! });
    // the transition as it was before the event went out; made only when hooks may take it (a one-shot
    // ipc has none: a 1024-node sweep makes no 1024 objects for nobody)
    if (!this.stopped && this.subs.length > 0) this.runHooks({ node: r.name, from: before, to: after, reason, ts, drained });
    return true;
  }

  /** A new SEL record of the node (the sensors poller found it): the hooks that asked for `sel` run, in order with its transitions. */
  selRecord(r: NodeRecord, sel: HookSel): void {
    const state = shownState(r);
    this.runHooks({ node: r.name, from: state, to: state, ts: (this.opts.now ?? Date.now)(), drained: r.drain !== undefined, sel });
  }

  private runHooks(t: Transition): void {
    if (this.stopped || this.subs.length === 0) return;
    const subs = this.subs.filter((s) => (t.sel ? s.sel : s.transitions && (!s.states || s.states.has(t.to))));
    if (subs.length === 0) return;
    // bounded: past max_concurrent + max_queued waiting transitions, this one's hooks are dropped
    // (the newest, so that every node's hooks still see its transitions in order), counted and logged
    if (this.pending >= this.maxConcurrent + this.maxQueued) {
      this.dropped++;
      this.droppedSinceLog++;
      const now = Date.now();
      if (now - this.lastDropLog >= DROP_LOG_EVERY_MS) {
        this.opts.log('warn', `hooks queue full (${this.pending} transitions waiting, membership.max_queued_hooks ${this.maxQueued}): dropped the hooks of ${this.droppedSinceLog} transition(s), the last ${t.node} ${t.from} -> ${t.to}; ${this.dropped} dropped in all. Raise membership.max_concurrent_hooks or make the hooks faster`);
        this.lastDropLog = now;
        this.droppedSinceLog = 0;
      }
      return;
    }
    this.pending++;
    const prev = this.chains.get(t.node) ?? Promise.resolve();
    const next = prev.then(async () => {
      try {
        for (const s of subs) {
          if (this.stopped) return;
          await this.acquire();
          try {
            if (this.stopped) return;
            await this.runOne(s, t);
          } finally {
            this.release();
          }
        }
      } finally {
        this.pending--;
      }
    });
    this.chains.set(t.node, next);
    void next.then(() => {
      if (this.chains.get(t.node) === next) this.chains.delete(t.node);
    });
  }

  private acquire(): Promise<void> {
    if (this.running < this.maxConcurrent) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((res) => this.waiting.push(res));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next(); // the slot passes on: running stays the same
    else this.running--;
  }

  private async runOne(s: Subscriber, t: Transition): Promise<void> {
    const ac = new AbortController();
    this.inflight.add(ac);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), s.timeoutMs)));
    try {
      const r = await Promise.race([Promise.resolve().then(() => s.fn(t, ac.signal)).then(() => 'done' as const), timedOut]);
      if (r === 'timeout') {
        ac.abort();
        this.opts.log('warn', `membership hook ${s.name} for ${t.node} ${t.to} did not finish within ${s.timeoutMs} ms; stopped it`);
      }
    } catch (err) {
      this.opts.log('warn', `membership hook ${s.name} for ${t.node} ${t.to} failed: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
      this.inflight.delete(ac);
    }
  }

  /** Wait for the hooks already started (bounded by their timeouts). */
  async idle(): Promise<void> {
    while (this.chains.size > 0) await Promise.all([...this.chains.values()]);
  }

  /** Stop: no new hooks; running ones are aborted. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const ac of this.inflight) ac.abort();
    // the waiting ones see `stopped` and end at once
    for (const w of this.waiting.splice(0)) {
      this.running++;
      w();
    }
    await Promise.race([this.idle(), new Promise((r) => setTimeout(r, 2000).unref())]);
  }
}
