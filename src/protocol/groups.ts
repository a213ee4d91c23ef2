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
  /** whether reverse is configured (ClusterShell's has_reverse): -l NODES and -r may then use it */
  readonly canReverse?: boolean;
  /**
   * A listed group's members as node-set text, '' when the answer is empty; throws when the
   * source fails to answer (ClusterShell's parse_group). Defaults to map(group) ?? ''.
   */
  members?(group: string): string;
}

/** What a group of one source holds of a node set (ClusterShell's NodeSet.groups()). */
export interface GroupMembership {
  /** the group as written in output: `@g`, or `@source:g` when a source is named (and not -G) */
  group: string;
  /** the nodes of the set that are in it */
  inSet: NodeSet;
  /** the whole group */
  members: NodeSet;
}

/** ClusterShell's ILLEGAL_GROUP_CHARS: a listed group name with one of these is an error. */
const ILLEGAL = /[@,!&^*]/;

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
    // `@@source`: the names of the source's groups, as nodes (`@@` alone: the default source's)
    if (group.startsWith('@')) return this.groupNames(group.slice(1) || source).join(',');
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

  /** The source's raw group names (its list upcall), checked as ClusterShell checks them. */
  list(source?: string): string[] {
    const s = this.source(source);
    const l = s.list();
    if (l === undefined) throw new VacmError('ERR_UNSUPPORTED', `group source "${s.name}" cannot list its groups (no list upcall in groups.conf)`);
    return checkNames(s, l);
  }

  /**
   * The source's group names with their ranges expanded, in node-set order (`rack[1-2] rack10`
   * is rack1 rack2 rack10): ClusterShell's grouplist(), what `-l` prints and `@@source` holds.
   */
  groupNames(source?: string): string[] {
    return [...namesSet(this.list(source))];
  }

  /** A listed group's members as text: '' when empty, an error when the source fails to answer (as in ClusterShell). */
  members(group: string, source?: string): string {
    const s = this.source(source);
    return s.members ? s.members(group) : (s.map(group) ?? '');
  }

  private membersOf(s: GroupSource, group: string, opts: NodeSetOptions): NodeSet {
    return NodeSet.parse(this.members(group, s.name), opts);
  }

  /** How `@g` of a source is written: `@source:g` when a source is named, unless -G. */
  private static prefix(source: string | undefined, groupbase: boolean): string {
    return source && !groupbase ? `@${source}:` : '@';
  }

  /** Every node of a source: its `all`, else the union of its groups (as ClusterShell falls back). */
  all(source?: string): string[] {
    const s = this.source(source);
    const a = s.all();
    if (a !== undefined) return [a];
    return this.groupNames(source).map((g) => this.members(g, s.name)).filter((t) => t.trim() !== '');
  }

  /**
   * ClusterShell's NodeSet._groups2(): for each group holding nodes of `set`, how many of them
   * and its members. Like ClusterShell, a source with a reverse upcall is asked node by node
   * when it has at least as many groups as the set has nodes (or cannot list them); otherwise
   * every listed group is mapped. A source that cannot list its groups and has no reverse
   * holds none of them. Counts come from reverse's answers, as ClusterShell counts them.
   */
  private memberships(set: NodeSet, source: string | undefined, opts: NodeSetOptions): Map<string, { count: number; members: NodeSet }> {
    const s = this.source(source);
    let names: string[] | undefined;
    try {
      const raw = s.list();
      names = raw === undefined ? undefined : [...namesSet(checkNames(s, raw))];
    } catch (err) {
      // a failing list upcall (ERR_CONFIG) is not fatal here: reverse may still answer
      if (!(err instanceof VacmError && err.code === 'ERR_CONFIG' && /upcall failed/.test(err.message))) throw err;
    }
    const out = new Map<string, { count: number; members: NodeSet }>();
    if (s.canReverse && s.reverse && (!names || names.length >= set.size)) {
      for (const node of set.names()) {
        for (const g of checkNames(s, s.reverse(node) ?? [])) {
          const hit = out.get(g);
          if (hit) hit.count++;
          else out.set(g, { count: 1, members: this.membersOf(s, g, opts) });
        }
      }
      return out;
    }
    for (const g of names ?? []) {
      const members = this.membersOf(s, g, opts);
      const count = members.intersection(set).size;
      if (count > 0) out.set(g, { count, members });
    }
    return out;
  }

  /**
   * The groups holding some of `set`'s nodes, sorted by name, with the nodes of `set` in each and
   * the whole group (ClusterShell's NodeSet.groups(), what `-l NODES` prints).
   */
  groupsOf(set: NodeSet, source: string | undefined, groupbase: boolean, opts: NodeSetOptions = {}): GroupMembership[] {
    const prefix = GroupSources.prefix(source, groupbase);
    const out: GroupMembership[] = [];
    for (const [g, { members }] of this.memberships(set, source, opts)) out.push({ group: prefix + g, inSet: set.intersection(members), members });
    return out.sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
  }

  /**
   * ClusterShell's regroup(): the set written with whole groups where they fit, the biggest
   * groups first, then the nodes left over, folded.
   */
  regroup(set: NodeSet, source: string | undefined, groupbase: boolean, opts: NodeSetOptions = {}): string {
    const groups = this.memberships(set, source, opts);
    // a group is full when as many of the set's nodes are in it as it has (reverse's word for it)
    const full: [string, number, NodeSet][] = [];
    for (const [g, { count, members }] of groups) {
      if (count > members.size) throw new VacmError('ERR_CONFIG', `group source "${this.source(source).name}": its reverse upcall puts more nodes in group "${g}" than its map gives it`);
      if (count === members.size) full.push([g, count, members]);
    }
    // biggest first, then by name, as ClusterShell sorts (-len, name)
    full.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    let rest = set;
    const used: string[] = [];
    const prefix = GroupSources.prefix(source, groupbase);
    for (const [g, , members] of full) {
      if (!members.difference(rest).isEmpty) continue;
      used.push(prefix + g);
      rest = rest.difference(members);
      if (rest.isEmpty) break;
    }
    if (used.length === 0) return rest.fold();
    // the group names are folded as names are (@rack1,@rack2 -> @rack[1-2]), as ClusterShell does
    const regrouped = NodeSet.fromNames(used).fold();
    return rest.isEmpty ? regrouped : `${regrouped},${rest.fold()}`;
  }
}

function checkNames(s: GroupSource, names: readonly string[]): string[] {
  for (const g of names) if (ILLEGAL.test(g)) throw new VacmError('ERR_CONFIG', `group source "${s.name}": illegal group name "${g}"`);
  return [...names];
}

/** Group names as a node set: ranges in them expanded, sorted as nodes are. */
function namesSet(names: readonly string[]): NodeSet {
  let acc = NodeSet.empty();
  const plain: string[] = [];
  for (const n of names) {
    if (n.includes('[')) acc = acc.union(NodeSet.parse(n));
    else plain.push(n);
  }
  return plain.length ? acc.union(NodeSet.fromNames(plain)) : acc;
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
