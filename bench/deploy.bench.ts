/**
 * The one-file install against the regular one: vacm.mjs (npm run bundle) and bin/vacm.js (dist/ and
 * node_modules), each started as a script would start it, from a directory with no vacm.yaml.
 * Prints the bundle's size and median wall times; never asserts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, table } from './table.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.VACM_BENCH_RUNS ?? 7);

function time(file: string, args: string[], cwd: string): number {
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [file, ...args], { cwd, env: { PATH: process.env.PATH, HOME: cwd, VACM_STATE_DIR: path.join(cwd, 'state') }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${file} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(ms);
}

export async function bench(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-bench-deploy-'));
  try {
    const bundle = path.join(dir, 'vacm.mjs');
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'bundle.mjs'), bundle], { stdio: 'ignore' });
    const bin = path.join(ROOT, 'bin', 'vacm.js');
    const cases: Array<[string, string[]]> = [
      ['--version', ['--version']],
      ['ipc NEXXUS:MODULES', ['ipc', 'NEXXUS:MODULES']],
      ['nodeset -c node[1-1000]', ['nodeset', '-c', 'node[1-1000]']],
      ['__complete (Tab after vacm ipc PO)', ['__complete', '--', 'ipc', 'PO']],
    ];
    const node = time('-e', [''], dir);
    const rows = cases.map(([label, args]) => [label, `${time(bin, args, dir).toFixed(0)} ms`, `${time(bundle, args, dir).toFixed(0)} ms`]);
    console.log(`\n## The one-file install (vacm.mjs, ${(fs.statSync(bundle).size / 1048576).toFixed(2)} MiB) against npm install (median of ${RUNS}; node -e '' alone: ${node.toFixed(0)} ms)\n`);
    console.log(table(['command', 'bin/vacm.js (dist + node_modules)', 'vacm.mjs (one file)'], rows));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
