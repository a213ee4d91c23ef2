/**
 * `vacm nodeset -e|-f|-c EXPR...`: the arguments' union, like ClusterShell's `nodeset`.
 * Pure: nodesetOutput yields standard output in pieces; the CLI writes them as they come.
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

const PIECE = 65536;

/**
 * Standard output in pieces of about 64 KiB, made as they are read: `-e n[1-50000000]` streams in
 * bounded memory (-c and -f never expand). Throws a VacmError for a bad expression.
 */
export function* nodesetOutput(argv: NodesetArgv, opts: NodeSetOptions): Generator<string> {
  const set = NodeSet.unionOf(argv.exprs, opts);
  if (argv.count) yield `${set.size}\n`;
  else if (argv.fold) yield `${set.fold()}\n`;
  else {
    const sep = argv.separator ?? ' ';
    let buf = '';
    let first = true;
    for (const n of set.names()) {
      buf += first ? n : sep + n;
      first = false;
      if (buf.length >= PIECE) {
        yield buf;
        buf = '';
      }
    }
    yield buf + '\n';
  }
}

export function modeError(argv: NodesetArgv): CommandResult | undefined {
  const modes = [argv.expand, argv.fold, argv.count].filter(Boolean).length;
  if (modes === 1) return undefined;
  return { stdout: '', stderr: 'ERR_BAD_ARGS: give exactly one of -e (expand), -f (fold) or -c (count)\n', exitCode: 1 };
}

/** The whole command, its output gathered (tests, and callers that want one string). */
export function runNodesetCommand(argv: NodesetArgv, opts: NodeSetOptions): CommandResult {
  const bad = modeError(argv);
  if (bad) return bad;
  let stdout = '';
  try {
    for (const piece of nodesetOutput(argv, opts)) stdout += piece;
  } catch (err) {
    const e = toVacmError(err, 'ERR_NODESET_PARSE');
    return { stdout, stderr: `${e.code}: ${e.message}\n`, exitCode: 1 };
  }
  return { stdout, stderr: '', exitCode: 0 };
}
