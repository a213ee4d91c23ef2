/**
 * ClusterShell-compatible node sets: parse, expand, fold, count and set operations.
 * Pure code, no I/O. See docs/nodeset.md for the syntax and the few deliberate differences.
 *
 * The layers, as ClusterShell has them: rangeset.ts (RangeSet and its parser, over
 * range-intervals.ts), rangeset-nd.ts (RangeSetND), nodeset-table.ts (the pattern table),
 * nodeset-parser.ts (the grammar: groups, live selectors, wildcards through glob.ts) and this file,
 * the immutable NodeSet. Importers take everything from here.
 *
 * Model (same as ClusterShell's): a node set maps a *pattern* ("node%s-ib%s", with "%%" for a
 * literal percent) to either nothing (a name without digits), a 1D RangeSet or an nD
 * RangeSetND (a list of vectors of RangeSets). A RangeSet element is a digit string such as
 * "7", "07" or "007": its identity is (width, value), so mixed padding is kept apart. We store
 * each width as sorted, disjoint integer intervals, so size and fold of huge ranges are cheap.
 */
import { VacmError } from './errors.js';
import { DEFAULT_MAX_NODES, checkLimit } from './nodeset-errors.js';
import { OP_RE, parseTable, scanSingle, tableFromNames, type NodeSetOptions } from './nodeset-parser.js';
import { Table, type Op } from './nodeset-table.js';
import { RangeSet } from './rangeset.js';

export { DEFAULT_MAX_NODES, nodeLimitError } from './nodeset-errors.js';
export { parseLiveSelector, type LiveResolver, type LiveSelector } from './live-selector.js';
export type { GroupResolver, NodeSetOptions } from './nodeset-parser.js';
export { RangeSet } from './rangeset.js';

/**
 * The names an expression writes out one by one: its terms (split at operators outside brackets)
 * that hold no bracket, wildcard or group. `node03,node[05-06],@rack1&node09` gives node03 and
 * node09. The engine runs these even when a command skips nodes known down.
 */
export function plainNamesIn(expr: string): Set<string> {
  const out = new Set<string>();
  let depth = 0;
  let start = 0;
  const term = (end: number) => {
    const t = expr.slice(start, end).trim();
    if (t !== '' && !/[[\]*?@%]/.test(t)) out.add(t);
  };
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (c === '[') depth++;
    else if (c === ']') depth = Math.max(0, depth - 1);
    else if (depth === 0 && (c === ',' || c === '!' || c === '&' || c === '^')) {
      term(i);
      start = i + 1;
    }
  }
  term(expr.length);
  return out;
}

// ---------------------------------------------------------------------------------------------

/**
 * Errors come from the scanner with the failing fragment (in escaped form); give them back in
 * the operator's text and point at where the fragment starts in the expression.
 */
function located<T>(expr: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof VacmError) || e.code !== 'ERR_NODESET_PARSE' || e.position !== undefined) throw e;
    const fragment = e.fragment?.replace(/%%/g, '%');
    const opts: { fragment?: string; position?: number; cause: unknown } = { cause: e };
    if (fragment !== undefined) {
      opts.fragment = fragment;
      const at = fragment ? expr.indexOf(fragment) : -1;
      if (at >= 0) opts.position = at;
    }
    throw new VacmError('ERR_NODESET_PARSE', e.message.replace(/%%/g, '%'), opts);
  }
}

/** A node name with no operator, bracket, group or wildcard (white space around it is ignored). */
const PLAIN_NAME = /^\s*[\w.-]+\s*$/;
/** What Python's str.splitlines() splits on. */
const LINE_BREAK = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

/** An immutable node set. */
export class NodeSet implements Iterable<string> {
  private readonly t: Table;
  private cachedFold: string | undefined;
  /** expand() refuses a set larger than this (names() streams any size) */
  private readonly limit: number;

  private constructor(t: Table, limit = DEFAULT_MAX_NODES) {
    this.t = t;
    this.limit = limit;
  }

  static parse(expr: string, opts: NodeSetOptions = {}): NodeSet {
    return new NodeSet(located(expr, () => parseTable(expr, opts, 0, {})), opts.maxNodes);
  }

  /** Individual names (each may also be a plain expression); the union, like `nodeset -f a b c`. */
  static fromNames(names: Iterable<string>): NodeSet {
    return new NodeSet(tableFromNames(names));
  }

  static empty(): NodeSet {
    return new NodeSet(new Table());
  }

  get size(): number {
    return this.t.size();
  }

  get isEmpty(): boolean {
    return this.t.pats.size === 0;
  }

