#!/usr/bin/env node
// The vacm launcher: React runs in production mode (1.5x less CPU) unless told otherwise.
import { readFileSync, statSync } from 'node:fs';

process.env.NODE_ENV ??= 'production';
const argv = process.argv.slice(2);

async function load(path) {
  try {
    return await import(path);
  } catch (err) {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist')) {
      process.stderr.write('vacm is not built: run `npm install` (or `npm run build`) in its folder first\n');
      process.exit(2);
    }
    throw err;
  }
}

// `vacm ipc` and `vacm nodeset`, which scripts call in loops, and the shell completion callback
// (`vacm __complete`) start without loading yargs; whatever
// the fast path does not know (--help, an unknown option) goes to the full command line.
/**
 * dist/nodeset.mjs: `vacm nodeset`'s fast path in one file (scripts/nodeset-file.mjs, run by
 * `npm run build`), used when it is there and none of the files it was made from is newer.
 */
async function nodesetFile() {
  const dist = new URL('../dist/', import.meta.url);
  try {
    const made = statSync(new URL('nodeset.mjs', dist)).mtimeMs;
    for (const f of readFileSync(new URL('nodeset.inputs', dist), 'utf8').split('\n')) {
      if (f && statSync(new URL(f, dist)).mtimeMs > made) return undefined;
    }
    return await import(new URL('nodeset.mjs', dist).href);
  } catch {
    return undefined;
  }
}

let code;
const one = argv[0] === 'nodeset' ? await nodesetFile() : undefined;
if (one) code = await one.runNodesetFast(argv.slice(1), one.processIo());
else if (argv[0] === 'ipc' || argv[0] === 'nodeset' || argv[0] === '__complete') {
  const [{ runFast }, { processIo }] = await Promise.all([load('../dist/cli/fast.js'), load('../dist/cli/io.js')]);
  code = await runFast(argv, processIo());
}
if (code === undefined) code = await (await load('../dist/cli/index.js')).main(argv);
process.exitCode = code;
