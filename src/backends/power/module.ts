/**
 * POWER: switch nodes on and off through each node's `power` driver (ipmi, powerman, libvirt, ssh,
 * sim), in the control lane, with the controller guard. EMP and IPMI are VACM's names for the same
 * commands and share this implementation.
 *
 * A request is planned node by node (guard, driver, timeout), the nodes a driver can take are
 * handed to it in one batch per driver (a driver may fold them into one request), and each node's
 * result comes back as one POWER event or one ERROR. Every node has its own timer, so a dead BMC
 * costs its node an ERR_TIMEOUT and never holds the job.
 */
import { abortableSleep } from '../../platform/sleep.js';
import { setMaxListeners } from 'node:events';
import { VacmError, toVacmError, type ErrorCode } from '../../protocol/errors.js';
import type { PowerState } from '../../protocol/events.js';
import type { Request } from '../../protocol/ipc.js';
import type { CommandDef, JobContext, ModuleDef, ModuleHost, NodeVars } from '../../protocol/module.js';
import type { PowerAction, PowerDriver, RemoteExecutor } from '../capabilities.js';
import type { SimCluster } from '../sim/cluster.js';
import { createSimDriver } from './drivers/sim.js';
import { createIpmiDriver, type IpmiDriverOptions } from './drivers/ipmi.js';
import { createPowermanDriver } from './drivers/powerman.js';
import { createLibvirtDriver } from './drivers/libvirt.js';
import { createSshDriver } from './drivers/ssh.js';
import { DRIVER_NAMES, nodeTimeoutMs, parsePowerSection, type PowerSettings } from './settings.js';
import { GUARDED_ACTIONS, guardRefusal, type ThisMachine } from '../../protocol/power.js';
import { thisMachine } from '../../platform/this-machine.js';
import { createIpmiExtras } from '../ipmi/power-extras.js';

export interface PowerModuleOptions {
  /** the simulated cluster behind `power: sim` */
  sim?: SimCluster;
  /** the SSH pool behind `power: ssh` (absent: ssh nodes get ERR_UNSUPPORTED) */
  executor?: RemoteExecutor;
  /** drivers to use instead of the built-in ones, by name (tests) */
  drivers?: Readonly<Record<string, PowerDriver>>;
  /** settings of the shared IPMI client (tests: bindAddress, retries) */
  ipmi?: IpmiDriverOptions;
  /** this machine's addresses and names for the guard (default: read from the OS per request) */
  thisMachine?: () => ThisMachine;
}

/** The actions that the controller guard protects: each of them takes the node down. */
export const GUARDED: ReadonlySet<PowerAction> = GUARDED_ACTIONS;

const FORCE_ARG = { name: 'force', optional: true, oneOf: ['FORCE'] } as const;

/** Per driver, the error code for what it reports without one. */
const DRIVER_ERROR: Record<string, ErrorCode> = { ipmi: 'ERR_IPMI', powerman: 'ERR_POWERMAN', libvirt: 'ERR_LIBVIRT' };

