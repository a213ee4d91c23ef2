#!/usr/bin/env node
// `npm run build` runs this after tsc: dist/nodeset.mjs, the `vacm nodeset` fast path in one file
// (bin/vacm.js uses it), because loading its ~17 modules one by one costs more than the work of a
// `nodeset -e` (docs/nodeset.md). dist/nodeset.inputs lists what it was made from, so that the
// launcher falls back to dist/ when one of them was rebuilt since (a `tsc` alone).
// Without esbuild (a devDependency) it writes nothing, and the launcher loads dist/ as before.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'nodeset.mjs');
const inputs = path.join(root, 'dist', 'nodeset.inputs');
fs.rmSync(out, { force: true });
fs.rmSync(inputs, { force: true });
let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.warn('esbuild is not installed: vacm nodeset loads dist/ module by module (a little slower to start)');
  process.exit(0);
}
const result = await esbuild.build({
  entryPoints: [path.join(root, 'dist', 'cli', 'nodeset-fast.js')],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // the other fast-path commands are never reached from this file; yaml is loaded with
  // createRequire(import.meta.url), from node_modules, as from dist/
  external: ['./commands.js', './completion.js', 'yaml'],
  packages: 'bundle',
  metafile: true,
  absWorkingDir: root,
  logLevel: 'warning',
});
// dist/'s own files (what a rebuild changes); the packages inside come from node_modules as they were
const used = Object.keys(result.metafile.inputs)
  .map((f) => path.relative(path.join(root, 'dist'), path.resolve(root, f)))
  .filter((f) => !f.startsWith('..'));
fs.writeFileSync(inputs, used.join('\n') + '\n');
