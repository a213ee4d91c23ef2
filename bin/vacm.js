#!/bin/sh
":" //; case ${NODE_EXTRA_CA_CERTS+set} in set) VACM_SH_CA="=$NODE_EXTRA_CA_CERTS" ;; *) VACM_SH_CA=- ;; esac; export VACM_SH_CA; unset NODE_EXTRA_CA_CERTS; exec node -- "$0" "$@"
// The vacm launcher, a sh and CommonJS polyglot (bin/package.json makes bin/ CommonJS).
//
// Run as a program (`vacm`, `./bin/vacm.js`, the npm bin link), /bin/sh reads line 2: it puts
// NODE_EXTRA_CA_CERTS aside in VACM_SH_CA ("=value", or "-" when unset) and runs node on this file
// without it. Node reads every certificate that variable names before any JavaScript runs (~80-100
// ms of every start on a machine that sets it), and vacm opens no TLS connection from node
// (docs/decisions.md "The launcher": undo this if it ever does). The lines below give the variable
// back to process.env before anything else, so every child (hooks, ssh, virsh, a node program run
// from vacm) sees it as the user set it. For JavaScript line 2 is a string and a comment:
// `node bin/vacm.js` and `npm start` run this file directly, paying for the certificates as before.
// The line uses only the shell's grammar (case), assignments and special built-ins, never an
// expansion of the value in a command's words; `exec` keeps the process (signals reach node).
// CommonJS rather than an ES module: `vacm ipc` then starts without node's ES module loader.
'use strict';

const saved = process.env.VACM_SH_CA;
if (saved !== undefined) {
  delete process.env.VACM_SH_CA;
  if (saved.startsWith('=') && process.env.NODE_EXTRA_CA_CERTS === undefined) process.env.NODE_EXTRA_CA_CERTS = saved.slice(1);
}

const { readFileSync, statSync } = require('node:fs');
const path = require('node:path');

// React runs in production mode (1.5x less CPU) unless told otherwise.
process.env.NODE_ENV ??= 'production';
const argv = process.argv.slice(2);
const DIST = path.join(__dirname, '..', 'dist');

async function load(file) {
  try {
    return await import(file);
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
 * A file made in one piece (scripts/nodeset-file.mjs, run by `npm run build`): dist/nodeset.cjs for
 * `vacm nodeset`, dist/cli/fast.cjs for `vacm ipc` and the completion callback, and
 * dist/platform/code-cache.cjs. Used when it is there and none of the files it was made from
 * (listed in its .inputs, relative to it) is newer.
 */
async function oneFile(file, inputs) {
  const full = path.join(DIST, file);
  try {
    const made = statSync(full).mtimeMs;
    const list = path.join(path.dirname(full), inputs);
    for (const f of readFileSync(list, 'utf8').split('\n')) {
      if (f && statSync(path.join(path.dirname(list), f)).mtimeMs > made) return undefined;
    }
    return file.endsWith('.cjs') ? require(full) : await import(require('node:url').pathToFileURL(full).href);
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
    const { installCodeCache, packagesDir } =
      (await oneFile('platform/code-cache.cjs', 'code-cache.inputs')) ?? (await import('../dist/platform/code-cache.js'));
    const only = [path.join(DIST, 'cli', 'fast.cjs')];
    const pkgs = packagesDir(__filename, 'ssh2');
    if (pkgs) only.push(pkgs);
    installCodeCache(only);
  } catch {
    /* not built, or no cache: compiled as usual */
  }
}

async function main() {
  let code;
  const one = argv[0] === 'nodeset' ? await oneFile('nodeset.cjs', 'nodeset.inputs') : undefined;
  if (one) code = await one.runNodesetFast(argv.slice(1), one.processIo());
  else if (argv[0] === 'ipc' || argv[0] === 'nodeset' || argv[0] === '__complete') {
    if (argv[0] === 'ipc') await codeCache();
    const fast = (await oneFile('cli/fast.cjs', 'fast.inputs')) ??
      Object.assign({}, ...(await Promise.all([load('../dist/cli/fast.js'), load('../dist/cli/io.js')])));
    code = await fast.runFast(argv, fast.processIo());
  }
  if (code === undefined) code = await (await load('../dist/cli/index.js')).main(argv);
  return code;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    // as an uncaught exception, not a rejection: node prints it and exits 1, as it always did
    process.nextTick(() => {
      throw err;
    });
  },
);
