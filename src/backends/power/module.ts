/**
 * POWER: switch nodes on and off through each node's `power` driver (ipmi, powerman, libvirt, ssh,
 * sim), in the control lane, with the controller guard. EMP and IPMI are VACM's names for the same
 * commands and share this implementation.
 *
 * A request is planned node by node (guard, driver, timeout), the nodes a driver can take are
 * handed to it in one batch per driver (a driver may fold them into one request), and each node's
 * result comes back as one POWER event or one ERROR. Every node has its own timer, so a dead BMC
 * costs its node an ERR_TIMEOUT and never holds the job.
 *
 * Flags after the node set: FORCE (past the controller guard), WAIT (poll the driver's status until
 * the state the action ends in: on, or off for OFF and SOFT), WAIT=ssh (until the node answers SSH
 * again, through the SSH pool's executor), combined as FORCE,WAIT. Waiting stays inside the node's
 * timeout; past it the node ends with ERR_TIMEOUT. BOOT is xCAT's boot: on if off, else reset.
 */
import { abortableSleep } from '../../platform/sleep.js';
import { setMaxListeners } from 'node:events';
import { VacmError, toVacmError, type ErrorCode } from '../../protocol/errors.js';
import type { PowerState } from '../../protocol/events.js';
import type { Request } from '../../protocol/ipc.js';
import type { CommandDef, JobContext, ModuleDef, ModuleHost, NodeVars } from '../../protocol/module.js';
import type { PowerDriver, Providers, RemoteExecutor } from '../capabilities.js';
import { createIpmiDriver, type IpmiDriverOptions } from './drivers/ipmi.js';
import { createPowermanDriver } from './drivers/powerman.js';
import { createLibvirtDriver } from './drivers/libvirt.js';
import { createSshDriver } from './drivers/ssh.js';
import { nodeTimeoutMs, parsePowerSection, type PowerSettings } from './settings.js';
import { GUARDED_ACTIONS, guardRefusal, powerCapability, type PowerActionName, type ThisMachine } from '../../protocol/power.js';
import { thisMachine } from '../../platform/this-machine.js';
import { createExtraCommands } from './extras.js';
import { SSH_REACH_FACTS, powerState } from '../../protocol/node-facts.js';

export interface PowerModuleOptions {
  /** drivers the providers add by name: the sim backend's behind `power: sim` (src/backends/providers.ts) */
  providers?: Providers;
  /** the SSH pool behind `power: ssh` (absent: ssh nodes get ERR_UNSUPPORTED) */
  executor?: RemoteExecutor;
  /** drivers to use instead of the built-in ones, by name (tests) */
  drivers?: Readonly<Record<string, PowerDriver>>;
  /** settings of the shared IPMI client (tests: bindAddress, retries) */
  ipmi?: IpmiDriverOptions;
  /** this machine's addresses and names for the guard (default: read from the OS per request) */
  thisMachine?: () => ThisMachine;
  /** pause between two polls of WAIT (default 2000 ms) */
  waitIntervalMs?: number;
}

/** The actions that the controller guard protects: each of them takes the node down. */
export const GUARDED: ReadonlySet<PowerActionName> = GUARDED_ACTIONS;

const FORCE_ARG = { name: 'force', optional: true, oneOf: ['FORCE'] } as const;
/** the flags of actions that change power; the argument keeps its name, so `args.force` holds them */
export const POWER_FLAGS = ['FORCE', 'WAIT', 'WAIT=SSH', 'FORCE,WAIT', 'FORCE,WAIT=SSH'] as const;
const FLAGS_ARG = { name: 'force', optional: true, oneOf: POWER_FLAGS } as const;

export interface PowerFlags {
  force: boolean;
  wait?: 'state' | 'ssh';
}

