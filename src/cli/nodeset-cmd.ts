/**
 * `vacm nodeset`: ClusterShell's `nodeset` command, option for option and byte for byte.
 * Pure: nodesetOutput yields standard output in pieces (warnings go to `warn`); the CLI writes
 * them as they come. Operands are read the way ClusterShell reads them: options before the first
 * operand, then the operands in order, where `-x SET`, `-i SET`, `-X SET` and `-` (stdin) may
 * appear among them.
 */
import { VacmError, toVacmError } from '../protocol/errors.js';
import { NodeSet, RangeSet, type NodeSetOptions } from '../protocol/nodeset.js';
import type { GroupSources } from '../protocol/groups.js';

export interface NodesetArgv {
  expand?: boolean;
  fold?: boolean;
  count?: boolean;
  /** -l: 1, -ll: 2, -lll: 3 */
  list?: number;
  /** -L: like -l, for every source */
  listAll?: number;
  regroup?: boolean;
  listSources?: boolean;
  /** the operands, in order (with -x/-i/-X/- among them, as ClusterShell reads them) */
  exprs: string[];
  /** -x/-i/-X given before the first operand: applied first, in that order (i, x, X) */
  exclude?: string[];
  intersection?: string[];
  xor?: string[];
  /** Separator between expanded names (-e), with Python's string escapes; a space by default. */
  separator?: string;
  rangeset?: boolean;
  all?: boolean;
  autostep?: string;
  slice?: string;
  split?: number;
  contiguous?: boolean;
  axis?: string;
  pick?: number;
  outputFormat?: string;
  quiet?: boolean;
  groupsource?: string;
  groupbase?: boolean;
  /** standard input's text, when an operand is `-` or there is none (read by the caller) */
  stdin?: string;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Everything the command needs from outside: group sources, and a random source for --pick. */
export interface NodesetEnv extends NodeSetOptions {
  groups?: GroupSources;
  random?: () => number;
  warn?: (s: string) => void;
}

const PIECE = 65536;

/** Whether the command reads standard input (then the caller reads it into argv.stdin first). */
export function needsStdin(a: NodesetArgv): boolean {
  if (a.listSources) return false;
  const ops = [...(a.exclude ?? []), ...(a.intersection ?? []), ...(a.xor ?? []), ...a.exprs];
  if (ops.includes('-')) return true;
  return a.exprs.length === 0 && !a.all && !a.list && !a.listAll;
}

export function usageError(a: NodesetArgv): string | undefined {
  const cmds = [a.count, a.expand, a.fold, !!a.list, !!a.listAll, a.regroup, a.listSources].filter(Boolean).length;
  if (cmds === 0) return 'no command given: one of -c (count), -e (expand), -f (fold), -l (list groups), -r (regroup), --list-sources';
  if (cmds > 1) return 'give one command only: -c, -e, -f, -l, -r or --list-sources';
  if (a.rangeset && (a.all || a.regroup)) return '-a/-r only work on node sets, not with -R';
  if (a.split !== undefined && a.contiguous) return '--split and --contiguous do not go together';
  if (a.axis && (!a.fold || a.rangeset)) return '--axis only works when folding a node set (-f without -R)';
  if (a.split !== undefined && !(Number.isInteger(a.split) && a.split > 0)) return '--split takes a whole number of subsets, at least 1';
  if (a.pick !== undefined && !(Number.isInteger(a.pick) && a.pick >= 0)) return '--pick takes a whole number of nodes';
  if (a.autostep !== undefined && parseAutostep(a.autostep) === undefined) return `--autostep: invalid value "${a.autostep}": a node count, a percentage (50%) or auto`;
  return undefined;
}

function parseAutostep(v: string): number | 'auto' | { ratio: number } | undefined {
  if (v === 'auto') return 'auto';
  if (v.includes('%')) {
    const f = Number(v.slice(0, -1));
    return v.endsWith('%') && v.length > 1 && Number.isFinite(f) ? { ratio: f / 100 } : undefined;
  }
  return /^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : undefined;
}

/** Python's string-literal escapes (ClusterShell evaluates -S as '''...'''). */
export function pyUnescape(s: string): string {
  // what ends Python's '''...''' early: an unescaped ''' inside, an unescaped ' or \ at the end
  if (s.includes("'''") || /(^|[^\\])(\\\\)*'$/.test(s) || /(^|[^\\])(\\\\)*\\$/.test(s)) throw new VacmError('ERR_BAD_ARGS', 'invalid separator');
  const simple: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\n': '' };
  return s.replace(/\\(x[0-9a-fA-F]{0,2}|u[0-9a-fA-F]{0,4}|U[0-9a-fA-F]{0,8}|[0-7]{1,3}|[\s\S])/g, (m, e: string) => {
    const c = e[0];
    if (e.length === 1 && c in simple) return simple[c];
    if (/[0-7]/.test(c)) return String.fromCodePoint(parseInt(e, 8));
    const need = c === 'x' ? 2 : c === 'u' ? 4 : c === 'U' ? 8 : 0;
    if (need) {
      if (e.length !== need + 1) throw new VacmError('ERR_BAD_ARGS', 'invalid separator');
      const cp = parseInt(e.slice(1), 16);
      if (cp > 0x10ffff) throw new VacmError('ERR_BAD_ARGS', 'invalid separator');
      return String.fromCodePoint(cp);
    }
    return m; // Python keeps an unknown escape as it is
  });
}

/** Python's `fmt % value` for the one-conversion formats -O takes (%s, %d, %r, with flags and width). */
export function pyFormat(fmt: string, value: string | number): string {
  let used = 0;
  const out = fmt.replace(/%([-+ 0#]*)(\d*)(?:\.(\d+))?([sdirxXo%])/g, (_m, flags: string, width: string, prec: string | undefined, conv: string) => {
    if (conv === '%') return '%';
    if (used++ > 0) throw new VacmError('ERR_BAD_ARGS', `output format "${fmt}": not enough arguments (one %s is replaced)`);
    let s: string;
    if (conv === 's' || conv === 'r') {
      s = String(value);
      if (conv === 'r' && typeof value === 'string') s = `'${s}'`;
      if (prec !== undefined) s = s.slice(0, Number(prec));
    } else {
      if (typeof value !== 'number') throw new VacmError('ERR_BAD_ARGS', `output format "${fmt}": %${conv} format: a number is required, not str`);
      s = conv === 'x' ? value.toString(16) : conv === 'X' ? value.toString(16).toUpperCase() : conv === 'o' ? value.toString(8) : String(value);
    }
    const w = width ? Number(width) : 0;
    if (s.length < w) {
      if (flags.includes('-')) s = s.padEnd(w);
      else if (flags.includes('0') && conv !== 's' && conv !== 'r') s = s.padStart(w, '0');
      else s = s.padStart(w);
    }
    return s;
  });
  if (used === 0 && /%/.test(fmt.replace(/%%/g, ''))) throw new VacmError('ERR_BAD_ARGS', `output format "${fmt}": unsupported format character`);
  if (used === 0) throw new VacmError('ERR_BAD_ARGS', `output format "${fmt}": not all arguments converted (put %s where the result goes)`);
  return out;
}

/** A node set or, with -R, a range set: the operations the command needs of either. */
interface XSet {
  union(o: XSet): XSet;
  difference(o: XSet): XSet;
  intersection(o: XSet): XSet;
  symmetricDifference(o: XSet): XSet;
  readonly size: number;
  names(): Iterable<string>;
  batches(): Iterable<string[]>;
  /** the names joined by `sep`, in pieces */
  text(sep: string): Iterable<string>;
  fold(autostep?: number): string;
  contiguous(): XSet[];
  at(keep: (i: number) => boolean): XSet;
  split(n: number): XSet[];
}

class NodeX implements XSet {
  constructor(readonly s: NodeSet) {}
  union(o: XSet) { return new NodeX(this.s.union((o as NodeX).s)); }
  difference(o: XSet) { return new NodeX(this.s.difference((o as NodeX).s)); }
  intersection(o: XSet) { return new NodeX(this.s.intersection((o as NodeX).s)); }
  symmetricDifference(o: XSet) { return new NodeX(this.s.symmetricDifference((o as NodeX).s)); }
  get size() { return this.s.size; }
  names() { return this.s.names(); }
  batches() { return this.s.batches(); }
  text(sep: string) { return this.s.text(sep); }
  axis?: number[];
  fold(autostep?: number) { return autostep === undefined && !this.axis ? this.s.fold() : this.s.foldAutostep(autostep, this.axis); }
  contiguous() { return this.s.contiguous().map((s) => new NodeX(s)); }
  at(keep: (i: number) => boolean) { return new NodeX(this.s.at(keep)); }
  split(n: number) { return this.s.split(n).map((s) => new NodeX(s)); }
}

class RangeX implements XSet {
  constructor(readonly r: RangeSet) {}
  union(o: XSet) { return new RangeX(this.r.union((o as RangeX).r)); }
  difference(o: XSet) { return new RangeX(this.r.difference((o as RangeX).r)); }
  intersection(o: XSet) { return new RangeX(this.r.intersection((o as RangeX).r)); }
  symmetricDifference(o: XSet) { return new RangeX(this.r.symmetricDifference((o as RangeX).r)); }
  get size() { return this.r.size; }
  names() { return this.r.strings(); }
  *batches() { yield [...this.r.strings()]; }
  *text(sep: string) { yield [...this.r.strings()].join(sep); }
  fold(autostep?: number) { return this.r.toString(autostep); }
  contiguous() { return this.r.contiguous().map((r) => new RangeX(r)); }
  private static of(elems: string[]): RangeX {
    return new RangeX(elems.length ? RangeSet.parse(elems.join(',')) : RangeSet.empty());
  }
  at(keep: (i: number) => boolean) {
    let i = 0;
    return RangeX.of([...this.r.strings()].filter(() => keep(i++)));
  }
  split(n: number) {
    const all = [...this.r.strings()];
    const size = Math.floor(all.length / n);
    const left = all.length % n;
    const out: RangeX[] = [];
    for (let i = 0, b = 0; i < Math.min(n, all.length); i++) {
      const len = size + (i < left ? 1 : 0);
      out.push(RangeX.of(all.slice(b, b + len)));
      b += len;
    }
    return out;
  }
}

/** Standard input as ClusterShell reads it: `#` starts a comment, white space separates sets. */
function stdinElements(text: string): string[] {
  const out: string[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const terminated = i < lines.length - 1;
    if (!terminated && raw === '') return;
    const hash = raw.indexOf('#');
    // ClusterShell cuts at find('#'): with no '#' that is -1, which drops the line's last
    // character — its newline, or a real character on an unterminated last line (kept, quirk and all)
    const line = (hash >= 0 ? raw.slice(0, hash) : terminated ? raw : raw.slice(0, -1)).trim();
    for (const e of line.split(/\s+/)) if (e) out.push(e);
  });
  return out;
}

/**
 * Standard output, in pieces of about 64 KiB, made as they are read: `-e n[1-50000000]` streams in
 * bounded memory (-c and -f never expand). Throws a VacmError for a bad expression or option.
 */
export function* nodesetOutput(a: NodesetArgv, env: NodesetEnv): Generator<string> {
  const bad = usageError(a);
  if (bad) throw new VacmError('ERR_USAGE', bad);
  const groups = env.groups;
  const source = a.groupsource;
  const opts: NodeSetOptions = {
    ...env,
    resolveGroup: env.resolveGroup ?? (groups ? (g) => groups.resolve(g, source) : undefined),
  };
  const warn = env.warn ?? (() => {});

  if (a.listSources) {
    const names = groups?.sources() ?? [];
    let first = true;
    for (const n of names) {
      yield `${n}${first && !a.quiet ? ' (default)' : ''}\n`;
      first = false;
    }
    return;
  }

  const rangeMode = !!a.rangeset;
  if (source && rangeMode && !a.quiet) warn(`WARNING: option group source "${source}" ignored\n`);
  const parseOne = (text: string): XSet => (rangeMode ? new RangeX(RangeSet.parse(text)) : new NodeX(NodeSet.parse(text, opts)));
  /** an operand: each of its lines is a set of its own (ClusterShell's fromlist) */
  const fromList = (text: string): XSet => {
    if (!rangeMode) return new NodeX(NodeSet.unionOf([text], opts));
    let r = RangeSet.empty();
    for (const l of text.split(/\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/)) if (l.trim()) r = r.union(RangeSet.parse(l));
    return new RangeX(r);
  };
  const fromStdin = (): XSet | undefined => {
    const elems = stdinElements(a.stdin ?? '');
    if (elems.length === 0) return undefined;
    if (!rangeMode) return new NodeX(NodeSet.unionOf(elems, opts));
    return elems.map(parseOne).reduce((x, y) => x.union(y));
  };
  const empty = (): XSet => (rangeMode ? new RangeX(RangeSet.empty()) : new NodeX(NodeSet.empty()));

  let x = empty();
  if (a.all) {
    if (!groups) throw new VacmError('ERR_USAGE', '-a needs a group source (groups.conf or groups.d/*.yaml), and none is configured');
    x = x.union(new NodeX(NodeSet.parse(groups.all(source).join(','), opts)));
  }
  if (a.exprs.length === 0 && !a.all && !a.list && !a.listAll) {
    const s = fromStdin();
    if (s) x = x.union(s);
  }
  const pre = [...(a.intersection ?? []), ...(a.exclude ?? []), ...(a.xor ?? [])];
  if (x.size === 0 && pre.length > 0 && !a.quiet) warn('WARNING: empty left operand for set operation\n');
  const apply = (op: 'i' | 'x' | 'X' | 'u', operand: XSet | undefined): void => {
    if (!operand) return;
    if (op === 'i') x = x.intersection(operand);
    else if (op === 'x') x = x.difference(operand);
    else if (op === 'X') x = x.symmetricDifference(operand);
    else x = x.union(operand);
  };
  const operand = (v: string, single: boolean): XSet | undefined => (v === '-' ? fromStdin() : single ? parseOne(v) : fromList(v));
  for (const v of a.intersection ?? []) apply('i', operand(v, true));
  for (const v of a.exclude ?? []) apply('x', operand(v, true));
  for (const v of a.xor ?? []) apply('X', operand(v, true));

  // the operands, in order; runs of plain ones are read in one go (tens of thousands of names)
  const args = [...a.exprs];
  let batch: string[] = [];
  const flush = (): void => {
    if (batch.length === 0) return;
    apply('u', rangeMode ? batch.map(fromList).reduce((p, q) => p.union(q)) : new NodeX(NodeSet.unionOf(batch, opts)));
    batch = [];
  };
  while (args.length) {
    const arg = args.shift()!;
    const op = arg === '-i' || arg === '--intersection' ? 'i' : arg === '-x' || arg === '--exclude' ? 'x' : arg === '-X' || arg === '--xor' ? 'X' : undefined;
    if (op) {
      flush();
      if (args.length === 0) throw new VacmError('ERR_USAGE', `${arg} needs a node set after it`);
      apply(op, operand(args.shift()!, false));
    } else if (arg === '-') {
      flush();
      apply('u', fromStdin());
    } else batch.push(arg);
  }
  flush();

  if (a.list || a.listAll) {
    yield* listGroups(a, x, env, opts);
    return;
  }

  const separator = pyUnescape(a.separator ?? ' ');
  if (a.slice !== undefined) {
    const keep = RangeSet.parse(a.slice);
    const positions = new Set<number>();
    for (const d of keep.strings()) positions.add(Number(d));
    x = x.at((i) => positions.has(i));
  }
  let autostep: number | undefined;
  if (a.autostep !== undefined) {
    const v = parseAutostep(a.autostep)!;
    if (v === 'auto') autostep = Math.max(3, x.size);
    else if (typeof v === 'object') autostep = Math.ceil(x.size * v.ratio);
    else autostep = v;
  }
  if (a.pick && a.pick < x.size) {
    const rnd = env.random ?? Math.random;
    // a partial Fisher-Yates over positions: `pick` stays small, the set may not
    const n = x.size;
    const chosen = new Map<number, number>();
    const keep = new Set<number>();
    for (let i = 0; i < a.pick; i++) {
      const j = i + Math.floor(rnd() * (n - i));
      const vj = chosen.get(j) ?? j;
      chosen.set(j, chosen.get(i) ?? i);
      keep.add(vj);
    }
    x = x.at((i) => keep.has(i));
  }
  if (a.axis !== undefined && x instanceof NodeX) {
    // 1-based on the command line (0 ignored); a negative one counts from the end
    x.axis = a.axis.startsWith('-') ? [Number(a.axis)] : [...RangeSet.parse(a.axis).strings()].map(Number).filter((n) => n > 0).map((n) => n - 1);
    if (x.axis.some((n) => !Number.isInteger(n))) throw new VacmError('ERR_BAD_ARGS', `--axis: invalid value "${a.axis}"`);
  }
  const fmt = a.outputFormat ?? '%s';
  const plainFmt = fmt === '%s';

  const render = function* (s: XSet): Generator<string> {
    if (a.expand && plainFmt) {
      // one piece behind, so that the newline goes out with the last one
      let held = '';
      for (const piece of s.text(separator)) {
        if (held) yield held;
        held = piece;
      }
      yield held + '\n';
    } else if (a.expand) {
      let buf = '';
      let first = true;
      for (const batch of s.batches()) {
        const text = batch.map((n) => pyFormat(fmt, n)).join(separator);
        if (text === '' && batch.length === 0) continue;
        buf += first ? text : separator + text;
        first = false;
        if (buf.length >= PIECE) {
          yield buf;
          buf = '';
        }
      }
      yield buf + '\n';
    } else if (a.fold) {
      if (!rangeMode && !plainFmt) {
        // ClusterShell formats each name, then folds the result (#277)
        const formatted = [...s.names()].map((n) => pyFormat(fmt, n));
        yield NodeSet.fromNames(formatted)[autostep === undefined ? 'fold' : 'foldAutostep'](autostep as number) + '\n';
      } else yield (plainFmt ? s.fold(autostep) : pyFormat(fmt, s.fold(autostep))) + '\n';
    } else if (a.regroup) {
      if (!groups) throw new VacmError('ERR_USAGE', '-r needs a group source (groups.conf or groups.d/*.yaml), and none is configured');
      const text = groups.regroup((s as NodeX).s, source, !!a.groupbase, opts);
      yield (plainFmt ? text : pyFormat(fmt, text)) + '\n';
    } else yield (plainFmt ? String(s.size) : pyFormat(fmt, s.size)) + '\n';
  };

  if (x.size === 0 || (a.split === undefined || a.split <= 1) && !a.contiguous) {
    yield* render(x);
    return;
  }
  for (const sub of a.contiguous ? x.contiguous() : x.split(a.split!)) yield* render(sub);
}

/** -l/-ll/-lll (and -L...): groups, from one source or all, optionally those holding given nodes. */
function* listGroups(a: NodesetArgv, x: XSet, env: NodesetEnv, opts: NodeSetOptions): Generator<string> {
  const groups = env.groups;
  if (!groups) throw new VacmError('ERR_USAGE', 'no group source is configured (groups.conf, groups.d/*.yaml); see docs/nodeset.md');
  const level = Math.min(3, (a.list ?? 0) + (a.listAll ?? 0));
  let sources: (string | undefined)[] = [a.groupsource];
  if (a.listAll) {
    sources = groups.sources();
    if (sources.length && !a.groupsource) sources[0] = undefined;
  }
  const filter = a.all || x.size > 0 || (a.intersection ?? []).length + (a.exclude ?? []).length + (a.xor ?? []).length > 0;
  // a listed group's own groups resolve in its source (ClusterShell parses `@source:g` there);
  // groupsOf's in the default one, as ClusterShell's parse_group does
  const within = (source: string | undefined): NodeSetOptions => ({ ...opts, resolveGroup: (g) => groups.resolve(g, source ?? groups.defaultSource()) });
  for (const source of sources) {
    if (filter) {
      const set = (x as NodeX).s;
      for (const { group, inSet, members } of groups.groupsOf(set, source, !!a.groupbase, opts)) {
        if (level === 1) yield `${group}\n`;
        else if (level === 2) yield `${group} ${inSet.fold()}\n`;
        else yield `${group} ${inSet.fold()} ${inSet.size}/${members.size}\n`;
      }
      continue;
    }
    let names: string[];
    try {
      names = groups.groupNames(source);
    } catch (err) {
      // with -L, a source that cannot list its groups is skipped with a warning, as in ClusterShell
      if (!(a.listAll && err instanceof VacmError && err.code === 'ERR_UNSUPPORTED')) throw err;
      env.warn?.(`Warning: No list upcall defined for group source ${source ?? groups.defaultSource()}\n`);
      continue;
    }
    for (const g of names) {
      const ns = source && !a.groupbase ? `@${source}:${g}` : `@${g}`;
      if (level === 1) {
        yield `${ns}\n`;
        continue;
      }
      const members = NodeSet.parse(groups.members(g, source), within(source));
      yield level === 2 ? `${ns} ${members.fold()}\n` : `${ns} ${members.fold()} ${members.size}\n`;
    }
  }
}

/** The whole command, its output gathered (tests, and callers that want one string). */
export function runNodesetCommand(argv: NodesetArgv, env: NodesetEnv): CommandResult {
  let stdout = '';
  let stderr = '';
  try {
    for (const piece of nodesetOutput(argv, { ...env, warn: (s) => (stderr += s) })) stdout += piece;
  } catch (err) {
    const e = toVacmError(err, 'ERR_NODESET_PARSE');
    return { stdout, stderr: `${stderr}${e.code}: ${e.message}\n`, exitCode: e.code === 'ERR_USAGE' ? 2 : 1 };
  }
  return { stdout, stderr, exitCode: 0 };
}
