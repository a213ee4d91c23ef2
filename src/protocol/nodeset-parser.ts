/**
 * The node-set grammar (ClusterShell's ParsingEngine): the scanner, read left to right, and the
 * terms it yields resolved into a pattern table: ranges, groups, live selectors and wildcards.
 */
import { VacmError } from './errors.js';
import { matchWildcards, hasWildcard } from './glob.js';
import { parseLiveSelector, type LiveResolver } from './live-selector.js';
import { DEFAULT_MAX_NODES, checkLimit, parseError } from './nodeset-errors.js';
import { Table, type Op } from './nodeset-table.js';
import { MAX_WIDTH, RangeSet, fmt } from './rangeset.js';
import { RangeSetND } from './rangeset-nd.js';

/** What a group name stands for: names, a node-set expression, or undefined for an unknown group. */
export type GroupResolver = (group: string) => string[] | string | undefined;

export interface NodeSetOptions {
  resolveGroup?: GroupResolver;
  /**
   * Answers live selectors (`@state=down`, ...): the engine gives it. Without one, a live selector
   * is an error (there is no node state to read: `vacm nodeset`, a config's groups).
   */
  resolveLive?: LiveResolver;
  /** Names (or node-set expressions) that `*` and `?` wildcards match against. */
  universe?: () => Iterable<string>;
  /** The most names a set may be expanded to (DEFAULT_MAX_NODES unless given): see nodeLimitError. */
  maxNodes?: number;
}

export const OP_RE = /[,!&^]/;


function nextOp(s: string): [number, Op | undefined] {
  const m = OP_RE.exec(s);
  return m ? [m.index, m[0] as Op] : [-1, undefined];
}

function rstrip(s: string): string {
  return s.replace(/\s+$/, '');
}
function lstrip(s: string): string {
  return s.replace(/^\s+/, '');
}

/** A single name without brackets: "r1n02" -> pattern "r%sn%s", ["1", "02"]. */
export function scanSingle(s: string): { pat: string; idx: string[] } {
  const re = /(\D*)(\d*)/g;
  let pat = '';
  const idx: string[] = [];
  let any = false;
  for (;;) {
    const m = re.exec(s)!;
    if (m[0] === '') break; // the final empty match is dropped, as in ClusterShell
    any = true;
    pat += m[1];
    if (m[2]) {
      pat += '%s';
      idx.push(m[2]);
    }
  }
  if (!any) throw parseError('parse error', s);
  return { pat, idx };
}

function amendLeading(outer: string, inner: string, limit: number): [string, string] {
  const m = /\d+$/.exec(outer);
  if (!m) return [outer, inner];
  const digits = m[0];
  const rs = RangeSet.parse(inner, limit);
  const parts = rs.runs().map((r) =>
    r.lo === r.hi ? digits + fmt(r.lo, r.pad) : `${digits}${fmt(r.lo, r.pad)}-${digits}${fmt(r.hi, r.pad)}`,
  );
  return [outer.slice(0, m.index), parts.join(',')];
}

function amendTrailing(outer: string, inner: string): [string, string] {
  const m = /^\d+/.exec(outer);
  if (!m) return [outer, inner];
  if (inner.includes('/')) throw parseError('illegal trailing digits after range with steps', outer);
  const digits = m[0];
  const amended = inner
    .split(',')
    .map((elem) => {
      const shifted = elem
        .split('-')
        .map((b) => b + digits)
        .join('-');
      return elem.includes('-') ? `${shifted}/1${'0'.repeat(digits.length)}` : shifted;
    })
    .join(',');
  return [outer.slice(digits.length), amended];
}

interface Term {
  op: Op;
  pat: string;
  rsets: RangeSet[];
}

/** Report a RangeSet error the way ClusterShell does ("bad range"), naming the subrange. */
function asRangeError<T>(fn: () => T, where: string): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof VacmError && e.code !== 'ERR_LIMIT') {
      const inner = e.fragment !== undefined && e.fragment !== where ? ` in "${where}"` : '';
      throw new VacmError('ERR_NODESET_PARSE', `bad range: ${e.message}${inner}`, {
        fragment: e.fragment ?? where,
      });
    }
    throw e;
  }
}

