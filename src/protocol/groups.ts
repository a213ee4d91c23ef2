/**
 * Node groups from several sources, as ClusterShell's GroupResolver sees them: each source
 * answers map (a group's members), list (its group names), all (every node) and optionally
 * reverse (a node's groups); one source is the default. `@group` uses the default source,
 * `@source:group` a named one. Pure: the sources are given (src/platform/clustershell-groups.ts
 * reads ClusterShell's files and runs its upcalls).
 */
import { VacmError } from './errors.js';
import { NodeSet, type NodeSetOptions } from './nodeset.js';

export interface GroupSource {
  readonly name: string;
  /** the members of a group, as node-set text; undefined when the source has no such group */
  map(group: string): string | undefined;
  /** the group names; undefined when the source cannot list them (no `list` upcall) */
  list(): string[] | undefined;
  /** every node, as node-set text; undefined when the source has no `all` */
  all(): string | undefined;
  /** the groups of one node; undefined when the source has no `reverse` */
  reverse?(node: string): string[] | undefined;
}

/** Group names are words: ClusterShell refuses these characters in them. */
const ILLEGAL = /[\s!&,^[\]@*?:]/;

export class GroupSources {
  private readonly byName = new Map<string, GroupSource>();
  private defaultName: string | undefined;

  /**
   * `overlay`, when given, answers a plain `@group` (no source named) before the default source:
   * vacm.yaml's groups come first, then ClusterShell's.
   */
  private pending: (() => { sources: readonly GroupSource[]; defaultName?: string }) | undefined;

  /** `sources` may be a function: then it is called on first use (reading files costs a start-up). */
  constructor(
    sources: readonly GroupSource[] | (() => { sources: readonly GroupSource[]; defaultName?: string }),
    defaultName?: string,
    private readonly overlay?: GroupSource,
  ) {
    if (typeof sources === 'function') this.pending = sources;
    else this.init(sources, defaultName);
  }

  private init(sources: readonly GroupSource[], defaultName: string | undefined): void {
    for (const s of sources) if (!this.byName.has(s.name)) this.byName.set(s.name, s);
    this.defaultName = defaultName !== undefined && this.byName.has(defaultName) ? defaultName : sources[0]?.name;
  }

  private ready(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    const { sources, defaultName } = p();
    this.init(sources, defaultName);
  }

  get isEmpty(): boolean {
    this.ready();
    return this.byName.size === 0;
  }

  /** Source names, the default first (as `nodeset --list-sources` prints them). */
  sources(): string[] {
    this.ready();
    const rest = [...this.byName.keys()].filter((n) => n !== this.defaultName);
    return this.defaultName === undefined ? rest : [this.defaultName, ...rest];
  }

  defaultSource(): string | undefined {
    this.ready();
    return this.defaultName;
  }

  /** A source by name (the default one when none is named). */
  source(name: string | undefined): GroupSource {
    this.ready();
    const n = name || this.defaultName;
    const s = n === undefined ? undefined : this.byName.get(n);
    if (!s) {
      throw new VacmError('ERR_NODESET_PARSE', n === undefined ? 'no group source is configured (groups.conf, groups.d/*.yaml)' : `unknown group source "${n}"; vacm nodeset --list-sources lists them`, { fragment: n });
    }
    return s;
  }

  /**
   * A group's members as node-set text: `group` in the default source (or `source` when given),
   * `src:group` in src. Undefined when the source has no such group.
   */
  resolve(group: string, source?: string): string | undefined {
    const colon = group.indexOf(':');
    const src = colon >= 0 ? group.slice(0, colon) : source;
    const g = colon >= 0 ? group.slice(colon + 1) : group;
    const plain = colon < 0 && src === undefined;
    if (plain) {
      const own = this.overlay?.map(g);
      if (own !== undefined) return own; // without reading any other source
    }
    this.ready();
    if (plain && this.defaultName === undefined) return undefined;
    return this.source(src).map(g);
  }

  list(source?: string): string[] {
    const s = this.source(source);
    const l = s.list();
    if (l === undefined) throw new VacmError('ERR_UNSUPPORTED', `group source "${s.name}" cannot list its groups (no list upcall in groups.conf)`);
    for (const g of l) if (ILLEGAL.test(g)) throw new VacmError('ERR_CONFIG', `group source "${s.name}": illegal group name "${g}"`);
    return l;
  }

  /** Every node of a source: its `all`, else the union of its groups (as ClusterShell falls back). */
  all(source?: string): string[] {
    const s = this.source(source);
    const a = s.all();
    if (a !== undefined) return [a];
    return this.list(source).map((g) => s.map(g) ?? '').filter((t) => t.trim() !== '');
  }

  /**
   * The groups holding some of `set`'s nodes, sorted by name, with the nodes of `set` in each and
   * the whole group (ClusterShell's NodeSet.groups()).
   */
  groupsOf(set: NodeSet, source: string | undefined, groupbase: boolean, opts: NodeSetOptions = {}): [string, NodeSet, NodeSet][] {
    const s = this.source(source);
    const out: [string, NodeSet, NodeSet][] = [];
    for (const g of this.list(source)) {
      const members = NodeSet.parse(s.map(g) ?? '', opts);
      const inGroup = members.intersection(set);
      if (inGroup.isEmpty) continue;
      out.push([source && !groupbase ? `@${source}:${g}` : `@${g}`, inGroup, members]);
    }
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /**
   * ClusterShell's regroup(): the set written with whole groups where they fit, the biggest
   * groups first, then the nodes left over, folded.
   */
  regroup(set: NodeSet, source: string | undefined, groupbase: boolean, opts: NodeSetOptions = {}): string {
    const s = this.source(source);
    const full: [string, NodeSet][] = [];
    for (const g of this.list(source)) {
      const members = NodeSet.parse(s.map(g) ?? '', opts);
      if (!members.isEmpty && members.difference(set).isEmpty) full.push([g, members]);
    }
    // biggest first, then by name, as ClusterShell sorts (len, name) descending
    full.sort((a, b) => b[1].size - a[1].size || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    let rest = set;
    const used: string[] = [];
    const prefix = source && !groupbase ? `@${source}:` : '@';
    for (const [g, members] of full) {
      if (rest.isEmpty) break;
      if (members.difference(rest).isEmpty) {
        used.push(prefix + g);
        rest = rest.difference(members);
      }
    }
    if (used.length === 0) return rest.fold();
    // the group names are folded as names are (@rack1,@rack2 -> @rack[1-2]), as ClusterShell does
    const regrouped = NodeSet.fromNames(used).fold();
    return rest.isEmpty ? regrouped : `${regrouped},${rest.fold()}`;
  }
}

/** A source of fixed groups (a groups.d/*.yaml source, or vacm.yaml's groups). */
export function staticSource(name: string, groups: Readonly<Record<string, string | readonly string[]>>): GroupSource {
  const map = new Map<string, string>();
  for (const [g, v] of Object.entries(groups)) map.set(g, typeof v === 'string' ? v : v.join(','));
  return {
    name,
    map: (g) => map.get(g),
    list: () => [...map.keys()],
    all: () => map.get('all'),
  };
}
