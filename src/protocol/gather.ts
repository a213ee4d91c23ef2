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

/** Gather per-node outputs (node → its lines, in order). Groups are sorted by their first node (natural order). */
export function gatherOutputs(outputs: Iterable<readonly [string, readonly string[]]>): GatheredGroup[] {
  const byText = new Map<string, { names: string[]; lines: readonly string[] }>();
  for (const [node, lines] of outputs) {
    const key = lines.join('\n');
    const g = byText.get(key);
    if (g) g.names.push(node);
    else byText.set(key, { names: [node], lines });
  }
  const groups = [...byText.values()].map((g) => ({ first: firstName(g.names), nodes: foldNodeSet(g.names), count: g.names.length, lines: g.lines }));
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
