/**
 * `vacm nodeset -e|-f|-c EXPR...`: the arguments' union, like ClusterShell's `nodeset`.
 * Pure: the yargs wiring prints stdout/stderr and exits with exitCode.
 */
import { toVacmError } from '../protocol/errors.js';
import { NodeSet, type NodeSetOptions } from '../protocol/nodeset.js';

export interface NodesetArgv {
  expand?: boolean;
  fold?: boolean;
  count?: boolean;
  exprs: string[];
  /** Separator between expanded names (-e); a space by default. */
  separator?: string;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export function runNodesetCommand(argv: NodesetArgv, opts: NodeSetOptions): CommandResult {
  const modes = [argv.expand, argv.fold, argv.count].filter(Boolean).length;
  if (modes !== 1) {
    return {
      stdout: '',
      stderr: 'ERR_BAD_ARGS: give exactly one of -e (expand), -f (fold) or -c (count)\n',
      exitCode: 1,
    };
  }
  let set: NodeSet;
  try {
    set = NodeSet.unionOf(argv.exprs, opts);
  } catch (err) {
    const e = toVacmError(err, 'ERR_NODESET_PARSE');
    return { stdout: '', stderr: `${e.code}: ${e.message}\n`, exitCode: 1 };
  }
  let out: string;
  if (argv.count) out = String(set.size);
  else if (argv.fold) out = set.fold();
  else out = set.expand().join(argv.separator ?? ' ');
  return { stdout: out + '\n', stderr: '', exitCode: 0 };
}