interface Plan {
  node: string;
  vars: NodeVars;
  driver: PowerDriver;
  timeoutMs: number;
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
    const given = this.opts.drivers?.[name];
    if (given) return given;
    switch (name) {
      case 'sim':
        if (!this.opts.sim) throw new VacmError('ERR_UNSUPPORTED', 'power: sim needs the simulated cluster, which this vacm was built without');
        return createSimDriver(this.opts.sim);
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
  private guard(node: string, vars: NodeVars, action: PowerAction, force: boolean, host: ModuleHost, self: ThisMachine): VacmError | undefined {
    const local = host.node(node)?.local === true;
    const refusal = guardRefusal({ name: node, vars, local }, action, { force, localName: host.localName, self });
    return refusal === undefined ? undefined : new VacmError('ERR_CONTROLLER', refusal);
  }

  private plan(node: string, action: PowerAction, force: boolean, host: ModuleHost, settings: PowerSettings, self: ThisMachine): Plan {
    const vars = host.vars(node);
    const refused = this.guard(node, vars, action, force, host, self);
    if (refused) throw refused;
    const name = vars.power?.trim();
    if (name === undefined || name === '' || name === 'none') {
      throw new VacmError('ERR_UNSUPPORTED', `${node} has ${name === 'none' ? 'power: none' : 'no power variable'}; set power to one of ${DRIVER_NAMES.join(', ')} (in the config, or NEXXUS:SET_VAR:${node}:power:ipmi)`);
    }
    if (!(DRIVER_NAMES as readonly string[]).includes(name)) {
      throw new VacmError('ERR_CONFIG', `${node} has power: ${name}, which is no driver; set power to one of ${DRIVER_NAMES.join(', ')} or none`);
    }
    const driver = this.driver(name);
    if (!driver.actions.includes(action)) {
      throw new VacmError('ERR_UNSUPPORTED', `the ${driver.name} power driver cannot do ${action.toUpperCase()}; it does ${driver.actions.map((a) => a.toUpperCase()).join(', ')}`);
    }
    return { node, vars, driver, timeoutMs: nodeTimeoutMs(settings, name, vars) };
  }

  async run(ctx: JobContext, action: PowerAction): Promise<void> {
    const settings = this.settings ?? (this.settings = parsePowerSection(ctx.host.config.sections.power));
    const force = ctx.args.force === 'FORCE';
    setMaxListeners(0, ctx.signal); // the engine listens once per node of the job
    const plans: Plan[] = [];
    // read once per request: a node whose host or bmc_host is this machine is guarded too
    const self = GUARDED_ACTIONS.has(action) && !force ? (this.opts.thisMachine ?? thisMachine)() : { addresses: new Set<string>(), names: new Set<string>() };
    for (const node of ctx.nodes) {
      try {
        plans.push(this.plan(node, action, force, ctx.host, settings, self));
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

    // staggering: ON of many nodes goes out in batches, so a rack does not trip its breaker
    const batch = settings.powerOnBatch;
    const batches = action === 'on' && batch > 0 && plans.length > batch ? chunk(plans, batch) : [plans];
    const dispatching = (async () => {
      for (let i = 0; i < batches.length; i++) {
        if (i > 0) await sleep(settings.powerOnIntervalMs, ctx.signal);
        const byDriver = new Map<PowerDriver, Plan[]>();
        for (const p of batches[i]) {
          const g = byDriver.get(p.driver);
          if (g) g.push(p);
          else byDriver.set(p.driver, [p]);
        }
        await Promise.all([...byDriver].map(([driver, group]) => this.runGroup(driver, group, action, ctx.signal, settle)));
      }
    })().catch((err) => {
      // cancelled while waiting between ON batches, or a bug: no node is left waiting
      for (const node of results.keys()) settle(node, toVacmError(err, 'ERR_POWER_DRIVER'));
    });

    try {
      await ctx.forEachNode(plans.map((p) => p.node), async ({ node }) => {
        const state = await results.get(node)!.promise;
        ctx.emit({ type: 'POWER', node, state });
      });
      await dispatching;
    } finally {
      ctx.signal.removeEventListener('abort', onCancel);
    }
  }

  /** One driver, one batch of nodes; every node settles by its own timeout at the latest. */
  private async runGroup(
    driver: PowerDriver,
    group: readonly Plan[],
    action: PowerAction,
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

type Spec = { name: string; action: PowerAction; summary: string };

const POWER_COMMANDS: Spec[] = [
  { name: 'ON', action: 'on', summary: 'switch nodes on' },
  { name: 'OFF', action: 'off', summary: 'switch nodes off at once (hard)' },
  { name: 'CYCLE', action: 'cycle', summary: 'switch nodes off and on again' },
  { name: 'RESET', action: 'reset', summary: 'hard-reset nodes' },
  { name: 'SOFT', action: 'soft', summary: 'ask nodes to shut down cleanly (ACPI or systemctl poweroff)' },
  { name: 'STATUS', action: 'status', summary: 'read nodes\' power state' },
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
    summary: s.summary + (GUARDED.has(s.action) ? '; refuses controllers and this machine unless :FORCE' : ''),
    nodes: 'required',
    args: [FORCE_ARG],
    lane: 'control',
    // everything but reading the state changes something: audited before and after
    dangerous: (req: Request) => req.command !== 'STATUS',
    run: (ctx: JobContext) => control.run(ctx, s.action),
  }));
}

/** POWER, EMP and IPMI, sharing one set of drivers. */
export function createPowerModules(opts: PowerModuleOptions = {}): ModuleDef[] {
  const control = new PowerControl(opts);
  const extras = createIpmiExtras(opts.ipmi); // IDENTIFY and BOOTDEV (issue 14)
  const mk = (tag: string, summary: string, specs: readonly Spec[], more: CommandDef[] = []): ModuleDef => ({
    tag,
    summary,
    commands: [...commandsOf(control, specs), ...more],
    init: (host) => control.init(host),
    dispose: async () => {
      await control.close();
      await extras.close();
    },
  });
  return [
    mk('POWER', 'power control through each node\'s power driver (ipmi, powerman, libvirt, ssh, sim)', POWER_COMMANDS, extras.commands),
    mk('EMP', 'VACM\'s power module names, onto POWER', EMP_COMMANDS),
    mk('IPMI', 'VACM\'s IPMI power names, onto POWER', EMP_COMMANDS),
  ];
}
