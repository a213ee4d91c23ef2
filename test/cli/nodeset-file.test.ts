/**
 * dist/nodeset.cjs and dist/cli/fast.cjs (scripts/nodeset-file.mjs, made by `npm run build`): the
 * launcher's one-file `vacm nodeset` and `vacm ipc` answer as the commands do from dist/, and the
 * launcher leaves them for dist/ when a file they were made from is newer.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/engine.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FILE = path.join(root, 'dist', 'nodeset.cjs');
const FAST = path.join(root, 'dist', 'cli', 'fast.cjs');
/** what a `vacm ipc` from the one file may load of vacm besides it: the launcher, the code cache and what it imports */
const BESIDE_FAST = ['bin/vacm.js', 'dist/platform/code-cache.cjs'];
/** the one file, and nothing else of dist/ but the code cache (the hook's lines come in any order) */
function expectOneFile(loaded: readonly string[]): void {
  expect(loaded).toContain('dist/cli/fast.cjs');
  expect(loaded.filter((f) => f !== 'dist/cli/fast.cjs' && !BESIDE_FAST.includes(f))).toEqual([]);
}
const reason = fs.existsSync(FILE) ? undefined : 'dist/nodeset.cjs is not built (npm run build)';

/** the files of vacm (not of node_modules) a launcher run of `vacm nodeset ARGS` loads, through a resolve hook (ES modules) and Module.prototype.load (CommonJS) */
function run(args: string[], env: NodeJS.ProcessEnv = {}, cmd = 'nodeset') {
  const dir = tempDir('vacm-nsfile-');
  fs.writeFileSync(path.join(dir, 'hook.mjs'), 'export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.startsWith("file:")) process.stderr.write("LOAD " + r.url + "\\n"); return r; }\n');
  fs.writeFileSync(path.join(dir, 'reg.mjs'), `import { register } from 'node:module'; register(${JSON.stringify(path.join(dir, 'hook.mjs'))}, import.meta.url);\n`);
  fs.writeFileSync(path.join(dir, 'req.cjs'), 'const M = require("node:module"); const load = M.prototype.load; M.prototype.load = function (f) { process.stderr.write("LOAD " + require("node:url").pathToFileURL(f).href + "\\n"); return load.call(this, f); };\n');
  const r = spawnSync(process.execPath, ['--require', path.join(dir, 'req.cjs'), '--import', path.join(dir, 'reg.mjs'), path.join(root, 'bin', 'vacm.js'), cmd, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir, VACM_CONFIG: '', ...env } });
  // a CommonJS file can be named by both hooks (the launcher is: node resolves its main file through the hooks too)
  const loaded = [...new Set(r.stderr.split('\n').filter((l) => l.startsWith('LOAD ')).map((l) => path.relative(root, fileURLToPath(l.slice(5)))))]
    .filter((f) => !f.split(path.sep).includes('node_modules'));
  return { out: r.stdout, err: r.stderr.split('\n').filter((l) => l && !l.startsWith('LOAD ')).join('\n'), code: r.status, loaded };
}