/** `FORCE`, `WAIT`, `WAIT=SSH` and their combinations (upper case, as the request parser leaves them). */
export function parsePowerFlags(v: string | undefined): PowerFlags {
  const words = (v ?? '').toUpperCase().split(',').map((w) => w.trim()).filter((w) => w !== '');
  return { force: words.includes('FORCE'), wait: words.includes('WAIT=SSH') ? 'ssh' : words.includes('WAIT') ? 'state' : undefined };
}

/** What POWER:<action> does to a node's power: BOOT is on or reset, decided per node. */
type PowerCommandAction = PowerActionName | 'boot';

/** Per driver, the error code for what it reports without one. */
const DRIVER_ERROR: Record<string, ErrorCode> = { ipmi: 'ERR_IPMI', powerman: 'ERR_POWERMAN', libvirt: 'ERR_LIBVIRT' };

interface Plan {
  node: string;
  vars: NodeVars;
  driver: PowerDriver;
  timeoutMs: number;
  /** when the node's request began (WAIT counts its timeout from here) */
  startedAt: number;
}

interface Pending {
  settled: boolean;
  promise: Promise<PowerState>;
  resolve(s: PowerState): void;
  reject(e: VacmError): void;
}

function pending(): Pending {
  let resolve!: (s: PowerState) => void;
  let reject!: (e: VacmError) => void;
  const promise = new Promise<PowerState>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // awaited by the node's operation; never an unhandled rejection
  return { settled: false, promise, resolve, reject };
}

const sleep = abortableSleep;

/** Run `f` under a signal that also fires after `ms` (an executor's own connect timeout may be longer). */
async function bounded<T>(ms: number, outer: AbortSignal, f: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const onAbort = () => ac.abort(outer.reason);
  outer.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ac.abort(new VacmError('ERR_TIMEOUT', `no answer within ${ms} ms`));
      reject(new VacmError('ERR_TIMEOUT', `no answer within ${ms} ms`));
    }, ms);
  });
  const work = f(ac.signal);
  work.catch(() => {});
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
    outer.removeEventListener('abort', onAbort);
  }
}

function chunk<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/** What the driver of each `power` value talks to, for timeout messages. */
const PEER: Record<string, string> = {
  ipmi: 'BMC (bmc_host)',
  powerman: 'powermand (powerman_server)',
  libvirt: 'libvirt (libvirt_uri)',
  ssh: 'node over SSH',
  sim: 'simulated node',
};

/** The shared state of POWER, EMP and IPMI: settings and the drivers, made on first use. */
class PowerControl {
  settings: PowerSettings | undefined;
  private readonly drivers = new Map<string, PowerDriver>();
  private closed = false;

  constructor(private readonly opts: PowerModuleOptions) {}

  init(host: ModuleHost): void {
    this.settings = parsePowerSection(host.config.sections.power);
  }

  private make(name: string): PowerDriver {
    const given = this.opts.drivers?.[name] ?? this.opts.providers?.powerDriver(name);
    if (given) return given;
    switch (name) {
      case 'sim':
        throw new VacmError('ERR_UNSUPPORTED', 'power: sim needs the simulated cluster, which this vacm was built without');
      case 'ipmi':
        return createIpmiDriver(this.opts.ipmi);
      case 'powerman':
        return createPowermanDriver();
      case 'libvirt':
        return createLibvirtDriver({ uriPolicy: this.settings?.libvirtUri });
      case 'ssh':
        if (this.opts.executor) return createSshDriver(this.opts.executor);
        throw new VacmError('ERR_UNSUPPORTED', 'power: ssh needs the SSH pool, which this vacm was built without; use another power driver');
      default:
        throw new VacmError('ERR_UNSUPPORTED', `the ${name} power driver is not available in this build; use another power driver`);
    }
  }

  driver(name: string): PowerDriver {
    let d = this.drivers.get(name);
    if (!d) {
      d = this.make(name);
      this.drivers.set(name, d);
    }
    return d;
  }

