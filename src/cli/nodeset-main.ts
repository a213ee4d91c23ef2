/**
 * `vacm nodeset` from parsed options to exit code, for both the yargs command line and the
 * launcher's fast path (fast.ts): a script calls `vacm nodeset` in a loop the way it calls
 * ClusterShell's, so it must start quickly.
 */
import { VacmError, toVacmError } from '../protocol/errors.js';
import { findConfig, loadConfigFile, localOnlyConfig } from '../engine/config.js';
import { needsStdin, nodesetOutput, usageError, type NodesetArgv, type NodesetEnv } from './nodeset-cmd.js';
import { EXIT_USAGE, type Io } from './io.js';

export interface NodesetCliArgs {
  expand?: boolean;
  fold?: boolean;
  count?: boolean;
  list?: number;
  'list-all'?: number;
  regroup?: boolean;
  'list-sources'?: boolean;
  exclude?: string | string[];
  intersection?: string | string[];
  xor?: string | string[];
  separator?: string;
  rangeset?: boolean;
  all?: boolean;
  autostep?: string;
  slice?: string;
  split?: number;
  contiguous?: boolean;
  axis?: string;
  pick?: number;
  'output-format'?: string;
  quiet?: boolean;
  debug?: boolean;
  groupsource?: string;
  groupbase?: boolean;
  version?: boolean;
  config?: string;
  /** the positional arguments, as either parser gives them */
  exprs?: readonly (string | number)[];
}

/** Printed by `vacm nodeset --version`: vacm's own, and the ClusterShell it follows. */
export const NODESET_VERSION = 'vacm nodeset (ClusterShell nodeset 1.9 compatible)';

async function readAll(io: Io): Promise<string> {
  let s = '';
  io.stdin.setEncoding('utf8');
  for await (const chunk of io.stdin) s += chunk as string;
  return s;
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

function usesGroups(a: NodesetArgv): boolean {
  if (a.all || a.list || a.listAll || a.regroup || a.listSources) return true;
  return [a.stdin ?? '', ...a.exprs, ...(a.exclude ?? []), ...(a.intersection ?? []), ...(a.xor ?? [])].some((t) => t.includes('@'));
}

/**
 * Run `vacm nodeset`. With no operand (and neither -a nor -l), or an operand `-`, node sets are
 * read from stdin, white space or newlines between, `#` starting a comment (as ClusterShell does).
 */
export async function nodesetMain(a: NodesetCliArgs, io: Io, procEnv: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (a.version) {
    io.out(`${NODESET_VERSION}\n`);
    return 0;
  }
  const argv: NodesetArgv = {
    expand: a.expand, fold: a.fold, count: a.count, list: a.list || undefined, listAll: a['list-all'] || undefined, regroup: a.regroup, listSources: a['list-sources'],
    exprs: (a.exprs ?? []).map(String), exclude: list(a.exclude), intersection: list(a.intersection), xor: list(a.xor),
    separator: a.separator, rangeset: a.rangeset, all: a.all, autostep: a.autostep, slice: a.slice, split: a.split,
    contiguous: a.contiguous, axis: a.axis, pick: a.pick, outputFormat: a['output-format'], quiet: a.quiet,
    groupsource: a.groupsource, groupbase: a.groupbase,
  };
  const bad = usageError(argv);
  if (bad) {
    io.err(`ERR_USAGE: ${bad}; see vacm nodeset --help\n`);
    return EXIT_USAGE;
  }
  let env: NodesetEnv;
  let vacmGroups: Readonly<Record<string, readonly string[]>>;
  try {
    const file = findConfig(a.config);
    const cfg = file ? loadConfigFile(file) : localOnlyConfig();
    const universe = cfg.nodes.map((n) => n.name);
    vacmGroups = cfg.view.groups;
    env = { universe: () => universe, maxNodes: cfg.view.maxNodes, warn: (s: string) => io.err(s) };
  } catch (err) {
    const ve = toVacmError(err, 'ERR_CONFIG');
    io.err(`${ve.code}: ${ve.message}\n`);
    return EXIT_USAGE;
  }
  if (needsStdin(argv)) {
    if (io.stdinIsTTY && argv.exprs.length === 0 && !argv.exprs.includes('-')) {
      const e = new VacmError('ERR_USAGE', 'no node set given (as arguments, or piped on stdin); see vacm nodeset --help');
      io.err(`${e.code}: ${e.message}\n`);
      return EXIT_USAGE;
    }
    argv.stdin = await readAll(io);
  }
  // group sources (and the code that reads ClusterShell's files) only for a command that uses groups
  if (usesGroups(argv)) {
    const { groupSourcesFor } = await import('../engine/groups.js');
    env.groups = groupSourcesFor(vacmGroups, { env: procEnv });
  }
  try {
    // written as made, waiting for a slow reader: `-e` of 50 million names in bounded memory
    for (const piece of nodesetOutput(argv, env)) {
      io.out(piece);
      if (io.outDrained) await io.outDrained();
    }
  } catch (err) {
    const e = toVacmError(err, 'ERR_NODESET_PARSE');
    io.err(`${e.code}: ${e.message}\n`);
    return e.code === 'ERR_USAGE' ? EXIT_USAGE : 1;
  }
  return 0;
}
