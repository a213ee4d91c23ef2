/**
 * SYSSTAT: how loaded is a node. `GET:nodes` gives one STAT event per node with `key=value` fields
 * (docs/stats.md lists every key). Where the numbers come from depends on the node:
 * - the machine vacm runs on: systeminformation (local.ts);
 * - a node whose capabilities (src/backends/providers.ts) bring a stats source: that source (the
 *   simulated nodes);
 * - other nodes: one round trip over the RemoteExecutor (the SSH pool) running one shell command
 *   that prints /proc and friends, parsed by parse-proc.ts.
 * With `host.monitor`, a poller (poller.ts) sweeps the nodes as quiet jobs for the dashboard.
 */
import { VacmError } from '../../protocol/errors.js';
import type { CommandDef, ModuleDef, ModuleHost } from '../../protocol/module.js';
import { REAL_PROVIDERS, type Providers, type RemoteExecutor } from '../capabilities.js';
import { parseSysstatConfig, type SysstatConfig } from './config.js';
import { LocalStats } from './local.js';
import { parseProcReport, procCommand, type CpuSample } from './parse-proc.js';
import { SysstatPoller } from './poller.js';
import { RemoteHealth } from './health.js';
import { SSH_REACH_FACTS, statReading } from '../../protocol/node-facts.js';

export interface SysstatModuleOptions {
  /** how each node is reached (default: every node for real) */
  providers?: Providers;
  /** runs the /proc command on remote nodes (the SSH pool); without it remote nodes get ERR_UNSUPPORTED */
  remote?: RemoteExecutor;
  /** the local reader (tests may pass their own) */
  local?: LocalStats;
  /** told about the poller when it starts (tests, diagnostics) */
  onPoller?: (p: SysstatPoller) => void;
}

/** a cached /proc/stat sample older than this is not reused: the poll takes two samples instead */
const CPU_BASELINE_MAX_AGE_MS = 60_000;

export function createSysstatModule(opts: SysstatModuleOptions = {}): ModuleDef {
  const providers = opts.providers ?? REAL_PROVIDERS;
  let cfg: SysstatConfig | undefined;
  let local = opts.local;
  let poller: SysstatPoller | undefined;
  const cpuBaseline = new Map<string, { sample: CpuSample; at: number }>();
  let health: RemoteHealth | undefined;

  const config = (host: ModuleHost) => (cfg ??= parseSysstatConfig(host.config.sections.sysstat));
  const localStats = (host: ModuleHost) => (local ??= new LocalStats({ slowRefreshMs: config(host).slow_refresh_ms }));

  const remoteStats = async (node: string, vars: Readonly<Record<string, string>>, signal: AbortSignal, timeoutMs: number) => {
    if (!opts.remote) {
      throw new VacmError('ERR_UNSUPPORTED', `no SSH executor: cannot read stats of remote node ${node} (vacm was built without the SSH pool); stats work for the local machine and simulated nodes`);
    }
    const prev = cpuBaseline.get(node);
    const fresh = prev !== undefined && Date.now() - prev.at <= CPU_BASELINE_MAX_AGE_MS;
    const res = await opts.remote.run(node, vars, procCommand(!fresh), { signal, timeoutMs });
    let report;
    try {
      report = parseProcReport(res.stdout, fresh ? prev.sample : undefined);
    } catch (err) {
      const why = res.stderr.trim().split('\n')[0];
      throw new VacmError('ERR_STAT', `${node}: ${(err as Error).message}${res.code !== 0 ? ` (exit ${res.code}${why ? `: ${why}` : ''})` : ''}`);
    }
    if (report.cpu) cpuBaseline.set(node, { sample: report.cpu, at: Date.now() });
    return report.stats;
  };

  const get: CommandDef = {
    name: 'GET',
    summary: 'load, CPU %, memory, swap, disk, uptime, OS, kernel, temperature: one STAT event per node',
    nodes: 'required',
    args: [],
    lane: 'bulk',
    dangerous: false,
    skipKnownDown: true,
    async run(ctx) {
      const c = config(ctx.host);
      await ctx.forEachNode(ctx.nodes, async ({ node, vars, signal }) => {
        let stats;
        let remote = false;
        const source = providers.of(node, vars).stats;
        if (source) {
          stats = await source.read(node, signal);
        } else if (ctx.host.node(node)?.local) {
          try {
            stats = await localStats(ctx.host).read();
          } catch (err) {
            throw new VacmError('ERR_STAT', `cannot read this machine's stats: ${(err as Error).message}`);
          }
        } else {
          try {
            stats = await remoteStats(node, vars, signal, c.timeout_ms);
          } catch (err) {
            // a cancelled sweep says nothing about the node; its own timeout does
            const cancelled = signal.aborted && !(signal.reason instanceof VacmError && signal.reason.code === 'ERR_TIMEOUT');
            if (!cancelled) health?.failed(node);
            throw err;
          }
          remote = true;
        }
        ctx.emit({ type: 'STAT', node, stats });
        if (remote) health?.ok(node); // after the STAT: the node's stats time is not newer than this reading
      }, { timeoutMs: c.timeout_ms });
    },
  };

  return {
    tag: 'SYSSTAT',
    summary: 'load, CPU, memory, disk, uptime, OS: locally (systeminformation), over SSH (/proc), or simulated',
    commands: [get],
    // a reading is the node's stats; a remote one that found no host says it is down
    facts: { STAT: statReading, ...SSH_REACH_FACTS },
    init(host) {
      // validated at start, so a bad sysstat: section stops vacm with ERR_CONFIG before anything runs
      const c = (cfg = parseSysstatConfig(host.config.sections.sysstat));
      if (!host.monitor || !c.enabled) return;
      health = new RemoteHealth(c.interval_ms);
      poller = new SysstatPoller(host, { intervalMs: c.interval_ms, localIntervalMs: c.local_interval_ms, includeRemote: opts.remote !== undefined, health, providers });
      poller.start();
      opts.onPoller?.(poller);
    },
    async dispose() {
      const p = poller;
      poller = undefined;
      await p?.stop();
    },
  };
}