  has(name: string): boolean {
    const n = name.trim().replace(/%/g, '%%');
    if (!n || /[[\]]/.test(n) || OP_RE.test(n)) return false;
    const { pat, idx } = scanSingle(n);
    if (!this.t.pats.has(pat)) return false;
    const r = this.t.pats.get(pat)!;
    if (r === null) return idx.length === 0;
    if (r instanceof RangeSet) return r.hasDigits(idx[0]);
    return r.vectors().some((v) => v.every((rs, i) => rs.hasDigits(idx[i])));
  }

  /** Every name, in order; ERR_LIMIT (before building any) when there are more than the set's limit. */
  expand(): string[] {
    checkLimit('the node set', this.t.size(), this.limit);
    return this.t.expand();
  }

  /** Every name, in order, one at a time: memory stays bounded however large the set. */
  names(): Iterable<string> {
    return this.t.names();
  }

  /** The names in order joined by `separator`, in pieces of about `size` names: `nodeset -e`'s output. */
  text(separator = ' ', size = 8192): Iterable<string> {
    return this.t.text(separator, size);
  }

  /** The names in order, in arrays of about `size` (the fastest way to stream a large set). */
  batches(size = 4096): Iterable<string[]> {
    return this.t.batches(size);
  }

  fold(): string {
    if (this.cachedFold === undefined) this.cachedFold = this.t.fold();
    return this.cachedFold;
  }

  /** Folded with ClusterShell's autostep: runs of `autostep` or more elements by a step as `a-b/step`. */
  foldAutostep(autostep: number | undefined, axis?: readonly number[]): string {
    return this.t.fold(autostep, axis);
  }

  toString(): string {
    return this.fold();
  }

  /** ClusterShell's contiguous(): one set per pattern and contiguous run. */
  contiguous(): NodeSet[] {
    return this.t.contiguous().map((t) => new NodeSet(t, this.limit));
  }

  /** The names at positions `keep` (0-based, in expand order): ClusterShell's slicing. */
  at(keep: (position: number) => boolean): NodeSet {
    const picked: string[] = [];
    let i = 0;
    for (const n of this.expand()) if (keep(i++)) picked.push(n);
    return NodeSet.fromNames(picked);
  }

  /** ClusterShell's split(n): at most n sets of sizes differing by at most one, in order. */
  split(n: number): NodeSet[] {
    const names = this.expand();
    const size = Math.floor(names.length / n);
    const left = names.length % n;
    const out: NodeSet[] = [];
    for (let i = 0, begin = 0; i < Math.min(n, names.length); i++) {
      const len = size + (i < left ? 1 : 0);
      out.push(NodeSet.fromNames(names.slice(begin, begin + len)));
      begin += len;
    }
    return out;
  }

  private op(o: NodeSet, op: Op): NodeSet {
    const t = this.t.clone();
    t.apply(op, o.t);
    return new NodeSet(t, this.limit);
  }

  union(o: NodeSet): NodeSet {
    return this.op(o, ',');
  }
  difference(o: NodeSet): NodeSet {
    return this.op(o, '!');
  }
  intersection(o: NodeSet): NodeSet {
    return this.op(o, '&');
  }
  symmetricDifference(o: NodeSet): NodeSet {
    return this.op(o, '^');
  }

  [Symbol.iterator](): Iterator<string> {
    return this.names()[Symbol.iterator]();
  }

  /**
   * Union of several expressions, accumulated in place like ClusterShell's `nodeset` command,
   * which also reads each line of an argument as an expression of its own.
   */
  static unionOf(exprs: Iterable<string>, opts: NodeSetOptions = {}): NodeSet {
    const acc = new Table();
    // Plain names (`node17`, tens of thousands piped in) are gathered and built at once, as
    // fromNames does; one by one, each union would rebuild the growing range set.
    const plain: string[] = [];
    for (const e of exprs) {
      for (const line of e.split(LINE_BREAK)) {
        if (PLAIN_NAME.test(line)) plain.push(line);
        else acc.update(located(line, () => parseTable(line, opts, 0, {})));
      }
    }
    if (plain.length > 0) {
      let t: Table;
      try {
        t = tableFromNames(plain);
      } catch {
        // the one at fault, with its position, from the careful path
        t = new Table();
        for (const line of plain) t.update(located(line, () => parseTable(line, opts, 0, {})));
      }
      acc.update(t);
    }
    return new NodeSet(acc, opts.maxNodes);
  }
}

export function expandNodeSet(expr: string, opts?: NodeSetOptions): string[] {
  return NodeSet.parse(expr, opts).expand();
}

export function foldNodeSet(names: Iterable<string>): string {
  return NodeSet.fromNames(names).fold();
}

export function countNodeSet(expr: string, opts?: NodeSetOptions): number {
  return NodeSet.parse(expr, opts).size;
}
