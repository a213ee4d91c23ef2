#!/usr/bin/env node
// `npm run bundle`: one self-contained vacm.mjs for head nodes with no npm registry (docs/deploy.md).
// Every npm dependency is inlined; ssh2's optional native parts (cpu-features, its sshcrypto.node
// binding) are left out, so ssh2 takes its pure-JS path; the themes and the version, which the
// installed package reads from its folder, are put inside. Runs with plain node >= 20.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.resolve(process.argv[2] ?? path.join(root, 'vacm.mjs'));
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const themes = Object.fromEntries(
  fs.readdirSync(path.join(root, 'themes')).filter((f) => f.endsWith('.json')).sort()
    .map((f) => [f.replace(/\.json$/, ''), JSON.parse(fs.readFileSync(path.join(root, 'themes', f), 'utf8'))]),
);

// Native add-ons cannot be inlined: ssh2 requires both inside try/catch and falls back without them.
// ink's React DevTools connection (only with DEV=true) is not shipped either: ink catches its absence.
const leaveOut = {
  name: 'leave-out-native',
  setup(b) {
    b.onResolve({ filter: /^cpu-features$|\.node$|^react-devtools-core$/ }, (a) => ({ path: a.path, namespace: 'left-out' }));
    b.onLoad({ filter: /.*/, namespace: 'left-out' }, (a) => ({
      contents: `throw new Error(${JSON.stringify(`${a.path} is left out of vacm.mjs `)});`,
      loader: 'js',
    }));
  },
};

// src/ loads yaml and drawille lazily with createRequire(import.meta.url), which a bundler cannot
// follow; in the bundle the same lazy require() is one esbuild resolves and inlines.
const lazyRequire = {
  name: 'lazy-require',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/].*\.tsx?$/ }, async (a) => {
      let text = await fs.promises.readFile(a.path, 'utf8');
      if (text.includes('createRequire(import.meta.url)')) {
        text = text
          .replace(/createRequire\(import\.meta\.url\)\(/g, 'require(')
          .replace(/const require = createRequire\(import\.meta\.url\);/g, '');
        if (text.includes('createRequire(import.meta.url)')) throw new Error(`${a.path}: a createRequire the bundle does not know how to inline`);
      }
      return { contents: text, loader: a.path.endsWith('x') ? 'tsx' : 'ts' };
    });
  },
};

const result = await build({
  entryPoints: [path.join(root, 'scripts', 'bundle-entry.ts')],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  legalComments: 'eof',
  plugins: [leaveOut, lazyRequire],
  // CommonJS dependencies call require() for Node's own modules, and some read __dirname (ssh2's
  // poly1305 loader): the banner gives them both, under names the bundle's own code cannot take
  // React and its reconciler ship a development build too: vacm.mjs carries only the production one
  // (0.3 MiB less to compile at every start); NODE_ENV=development needs the npm install
  define: {
    VACM_BUNDLED: JSON.stringify({ version: pkg.version, themes }),
    __dirname: '__vacm_dirname',
    __filename: '__vacm_filename',
    'process.env.NODE_ENV': '"production"',
  },
  banner: {
    js: [
      '#!/usr/bin/env node',
      "import { createRequire as __vacm_createRequire } from 'node:module';",
      "import { fileURLToPath as __vacm_fileURLToPath } from 'node:url';",
      'const require = __vacm_createRequire(import.meta.url);',
      'const __vacm_filename = __vacm_fileURLToPath(import.meta.url);',
      "const __vacm_dirname = __vacm_filename.slice(0, __vacm_filename.lastIndexOf('/'));",
    ].join('\n'),
  },
  logLevel: 'warning',
  metafile: true,
});
fs.chmodSync(out, 0o755);
const bytes = fs.statSync(out).size;
process.stdout.write(`${path.relative(process.cwd(), out) || out}: ${(bytes / 1024 / 1024).toFixed(2)} MiB, ${Object.keys(result.metafile.inputs).length} modules\n`);
