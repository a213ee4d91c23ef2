/** NEXXUS: the engine itself (VACM's loopback module) — nodelist, groups, variables, jobs, help. */
import { VacmError, toVacmError } from '../protocol/errors.js';
import { usageOf } from '../protocol/ipc.js';
import { readDiscovered } from './collector/module.js';
import { NodeSet, foldNodeSet } from '../protocol/nodeset.js';
import { nodeNameProblem } from '../protocol/node-name.js';
import { badVarName, shownValue } from '../protocol/vars.js';
import type { CommandDef, ModuleDef, ModuleHost } from '../protocol/module.js';
import { parseTimeBound } from '../protocol/timeline.js';
import { drainReason } from '../protocol/drain.js';

/** The engine's drains and timeline, which every real host has (a test's stand-in may not). */
function needs<K extends 'drain' | 'undrain' | 'timeline'>(host: ModuleHost, k: K): NonNullable<ModuleHost[K]> {
  const f = host[k];
  if (!f) throw new VacmError('ERR_UNSUPPORTED', `this host keeps no ${k === 'timeline' ? 'events timeline' : 'drains'}`);
  return f.bind(host) as NonNullable<ModuleHost[K]>;
}

const JOB_TIMEOUT_MS = 10_000;

const control = { lane: 'control', jobTimeoutMs: JOB_TIMEOUT_MS } as const;

