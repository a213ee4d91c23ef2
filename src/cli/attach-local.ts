/**
 * What the attached dashboard asks synchronously, answered from the state the serve sent (the nodes
 * received, a job's events): a dry-run check with the role's refusal, node-set resolution as the
 * engine resolves it, power facts, and a job's outcomes per node. The serve's own answer is what counts; these only show the dashboard what it will be.
 */
import { VacmError, toVacmError } from '../protocol/errors.js';
import type { ConfigView, JobView, NodeView, Role } from '../protocol/module.js';
import { isDangerous } from '../protocol/module.js';
import type { VacmEvent } from '../protocol/events.js';
import { parseRequest } from '../protocol/ipc.js';
import { NodeSet, foldNodeSet } from '../protocol/nodeset.js';
import { guardedBecause, powerCapability, type ThisMachine } from '../protocol/power.js';
import { matchesLive } from '../engine/groups.js';
import { roleAtLeast, roleNeeded } from '../engine/auth.js';
import type { Registry } from '../engine/registry.js';
import type { CheckResult, PowerFacts } from '../ui/ui-engine.js';

/** The names `expr` selects among the nodes received, in the nodelist's order (ERR_NO_SUCH_NODE for a name not among them). */
export function resolveAmong(nodes: ReadonlyMap<string, NodeView>, expr: string): string[] {
  const e = expr.trim();
  if (e === '*') return [...nodes.keys()];
  if (nodes.has(e)) return [e];
  const groups = (g: string): string[] | undefined => {
    const own = g.startsWith('vacm:') ? g.slice(5) : g;
    const out: string[] = [];
    for (const n of nodes.values()) if (n.groups.includes(own)) out.push(n.name);
    return out.length ? out : undefined;
  };
  const now = Date.now();
  const set = NodeSet.parse(e, {
    resolveGroup: groups,
    resolveLive: (sel) => [...nodes.values()].filter((n) => matchesLive({ reach: n.state, power: n.power, statsTs: n.statsTs, vars: n.vars, drain: n.drain }, sel, now)).map((n) => n.name),
    universe: () => nodes.keys(),
    maxNodes: 1_000_000,
  });
  const names = set.expand();
  const missing = names.filter((n) => !nodes.has(n));
  if (missing.length) {
    const shown = foldNodeSet(missing);
    throw new VacmError('ERR_NO_SUCH_NODE', `${missing.length === 1 ? 'node' : `${missing.length} nodes`} not in the nodelist: ${shown}; NEXXUS:NODE_LIST shows the nodes`, { fragment: shown });
  }
  const order = new Map([...nodes.keys()].map((n, i) => [n, i] as const));
  return names.sort((a, b) => order.get(a)! - order.get(b)!);
}

/** Each node's outcome in a job's events (the serve streams a client its own jobs' events). */
export function outcomesOf(events: readonly VacmEvent[]): Map<string, 'ok' | 'failed' | 'skipped'> {
  const out = new Map<string, 'ok' | 'failed' | 'skipped'>();
  for (const e of events) {
    if (e.type === 'SKIPPED') out.set(e.node, 'skipped');
    else if (e.type === 'ERROR' && e.node !== undefined) out.set(e.node, 'failed');
    else if (e.type === 'EXIT') out.set(e.node, e.code === 0 && out.get(e.node) !== 'failed' ? 'ok' : 'failed');
    else if ((e.type === 'POWER' || e.type === 'PING' || e.type === 'STAT') && !out.has(e.node)) out.set(e.node, 'ok');
  }
  return out;
}

/** What the dashboard needs to check a line as the serve will (the role it was given in `hello`). */
export interface CheckContext {
  registry: Registry;
  resolve: (expr: string) => string[];
  execSafe: readonly string[];
  nodes: ReadonlyMap<string, NodeView>;
  jobs: ReadonlyMap<number, JobView>;
  user: string;
  role: Role;
}

export function checkAmong(line: string, c: CheckContext): CheckResult {
  try {
    const req = parseRequest(line, c.registry.shape, (t) => c.registry.has(t));
    const cmd = c.registry.command(req.tag, req.command)!;
    const targets = req.nodes.trim() !== '' && !cmd.outsideNodelist ? c.resolve(req.nodes) : [];
    const dangerous = isDangerous(cmd, req);
    // the serve decides; asking here first shows the refusal before anything is sent
    const config = { exec: { safe: c.execSafe } } as unknown as ConfigView;
    const need = roleNeeded(req, cmd, dangerous, targets, { config, varsOf: (n) => c.nodes.get(n)?.vars, job: (id) => c.jobs.get(id), user: c.user });
    if (!roleAtLeast(c.role, need.role)) {
      return { ok: false, code: 'ERR_FORBIDDEN', message: `${need.why} needs the ${need.role} role; ${c.user} is ${c.role === 'viewer' ? 'a' : 'an'} ${c.role} (serve.users); ask an admin` };
    }
    return { ok: true, line: req.line, label: `${req.tag}:${req.command}`, dangerous, targets: targets.length, folded: targets.length ? foldNodeSet(targets) : '', tag: req.tag, command: req.command, names: targets, args: req.named };
  } catch (err) {
    const ve = toVacmError(err, 'ERR_PROTO_PARSE');
    return { ok: false, code: ve.code, message: ve.message };
  }
}

/** The power driver and guard of each named node, judged as the serve judges them (`host`: the serve's). */
export function powerFactsAmong(nodes: ReadonlyMap<string, NodeView>, names: readonly string[], host: string, self: ThisMachine | undefined): PowerFacts[] {
  const out: PowerFacts[] = [];
  for (const name of names) {
    const n = nodes.get(name);
    if (!n) continue;
    const cap = powerCapability(n.vars);
    out.push({ name, driver: cap.driver, actions: cap.actions, noDriver: cap.reason, guard: guardedBecause({ name, vars: n.vars, local: n.local }, host, self) });
  }
  return out;
}

/** events kept per own job (the rest are counted as truncated), and own jobs with events kept */
const MAX_JOB_EVENTS = 5000;
const MAX_OWN_JOBS = 64;

/** The events of this client's own jobs (the serve streams only those), bounded per job and in jobs. */
export class OwnEvents {
  private readonly jobs = new Map<number, { events: VacmEvent[]; truncated: number }>();

  get(id: number): { readonly events: readonly VacmEvent[]; readonly truncated: number } | undefined {
    return this.jobs.get(id);
  }

  add(e: VacmEvent): void {
    let mine = this.jobs.get(e.job);
    if (!mine) {
      mine = { events: [], truncated: 0 };
      this.jobs.set(e.job, mine);
      while (this.jobs.size > MAX_OWN_JOBS) this.jobs.delete(this.jobs.keys().next().value!);
    }
    if (mine.events.length < MAX_JOB_EVENTS) mine.events.push(e);
    else mine.truncated++;
  }

  delete(id: number): void {
    this.jobs.delete(id);
  }
}
