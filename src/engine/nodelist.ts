/**
 * The nodelist: the node records in nodelist order, their variables, groups (vacm.yaml's, then
 * ClusterShell's), live selectors, and node-set resolution against them (cached for the small sets
 * scripts and pollers send again and again).
 */
import { VacmError } from '../protocol/errors.js';
import { badVarName } from '../protocol/vars.js';
import { NodeSet, type LiveSelector } from '../protocol/nodeset.js';
import { nodeNameProblem } from '../protocol/node-name.js';
import { escapeControls } from '../protocol/visible.js';
import type { GroupSources } from '../protocol/groups.js';
import type { NodeVars, NodeView } from '../protocol/module.js';
import type { ClusterShellGroupOptions } from '../platform/clustershell-groups.js';
import { VACM_SOURCE, groupSourcesFor, matchesLive } from './groups.js';
import { nodeView, type NodeRecord } from './store.js';
import type { NodeDef } from './config.js';

/** resolved node sets remembered (oldest dropped first), each of at most this many nodes */
const RESOLVE_CACHE_SIZE = 256;
const RESOLVE_CACHE_MAX_NODES = 1024;

export interface NodelistOptions {
  nodes: readonly NodeDef[];
  /** name of the machine vacm runs on: its node starts up and on */
  localName: string;
  /** the largest node set a request may name (vacm.yaml's max_nodes) */
  maxNodes?: number;
  clusterShellGroups?: ClusterShellGroupOptions;
  /** a record changed: the store shows it */
  touch: (r: NodeRecord) => void;
  warn: (message: string) => void;
}

export class Nodelist {
  /** the records by name, in nodelist order (the store reads the same map) */
  readonly records = new Map<string, NodeRecord>();
  private names: NodeSet;
  private readonly varListeners = new Set<(node: string, key: string, value: string | undefined) => void>();
  private readonly touch: (r: NodeRecord) => void;
  private readonly warn: (message: string) => void;

  constructor(private readonly opts: NodelistOptions) {
    this.touch = opts.touch;
    this.warn = opts.warn;
    const now = Date.now();
    for (const d of opts.nodes) {
      const local = d.name === opts.localName;
      this.records.set(d.name, {
        name: d.name,
        groups: [...d.groups],
        // no prototype: a key such as constructor or __proto__ is just a key (or absent)
        vars: Object.assign(Object.create(null) as Record<string, string>, d.vars),
        reach: local ? 'up' : 'unknown',
        since: now,
        power: local ? 'on' : 'unknown',
        local,
        loadHistory: [],
      });
    }
    this.names = NodeSet.fromNames(this.records.keys());
  }

  /** every node, as a set */
  get allNames(): NodeSet {
    return this.names;
  }

  get size(): number {
    return this.records.size;
  }

  node(name: string): NodeView | undefined {
    const r = this.records.get(name);
    return r ? nodeView(r) : undefined;
  }

  /** Node names in nodelist order (a fresh array). */
  nodeNames(): string[] {
    return [...this.records.keys()];
  }

  vars(node: string): NodeVars {
    const r = this.records.get(node);
    if (!r) throw new VacmError('ERR_NO_SUCH_NODE', `no node ${node} in the nodelist`);
    return r.vars;
  }

  groups(): Readonly<Record<string, readonly string[]>> {
    // no prototype: `@constructor` or `@__proto__` must be an unknown group, not Object's own
    const g: Record<string, string[]> = Object.create(null);
    for (const r of this.records.values()) for (const name of r.groups) (g[name] ??= []).push(r.name);
    return g;
  }

  private clusterShell: GroupSources | undefined;

  /**
   * `@group`: vacm.yaml's groups (also as `@vacm:group`), then ClusterShell's group sources
   * (`@group` in its default source, `@source:group`), read on first use.
   */
  private groupMembers = (group: string): string[] | string | undefined => {
    const own = group.startsWith(`${VACM_SOURCE}:`) ? group.slice(VACM_SOURCE.length + 1) : group;
    const g = this.groups()[own];
    if (g) return [...g];
    if (own !== group) return undefined;
    this.clusterShell ??= groupSourcesFor({}, this.opts.clusterShellGroups);
    return this.clusterShell.resolve(group);
  };

  /** `@state=down`, `@power=off`, `@stale=S`, `@var.KEY=GLOB`: the nodes that match now, in nodelist order. */
  private liveMembers = (sel: LiveSelector): string[] => {
    const now = Date.now();
    const out: string[] = [];
    for (const r of this.records.values()) if (matchesLive(r, sel, now)) out.push(r.name);
    return out;
  };

