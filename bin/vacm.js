#!/usr/bin/env node
// The vacm launcher: React runs in production mode (1.5x less CPU) unless told otherwise.
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

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
 * A fast path in one file (scripts/nodeset-file.mjs, run by `npm run build`): dist/nodeset.mjs for
 * `vacm nodeset`, dist/cli/fast.cjs for `vacm ipc` and the completion callback. Used when it is
 * there and none of the files it was made from (listed in its .inputs, relative to it) is newer.
 */
async function oneFile(file, inputs) {
  const url = new URL(file, new URL('../dist/', import.meta.url));
  try {
    const made = statSync(url).mtimeMs;
    const list = new URL(inputs, url);
    for (const f of readFileSync(list, 'utf8').split('\n')) {
      if (f && statSync(new URL(f, list)).mtimeMs > made) return undefined;
    }
    return file.endsWith('.cjs') ? createRequire(import.meta.url)(fileURLToPath(url)) : await import(url.href);
  } catch {
    return undefined;
  }
}

/**
 * `vacm ipc` compiles its one file and the packages it loads (ssh2: ~600 KB) through a V8 code
 * cache kept in ~/.cache/vacm/code (src/platform/code-cache.ts; VACM_CODE_CACHE=off: none). Any
 * trouble means no cache, never a failed command.
 */
async function codeCache() {
  try {
    const { installCodeCache, packagesDir } = await import('../dist/platform/code-cache.js');
    const only = [fileURLToPath(new URL('../dist/cli/fast.cjs', import.meta.url))];
    const pkgs = packagesDir(import.meta.url, 'ssh2');
    if (pkgs) only.push(pkgs);
    installCodeCache(only);
  } catch {
    /* not built, or no cache: compiled as usual */
  }
}

let code;
const one = argv[0] === 'nodeset' ? await oneFile('nodeset.mjs', 'nodeset.inputs') : undefined;
if (one) code = await one.runNodesetFast(argv.slice(1), one.processIo());
else if (argv[0] === 'ipc' || argv[0] === 'nodeset' || argv[0] === '__complete') {
  if (argv[0] === 'ipc') await codeCache();
  const fast = (await oneFile('cli/fast.cjs', 'fast.inputs')) ??
    Object.assign({}, ...(await Promise.all([load('../dist/cli/fast.js'), load('../dist/cli/io.js')])));
  code = await fast.runFast(argv, fast.processIo());
}
if (code === undefined) code = await (await load('../dist/cli/index.js')).main(argv);
process.exitCode = code;
