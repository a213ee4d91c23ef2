/**
 * SEL: the BMC's system event log. `LIST:nodes[:count]` gives one SEL event per record (the last
 * `count`, oldest first), `INFO:nodes` one SEL_INFO per node, `CLEAR:nodes` (dangerous, audited)
 * erases the log under a reservation and answers the new SEL_INFO. `POLL:nodes` is what the sensors
 * poller runs: records added since the node's last POLL become job-0 SEL events (the engine adds
 * them to the timeline and runs the hooks with `on: [sel]`). IPMI only (bmc_host).
 */
import { VacmError } from '../../protocol/errors.js';
import type { CommandDef, ModuleDef, NodeVars } from '../../protocol/module.js';
import type { IpmiClient } from '../ipmi/client.js';
import { clearSel, readSel, readSelInfo, readSelSince, MAX_SEL_RECORDS, type SelInfoView, type SelMark } from '../ipmi/sel-log.js';
import type { SdrCache } from '../ipmi/sensors.js';
import { bmcTarget } from '../ipmi/target.js';
import { selRecord } from '../../protocol/node-facts.js';

export interface SelModuleOptions {
  /** the IPMI client and SDR cache SENSORS uses (sensor names come from the SDR) */
  client: () => IpmiClient;
  cache: SdrCache;
  env?: NodeJS.ProcessEnv;
  /** per-node deadline (default 30 s) */
  timeoutMs?: number;
}

function parseCount(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > MAX_SEL_RECORDS) {
    throw new VacmError('ERR_BAD_ARGS', `the record count is '${text.slice(0, 20)}'; give a number from 1 to ${MAX_SEL_RECORDS}, or leave it out for all`);
  }
  return Number(text);
}

/** POLL: the records a node's first poll hands back as already there (the detail pane's recent SEL) */
export const SEL_BASELINE = 10;
/** POLL: new records raised per node and poll at most (a BMC that logs a flood is counted, not replayed) */
export const SEL_MAX_NEW = 64;
/** nodes whose last POLL is remembered (the oldest goes first) */
const MAX_MARKS = 65_536;

export function createSelModule(opts: SelModuleOptions): ModuleDef {
  /** per node: which BMC it was and where its log ended at the last POLL */
  const marks = new Map<string, { bmc: string; mark: SelMark }>();
  const polling = new Set<string>();
  const target = (node: string, vars: NodeVars) => {
    if (!vars.bmc_host?.trim()) throw new VacmError('ERR_UNSUPPORTED', `${node} has no bmc_host: SEL reads the event log of a BMC over IPMI; set bmc_host, bmc_user and a bmc_password_* variable`);
    return bmcTarget(node, vars, opts.env);
  };
  const perNode = { timeoutMs: opts.timeoutMs ?? 30_000, timeoutMessage: 'the BMC did not answer in time; check bmc_host and that the BMC is reachable' };
  const infoEvent = (node: string, i: SelInfoView) => ({ type: 'SEL_INFO' as const, node, entries: i.entries, freeBytes: i.freeBytes, added: i.addedText, erased: i.erasedText });

  const list: CommandDef = {
    name: 'LIST',
    summary: 'the BMC event log: one SEL event per record (id, time, sensor, event, asserted|deasserted), the last COUNT when given',
    nodes: 'required',
    args: [{ name: 'count', optional: true }],
    lane: 'bulk',
    dangerous: false,
    validate(req) {
      parseCount(req.named.count);
    },
    async run(ctx) {
      const count = parseCount(ctx.args.count);
      await ctx.forEachNode(
        ctx.nodes,
        async ({ node, vars, signal }) => {
          const entries = await readSel(opts.client(), target(node, vars), { cache: opts.cache, count, signal });
          for (const e of entries) ctx.emit({ type: 'SEL', node, id: e.id, time: e.time, sensor: e.sensor, event: e.event, direction: e.direction });
        },
        perNode,
      );
    },
  };

  const info: CommandDef = {
    name: 'INFO',
    summary: 'how full the BMC event log is: one SEL_INFO per node (entries, free bytes, last add and erase time)',
    nodes: 'required',
    args: [],
    lane: 'bulk',
    dangerous: false,
    async run(ctx) {
      await ctx.forEachNode(ctx.nodes, async ({ node, vars, signal }) => ctx.emit(infoEvent(node, await readSelInfo(opts.client(), target(node, vars), signal))), perNode);
    },
  };

  const clear: CommandDef = {
    name: 'CLEAR',
    summary: 'erase the BMC event log (under a SEL reservation); answers the new SEL_INFO',
    nodes: 'required',
    args: [],
    lane: 'control',
    dangerous: true,
    async run(ctx) {
      await ctx.forEachNode(ctx.nodes, async ({ node, vars, signal }) => ctx.emit(infoEvent(node, await clearSel(opts.client(), target(node, vars), signal))), perNode);
    },
  };

  const poll: CommandDef = {
    name: 'POLL',
    summary: 'what the sensors poller runs: records added to each BMC event log since its last POLL, as SEL events here and at job 0 (timeline, hooks with on: [sel]); the first POLL answers the last 10 records',
    nodes: 'required',
    args: [],
    lane: 'bulk',
    dangerous: false,
    async run(ctx) {
      await ctx.forEachNode(
        ctx.nodes,
        async ({ node, vars, signal }) => {
          // one POLL of a node at a time: two at once would raise the same records twice
          if (polling.has(node)) return;
          polling.add(node);
          try {
            const t = target(node, vars);
            const bmc = `${t.host}:${t.port ?? 623}`;
            const prev = marks.get(node);
            const r = await readSelSince(opts.client(), t, { cache: opts.cache, since: prev?.bmc === bmc ? prev.mark : undefined, baseline: SEL_BASELINE, maxNew: SEL_MAX_NEW, signal });
            marks.delete(node);
            if (marks.size >= MAX_MARKS) marks.delete(marks.keys().next().value!);
            marks.set(node, { bmc, mark: r.mark });
            if (r.dropped > 0) ctx.host.log('warn', `${node}: ${r.dropped} SEL record(s) added since the last poll were not raised (at most ${SEL_MAX_NEW} a poll); SEL:LIST:${node} shows them`);
            for (const e of r.entries) {
              const body = { type: 'SEL' as const, node, id: e.id, time: e.time, sensor: e.sensor, event: e.event, direction: e.direction };
              ctx.emit(body);
              if (r.fresh) ctx.host.emitUnsolicited('SEL', body);
            }
          } finally {
            polling.delete(node);
          }
        },
        perNode,
      );
    },
  };

  // a record is the node's recent SEL in the store (job-0 ones are news: the engine adds timeline and hooks)
  return { tag: 'SEL', summary: 'the BMC system event log: list, info, clear; new records become job-0 events', commands: [list, info, clear, poll], facts: { SEL: selRecord } };
}