  /** Resolve a node-set expression against the nodelist; every node must exist. Targets come in nodelist order. */
  resolve(expr: string): string[] {
    const e = expr.trim();
    if (e === '*') return this.nodeNames();
    if (this.records.has(e)) return [e]; // a plain node name: the common case, no parsing needed
    // scripts and pollers send the same small sets again and again: remember their resolution
    // (until the nodelist changes); a failing one is not cached, so its error is always fresh
    const hit = this.resolved.get(e);
    if (hit) return hit.slice();
    const names = this.resolveUncached(e);
    // groups may come from ClusterShell's upcalls, which have their own cache_time, and live
    // selectors (`@state=down`) change with every ping: nothing with an `@` is kept here
    if (names.length <= RESOLVE_CACHE_MAX_NODES && !e.includes('@')) {
      if (this.resolved.size >= RESOLVE_CACHE_SIZE) this.resolved.delete(this.resolved.keys().next().value!);
      this.resolved.set(e, names.slice());
    }
    return names;
  }

  private readonly resolved = new Map<string, string[]>();

  private resolveUncached(e: string): string[] {
    const set = NodeSet.parse(e, { resolveGroup: this.groupMembers, resolveLive: this.liveMembers, universe: () => this.records.keys(), maxNodes: this.opts.maxNodes });
    let unknown: NodeSet | undefined;
    let names: string[] = [];
    if (set.size <= this.records.size) {
      // small sets (the common case) are checked name by name, without set arithmetic
      names = set.expand();
      const missing = names.filter((n) => !this.records.has(n));
      if (missing.length) unknown = NodeSet.fromNames(missing);
    } else {
      unknown = set.difference(this.names);
    }
    if (unknown && unknown.size > 0) {
      let shown = unknown.fold();
      if (shown.length > 200) shown = shown.slice(0, 200) + '...';
      throw new VacmError('ERR_NO_SUCH_NODE', `${unknown.size === 1 ? 'node' : `${unknown.size} nodes`} not in the nodelist: ${shown}; NEXXUS:NODE_LIST shows the nodes`, { fragment: shown });
    }
    if (names.length === this.records.size) return this.nodeNames();
    const order = this.nodeOrder();
    return names.sort((a, b) => order.get(a)! - order.get(b)!);
  }

  private orderCache: Map<string, number> | undefined;
  private nodeOrder(): Map<string, number> {
    if (!this.orderCache) this.orderCache = new Map([...this.records.keys()].map((n, i) => [n, i]));
    return this.orderCache;
  }

  setVar(node: string, key: string, value: string): void {
    const r = this.records.get(node);
    if (!r) throw new VacmError('ERR_NO_SUCH_NODE', `no node ${node} in the nodelist`);
    const bad = badVarName(key);
    if (bad) throw new VacmError('ERR_BAD_ARGS', bad);
    r.vars[key] = value;
    this.touch(r);
    this.varChanged(node, key, value);
  }

  unsetVar(node: string, key: string): boolean {
    const r = this.records.get(node);
    if (!r) throw new VacmError('ERR_NO_SUCH_NODE', `no node ${node} in the nodelist`);
    if (!Object.hasOwn(r.vars, key)) return false;
    delete r.vars[key];
    this.touch(r);
    this.varChanged(node, key, undefined);
    return true;
  }

  private varChanged(node: string, key: string, value: string | undefined): void {
    for (const cb of this.varListeners) {
      try {
        cb(node, key, value);
      } catch (err) {
        this.warn(`variable listener failed: ${(err as Error).message}`);
      }
    }
  }

  onVarChange(cb: (node: string, key: string, value: string | undefined) => void): () => void {
    this.varListeners.add(cb);
    return () => this.varListeners.delete(cb);
  }

  /** Add a node at run time (NEXXUS:ADOPT); its state is unknown until evidence arrives. */
  addNode(def: { name: string; groups?: readonly string[]; vars?: Readonly<Record<string, string>> }): NodeView {
    const bad = nodeNameProblem(def.name);
    if (bad) throw new VacmError('ERR_BAD_ARGS', `${bad}: "${escapeControls(def.name)}" cannot be added`);
    if (this.records.has(def.name)) throw new VacmError('ERR_BAD_ARGS', `${def.name} is already in the nodelist`);
    const d: NodeDef = { name: def.name, groups: [...(def.groups ?? [])], vars: Object.assign(Object.create(null) as Record<string, string>, def.vars) };
    const r: NodeRecord = { name: d.name, groups: d.groups, vars: d.vars, reach: 'unknown', since: Date.now(), power: 'unknown', local: d.name === this.opts.localName, loadHistory: [] };
    this.records.set(d.name, r);
    this.names = NodeSet.fromNames(this.records.keys());
    this.orderCache = undefined;
    this.resolved.clear();
    this.touch(r);
    return nodeView(r);
  }
}
