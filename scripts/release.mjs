#!/usr/bin/env node
// `npm run release [-- OUTDIR]`: the air-gapped release tarball, vacm-<version>.tgz. Its package is
// vacm.mjs (the bundle: every dependency inside), the man page, the systemd units and the docs, with
// no dependencies, so `npm install -g ./vacm-<version>.tgz` needs no registry. `npm run build` first
// (the man page is generated from dist/). See docs/deploy.md.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.resolve(process.argv[2] ?? root);
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-release-'));
try {
  execFileSync(process.execPath, [path.join(root, 'scripts', 'bundle.mjs'), path.join(stage, 'vacm.mjs')], { stdio: 'inherit' });
  execFileSync(process.execPath, [path.join(root, 'scripts', 'man.mjs'), path.join(stage, 'vacm.1')], { stdio: 'inherit' });
  for (const f of ['README.md', 'LICENSE']) if (fs.existsSync(path.join(root, f))) fs.copyFileSync(path.join(root, f), path.join(stage, f));
  fs.cpSync(path.join(root, 'docs'), path.join(stage, 'docs'), { recursive: true });
  fs.cpSync(path.join(root, 'contrib'), path.join(stage, 'contrib'), { recursive: true });
  const release = {
    name: pkg.name,
    version: pkg.version,
    description: pkg.description,
    type: 'module',
    license: pkg.license,
    bin: { vacm: 'vacm.mjs' },
    man: ['./vacm.1'],
    engines: pkg.engines,
    files: ['vacm.mjs', 'vacm.1', 'docs', 'contrib', 'README.md'],
  };
  fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(release, null, 2) + '\n');
  fs.mkdirSync(outDir, { recursive: true });
  const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', outDir], { cwd: stage, encoding: 'utf8' }).trim().split('\n').pop();
  process.stdout.write(`${path.join(outDir, name)}\n`);
} finally {
  fs.rmSync(stage, { recursive: true, force: true });
}
