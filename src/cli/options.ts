/**
 * The options of the script-mode commands, once: yargs builds its help and checks from these tables,
 * and the launcher's fast path (fast.ts) parses with the same tables through yargs-parser.
 */
import type { Options } from 'yargs';
import { VacmError } from '../protocol/errors.js';

export type OptionTable = Readonly<Record<string, Options>>;

export const ENGINE_OPTIONS = {
  config: { alias: 'c', type: 'string', describe: 'vacm.yaml to use (else $VACM_CONFIG, ./vacm.yaml, ~/.config/vacm/vacm.yaml, /etc/vacm/vacm.yaml)' },
  demo: { type: 'boolean', default: false, describe: 'add a simulated cluster' },
  nodes: { type: 'number', describe: 'how many simulated nodes --demo adds (default 64)' },
  'read-only': { type: 'boolean', default: false, describe: 'refuse every action that changes something' },
} as const satisfies OptionTable;

export const IPC_OPTIONS = {
  ...ENGINE_OPTIONS,
  json: { type: 'boolean', default: false, describe: 'one JSON object a line: {"tag","job","event","node","fields","ts"}' },
  gather: { type: 'boolean', describe: 'after each job, print identical per-node outputs under one folded node set (default: on, off with --json)' },
  parallel: { type: 'boolean', default: false, describe: 'submit all requests at once instead of one after another' },
  raw: { type: 'boolean', default: false, describe: 'print command output byte-exact even on a terminal (default there: controls shown as ^[)' },
} as const satisfies OptionTable;

/**
 * ClusterShell's `nodeset` options, same names. As in ClusterShell, options end at the first
 * operand: after it, `-x SET`, `-i SET`, `-X SET` and `-` are read in order among the operands
 * (both parsers run with halt-at-non-option for this command).
 */
export const NODESET_OPTIONS = {
  config: { type: 'string', describe: 'vacm.yaml for @groups (and the nodelist that * and ? match)' },
  expand: { alias: 'e', type: 'boolean', describe: 'expand: every name, separated by spaces' },
  fold: { alias: 'f', type: 'boolean', describe: 'fold into ranges, like nodeset -f' },
  count: { alias: 'c', type: 'boolean', describe: 'count the nodes' },
  list: { alias: 'l', type: 'count', describe: 'list groups (-ll with their nodes, -lll with counts), of the given nodes if any' },
  'list-all': { alias: 'L', type: 'count', describe: 'like -l, for every group source' },
  regroup: { alias: 'r', type: 'boolean', describe: 'fold using node groups' },
  'list-sources': { alias: 'groupsources', type: 'boolean', describe: 'list the group sources, the default first' },
  exclude: { nargs: 1, alias: 'x', type: 'string', array: true, describe: 'exclude this node set' },
  intersection: { nargs: 1, alias: 'i', type: 'string', array: true, describe: 'intersect with this node set' },
  xor: { nargs: 1, alias: 'X', type: 'string', array: true, describe: 'symmetric difference with this node set' },
  all: { alias: 'a', type: 'boolean', describe: 'every node of the group source' },
  groupsource: { alias: 's', type: 'string', describe: 'group source to use (groups.conf)' },
  groupbase: { alias: 'G', type: 'boolean', describe: 'no group source prefix in -l/-r output' },
  rangeset: { alias: 'R', type: 'boolean', describe: 'work on range sets (1-5,18) instead of node sets' },
  slice: { alias: 'I', type: 'string', describe: 'keep the nodes at these positions (a range set, from 0)' },
  split: { type: 'number', describe: 'split the result into N subsets' },
  contiguous: { type: 'boolean', describe: 'split the result into contiguous subsets' },
  autostep: { type: 'string', describe: 'fold with a-b/step when at least N nodes, N% of them, or auto' },
  axis: { type: 'string', describe: 'fold multi-dimensional sets along these axes only (1..n)' },
  pick: { type: 'number', describe: 'pick N nodes at random' },
  'output-format': { alias: 'O', type: 'string', describe: "output format (default '%s')" },
  separator: { alias: 'S', type: 'string', describe: "separator for --expand, with escapes such as '\\n' (default a space)" },
  quiet: { alias: 'q', type: 'boolean', describe: 'no warnings' },
  debug: { alias: 'd', type: 'boolean', describe: 'accepted for ClusterShell compatibility' },
} as const satisfies OptionTable;

/**
 * A numeric option checked where it is used: yargs and yargs-parser turn `--nodes xyz` into NaN
 * and take `1e12` as it is, so each one is a whole number from `min` to `max` or ERR_USAGE (exit 2).
 */
export function checkWholeNumber(option: string, value: number | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const given = Number.isNaN(value) ? 'is not a number' : Number.isInteger(value) ? `${String(value)} is out of range` : `${String(value)} is not a whole number`;
    throw new VacmError('ERR_USAGE', `${option} ${given}: give a whole number from ${min} to ${max}`);
  }
  return value;
}