function* scan(input: string, limit: number): Generator<Term> {
  let s: string | null = input;
  let next: Op = ',';
  while (s) {
    s = lstrip(s);
    const rsets: RangeSet[] = [];
    const op: Op = next;
    let [opIdx, nop] = nextOp(s);
    let br = s.indexOf('[');
    let pat = '';
    if (br >= 0 && (opIdx > br || opIdx < 0)) {
      let sfx = s;
      while (br >= 0 && (opIdx > br || opIdx < 0)) {
        let pfx = sfx.slice(0, br);
        let rest = sfx.slice(br + 1);
        const close = rest.indexOf(']');
        if (close < 0) throw parseError('missing bracket', s);
        let rng = rest.slice(0, close);
        sfx = rest.slice(close + 1);
        if (pfx.includes(']')) throw parseError('illegal closing bracket', pfx);
        if (sfx.length > 0) {
          const bEnd = sfx.indexOf(']');
          let bStart = sfx.indexOf('[');
          if (bStart === -1) bStart = bEnd + 1;
          if (bEnd >= 0 && bEnd < bStart) throw parseError('illegal closing bracket', sfx);
          const curRng = rng;
          [sfx, rng] = amendTrailing(sfx, curRng);
        }
        if (pfx.length > 0) {
          const curPfx = pfx;
          const curRng = rng;
          [pfx, rng] = asRangeError(() => amendLeading(curPfx, curRng, limit), curRng);
          if (pfx) {
            const single = scanSingle(pfx);
            pfx = single.pat;
            for (const d of single.idx) rsets.push(RangeSet.fromDigits(d));
          }
        }
        br = sfx.indexOf('[');
        [opIdx, nop] = nextOp(sfx);
        if (sfx.length > 0 && sfx[0] === '[') throw parseError('illegal reopening bracket', sfx);
        pat += pfx + '%s';
        const r = rng;
        rsets.push(asRangeError(() => RangeSet.parse(r, limit), r));
      }
      [opIdx, nop] = nextOp(sfx);
      if (opIdx < 0) s = null;
      else {
        s = sfx.slice(opIdx + 1);
        sfx = sfx.slice(0, opIdx);
        next = nop!;
        if (!s) throw parseError(`missing nodeset operand with '${nop}' operator`, undefined);
      }
      sfx = rstrip(sfx);
      if (sfx) {
        const single = scanSingle(sfx);
        pat += single.pat;
        for (const d of single.idx) rsets.push(RangeSet.fromDigits(d));
      }
    } else {
      let node: string;
      if (opIdx < 0) {
        node = s;
        s = null;
      } else {
        node = s.slice(0, opIdx);
        s = s.slice(opIdx + 1);
        next = nop!;
        if (!node || !s) throw parseError(`missing nodeset operand with '${nop}' operator`, node || s);
      }
      if (node.includes(']')) throw parseError('illegal closing bracket', node);
      const single = scanSingle(rstrip(node));
      pat = single.pat;
      for (const d of single.idx) rsets.push(RangeSet.fromDigits(d));
    }
    yield { op, pat, rsets };
  }
}

function tableOf(pat: string, rsets: RangeSet[], limit = DEFAULT_MAX_NODES): Table {
  const t = new Table();
  if (rsets.length === 0) t.pats.set(pat, null);
  else if (rsets.length === 1) t.pats.set(pat, rsets[0]);
  else {
    const nd = new RangeSetND([rsets]);
    nd.dirty = true;
    nd.limit = limit;
    t.pats.set(pat, nd);
  }
  return t;
}


const MAX_GROUP_DEPTH = 32;

