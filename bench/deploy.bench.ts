/**
 * The one-file install against the regular one: vacm.mjs (npm run bundle) and bin/vacm.js (dist/ and
 * node_modules), each started as a script would start it, from a directory with no vacm.yaml.
 * Prints the bundle's size and wall times (node -e '', bin and bundle interleaved); never asserts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cell, interleave, ratio, section } from './measure.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.VACM_BENCH_RUNS ?? 7);

/** Milliseconds one start takes. */
function time(file: string, args: string[], cwd: string): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [file, ...args], { cwd, env: { PATH: process.env.PATH, HOME: cwd, VACM_STATE_DIR: path.join(cwd, 'state') }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

export async function bench(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-bench-deploy-'));
  try {
    const out = section(`the one-file install (vacm.mjs) against npm install (bin/vacm.js): start-up ms, ${RUNS} interleaved rounds`);
    const bundle = path.join(dir, 'vacm.mjs');
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'bundle.mjs'), bundle], { stdio: 'ignore' });
    const bin = path.join(ROOT, 'bin', 'vacm.js');
    const cases: Array<[string, string[]]> = [
      ['--version', ['--version']],
      ['ipc NEXXUS:MODULES', ['ipc', 'NEXXUS:MODULES']],
      ['nodeset -c node[1-1000]', ['nodeset', '-c', 'node[1-1000]']],
      ['__complete (Tab after vacm ipc PO)', ['__complete', '--', 'ipc', 'PO']],
    ];
    const rows: string[][] = [];
    for (const [label, args] of cases) {
      const r = await interleave({ node: () => time('-e', [''], dir), bin: () => time(bin, args, dir), bundle: () => time(bundle, args, dir) }, RUNS, { warmup: 1 });
      rows.push([label, cell(r.node, 0), cell(r.bin, 0), cell(r.bundle, 0), ratio(r.bin, r.node), ratio(r.bundle, r.bin)]);
    }
    out.print(['command', "node -e '' ms", 'bin/vacm.js ms (dist + node_modules)', 'vacm.mjs ms (one file)', 'bin / node', 'vacm.mjs / bin'], rows, [
      `vacm.mjs is ${(fs.statSync(bundle).size / 1048576).toFixed(2)} MiB. Each command starts from a directory with no vacm.yaml.`,
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