const commands: CommandDef[] = [
  {
    name: 'MODULES', summary: 'list the modules and their commands', nodes: 'none', args: [], dangerous: false, ...control,
    async run(ctx) {
      for (const m of ctx.host.modules()) {
        ctx.emit({ type: 'MODULE', module: m.tag, commands: m.commands.map((c) => c.name), summary: m.summary });
        ctx.outcome(m.tag, 'ok');
      }
    },
  },
  {
    name: 'NODE_LIST', summary: 'list the nodes (all, or those of a node set)', nodes: 'optional', args: [], dangerous: false, ...control,
    async run(ctx) {
      const names = ctx.request.nodes.trim() === '' ? ctx.host.nodes().map((n) => n.name) : ctx.nodes;
      for (const n of names) {
        ctx.emit({ type: 'NODELIST', node: n });
        ctx.outcome(n, 'ok');
      }
    },
  },
  {
    name: 'GROUPS', summary: 'list the groups with their folded members', nodes: 'none', args: [], dangerous: false, ...control,
    async run(ctx) {
      for (const [g, members] of Object.entries(ctx.host.groups()).sort(([a], [b]) => a.localeCompare(b))) {
        ctx.emit({ type: 'GROUP', group: g, nodes: foldNodeSet(members), count: members.length });
        ctx.outcome(g, 'ok');
      }
    },
  },
  {
    name: 'GET_VAR', summary: "read a variable of each node", nodes: 'required', args: [{ name: 'key' }], dangerous: false, ...control,
    async run(ctx) {
      const key = ctx.args.key;
      for (const n of ctx.nodes) {
        const vars = ctx.host.vars(n);
        const v = Object.hasOwn(vars, key) ? vars[key] : undefined;
        if (v === undefined) ctx.emit({ type: 'ERROR', node: n, code: 'ERR_NO_SUCH_VAR', message: `${n} has no variable ${key}` });
        else {
          ctx.emit({ type: 'VAR', node: n, key, value: shownValue(key, v) });
          ctx.outcome(n, 'ok');
        }
      }
    },
  },
  {
    name: 'SET_VAR', summary: 'set a variable on each node (modules see it on their next use)', nodes: 'required',
    args: [{ name: 'key' }, { name: 'value', rest: true }], dangerous: true, ...control,
    validate(req) {
      const bad = badVarName(req.named.key);
      if (bad) throw new VacmError('ERR_BAD_ARGS', bad);
    },
    async run(ctx) {
      const { key, value } = ctx.args;
      for (const n of ctx.nodes) {
        ctx.host.setVar(n, key, value);
        ctx.emit({ type: 'VAR', node: n, key, value: shownValue(key, value) });
        ctx.outcome(n, 'ok');
      }
    },
  },
  {
    name: 'UNSET_VAR', summary: 'remove a variable from each node', nodes: 'required', args: [{ name: 'key' }], dangerous: true, ...control,
    async run(ctx) {
      const key = ctx.args.key;
      for (const n of ctx.nodes) {
        if (ctx.host.unsetVar(n, key)) {
          ctx.emit({ type: 'VAR_UNSET', node: n, key });
          ctx.outcome(n, 'ok');
        } else ctx.emit({ type: 'ERROR', node: n, code: 'ERR_NO_SUCH_VAR', message: `${n} has no variable ${key}` });
      }
    },
  },
  {
    name: 'JOBS', summary: 'list recent jobs with their state and progress', nodes: 'none', args: [], dangerous: false, ...control,
    async run(ctx) {
      for (const j of ctx.host.jobs()) {
        if (j.id === ctx.id) continue;
        // a job with no node targets (GROUPS, MODULES) counts its items: done of done, not 4/0
        ctx.emit({ type: 'JOB', id: j.id, state: j.state, done: j.done, total: j.targets.length > 0 ? j.targets.length : j.done, request: j.line });
        // who ran it, through which door: the next line, so that JOB's fields stay what scripts parse
        const o = j.origin;
        if (o) ctx.emit({ type: 'JOB_BY', id: j.id, user: o.user, door: o.door, addr: o.addr, key: o.key });
        else if (j.user !== undefined) ctx.emit({ type: 'JOB_BY', id: j.id, user: j.user, door: 'local', addr: '', key: '' });
        ctx.outcome(String(j.id), 'ok');
      }
    },
  },
  {
    name: 'WHO', summary: 'list the sessions attached to vacm serve: user, role, door, address, kind, since', nodes: 'none', args: [], dangerous: false, ...control,
    async run(ctx) {
      for (const w of ctx.host.sessions?.() ?? []) {
        ctx.emit({ type: 'WHO', session: w.id, user: w.user, role: w.role, door: w.door, addr: w.addr, kind: w.kind, since: new Date(w.since).toISOString(), key: w.key });
        ctx.outcome(String(w.id), 'ok');
      }
    },
  },
  {
    name: 'CANCEL', summary: 'cancel a running job', nodes: 'none', args: [{ name: 'jobid' }], dangerous: false, ...control,
    async run(ctx) {
      const raw = ctx.args.jobid;
      const id = Number(raw);
      if (!/^\d+$/.test(raw) || id < 1 || id > 0xffffffff) throw new VacmError('ERR_BAD_ARGS', `bad job id "${raw}": a number from 1 to 4294967295 (NEXXUS:JOBS lists them)`);
      // the id a CANCEL gets is its own: cancelling that would only cancel the CANCEL
      if (id === ctx.id) throw new VacmError('ERR_BAD_ARGS', `job ${id} is this CANCEL itself; give the id of the job to cancel (NEXXUS:JOBS lists them)`);
      if (!ctx.host.cancel(id)) throw new VacmError('ERR_NO_SUCH_JOB', `no running job ${id}; NEXXUS:JOBS lists the jobs`);
      ctx.emit({ type: 'CANCELLED', id });
      ctx.outcome(String(id), 'ok');
    },
  },
  {
    name: 'ADOPT', summary: 'add discovered hosts (agents that announced themselves) to the nodelist', nodes: 'required', outsideNodelist: true,
    args: [], dangerous: true, ...control,
    async run(ctx) {
      let names: string[];
      try {
        names = NodeSet.parse(ctx.request.nodes, { maxNodes: ctx.host.config.maxNodes }).expand();
      } catch (err) {
        throw toVacmError(err, 'ERR_NODESET_PARSE');
      }
      // an unsafe state dir or file says so; a damaged file is as if nothing was discovered
      const all = readDiscovered(ctx.host.stateDir, Infinity, true);
      for (const name of names) {
        const found = Object.hasOwn(all, name) ? all[name] : undefined;
        const bad = nodeNameProblem(name);
        if (bad) {
          ctx.emit({ type: 'ERROR', node: name, code: 'ERR_BAD_ARGS', message: `${bad}; not adopted` });
        } else if (ctx.host.node(name)) {
          ctx.emit({ type: 'ERROR', node: name, code: 'ERR_BAD_ARGS', message: `${name} is already in the nodelist` });
        } else if (!found || typeof found.addr !== 'string') {
          ctx.emit({ type: 'ERROR', node: name, code: 'ERR_NO_SUCH_NODE', message: `${name} has not been discovered: only hosts whose agent announced itself to the collector can be adopted (add others to vacm.yaml)` });
        } else {
          const v = ctx.host.addNode({ name, groups: ['discovered'], vars: { host: found.addr } });
          ctx.emit({ type: 'NODELIST', node: v.name });
          ctx.outcome(v.name, 'ok');
        }
      }
    },
  },
  {
    name: 'DRAIN', summary: 'mark nodes "do not touch" with a reason: dangerous requests through a group, range or wildcard skip them (kept across restarts)',
    nodes: 'required', args: [{ name: 'reason', rest: true }], dangerous: true, reachesDrained: true, recordsItself: true, ...control,
    validate(req) {
      drainReason(req.named.reason ?? '');
    },
    async run(ctx) {
      if (ctx.nodes.length === 0) return;
      const who = ctx.user ?? 'unknown';
      const d = needs(ctx.host, 'drain')(ctx.nodes, ctx.args.reason, who);
      for (const n of ctx.nodes) {
        ctx.emit({ type: 'DRAINED', node: n, user: d.who, since: d.since, reason: d.reason });
        ctx.outcome(n, 'ok');
      }
      ctx.host.record?.('drain', foldNodeSet(ctx.nodes), `drained by ${d.who}: ${d.reason}`, { user: d.who, count: ctx.nodes.length });
    },
  },
  {
    name: 'UNDRAIN', summary: 'end the drain of nodes', nodes: 'required', args: [], dangerous: true, reachesDrained: true, recordsItself: true, ...control,
    async run(ctx) {
      if (ctx.nodes.length === 0) return;
      const who = ctx.user ?? 'unknown';
      const was = needs(ctx.host, 'undrain')(ctx.nodes, who);
      for (const n of was) {
        ctx.emit({ type: 'UNDRAINED', node: n, user: who });
        ctx.outcome(n, 'ok');
      }
      if (was.length > 0) ctx.host.record?.('drain', foldNodeSet(was), `undrained by ${who}`, { user: who, count: was.length });
    },
  },
  {
    name: 'DRAINED', summary: 'list the drained nodes (all, or those of a node set) with who, since when and why', nodes: 'optional', args: [], dangerous: false, ...control,
    async run(ctx) {
      const names = ctx.request.nodes.trim() === '' ? ctx.host.nodes().map((n) => n.name) : ctx.nodes;
      for (const name of names) {
        const d = ctx.host.node(name)?.drain;
        if (!d) continue;
        ctx.emit({ type: 'DRAINED', node: name, user: d.who, since: d.since, reason: d.reason });
        ctx.outcome(name, 'ok');
      }
    },
  },
  {
    name: 'EVENTS', summary: 'the events timeline, oldest first: node up/down, discovery, power, exec and copy jobs, drains (of a node set, between two times: -1h, an ISO time)',
    nodes: 'optional', args: [{ name: 'since', optional: true }, { name: 'until', optional: true }], dangerous: false, ...control,
    validate(req) {
      const now = Date.now();
      if (req.named.since !== undefined) parseTimeBound(req.named.since, now, 'since');
      if (req.named.until !== undefined) parseTimeBound(req.named.until, now, 'until');
    },
    async run(ctx) {
      const now = Date.now();
      const since = ctx.args.since !== undefined ? parseTimeBound(ctx.args.since, now, 'since') : undefined;
      const until = ctx.args.until !== undefined ? parseTimeBound(ctx.args.until, now, 'until') : undefined;
      const nodes = ctx.request.nodes.trim() === '' ? undefined : ctx.nodes;
      let i = 0;
      for (const e of needs(ctx.host, 'timeline')({ nodes, since, until })) {
        ctx.emit({ type: 'EVENT', at: e.at, kind: e.kind, node: e.node, text: e.text });
        ctx.outcome(String(++i), 'ok');
      }
    },
  },
  {
    name: 'HELP', summary: 'list commands with their usage (all modules, or one)', nodes: 'none', args: [{ name: 'tag', optional: true }], dangerous: false, ...control,
    async run(ctx) {
      const want = ctx.args.tag?.toUpperCase();
      const mods = ctx.host.modules().filter((m) => !want || m.tag === want);
      if (want && mods.length === 0) throw new VacmError('ERR_UNKNOWN_MODULE', `no module "${want}": NEXXUS:MODULES lists the modules`);
      for (const m of mods) {
        for (const c of m.commands) {
          // a per-request predicate is asked about the bare command (POWER:STATUS is not dangerous)
          const dangerous = typeof c.dangerous === 'function'
            ? c.dangerous({ tag: m.tag, command: c.name, nodes: '', args: [], named: {}, line: `${m.tag}:${c.name}` })
            : c.dangerous;
          ctx.emit({ type: 'HELP', module: m.tag, command: c.name, usage: usageOf(m.tag, c.name, c), lane: c.lane, dangerous, summary: c.summary });
          ctx.outcome(`${m.tag}:${c.name}`, 'ok');
        }
      }
    },
  },
];

export const nexxusModule: ModuleDef = {
  tag: 'NEXXUS',
  summary: 'the engine: nodelist, groups, variables, jobs, drains, the events timeline, help',
  commands,
};