  /** The node's driver, or why it has none (powerCapability's reason, naming the node). */
  driverOf(node: string, vars: NodeVars): PowerDriver {
    const cap = powerCapability(vars);
    if (!cap.driver) throw new VacmError(cap.code ?? 'ERR_UNSUPPORTED', `${node} has ${cap.reason}${cap.code === 'ERR_CONFIG' ? '' : ` (in the config, or NEXXUS:SET_VAR:${node}:power:ipmi)`}`);
    return this.driver(cap.driver);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const ds = [...this.drivers.values()];
    this.drivers.clear();
    await Promise.all(ds.map(async (d) => {
      try {
        await d.close?.();
      } catch {
        // best effort: the process is going away
      }
    }));
  }

  /** Why this node may not get this action, or undefined. */
  private guard(node: string, vars: NodeVars, action: PowerActionName, force: boolean, host: ModuleHost, self: ThisMachine): VacmError | undefined {
    const local = host.node(node)?.local === true;
    const refusal = guardRefusal({ name: node, vars, local }, action, { force, localName: host.localName, self });
    return refusal === undefined ? undefined : new VacmError('ERR_CONTROLLER', refusal);
  }

  private plan(node: string, command: PowerCommandAction, flags: PowerFlags, host: ModuleHost, settings: PowerSettings, self: ThisMachine): Plan {
    const vars = host.vars(node);
    // BOOT may reset: guarded as RESET
    const action: PowerActionName = command === 'boot' ? 'reset' : command;
    const force = flags.force;
    const refused = this.guard(node, vars, action, force, host, self);
    if (refused) throw refused;
    const driver = this.driverOf(node, vars);
    const needs: PowerActionName[] = command === 'boot' ? ['status', 'on', 'reset'] : [action];
    if (flags.wait === 'state' && action !== 'status') needs.push('status');
    for (const a of needs) {
      if (!driver.actions.includes(a)) {
        const what = command === 'boot' ? 'BOOT (it needs STATUS, ON and RESET)' : a === action ? action.toUpperCase() : `${action.toUpperCase()}:WAIT (it needs STATUS)`;
        throw new VacmError('ERR_UNSUPPORTED', `the ${driver.name} power driver cannot do ${what}; it does ${driver.actions.map((x) => x.toUpperCase()).join(', ')}`);
      }
    }
    if (flags.wait === 'ssh' && !this.opts.executor) {
      throw new VacmError('ERR_UNSUPPORTED', 'WAIT=ssh needs the SSH pool, which this vacm was built without; use WAIT');
    }
    return { node, vars, driver, timeoutMs: nodeTimeoutMs(settings, driver.name, vars), startedAt: Date.now() };
  }

