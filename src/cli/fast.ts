/**
 * The launcher's fast path for the commands scripts call in loops (`vacm ipc`, `vacm nodeset`):
 * yargs takes ~0.15 s to load, a third of `vacm ipc`'s start. These commands are parsed here with
 * yargs-parser (the parser inside yargs) from the same option tables; anything it does not plainly
 * know — --help, --version, an unknown option, a repeated one — returns undefined and the full yargs
 * command line answers, with its help and its errors. The shell completion callback (`vacm
 * __complete`, run on every Tab) starts here too. Each command's body is imported when it runs:
 * `vacm ipc` does not load the node-set command's code, nor `vacm nodeset` the engine's.
 */
import parse from 'yargs-parser';
import { IPC_OPTIONS, type OptionTable } from './options.js';
import type { Io } from './io.js';

export type FastArgs = Record<string, unknown> & { _: string[] };

/** argv (after the command) parsed by `table`, or undefined when only yargs should answer. */
export function parseWith(argv: readonly string[], table: OptionTable, opts: { haltAtNonOption?: boolean } = {}): FastArgs | undefined {
  const alias: Record<string, string> = {};
  const boolean: string[] = [];
  const string: string[] = [];
  const number: string[] = [];
  const count: string[] = [];
  const array: string[] = [];
  const narg: Record<string, number> = {};
  const dflt: Record<string, unknown> = {};
  const known = new Set(['_']);
  for (const [key, o] of Object.entries(table)) {
    known.add(key);
    if (typeof o.alias === 'string') {
      alias[key] = o.alias;
      known.add(o.alias);
    }
    if (o.type === 'boolean') boolean.push(key);
    else if (o.type === 'string') string.push(key);
    else if (o.type === 'number') number.push(key);
    else if (o.type === 'count') count.push(key);
    if (o.array) array.push(key);
    if (typeof o.nargs === 'number') narg[key] = o.nargs;
    if (o.default !== undefined) dflt[key] = o.default;
  }
  const r = parse([...argv], {
    alias,
    boolean,
    string,
    number,
    count,
    array,
    narg,
    default: dflt,
    configuration: {
      'camel-case-expansion': false,
      'dot-notation': false,
      'parse-positional-numbers': false,
      'duplicate-arguments-array': true,
      'strip-aliased': true,
      'halt-at-non-option': opts.haltAtNonOption ?? false,
    },
  });
  for (const [k, v] of Object.entries(r)) {
    if (!known.has(k)) return undefined; // --help, --version, a typo: yargs says it properly
    if (k !== '_' && Array.isArray(v) && !array.includes(k) && !array.includes(alias[k])) return undefined; // given twice
    if (typeof v === 'number' && Number.isNaN(v)) return undefined; // --nodes abc
  }
  return { ...r, _: r._.map(String) };
}

/** Run `argv` if the fast path knows it; undefined means: hand it to the full command line. */
export async function runFast(argv: readonly string[], io: Io): Promise<number | undefined> {
  const [cmd, ...rest] = argv;
  if (cmd === 'nodeset') {
    const { runNodesetFast } = await import('./nodeset-fast.js');
    return runNodesetFast(rest, io);
  }
  if (cmd === 'ipc') {
    const a = parseWith(rest, IPC_OPTIONS);
    if (!a) return undefined;
    const { ipcCommand } = await import('./commands.js');
    return ipcCommand({ ...a, messages: a._ }, io);
  }
  if (cmd === '__complete') {
    // the shell calls this on every Tab: no yargs
    const { completeMain } = await import('./completion.js');
    return completeMain(rest, io);
  }
  return undefined;
}
