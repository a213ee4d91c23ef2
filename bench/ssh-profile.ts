/**
 * Where a cold `vacm ipc SSH:EXEC:node[001-016]:true` spends its CPU: one --cpu-prof run (written to
 * VACM_PROF_DIR) and, interleaved, the user+system CPU and wall of vacm (this build, and the
 * VACM_BENCH_BEFORE launcher if set) and pdsh, from /usr/bin/time. Prints; never asserts.
 * Run under the peers lock: flock /tmp/vacm-peers.lock node --import tsx bench/ssh-profile.ts
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSshCluster } from '../test/fixtures/sshd.js';
import { vacmCommand } from './measure.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.env.VACM_BENCH_NODES ?? 16);
const RUNS = Number(process.env.VACM_BENCH_RUNS ?? 7);
const c = await startSshCluster({ count: N, perNode: false, width: 3 });
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-prof-state-'));
try {
  const yamlPath = path.join(c.dir, 'vacm-bench.yaml');
  fs.writeFileSync(yamlPath, c.vacmYaml().replace(/^fanout: \d+$/m, 'fanout: 64'));
  const set = `node[001-${String(N).padStart(3, '0')}]`;
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', VACM_STATE_DIR: stateDir, ...(process.env.VACM_CODE_CACHE ? { VACM_CODE_CACHE: process.env.VACM_CODE_CACHE } : {}) };
  const vacm = (bin: string, extra: string[] = []) => vacmCommand(bin, ['ipc', '--no-gather', '--config', yamlPath, `SSH:EXEC:${set}:true`], extra).flat();
  const cases: Record<string, string[]> = {
    vacm: vacm(path.join(ROOT, 'bin', 'vacm.js')),
    ...(process.env.VACM_BENCH_BEFORE ? { before: vacm(process.env.VACM_BENCH_BEFORE) } : {}),
    pdsh: ['pdsh', '-R', 'ssh', '-f', '64', '-w', set, 'true'],
  };
  const pdshEnv = { ...env, PDSH_SSH_ARGS_APPEND: `-F ${c.sshConfig}` };
  if (process.env.VACM_PROF_DIR) {
    const [prof, ...profArgs] = vacm(path.join(ROOT, 'bin', 'vacm.js'), ['--cpu-prof', '--cpu-prof-interval', '200', '--cpu-prof-dir', process.env.VACM_PROF_DIR]);
    execFileSync(prof, profArgs, { env, stdio: 'ignore' });
  }
  const res: Record<string, { cpu: number[]; wall: number[]; bad: number }> = {};
  for (let r = 0; r < RUNS; r++) {
    for (const [k, argv] of Object.entries(cases)) {
      const t = spawnSync('/usr/bin/time', ['-f', '%U %S %e', ...argv], { env: k === 'pdsh' ? pdshEnv : env, encoding: 'utf8' });
      const [u, s, e] = t.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
      (res[k] ??= { cpu: [], wall: [], bad: 0 }).cpu.push(u + s);
      res[k].wall.push(e);
      if (t.status !== 0) res[k].bad++;
    }
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  console.log(`load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; ${N} nodes, ${RUNS} interleaved runs; CPU = user+system of the process tree (s), wall (s)`);
  for (const [k, v] of Object.entries(res)) console.log(`${k.padEnd(7)} cpu ${med(v.cpu).toFixed(2)} (${Math.min(...v.cpu).toFixed(2)}-${Math.max(...v.cpu).toFixed(2)})  wall ${med(v.wall).toFixed(2)} (${Math.min(...v.wall).toFixed(2)}-${Math.max(...v.wall).toFixed(2)})${v.bad ? ` failed ${v.bad}` : ''}`);
} finally {
  await c.stop();
  fs.rmSync(stateDir, { recursive: true, force: true });
}