  async run(ctx: JobContext, action: PowerCommandAction): Promise<void> {
    const settings = this.settings ?? (this.settings = parsePowerSection(ctx.host.config.sections.power));
    const flags = parsePowerFlags(ctx.args.force);
    if (flags.wait === 'ssh' && (action === 'off' || action === 'soft')) {
      throw new VacmError('ERR_BAD_ARGS', `WAIT=ssh waits for a node to answer SSH again, which ${action.toUpperCase()} never makes it do; use WAIT`);
    }
    setMaxListeners(0, ctx.signal); // the engine listens once per node of the job
    const plans: Plan[] = [];
    const guarded = GUARDED_ACTIONS.has(action === 'boot' ? 'reset' : action);
    // read once per request: a node whose host or bmc_host is this machine is guarded too
    const self = guarded && !flags.force ? (this.opts.thisMachine ?? thisMachine)() : { addresses: new Set<string>(), names: new Set<string>() };
    for (const node of ctx.nodes) {
      try {
        plans.push(this.plan(node, action, flags, ctx.host, settings, self));
      } catch (err) {
        const ve = toVacmError(err, 'ERR_POWER_DRIVER');
        ctx.emit({ type: 'ERROR', node, code: ve.code, message: ve.message });
      }
    }
    if (plans.length === 0) return;

    const results = new Map<string, Pending>(plans.map((p) => [p.node, pending()]));
    const settle = (node: string, r: PowerState | Error, code: ErrorCode = 'ERR_POWER_DRIVER') => {
      const p = results.get(node);
      if (!p || p.settled) return;
      p.settled = true;
      if (r instanceof Error) p.reject(toVacmError(r, code));
      else p.resolve(r);
    };
    const onCancel = () => {
      for (const node of results.keys()) settle(node, new VacmError('ERR_CANCELLED', 'cancelled'));
    };
    ctx.signal.addEventListener('abort', onCancel, { once: true });

    const dispatching = (async () => {
      if (action !== 'boot') return this.dispatch(plans, action, settings, ctx.signal, settle);
      // BOOT: read every node's state, then switch on the ones that are off and reset the others
      const states = new Map<string, PowerState>();
      await this.dispatch(plans, 'status', settings, ctx.signal, (node, r, code) => {
        if (r instanceof Error) settle(node, r, code);
        else states.set(node, r);
      });
      const off = plans.filter((p) => states.get(p.node) === 'off');
      const rest = plans.filter((p) => states.has(p.node) && states.get(p.node) !== 'off');
      await Promise.all([this.dispatch(off, 'on', settings, ctx.signal, settle), this.dispatch(rest, 'reset', settings, ctx.signal, settle)]);
    })().catch((err) => {
      // cancelled while waiting between ON batches, or a bug: no node is left waiting
      for (const node of results.keys()) settle(node, toVacmError(err, 'ERR_POWER_DRIVER'));
    });

    const byNode = new Map(plans.map((p) => [p.node, p]));
    try {
      await ctx.forEachNode(plans.map((p) => p.node), async ({ node, signal }) => {
        let state = await results.get(node)!.promise;
        if (flags.wait && action !== 'status') state = await this.waitFor(byNode.get(node)!, action, flags.wait, signal);
        ctx.emit({ type: 'POWER', node, state });
      });
      await dispatching;
    } finally {
      ctx.signal.removeEventListener('abort', onCancel);
    }
  }

  /** Hand the plans to their drivers, ON of many nodes in staggered batches; every node settles. */
  private async dispatch(plans: readonly Plan[], action: PowerActionName, settings: PowerSettings, signal: AbortSignal, settle: (node: string, r: PowerState | Error, code?: ErrorCode) => void): Promise<void> {
    if (plans.length === 0) return;
    // staggering: ON of many nodes goes out in batches, so a rack does not trip its breaker
    const batch = settings.powerOnBatch;
    const batches = action === 'on' && batch > 0 && plans.length > batch ? chunk(plans, batch) : [plans];
    for (let i = 0; i < batches.length; i++) {
      if (i > 0) await sleep(settings.powerOnIntervalMs, signal);
      const byDriver = new Map<PowerDriver, Plan[]>();
      for (const p of batches[i]) {
        const g = byDriver.get(p.driver);
        if (g) g.push(p);
        else byDriver.set(p.driver, [p]);
      }
      await Promise.all([...byDriver].map(([driver, group]) => this.runGroup(driver, group, action, signal, settle)));
    }
  }

