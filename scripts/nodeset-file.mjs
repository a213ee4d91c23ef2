#!/usr/bin/env node
// `npm run build` runs this after tsc: the launcher's fast paths, each in one file, because loading
// dist/ module by module costs more than the work of a `nodeset -e` or a `vacm ipc` request
// (docs/nodeset.md, docs/performance.md):
//   dist/nodeset.cjs  `vacm nodeset` (~17 modules, every package inside; CommonJS, as fast.cjs);
//   dist/cli/fast.cjs `vacm ipc` and `vacm __complete` (the engine and every module; npm packages
//                     stay in node_modules). It sits in dist/cli/ so that the paths its modules
//                     find from import.meta.url (package.json, themes) are the same as from dist/.
//                     CommonJS, not ESM: the launcher compiles it through the V8 code cache
//                     (src/platform/code-cache.ts), which Node 20 offers for scripts only.
//                     yargs-parser is inside too: it is an ES module, and node would load it
//                     (five files) through its ES module loader, which nothing else of `vacm ipc` uses;
//   dist/platform/code-cache.cjs  the code cache the launcher installs before it loads fast.cjs,
//                     CommonJS for the same reason (bin/vacm.js is CommonJS).
// Each has a .inputs list of the dist/ files it was made from, so that the launcher falls back to
// dist/ when one of them was rebuilt since (a `tsc` alone). Without esbuild (a devDependency) it
// writes nothing, and the launcher loads dist/ as before.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const files = [
  {
    out: path.join(dist, 'nodeset.cjs'),
    inputs: path.join(dist, 'nodeset.inputs'),
    options: {
      entryPoints: [path.join(dist, 'cli', 'nodeset-fast.js')],
      // the other fast-path commands are never reached from this file; yaml is loaded with
      // createRequire(import.meta.url), from node_modules, as from dist/
      external: ['./commands.js', './completion.js', 'yaml'],
      packages: 'bundle',
      // CommonJS, as fast.cjs: the launcher requires it without starting node's ES module loader
      format: 'cjs',
      define: { 'import.meta.url': '__vacmImportMetaUrl' },
      banner: { js: "const __vacmImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    },
  },
  {
    out: path.join(dist, 'cli', 'fast.cjs'),
    inputs: path.join(dist, 'cli', 'fast.inputs'),
    options: {
      // one graph for the command and its I/O, as bin/vacm.js would load from dist/cli/
      stdin: { contents: "export { runFast } from './fast.js';\nexport { processIo } from './io.js';\n", resolveDir: path.join(dist, 'cli'), loader: 'js' },
      // ssh2 finds its native binding next to itself: every package is loaded from node_modules,
      // but yaml, which is inside (its ~75 CommonJS files cost ~50 ms of CPU to load one by one, a
      // config file's first read: docs/performance.md row 2; still evaluated only on first use),
      // and yargs-parser (an ES module: see above)
      plugins: [packagesInside(['yaml', 'yargs-parser'])],
      // CommonJS has no import.meta: each use becomes the file's own URL (dist/cli/, as above)
      format: 'cjs',
      // import() of a package becomes require(): a script compiled from V8's code cache has no
      // dynamic import callback (and the one vm offers on Node 20 is experimental)
      supported: { 'dynamic-import': false },
      define: { 'import.meta.url': '__vacmImportMetaUrl' },
      banner: { js: "const __vacmImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    },
  },
  {
    out: path.join(dist, 'platform', 'code-cache.cjs'),
    inputs: path.join(dist, 'platform', 'code-cache.inputs'),
    options: { entryPoints: [path.join(dist, 'platform', 'code-cache.js')], format: 'cjs', packages: 'external' },
  },
];
/**
 * Bundle `names` (yaml, yargs-parser) into the file instead of leaving them in node_modules: the lazy
 * `createRequire(import.meta.url)('yaml')` of config.ts and clustershell-groups.ts becomes a
 * `require('yaml')` that esbuild resolves to its bundled copy (run on first call, as before); every
 * other package stays external.
 */
function packagesInside(names) {
  const lazy = "createRequire(import.meta.url)('yaml')";
  return {
    name: 'packages-inside',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => (names.includes(args.path) || args.path.startsWith('node:') ? undefined : { path: args.path, external: true }));
      build.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, (args) => {
        const text = fs.readFileSync(args.path, 'utf8');
        return text.includes(lazy) ? { contents: text.split(lazy).join("require('yaml')"), loader: 'js' } : undefined;
      });
    },
  };
}
/**
 * esbuild's CommonJS output wraps every default or namespace import of a CommonJS module (node's
 * own: `import fs from 'node:fs'` in 20 files) in `__toESM(require(...))`, which copies each of the
 * module's exports onto a new object with a getter, once per importing file: ~17 ms of CPU of a
 * `vacm ipc` start (docs/performance.md row 5). The objects are only ever read, and the modules so
 * imported (node's own, ssh2, ping, systeminformation) have all their exports when first imported,
 * so one object per module (and mode) serves every importer. If esbuild's helper ever looks different, the file is left as
 * esbuild wrote it (the same behaviour, only slower), with a warning.
 */
function onceEach(file) {
  const helper = 'var __toESM = (mod, isNodeMode, target) => (';
  const text = fs.readFileSync(file, 'utf8');
  if (!text.includes('__toESM(')) return;
  if (text.split(helper).length !== 2) {
    console.warn(`${path.relative(root, file)}: esbuild's __toESM helper is not the one expected; left as it is`);
    return;
  }
  const memo = [
    'var __vacmToESM = [new WeakMap(), new WeakMap()];',
    'var __toESM = (mod, isNodeMode) => {',
    '  if (mod == null || (typeof mod !== "object" && typeof mod !== "function")) return __toESMEach(mod, isNodeMode);',
    '  const seen = __vacmToESM[isNodeMode ? 1 : 0];',
    '  let ns = seen.get(mod);',
    '  if (ns === undefined) seen.set(mod, (ns = __toESMEach(mod, isNodeMode)));',
    '  return ns;',
    '};',
    'var __toESMEach = (mod, isNodeMode, target) => (',
  ].join('\n');
  fs.writeFileSync(file, text.replace(helper, memo));
}

// fast.mjs: what builds before the code cache made (an old launcher would find it stale anyway)
fs.rmSync(path.join(dist, 'cli', 'fast.mjs'), { force: true });
fs.rmSync(path.join(dist, 'nodeset.mjs'), { force: true });
for (const f of files) {
  fs.rmSync(f.out, { force: true });
  fs.rmSync(f.inputs, { force: true });
}
let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.warn('esbuild is not installed: vacm nodeset and vacm ipc load dist/ module by module (a little slower to start)');
  process.exit(0);
}
for (const f of files) {
  const result = await esbuild.build({
    outfile: f.out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    ...f.options,
    metafile: true,
    absWorkingDir: root,
    logLevel: 'warning',
  });
  if (f.out.endsWith('.cjs')) onceEach(f.out);
  // dist/'s own files (what a rebuild changes); the packages inside come from node_modules as they were
  const used = Object.keys(result.metafile.inputs)
    .filter((i) => i !== '<stdin>')
    .map((i) => path.relative(path.dirname(f.inputs), path.resolve(root, i)))
    .filter((i) => !path.relative(dist, path.resolve(path.dirname(f.inputs), i)).startsWith('..'));
  fs.writeFileSync(f.inputs, used.join('\n') + '\n');
}