describe.skipIf(!!reason)(`vacm nodeset from dist/nodeset.cjs${reason ? ` (skipped: ${reason})` : ''}`, () => {
  // other tests rebuild dist/ with tsc alone (which leaves nodeset.cjs older than its inputs, and the
  // launcher rightly falls back): make it fresh, as npm run build does
  beforeAll(() => {
    execFileSync(process.execPath, [path.join(root, 'scripts', 'nodeset-file.mjs')], { cwd: root, stdio: 'ignore' });
  }, 60_000);

  it.each([
    [['-e', 'n[8-11],a%sb[1-2]'], 'a%sb1 a%sb2 n8 n9 n10 n11\n', 0],
    [['-S', '\\n', '-e', 'n[098-100]'], 'n098\nn099\nn100\n', 0],
    [['-f', 'n[1-4]', '-x', 'n2'], 'n[1,3-4]\n', 0],
    [['-c', 'n[1-'], '', 1],
  ])('nodeset %j', (args, out, code) => {
    const r = run(args);
    expect(r.out).toBe(out);
    expect(r.code).toBe(code);
    expect(r.loaded).toEqual(['bin/vacm.js', 'dist/nodeset.cjs']);
  });

  it('a file of dist/ rebuilt since (tsc alone) sends the launcher back to dist/, with the same answer', () => {
    const input = path.join(root, 'dist', 'cli', 'nodeset-cmd.js');
    const { atime, mtime } = fs.statSync(input);
    const later = new Date(fs.statSync(FILE).mtimeMs + 60_000);
    fs.utimesSync(input, later, later);
    try {
      const r = run(['-f', 'n[1-4]', '-x', 'n2']);
      expect(r.out).toBe('n[1,3-4]\n');
      expect(r.loaded).toContain('dist/cli/nodeset-cmd.js');
      expect(r.loaded).not.toContain('dist/nodeset.cjs');
    } finally {
      fs.utimesSync(input, atime, mtime);
    }
  });

  it('--help still goes to the full command line', () => {
    const r = run(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('vacm nodeset');
  });
});

describe.skipIf(!!reason)(`vacm ipc from dist/cli/fast.cjs${reason ? ` (skipped: ${reason})` : ''}`, () => {
  beforeAll(() => {
    execFileSync(process.execPath, [path.join(root, 'scripts', 'nodeset-file.mjs')], { cwd: root, stdio: 'ignore' });
  }, 60_000);

  it('answers a request from the one file, as from dist/', () => {
    const r = run(['NEXXUS:MODULES'], {}, 'ipc');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^NEXXUS:1:MODULE:POWER:[A-Z,]*\bOFF\b/m);
    expect(r.out).toMatch(/^NEXXUS:1:JOB_COMPLETED:ok=\d+:failed=0$/m);
    expectOneFile(r.loaded);
  });

  it('reads a vacm.yaml with the yaml package inside the one file, not loaded from node_modules', () => {
    const dir = tempDir('vacm-fastyaml-');
    const file = path.join(dir, 'vacm.yaml');
    fs.writeFileSync(file, 'cluster: t\nnodes:\n  - names: n[1-3]\n    vars: { host: "10.0.0.{n}" }\n');
    const r = run(['NEXXUS:GET_VAR:n[1-3]:host'], { VACM_CONFIG: file, NODE_DEBUG: 'module' }, 'ipc');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^NEXXUS:1:VAR:n3:host:10\.0\.0\.3$/m);
    expectOneFile(r.loaded);
    // NODE_DEBUG=module names every CommonJS file node looks up: none of the yaml package's
    expect(r.err).not.toMatch(/node_modules[\\/]yaml/);
  });

  it('a bad request is the same usage error (exit 2) from the one file', () => {
    const r = run(['POWER:FRY:n1'], {}, 'ipc');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/ERR_/);
    expectOneFile(r.loaded);
  });

  it('a file of dist/ rebuilt since sends the launcher back to dist/, with the same answer', () => {
    const input = path.join(root, 'dist', 'engine', 'engine.js');
    const { atime, mtime } = fs.statSync(input);
    const later = new Date(fs.statSync(FAST).mtimeMs + 60_000);
    fs.utimesSync(input, later, later);
    try {
      const fromOne = run(['NEXXUS:MODULES'], { VACM_CONFIG: '' }, 'ipc');
      expect(fromOne.loaded).toContain('dist/engine/engine.js');
      expect(fromOne.loaded).not.toContain('dist/cli/fast.cjs');
      fs.utimesSync(input, atime, mtime);
      const again = run(['NEXXUS:MODULES'], {}, 'ipc');
      expect(again.loaded).toContain('dist/cli/fast.cjs');
      expect(again.out).toBe(fromOne.out);
    } finally {
      fs.utimesSync(input, atime, mtime);
    }
  });
});