export function parseTable(expr: string, opts: NodeSetOptions, depth: number, cache: { all?: string[] }): Table {
  if (depth > MAX_GROUP_DEPTH) throw parseError('groups nested too deeply (a group includes itself?)', expr);
  const acc = new Table();
  const src = expr.trim().replace(/%/g, '%%');
  const limit = opts.maxNodes ?? DEFAULT_MAX_NODES;
  /** the names of one term (group names, wildcard masks), checked against the limit first */
  const termNames = (term: Term, what: string): string[] => {
    const t = tableOf(term.pat, term.rsets, limit);
    checkLimit(what, t.size(), limit);
    return t.expand();
  };
  for (const term of scan(src, limit)) {
    if (term.pat[0] === '@') {
      const groupTable = new Table();
      for (const name of termNames(term, 'the list of group names')) {
        const group = name.slice(1);
        let members: string[] | string | undefined;
        const live = group === '*' ? undefined : parseLiveSelector(group);
        if (group === '*') members = cache.all ?? (cache.all = allNames(opts, depth, cache));
        else if (live) {
          if (!opts.resolveLive) throw new VacmError('ERR_UNSUPPORTED', `${name} is a live selector, answered from the engine's node states; there are none here: use it in a request (vacm ipc 'NEXXUS:NODE_LIST:${name}')`, { fragment: name });
          groupTable.update(tableFromNames(opts.resolveLive(live, name)));
          continue;
        } else members = opts.resolveGroup?.(group);
        if (members === undefined && group === 'drained') {
          // the contract's live selector; a group of that name (in the config or ClusterShell's) still wins
          if (!opts.resolveLive) throw new VacmError('ERR_UNSUPPORTED', `${name} is a live selector, answered from the engine's drains; there are none here: use it in a request (vacm ipc 'NEXXUS:DRAINED:${name}')`, { fragment: name });
          groupTable.update(tableFromNames(opts.resolveLive({ kind: 'drained' }, name)));
          continue;
        }
        if (members === undefined) throw parseError('unknown group', name);
        const text = typeof members === 'string' ? members : members.join(',');
        if (text.trim()) groupTable.update(parseTable(text, opts, depth + 1, cache));
      }
      acc.apply(term.op, groupTable);
    } else if (hasWildcard(term.pat)) {
      const all = cache.all ?? (cache.all = allNames(opts, depth, cache));
      const masks = termNames(term, 'the list of wildcard patterns');
      const matched = matchWildcards(masks, all, limit);
      acc.apply(term.op, tableFromNames(matched));
    } else {
      acc.apply(term.op, tableOf(term.pat, term.rsets, limit));
    }
  }
  return acc;
}

function allNames(opts: NodeSetOptions, depth: number, cache: { all?: string[] }): string[] {
  if (!opts.universe) return [];
  const t = new Table();
  for (const e of opts.universe()) {
    if (/[*?]/.test(e)) continue; // a universe entry cannot itself be a wildcard
    t.update(parseTable(e, { ...opts, universe: undefined }, depth + 1, cache));
  }
  return t.expand();
}

/** A name with exactly one number ("node12-ib"): the common case, scanned without a loop. */
const ONE_NUMBER = /^(\D*)(\d+)(\D*)$/;

export function tableFromNames(names: Iterable<string>): Table {
  const t = new Table();
  // 1D patterns are gathered as points and built once: fast for tens of thousands of names.
  const oneD = new Map<string, { w: number[]; v: number[] }>();
  for (const raw of names) {
    const name = raw.trim().replace(/%/g, '%%');
    if (!name) continue;
    if (/[[\]]/.test(name) || OP_RE.test(name)) {
      t.update(parseTable(raw, {}, 0, {}));
      continue;
    }
    const one = ONE_NUMBER.exec(name);
    const { pat, idx } = one ? { pat: `${one[1]}%s${one[3]}`, idx: [one[2]] } : scanSingle(name);
    if (idx.length === 1) {
      const d = idx[0];
      if (d.length > MAX_WIDTH) throw parseError('node index too large', d);
      let e = oneD.get(pat);
      if (!e) oneD.set(pat, (e = { w: [], v: [] }));
      e.w.push(d.length);
      e.v.push(Number(d));
    } else {
      t.update(tableOf(pat, idx.map((d) => RangeSet.fromDigits(d))));
    }
  }
  for (const [pat, e] of oneD) t.add(pat, RangeSet.fromPairs(e.w, e.v), false);
  return t;
}
