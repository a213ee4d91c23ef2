/**
 * `vacm nodeset` on the launcher's fast path, the entry of dist/nodeset.cjs: `npm run build`
 * (scripts/nodeset-file.mjs) puts this and what it imports into one file, because loading ~17
 * modules is most of what a `nodeset -e` costs above Node's own start (docs/nodeset.md).
 */
import { parseWith } from './fast.js';
import { NODESET_OPTIONS } from './options.js';
import { nodesetMain } from './nodeset-main.js';
import type { Io } from './io.js';

export { processIo } from './io.js';

/** undefined: the full command line answers (--help, an unknown option), as runFast says */
export async function runNodesetFast(argv: readonly string[], io: Io): Promise<number | undefined> {
  const a = parseWith(argv, NODESET_OPTIONS, { haltAtNonOption: true });
  if (!a) return undefined;
  return nodesetMain({ ...a, exprs: a._ }, io);
}
