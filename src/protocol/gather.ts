/**
 * Output gathering, ClusterShell `-b` style: nodes whose output is identical are merged under one
 * folded node set with their count, e.g. `node[001-062] (62)`. Pure; used by `vacm ipc` and the jobs pane.
 */
import { foldNodeSet } from './nodeset.js';

export interface GatheredGroup {
  /** folded node set */
  nodes: string;
  count: number;
  lines: readonly string[];
}

/** Compare names with their digit runs as numbers: node2 < node10, n3 < n12. */
export function naturalCompare(a: string, b: string): number {
  const re = /(\d+)|(\D+)/g;
  const pa = a.match(re) ?? [];
  const pb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

function firstName(names: readonly string[]): string {
  return names.reduce((m, n) => (naturalCompare(n, m) < 0 ? n : m));
}

/**
 * How a module's results gather, declared in its ModuleDef: per event type, a number field that is
 * left out of what nodes are grouped by and shown over each group as min/avg/max instead (PING's
 * RTT: `up` on 30 nodes is one group, `rtt min/avg/max 0.040/0.051/0.070 ms` under it). A type
 * listed with no stat, or not listed, gathers by its whole line (EXEC: output and exit code; POWER:
 * the state).
 */
export interface ResultGathering {
  readonly [eventType: string]: { readonly stat?: { readonly field: string; readonly label: string; readonly unit?: string } };
}

/** `rtt min/avg/max 0.040/0.051/0.070 ms` (3 decimals), or undefined for no values. */
export function statSummary(values: readonly number[], label: string, unit = ''): string | undefined {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return undefined;
  const f = (x: number) => x.toFixed(3);
  const avg = v.reduce((a, x) => a + x, 0) / v.length;
  return `${label} min/avg/max ${f(Math.min(...v))}/${f(avg)}/${f(Math.max(...v))}${unit ? ' ' + unit : ''}`;
}

/**
 * Gather per-node outputs (node → its lines, in order). Groups are sorted by their first node (natural
 * order); `extra(names)` may add lines under a group (a stat over its nodes).
 */
export function gatherOutputs(outputs: Iterable<readonly [string, readonly string[]]>, extra?: (names: readonly string[]) => readonly string[]): GatheredGroup[] {
  const byText = new Map<string, { names: string[]; lines: readonly string[] }>();
  for (const [node, lines] of outputs) {
    const key = lines.join('\n');
    const g = byText.get(key);
    if (g) g.names.push(node);
    else byText.set(key, { names: [node], lines });
  }
  const groups = [...byText.values()].map((g) => ({ first: firstName(g.names), nodes: foldNodeSet(g.names), count: g.names.length, lines: extra ? [...g.lines, ...extra(g.names)] : g.lines }));
  groups.sort((a, b) => naturalCompare(a.first, b.first));
  return groups.map(({ nodes, count, lines }) => ({ nodes, count, lines }));
}

/** What a job's gathered output holds at most: its bytes, and its lines (each costs memory of its own). */
export interface GatherBounds {
  maxBytes: number;
  /** default maxBytes / 64: a line of one byte costs ~50 bytes of memory, not one */
  maxLines?: number;
}

/**
 * One job's per-node output lines, kept for gathering until a bound is reached; then everything
 * kept is dropped (a half-gathered summary would look whole) and only the counts stay.
 */
export class BoundedGather {
  readonly stdout = new Map<string, string[]>();
  readonly stderr = new Map<string, string[]>();
  /** bytes (UTF-8, each line with its newline) and lines gathered before the bound */
  bytes = 0;
  lines = 0;
  truncated = false;
  private readonly maxBytes: number;
  private readonly maxLines: number;

  constructor(bounds: GatherBounds) {
    this.maxBytes = bounds.maxBytes;
    this.maxLines = bounds.maxLines ?? Math.max(1, Math.floor(bounds.maxBytes / 64));
  }

  add(stream: 'stdout' | 'stderr', node: string, line: string): void {
    if (this.truncated) return;
    const n = Buffer.byteLength(line) + 1;
    if (this.bytes + n > this.maxBytes || this.lines + 1 > this.maxLines) {
      this.truncated = true;
      this.stdout.clear();
      this.stderr.clear();
      return;
    }
    this.bytes += n;
    this.lines++;
    const per = stream === 'stdout' ? this.stdout : this.stderr;
    const lines = per.get(node);
    if (lines) lines.push(line);
    else per.set(node, [line]);
  }

  /** The notice printed instead of the gathered summary once a bound was reached. */
  notice(): string | undefined {
    if (!this.truncated) return undefined;
    return `gather truncated after ${this.bytes} bytes (${this.lines} lines); the streamed lines above are complete`;
  }
}

/**
 * The header of a gathered block: `node[001-062] (62)`; with `rule` (ClusterShell `-b` layout)
 * a single node is shown bare, as clush does.
 */
function gatheredHead(g: GatheredGroup, rule: boolean): string {
  return rule && g.count === 1 ? g.nodes : `${g.nodes} (${g.count})`;
}

/** clush -b's rule: always 15 dashes. */
export const GATHER_RULE = '-'.repeat(15);

/** `node[001-062] (62): line` headers with the lines indented beneath, as text lines. */
export function formatGathered(groups: readonly GatheredGroup[], opts: { rule?: boolean } = {}): string[] {
  const out: string[] = [];
  const rule = opts.rule ?? false;
  for (const g of groups) {
    const head = gatheredHead(g, rule);
    if (rule) out.push(GATHER_RULE);
    out.push(head);
    if (rule) out.push(GATHER_RULE);
    if (g.lines.length === 0) out.push(rule ? '(no output)' : '  (no output)');
    for (const l of g.lines) out.push(rule ? l : `  ${l}`);
  }
  return out;
}

export interface NodeFailure {
  /** a non-zero exit status (and the signal that ended the command, if any) */
  exit?: { code: number; signal?: string };
  /** an error that kept the command from running or finishing */
  error?: { code: string; message: string };
}

/**
 * The end-of-job failure summary, clush style (`clush: node02: exited with exit code 4`), with
 * nodes that failed the same way folded together: `node[02,05] (2): exited with exit code 4`,
 * `refused01: ERR_SSH_REFUSED: connection refused by ...`. Sorted by first node.
 */
export function summarizeFailures(failures: Iterable<readonly [string, NodeFailure]>): string[] {
  const byWhat = new Map<string, string[]>();
  for (const [node, f] of failures) {
    let what: string | undefined;
    if (f.error) what = `${f.error.code}: ${f.error.message}`;
    else if (f.exit && f.exit.signal) what = `killed by signal ${f.exit.signal} (exit code ${f.exit.code})`;
    else if (f.exit && f.exit.code !== 0) what = `exited with exit code ${f.exit.code}`;
    if (what === undefined) continue;
    const names = byWhat.get(what) ?? [];
    names.push(node);
    byWhat.set(what, names);
  }
  const rows = [...byWhat].map(([what, names]) => {
    const nodes = foldNodeSet(names);
    return { first: firstName(names), line: `${names.length === 1 ? nodes : `${nodes} (${names.length})`}: ${what}` };
  });
  rows.sort((a, b) => naturalCompare(a.first, b.first) || (a.line < b.line ? -1 : 1));
  return rows.map((r) => r.line);
}

/**
 * `failed: node[03,07] (2)`, `skipped: node05 (1)`: a job's nodes of one outcome as one node set
 * on a line of its own, so that a script can cut it out and feed it back (`SSH:EXEC:node[03,07]:...`).
 * Undefined when there are none.
 */
export function nodeSetLine(label: string, names: readonly string[]): string | undefined {
  if (names.length === 0) return undefined;
  return `${label}: ${foldNodeSet(names)} (${names.length})`;
}

// ---- clush --diff: Python difflib's unified_diff, hunk for hunk ---------------------------------

type Opcode = ['equal' | 'replace' | 'delete' | 'insert', number, number, number, number];

/** difflib.SequenceMatcher(None, a, b).get_opcodes(), with its autojunk rule (popular lines of a long b). */
function opcodes(a: readonly string[], b: readonly string[]): Opcode[] {
  const b2j = new Map<string, number[]>();
  b.forEach((line, j) => {
    const l = b2j.get(line);
    if (l) l.push(j);
    else b2j.set(line, [j]);
  });
  if (b.length >= 200) {
    const ntest = Math.floor(b.length / 100) + 1;
    for (const [line, idx] of [...b2j]) if (idx.length > ntest) b2j.delete(line);
  }
  const longest = (alo: number, ahi: number, blo: number, bhi: number): [number, number, number] => {
    let bi = alo;
    let bj = blo;
    let size = 0;
    let j2len = new Map<number, number>();
    for (let i = alo; i < ahi; i++) {
      const next = new Map<number, number>();
      for (const j of b2j.get(a[i]) ?? []) {
        if (j < blo) continue;
        if (j >= bhi) break;
        const k = (j2len.get(j - 1) ?? 0) + 1;
        next.set(j, k);
        if (k > size) [bi, bj, size] = [i - k + 1, j - k + 1, k];
      }
      j2len = next;
    }
    // no junk: extend over equal (popular) lines on both sides, as difflib does
    while (bi > alo && bj > blo && a[bi - 1] === b[bj - 1]) [bi, bj, size] = [bi - 1, bj - 1, size + 1];
    while (bi + size < ahi && bj + size < bhi && a[bi + size] === b[bj + size]) size++;
    return [bi, bj, size];
  };
  const blocks: [number, number, number][] = [];
  const queue: [number, number, number, number][] = [[0, a.length, 0, b.length]];
  while (queue.length > 0) {
    const [alo, ahi, blo, bhi] = queue.pop()!;
    const m = longest(alo, ahi, blo, bhi);
    const [i, j, k] = m;
    if (k === 0) continue;
    blocks.push(m);
    if (alo < i && blo < j) queue.push([alo, i, blo, j]);
    if (i + k < ahi && j + k < bhi) queue.push([i + k, ahi, j + k, bhi]);
  }
  blocks.sort((x, y) => x[0] - y[0] || x[1] - y[1] || x[2] - y[2]);
  const merged: [number, number, number][] = [];
  let [i1, j1, k1] = [0, 0, 0];
  for (const [i2, j2, k2] of blocks) {
    if (i1 + k1 === i2 && j1 + k1 === j2) k1 += k2;
    else {
      if (k1) merged.push([i1, j1, k1]);
      [i1, j1, k1] = [i2, j2, k2];
    }
  }
  if (k1) merged.push([i1, j1, k1]);
  merged.push([a.length, b.length, 0]);
  const out: Opcode[] = [];
  let i = 0;
  let j = 0;
  for (const [ai, bj, size] of merged) {
    if (i < ai && j < bj) out.push(['replace', i, ai, j, bj]);
    else if (i < ai) out.push(['delete', i, ai, j, bj]);
    else if (j < bj) out.push(['insert', i, ai, j, bj]);
    i = ai + size;
    j = bj + size;
    if (size) out.push(['equal', ai, i, bj, j]);
  }
  return out;
}

/** difflib's get_grouped_opcodes(n): hunks with n lines of context. */
function groupedOpcodes(a: readonly string[], b: readonly string[], n: number): Opcode[][] {
  const codes = opcodes(a, b);
  if (codes.length === 0) codes.push(['equal', 0, 1, 0, 1]);
  const first = codes[0];
  if (first[0] === 'equal') codes[0] = ['equal', Math.max(first[1], first[2] - n), first[2], Math.max(first[3], first[4] - n), first[4]];
  const last = codes[codes.length - 1];
  if (last[0] === 'equal') codes[codes.length - 1] = ['equal', last[1], Math.min(last[2], last[1] + n), last[3], Math.min(last[4], last[3] + n)];
  const groups: Opcode[][] = [];
  let group: Opcode[] = [];
  for (const code of codes) {
    let [tag, c1, c2, d1, d2] = code;
    if (tag === 'equal' && c2 - c1 > 2 * n) {
      group.push([tag, c1, Math.min(c2, c1 + n), d1, Math.min(d2, d1 + n)]);
      groups.push(group);
      group = [];
      [c1, d1] = [Math.max(c1, c2 - n), Math.max(d1, d2 - n)];
    }
    group.push([tag, c1, c2, d1, d2]);
  }
  if (group.length > 0 && !(group.length === 1 && group[0][0] === 'equal')) groups.push(group);
  return groups;
}

function unifiedRange(start: number, stop: number): string {
  const length = stop - start;
  if (length === 1) return String(start + 1);
  return `${length === 0 ? start : start + 1},${length}`;
}

/** Python's unified_diff(a, b, fromfile, tofile, n=3, lineterm=''): the lines of a unified diff ([] when equal). */
export function unifiedDiff(a: readonly string[], b: readonly string[], fromFile: string, toFile: string, context = 3): string[] {
  const out: string[] = [];
  for (const group of groupedOpcodes(a, b, context)) {
    if (out.length === 0) out.push(`--- ${fromFile}`, `+++ ${toFile}`);
    const f = group[0];
    const l = group[group.length - 1];
    out.push(`@@ -${unifiedRange(f[1], l[2])} +${unifiedRange(f[3], l[4])} @@`);
    for (const [tag, i1, i2, j1, j2] of group) {
      if (tag === 'equal') {
        for (const line of a.slice(i1, i2)) out.push(' ' + line);
        continue;
      }
      if (tag === 'replace' || tag === 'delete') for (const line of a.slice(i1, i2)) out.push('-' + line);
      if (tag === 'replace' || tag === 'insert') for (const line of b.slice(j1, j2)) out.push('+' + line);
    }
  }
  return out;
}

/**
 * `clush --diff`: the gathered groups of one stream, in clush's order (exit status, then the largest
 * group, then the first node), each diffed against the first one (printed only as the diff's `---`
 * side); nodes of an exit status with no output are diffed as empty. Headers are `nodes (N)`, a
 * single node bare; like clush, a line that starts with `---` or `+++` loses its trailing blanks.
 */
export function diffGathered(per: ReadonlyMap<string, readonly string[]>, codes: ReadonlyMap<string, number>): string[] {
  const byCode = new Map<number, string[]>();
  for (const [node, c] of codes) (byCode.get(c) ?? byCode.set(c, []).get(c)!).push(node);
  // output from a node with no exit status (an error ended it) comes last, as ssh's 255 would in clush
  const NO_EXIT = Number.MAX_SAFE_INTEGER;
  for (const node of per.keys()) if (!codes.has(node)) (byCode.get(NO_EXIT) ?? byCode.set(NO_EXIT, []).get(NO_EXIT)!).push(node);
  const head = (g: { nodes: string; count: number }) => (g.count > 1 ? `${g.nodes} (${g.count})` : g.nodes);
  let ref: GatheredGroup | undefined;
  const out: string[] = [];
  const show = (g: GatheredGroup) => {
    if (!ref) {
      ref = g;
      return;
    }
    for (const l of unifiedDiff(ref.lines, g.lines, head(ref), head(g))) out.push(l.startsWith('---') || l.startsWith('+++') ? l.trimEnd() : l);
  };
  for (const c of [...byCode.keys()].sort((x, y) => x - y)) {
    const nodes = byCode.get(c)!;
    const withOutput = nodes.filter((n) => per.has(n));
    const groups = gatherOutputs(withOutput.map((n) => [n, per.get(n)!] as const));
    // clush: the largest group first, then by first node (gatherOutputs sorted by first node: stable)
    groups.sort((x, y) => y.count - x.count);
    for (const g of groups) show(g);
    const silent = nodes.filter((n) => !per.has(n));
    if (silent.length > 0 && ref) show({ nodes: foldNodeSet(silent), count: silent.length, lines: [] });
  }
  return out;
}

/** What stands for a node's own name or address in similar-line gathering. */
export const NODE_PLACEHOLDER = '[NODE]';

const WORDISH = /[A-Za-z0-9_-]/;

/**
 * A line with the node's own name and address (`aliases`) replaced by `[NODE]`, where each stands
 * as a word of its own (`node1` in `node10` is left alone), so that `ssh: node07: Name or service
 * not known` gathers with the same line of every other node. Linear in the line per alias.
 */
export function similarLine(line: string, aliases: readonly string[]): string {
  let out = line;
  for (const alias of [...new Set(aliases)].filter((a) => a !== '').sort((x, y) => y.length - x.length)) {
    if (!out.includes(alias)) continue;
    let built = '';
    let from = 0;
    for (let at = out.indexOf(alias); at >= 0; at = out.indexOf(alias, at + 1)) {
      if (at < from) continue;
      const before = at === 0 ? '' : out[at - 1];
      const after = out[at + alias.length] ?? '';
      if ((before && WORDISH.test(before)) || (after && WORDISH.test(after))) continue;
      built += out.slice(from, at) + NODE_PLACEHOLDER;
      from = at + alias.length;
    }
    out = built + out.slice(from);
  }
  return out;
}