  /**
   * WAIT: poll until the node is where the action takes it (on; off for OFF and SOFT), or with
   * `ssh` until it answers SSH again, within what is left of the node's timeout.
   */
  private async waitFor(p: Plan, action: PowerCommandAction, wait: 'state' | 'ssh', signal: AbortSignal): Promise<PowerState> {
    const want: PowerState = action === 'off' || action === 'soft' ? 'off' : 'on';
    const interval = Math.max(1, this.opts.waitIntervalMs ?? 2000);
    const left = () => p.startedAt + p.timeoutMs - Date.now();
    let last = 'no answer yet';
    for (;;) {
      if (signal.aborted) throw new VacmError('ERR_CANCELLED', 'cancelled');
      const budget = Math.max(1, Math.min(left(), 10_000));
      try {
        if (wait === 'ssh') {
          const ex = this.opts.executor!;
          ex.drop?.(p.node); // a connection from before the power action proves nothing
          await bounded(budget, signal, (s) => ex.run(p.node, p.vars, 'true', { signal: s, timeoutMs: budget }));
          return want;
        }
        const s = await this.statusOnce(p, signal, budget);
        if (s === want) return want;
        last = `still ${s}`;
      } catch (err) {
        if (signal.aborted) throw new VacmError('ERR_CANCELLED', 'cancelled');
        last = (err as Error).message; // rebooting nodes and busy BMCs do not answer for a while
      }
      if (left() <= interval) {
        const what = wait === 'ssh' ? 'answer SSH again' : `reach ${want}`;
        throw new VacmError('ERR_TIMEOUT', `${p.node}: did not ${what} within ${p.timeoutMs} ms (${last.slice(0, 200)}); check the node, or raise power_timeout_ms`);
      }
      await sleep(interval, signal);
    }
  }

