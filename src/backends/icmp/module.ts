/**
 * ICMP_ECHO: is a node alive, and how far away. `PING:nodes[:count[:timeout_ms]]` gives one PING event
 * per node, `up` with the round-trip time or `down` with the reason; the engine turns them into node
 * state. A node whose capabilities (src/backends/providers.ts) bring a pinger answers through it (the
 * simulated ones). Real nodes are pinged at their `host` variable (else their name): with fping
 * when it is installed, one process per batch of addresses (each batch holds one bulk-lane slot),
 * else one system ping per node through the `ping` package (one slot each).
 * With `host.monitor`, a heartbeat (heartbeat.ts) keeps node state fresh between sweeps.
 */
import { VacmError, toVacmError } from '../../protocol/errors.js';
import type { CommandDef, JobContext, ModuleDef, ModuleHost, NodeOutcome } from '../../protocol/module.js';
import { REAL_PROVIDERS, type NodePinger, type Providers } from '../capabilities.js';
import { parsePingConfig, type PingConfig, type PingMethod } from './config.js';
import { findBinary, runFpingSweep, type ProbeResult } from './fping.js';
import { systemPing } from './system-ping.js';
import { Heartbeat } from './heartbeat.js';
import { checkAddress, pingAddress } from './address.js';
import { pingReach, type EventFacts } from '../../protocol/node-facts.js';

/** a ping reply or its absence is the node's reachability */
export const ICMP_FACTS: EventFacts = { PING: pingReach };

export { checkAddress, pingAddress } from './address.js';

export interface IcmpModuleOptions {
  /** how each node is reached (default: every node for real) */
  providers?: Providers;
  /** force a method over the config's ping.method (tests, benchmarks) */
  method?: PingMethod;
  /** paths of the binaries (default: found on $PATH) */
  fpingBin?: string;
  pingBin?: string;
  /** told about the heartbeat when it starts (tests, diagnostics) */
  onHeartbeat?: (hb: Heartbeat) => void;
}

/** ms between the pings to one node when count > 1 */
const PERIOD_MS = 100;
/** slack on top of the expected sweep time before a process is given up on */
const SLACK_MS = 5000;

function intArg(value: string | undefined, name: string, lo: number, hi: number, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < lo || n > hi) {
    throw new VacmError('ERR_BAD_ARGS', `${name} must be a whole number from ${lo} to ${hi}, not "${value}" (ICMP_ECHO:PING:nodes[:count[:timeout_ms]])`);
  }
  return n;
}

