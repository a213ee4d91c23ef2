/**
 * `vacm nodeset` from parsed options to exit code, for both the yargs command line and the
 * launcher's fast path (fast.ts): a script calls `vacm nodeset` in a loop the way it calls
 * ClusterShell's, so it must start quickly.
 */
import { VacmError, toVacmError } from '../protocol/errors.js';
import { findConfig, loadConfigFile, localOnlyConfig } from '../engine/config.js';
import { nodesetOutput } from './nodeset-cmd.js';
import { EXIT_USAGE, type Io } from './io.js';

export interface NodesetCliArgs {
  expand?: boolean;
  fold?: boolean;
  count?: boolean;
  separator?: string;
  config?: string;
  /** the positional arguments, as either parser gives them */
  exprs?: readonly (string | number)[];
}

async function readAll(io: Io): Promise<string> {
  let s = '';
  io.stdin.setEncoding('utf8');
  for await (const chunk of io.stdin) s += chunk as string;
  return s;
}

/**
 * Run `vacm nodeset`. With no expression and a non-terminal stdin, the expressions are read from
 * stdin, separated by white space (as ClusterShell's nodeset does).
 */
export async function nodesetMain(a: NodesetCliArgs, io: Io): Promise<number> {
  const modes = [a.expand, a.fold, a.count].filter(Boolean).length;
  if (modes !== 1) {
    io.err('ERR_USAGE: give exactly one of -e (expand), -f (fold), -c (count); see vacm nodeset --help\n');
    return EXIT_USAGE;
  }
  let groups: Readonly<Record<string, readonly string[]>> = {};
  let universe: string[] = [];
  let maxNodes: number | undefined;
  try {
    const file = findConfig(a.config);
    const cfg = file ? loadConfigFile(file) : localOnlyConfig();
    groups = cfg.view.groups;
    universe = cfg.nodes.map((n) => n.name);
    maxNodes = cfg.view.maxNodes;
  } catch (err) {
    const ve = toVacmError(err, 'ERR_CONFIG');
    io.err(`${ve.code}: ${ve.message}\n`);
    return EXIT_USAGE;
  }
  let exprs = (a.exprs ?? []).map(String);
  if (exprs.length === 0) {
    if (io.stdinIsTTY) {
      const e = new VacmError('ERR_USAGE', 'no node set given (as arguments, or piped on stdin); see vacm nodeset --help');
      io.err(`${e.code}: ${e.message}\n`);
      return EXIT_USAGE;
    }
    exprs = (await readAll(io)).split(/\s+/).filter(Boolean);
  }
  const argv = { expand: a.expand, fold: a.fold, count: a.count, exprs, separator: a.separator };
  const opts = { resolveGroup: (g: string) => (groups[g] ? [...groups[g]] : undefined), universe: () => universe, maxNodes };
  try {
    // written as made, waiting for a slow reader: `-e` of 50 million names in bounded memory
    for (const piece of nodesetOutput(argv, opts)) {
      io.out(piece);
      if (io.outDrained) await io.outDrained();
    }
  } catch (err) {
    const e = toVacmError(err, 'ERR_NODESET_PARSE');
    io.err(`${e.code}: ${e.message}\n`);
    return 1;
  }
  return 0;
}