  /** One status read of one node through its driver, bounded by timeoutMs. */
  private statusOnce(p: Plan, signal: AbortSignal, timeoutMs: number): Promise<PowerState> {
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    return new Promise<PowerState>((resolve, reject) => {
      let done = false;
      const finish = (r: PowerState | Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        ac.abort();
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
      const timer = setTimeout(() => finish(new VacmError('ERR_TIMEOUT', `no status within ${timeoutMs} ms`)), timeoutMs);
      Promise.resolve()
        .then(() => p.driver.run('status', [{ node: p.node, vars: p.vars }], { signal: ac.signal, timeoutMs, report: (n, r) => n === p.node && finish(r) }))
        .then(() => finish(new VacmError('ERR_POWER_DRIVER', `the ${p.driver.name} driver reported no status for ${p.node}`)), (e: unknown) => finish(toVacmError(e, 'ERR_POWER_DRIVER')));
    });
  }

  /** One driver, one batch of nodes; every node settles by its own timeout at the latest. */
  private async runGroup(
    driver: PowerDriver,
    group: readonly Plan[],
    action: PowerActionName,
    jobSignal: AbortSignal,
    settle: (node: string, r: PowerState | Error, code?: ErrorCode) => void,
  ): Promise<void> {
    const code = DRIVER_ERROR[driver.name] ?? 'ERR_POWER_DRIVER';
    const ac = new AbortController();
    setMaxListeners(0, ac.signal); // one listener per node in flight is expected, thousands of them
    const onAbort = () => ac.abort(jobSignal.reason);
    jobSignal.addEventListener('abort', onAbort, { once: true });
    let left = group.length;
    let allSettled!: () => void;
    const finished = new Promise<void>((r) => (allSettled = r));
    const mine = new Set(group.map((p) => p.node));
    const done = new Set<string>();
    const report = (node: string, r: PowerState | Error, c: ErrorCode = code) => {
      if (!mine.has(node) || done.has(node)) return;
      done.add(node);
      settle(node, r, c);
      if (--left === 0) allSettled();
    };
    const timers = group.map((p) =>
      setTimeout(() => {
        report(p.node, new VacmError('ERR_TIMEOUT', `${p.node}: no answer from its ${PEER[driver.name] ?? driver.name} within ${p.timeoutMs} ms; check that it is reachable, or raise power_timeout_ms`), 'ERR_TIMEOUT');
      }, p.timeoutMs),
    );
    const timeoutMs = group.reduce((m, p) => Math.max(m, p.timeoutMs), 0);
    const running = Promise.resolve().then(() =>
      driver.run(action, group.map((p) => ({ node: p.node, vars: p.vars })), { signal: ac.signal, timeoutMs, report: (n, r) => report(n, r) }),
    );
    try {
      await Promise.race([running, finished]);
      for (const p of group) report(p.node, new VacmError('ERR_POWER_DRIVER', `the ${driver.name} driver reported nothing for ${p.node}`));
    } catch (err) {
      for (const p of group) report(p.node, err as Error);
    } finally {
      running.catch(() => {});
      for (const t of timers) clearTimeout(t);
      jobSignal.removeEventListener('abort', onAbort);
      ac.abort(new VacmError('ERR_CANCELLED', 'the power request is over')); // release whatever the driver still holds
    }
  }
}

type Spec = { name: string; action: PowerCommandAction; summary: string };

const POWER_COMMANDS: Spec[] = [
  { name: 'ON', action: 'on', summary: 'switch nodes on' },
  { name: 'OFF', action: 'off', summary: 'switch nodes off at once (hard)' },
  { name: 'CYCLE', action: 'cycle', summary: 'switch nodes off and on again' },
  { name: 'RESET', action: 'reset', summary: 'hard-reset nodes' },
  { name: 'SOFT', action: 'soft', summary: 'ask nodes to shut down cleanly (ACPI or systemctl poweroff)' },
  { name: 'STATUS', action: 'status', summary: 'read nodes\' power state' },
  { name: 'BOOT', action: 'boot', summary: 'boot nodes: switch on the ones that are off, reset the others (xCAT\'s boot)' },
];

/** VACM's EMP (and IPMI) command names. */
const EMP_COMMANDS: Spec[] = [
  { name: 'POWER_ON', action: 'on', summary: 'switch nodes on (POWER:ON)' },
  { name: 'POWER_OFF', action: 'off', summary: 'switch nodes off (POWER:OFF)' },
  { name: 'POWER_CYCLE', action: 'cycle', summary: 'power-cycle nodes (POWER:CYCLE)' },
  { name: 'RESET', action: 'reset', summary: 'hard-reset nodes (POWER:RESET)' },
  { name: 'STATUS', action: 'status', summary: 'read nodes\' power state (POWER:STATUS)' },
];

function commandsOf(control: PowerControl, specs: readonly Spec[]): CommandDef[] {
  return specs.map((s) => ({
    name: s.name,
    summary:
      s.summary +
      (GUARDED.has(s.action === 'boot' ? 'reset' : s.action) ? '; refuses controllers and this machine unless :FORCE' : '') +
      (s.action === 'status' ? '' : '; :WAIT polls until the state is reached, :WAIT=ssh until SSH answers'),
    nodes: 'required',
    args: [s.action === 'status' ? FORCE_ARG : FLAGS_ARG],
    lane: 'control',
    // everything but reading the state changes something: audited before and after
    dangerous: (req: Request) => req.command !== 'STATUS',
    run: (ctx: JobContext) => control.run(ctx, s.action),
  }));
}

/** POWER, EMP and IPMI, sharing one set of drivers. */
export function createPowerModules(opts: PowerModuleOptions = {}): ModuleDef[] {
  const control = new PowerControl(opts);
  const extras = createExtraCommands(control); // IDENTIFY and BOOTDEV, through the same drivers
  const mk = (tag: string, summary: string, specs: readonly Spec[], more: CommandDef[] = []): ModuleDef => ({
    tag,
    summary,
    commands: [...commandsOf(control, specs), ...more],
    // by state: `power off` on 30 nodes is one group
    gather: { POWER: {} },
    // the state after an action or a status query; the ssh driver's errors carry reachability
    facts: { POWER: powerState, ...SSH_REACH_FACTS },
    init: (host) => control.init(host),
    dispose: () => control.close(),
  });
  return [
    mk('POWER', 'power control through each node\'s power driver (ipmi, powerman, libvirt, ssh, sim)', POWER_COMMANDS, extras),
    mk('EMP', 'VACM\'s power module names, onto POWER', EMP_COMMANDS),
    mk('IPMI', 'VACM\'s IPMI power names, onto POWER', EMP_COMMANDS),
  ];
}
