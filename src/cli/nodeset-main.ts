/**
 * `vacm nodeset` from parsed options to exit code, for both the yargs command line and the
 * launcher's fast path (fast.ts): a script calls `vacm nodeset` in a loop the way it calls
 * ClusterShell's, so it must start quickly.
 */
import { VacmError, toVacmError } from '../protocol/errors.js';
import { findConfig, loadConfigFile, localOnlyConfig } from '../engine/config.js';
import { runNodesetCommand } from './nodeset-cmd.js';
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
  try {
    const file = findConfig(a.config);
    const cfg = file ? loadConfigFile(file) : localOnlyConfig();
    groups = cfg.view.groups;
    universe = cfg.nodes.map((n) => n.name);
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
  const r = runNodesetCommand(
    { expand: a.expand, fold: a.fold, count: a.count, exprs, separator: a.separator },
    { resolveGroup: (g) => (groups[g] ? [...groups[g]] : undefined), universe: () => universe },
  );
  if (r.stdout) io.out(r.stdout);
  if (r.stderr) io.err(r.stderr);
  return r.exitCode;
}
