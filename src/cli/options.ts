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

export const NODESET_OPTIONS = {
  config: { type: 'string', describe: 'vacm.yaml for @groups (and the nodelist that * and ? match)' },
  expand: { alias: 'e', type: 'boolean', describe: 'expand: every name, separated by spaces' },
  fold: { alias: 'f', type: 'boolean', describe: 'fold into ranges, like nodeset -f' },
  count: { alias: 'c', type: 'boolean', describe: 'count the nodes' },
  separator: { alias: 'S', type: 'string', describe: 'separator for --expand (default a space)' },
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
