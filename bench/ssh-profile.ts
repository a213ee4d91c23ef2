/**
 * Where a cold `vacm ipc SSH:EXEC:node[001-016]:true` spends its CPU: one --cpu-prof run (written to
 * VACM_PROF_DIR) and, interleaved, the user+system CPU and wall of vacm (this build, and the
 * VACM_BENCH_BEFORE launcher if set) and pdsh, from /usr/bin/time. Then the part after start-up
 * alone, in this process: 16 handshakes, `true` and the pool's close, CPU from process.cpuUsage()
 * (ssh2 already loaded), this build's pool and, interleaved, the one of VACM_BENCH_BEFORE's dist/.
 * VACM_BENCH_COLD=0 runs only the in-process rounds. Prints; never asserts.
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
/** A one file older than its inputs makes bin/vacm.js take its slow fallback (a test's `tsc` does that): say so. */
function staleOneFile(root: string): boolean {
  try {
    const made = fs.statSync(path.join(root, 'dist', 'cli', 'fast.cjs')).mtimeMs;
    const list = path.join(root, 'dist', 'cli', 'fast.inputs');
    return fs.readFileSync(list, 'utf8').split('\n').some((f) => f !== '' && fs.statSync(path.resolve(path.dirname(list), f)).mtimeMs > made);
  } catch {
    return true;
  }
}
for (const root of [ROOT, ...(process.env.VACM_BENCH_BEFORE ? [path.resolve(path.dirname(process.env.VACM_BENCH_BEFORE), '..')] : [])]) {
  if (staleOneFile(root)) console.log(`warning: ${root}/dist/cli/fast.cjs is missing or older than its inputs: that vacm runs its slow fallback (npm run build)`);
}
const loadAtStart = os.loadavg().map((l) => l.toFixed(2)).join(' ');
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
  // VACM_BENCH_COLD=0: only the in-process rounds below
  for (let r = 0; r < (process.env.VACM_BENCH_COLD === '0' ? 0 : RUNS); r++) {
    for (const [k, argv] of Object.entries(cases)) {
      const t = spawnSync('/usr/bin/time', ['-f', '%U %S %e', ...argv], { env: k === 'pdsh' ? pdshEnv : env, encoding: 'utf8' });
      const [u, s, e] = t.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
      (res[k] ??= { cpu: [], wall: [], bad: 0 }).cpu.push(u + s);
      res[k].wall.push(e);
      if (t.status !== 0) res[k].bad++;
    }
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  console.log(`load at start ${loadAtStart}, at end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; ${N} nodes, ${RUNS} interleaved runs; CPU = user+system of the process tree (s), wall (s)`);
  for (const [k, v] of Object.entries(res)) console.log(`${k.padEnd(7)} cpu ${med(v.cpu).toFixed(2)} (${Math.min(...v.cpu).toFixed(2)}-${Math.max(...v.cpu).toFixed(2)})  wall ${med(v.wall).toFixed(2)} (${Math.min(...v.wall).toFixed(2)}-${Math.max(...v.wall).toFixed(2)})${v.bad ? ` failed ${v.bad}` : ''}`);
  if (res.pdsh && res.vacm) console.log(`row 1 aim (cold wall ≤ 1.0× pdsh): ${med(res.vacm.wall) <= med(res.pdsh.wall) ? 'meets' : 'misses'} (${(med(res.vacm.wall) / med(res.pdsh.wall)).toFixed(2)}×${Math.min(...res.vacm.wall) <= Math.max(...res.pdsh.wall) && Math.min(...res.pdsh.wall) <= Math.max(...res.vacm.wall) ? ' ~, the runs overlap' : ''})`);

  // the handshakes alone, in this process: this build's pool and the one before, interleaved
  const pools: Record<string, string> = { vacm: path.join(ROOT, 'dist', 'backends', 'ssh', 'pool.js') };
  if (process.env.VACM_BENCH_BEFORE) pools.before = path.join(path.dirname(process.env.VACM_BENCH_BEFORE), '..', 'dist', 'backends', 'ssh', 'pool.js');
  const { parseSshSection } = await import(path.join(ROOT, 'dist', 'backends', 'ssh', 'settings.js'));
  const mods = Object.fromEntries(await Promise.all(Object.entries(pools).map(async ([k, f]) => [k, await import(f)] as const)));
  const hs: Record<string, number[]> = {};
  const hw: Record<string, number[]> = {};
  for (let r = -1; r < RUNS; r++) {
    // ABAB, then BABA: neither build always goes first after the pause
    for (const [k, m] of r % 2 ? Object.entries(mods) : Object.entries(mods).reverse()) {
      const pool = new m.SshPool({ section: parseSshSection({ config: c.sshConfig, agent: false }) });
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await Promise.all(c.nodes.map((n) => pool.run(n.name, {}, 'true')));
      // wall: the connects to the last exit status (the handshakes' round trips wait on sshd's processes)
      const wall = performance.now() - t0;
      await pool.close();
      const d = process.cpuUsage(c0);
      if (r >= 0) (hs[k] ??= []).push((d.user + d.system) / 1000);
      if (r >= 0) (hw[k] ??= []).push(wall);
      await new Promise((res) => setTimeout(res, 100));
    }
  }
  const range = (v: number[]) => `${med(v).toFixed(1)} (${Math.min(...v).toFixed(1)}-${Math.max(...v).toFixed(1)})`;
  console.log(`in one process, ssh2 loaded: ${N} handshakes + \`true\` + close, CPU ms, and wall ms from the connects to the last exit (median, range of ${RUNS} interleaved rounds after a warm-up)`);
  for (const [k, v] of Object.entries(hs)) console.log(`${k.padEnd(7)} cpu ${range(v)} ms  wall ${range(hw[k])} ms`);
  console.log(`load at end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  await c.stop();
  fs.rmSync(stateDir, { recursive: true, force: true });
}