export function createIcmpModule(opts: IcmpModuleOptions = {}): ModuleDef {
  const providers = opts.providers ?? REAL_PROVIDERS;
  let cfg: PingConfig | undefined;
  let heartbeat: Heartbeat | undefined;
  let fpingPath: string | undefined | null = null; // null: not looked up yet

  const config = (host: ModuleHost): PingConfig => (cfg ??= parsePingConfig(host.config.sections.ping));
  const fping = (): string | undefined => {
    if (fpingPath === null) fpingPath = opts.fpingBin ?? findBinary('fping');
    return fpingPath;
  };
  const method = (host: ModuleHost): 'fping' | 'ping' => {
    const want = opts.method ?? config(host).method;
    if (want === 'ping') return 'ping';
    if (want === 'fping') {
      if (!fping()) throw new VacmError('ERR_UNSUPPORTED', 'ping.method is fping but fping is not installed: apt-get install fping, or set ping.method: auto');
      return 'fping';
    }
    return fping() ? 'fping' : 'ping';
  };

  const report = (ctx: JobContext, node: string, r: ProbeResult): NodeOutcome => {
    if (r.error) {
      ctx.emit({ type: 'ERROR', node, code: 'ERR_PING', message: r.reason ?? 'ping failed' });
      return 'failed';
    }
    ctx.emit(r.state === 'up' ? { type: 'PING', node, state: 'up', rttMs: r.rttMs ?? 0 } : { type: 'PING', node, state: 'down', reason: r.reason ?? 'no reply' });
    return r.state === 'up' ? 'ok' : 'failed';
  };

  /** nodes with a pinger of their own, one at a time (one slot each) */
  const pingEach = async (ctx: JobContext, pingers: ReadonlyMap<string, NodePinger>): Promise<void> => {
    await ctx.forEachNode([...pingers.keys()], async ({ node }) => report(ctx, node, await pingers.get(node)!.ping(node)));
  };

  /** fping: batches of addresses, each one process holding one bulk-lane slot (carried by its first node). */
  const pingFping = async (ctx: JobContext, nodes: string[], count: number, timeoutMs: number, batch: number): Promise<void> => {
    const batches: string[][] = [];
    for (let i = 0; i < nodes.length; i += batch) batches.push(nodes.slice(i, i + batch));
    const byCarrier = new Map(batches.map((b) => [b[0], b]));
    const deadline = (count - 1) * PERIOD_MS + timeoutMs + SLACK_MS;
    await ctx.forEachNode([...byCarrier.keys()], async ({ node: carrier, signal }) => {
      const members: string[] = [];
      const addr = new Map<string, string>();
      let carrierOutcome: NodeOutcome = 'failed';
      for (const n of byCarrier.get(carrier)!) {
        const a = pingAddress(n, ctx.host.vars(n));
        const bad = checkAddress(a);
        if (bad) {
          ctx.emit({ type: 'ERROR', node: n, code: 'ERR_PING', message: bad });
          continue;
        }
        members.push(n);
        addr.set(n, a);
      }
      if (members.length === 0) return carrierOutcome;
      let results: Map<string, ProbeResult>;
      try {
        results = await runFpingSweep([...addr.values()], { count, timeoutMs, periodMs: PERIOD_MS, signal: AbortSignal.any([signal, AbortSignal.timeout(deadline)]), bin: fping() });
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        const ve = signal.aborted ? new VacmError('ERR_TIMEOUT', `fping gave no result within ${deadline} ms`) : toVacmError(err, 'ERR_PING');
        for (const n of members) ctx.emit({ type: 'ERROR', node: n, code: ve.code, message: ve.message });
        return 'failed';
      }
      for (const n of members) {
        const o = report(ctx, n, results.get(addr.get(n)!)!);
        if (n === carrier) carrierOutcome = o;
        else ctx.outcome(n, o);
      }
      return carrierOutcome;
    }, { timeoutMs: deadline + SLACK_MS });
  };

  const pingSystem = async (ctx: JobContext, nodes: string[], count: number, timeoutMs: number): Promise<void> => {
    await ctx.forEachNode(nodes, async ({ node, vars, signal }) => {
      const a = pingAddress(node, vars);
      const bad = checkAddress(a);
      if (bad) throw new VacmError('ERR_PING', bad);
      return report(ctx, node, await systemPing(a, { count, timeoutMs, periodMs: PERIOD_MS, signal }));
    }, {
      timeoutMs: (count - 1) * PERIOD_MS + timeoutMs + SLACK_MS,
    });
  };

  const ping: CommandDef = {
    name: 'PING',
    summary: 'is the node alive: one PING event per node, up with the round-trip time or down with the reason',
    nodes: 'required',
    args: [{ name: 'count', optional: true }, { name: 'timeout_ms', optional: true }],
    lane: 'bulk',
    dangerous: false,
    validate(req, _nodes, host) {
      const c = config(host);
      intArg(req.named.count, 'count', 1, 100, c.count);
      intArg(req.named.timeout_ms, 'timeout_ms', 10, 60_000, c.timeout_ms);
    },
    async run(ctx) {
      const c = config(ctx.host);
      const count = intArg(ctx.args.count, 'count', 1, 100, c.count);
      const timeoutMs = intArg(ctx.args.timeout_ms, 'timeout_ms', 10, 60_000, c.timeout_ms);
      const own = new Map<string, NodePinger>();
      const real: string[] = [];
      for (const n of ctx.nodes) {
        const p = providers.of(n, ctx.host.vars(n)).pinger;
        if (p) own.set(n, p);
        else real.push(n);
      }
      const work: Promise<void>[] = [];
      if (own.size) work.push(pingEach(ctx, own));
      if (real.length) {
        work.push(method(ctx.host) === 'fping' ? pingFping(ctx, real, count, timeoutMs, c.batch) : pingSystem(ctx, real, count, timeoutMs));
      }
      await Promise.all(work);
    },
  };

  return {
    tag: 'ICMP_ECHO',
    summary: 'reachability and round-trip time (fping when installed, else system ping); heartbeat for the dashboard',
    commands: [ping],
    // nodes gather by up/down (and the reason), their RTTs as min/avg/max: 30 nodes up are one group, not 30
    gather: { PING: { stat: { field: 'rttMs', label: 'rtt', unit: 'ms' } } },
    facts: ICMP_FACTS,
    init(host) {
      // validated at start, so a bad ping: section stops vacm with ERR_CONFIG before anything runs
      const c = (cfg = parsePingConfig(host.config.sections.ping));
      if (!host.monitor || !c.enabled) return;
      heartbeat = new Heartbeat(host, { providers, intervalMs: c.interval_ms, misses: c.misses, method: method(host), fpingBin: fping(), pingBin: opts.pingBin });
      heartbeat.start();
      opts.onHeartbeat?.(heartbeat);
    },
    async dispose() {
      const hb = heartbeat;
      heartbeat = undefined;
      await hb?.stop();
    },
  };
}
