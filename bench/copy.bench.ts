/**
 * SSH:PUSH against pdcp (-R ssh) and clush -c on a private OpenSSH cluster on loopback
 * (test/fixtures/sshd.ts, one sshd per 16 addresses, user vacmssh): a 1 MB and a big file to 64 and
 * 256 nodes. vacm cold (a new `node bin/vacm.js ipc` process: hashes, connects to every node, copies),
 * vacm warm (the same request again in one engine: pooled connections), pdcp and clush -c,
 * interleaved; fanout 64 for the peers, the whole node set at once for vacm (`fanout: N`). The nodes
 * share this machine, so every tool writes the same destination file in a tmpfs (pdcp refuses
 * /dev/null: it truncates): the table measures the copy, not a disk. Everything is CPU-bound on a
 * 2-core machine (encryption on both ends, loopback TCP), so the big file is sized down by default
 * to keep the run near 3 minutes: 10 MB to 64 nodes and 2 MB to 256 (VACM_BENCH_COPY_FULL=1: 100 MB
 * to both). The memory line pushes 100 MB to 16 nodes once with a cold vacm and reads its peak RSS
 * (VmHWM); the RSS column shows the same for every row. One round (VACM_BENCH_RUNS for more).
 * Prints a table; never asserts.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine } from '../src/engine/engine.js';
import { parseConfig } from '../src/engine/config.js';
import { createBackends } from '../src/backends/index.js';
import { hasBinary, sshdAvailable, startSshCluster } from '../test/fixtures/sshd.js';
import { NOISY, cell, interleave, ratio, section, type Runs } from './measure.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PEER_FANOUT = 64;
const RUNS = Math.max(1, Number(process.env.VACM_BENCH_RUNS ?? 1) || 1);
const FULL = process.env.VACM_BENCH_COPY_FULL === '1';
const BIG_MB = (nodes: number) => (FULL ? 100 : nodes >= 256 ? 2 : 10);
const SIZES = (process.env.VACM_BENCH_SIZES ?? '64,256').split(',').map(Number).filter((n) => n > 0 && n <= 500);
const MB = 1000 * 1000;

interface Timed {
  secs: number;
  ok: boolean;
  /** peak RSS of the process in MiB (VmHWM), when it was read */
  rssMiB?: number;
}

/** The process's peak RSS so far, in MiB (VmHWM), or undefined once it is gone. */
function peakRss(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Run a process to its end: wall time, whether it exited 0 (and `check` holds), and its peak RSS. */
function timeProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv, check: (out: string) => boolean = () => true): Promise<Timed> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let rss: number | undefined;
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
    // VmHWM only grows: the last reading before the exit is the peak (read often enough to catch the end)
    const poll = setInterval(() => (rss = peakRss(child.pid!) ?? rss), 20);
    const kill = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.on('close', (code) => {
      clearInterval(poll);
      clearTimeout(kill);
      const ok = code === 0 && check(out);
      if (!ok && process.env.VACM_BENCH_DEBUG) console.error(`${cmd} exited ${code}: ${err}`);
      resolve({ secs: Number(process.hrtime.bigint() - t0) / 1e9, ok, rssMiB: rss });
    });
  });
}

function nodeSet(n: number): string {
  return `node[001-${String(n).padStart(3, '0')}]`;
}

export async function bench(): Promise<void> {
  if (!sshdAvailable()) {
    console.log('\n### copy: skipped (needs root, sshd and ssh-keygen: apt-get install openssh-server)');
    return;
  }
  if (!fs.existsSync('/usr/lib/openssh/sftp-server')) {
    console.log('\n### copy: skipped (needs /usr/lib/openssh/sftp-server: apt-get install openssh-sftp-server)');
    return;
  }
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'index.js'))) {
    console.log('\n### copy: skipped (vacm is not built: run npm run build)');
    return;
  }
  const havePdcp = hasBinary('pdcp');
  const haveClush = hasBinary('clush');
  const maxNodes = Math.max(...SIZES);
  // the sources live in memory (tmpfs) when it has room, so that the local disk is not measured either
  const srcDir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'vacm-bench-copy-'));
  const c = await startSshCluster({ count: maxNodes, perNode: false, width: 3 });
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-bench-state-'));
  // one destination for every node and tool, writable by the nodes' login user
  const dstDir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'vacm-bench-dst-'));
  fs.chmodSync(dstDir, 0o777);
  const dst = path.join(dstDir, 'copy.bin');
  try {
    const out = section(`copy: SSH:PUSH vs pdcp and clush -c — seconds, ${RUNS} round${RUNS > 1 ? 's' : ''}, into a tmpfs, kex curve25519-sha256`);
    const rows: string[][] = [];
    const files = new Map<number, string>();
    const fileOf = (mb: number) => {
      let f = files.get(mb);
      if (!f) {
        f = path.join(srcDir, `file-${mb}MB.bin`);
        const fd = fs.openSync(f, 'w');
        for (let i = 0; i < mb; i++) fs.writeSync(fd, crypto.randomBytes(MB));
        fs.closeSync(fd);
        files.set(mb, f);
      }
      return f;
    };
    for (const n of SIZES) {
      const yaml = c.vacmYaml().replace(/^fanout: \d+$/m, `fanout: ${n}`);
      const yamlPath = path.join(c.dir, `vacm-bench-${n}.yaml`);
      fs.writeFileSync(yamlPath, yaml);
      const set = nodeSet(n);
      for (const mb of [1, BIG_MB(n)]) {
        const src = fileOf(mb);
        const line = `SSH:PUSH:${set}:${src}:${dst}`;
        const completed = (o: string) => o.includes(`JOB_COMPLETED:ok=${n}:failed=0`);
        // the warm engine: its connections opened by a first push (unmeasured)
        const sd = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-bench-state-'));
        const b = createBackends();
        const engine = new Engine({ config: parseConfig(yaml), modules: b.modules, stateDir: sd, localName: 'bench-host' });
        await engine.start();
        await engine.submit(line).done;
        const failed = { cold: 0, warm: 0, pdcp: 0, clush: 0 };
        let rss = 0;
        const secs = async (k: keyof typeof failed, f: () => Promise<Timed>) => {
          const t = await f();
          if (!t.ok) failed[k]++;
          if (k === 'cold' && t.rssMiB) rss = Math.max(rss, t.rssMiB);
          return t.secs;
        };
        let r: Record<'cold' | 'warm' | 'pdcp' | 'clush', Runs | undefined>;
        try {
          r = await interleave({
            cold: () => secs('cold', () => timeProcess(process.execPath, [path.join(ROOT, 'bin', 'vacm.js'), 'ipc', '--no-gather', '--config', yamlPath, line], { VACM_STATE_DIR: stateDir }, completed)),
            warm: () => secs('warm', async () => {
              const t0 = process.hrtime.bigint();
              const v = await engine.submit(line).done;
              return { secs: Number(process.hrtime.bigint() - t0) / 1e9, ok: v.ok === n };
            }),
            pdcp: havePdcp ? () => secs('pdcp', () => timeProcess('pdcp', ['-R', 'ssh', '-f', String(PEER_FANOUT), '-w', set, src, dst], { PDSH_SSH_ARGS_APPEND: `-F ${c.sshConfig}` })) : undefined,
            clush: haveClush ? () => secs('clush', () => timeProcess('clush', ['-o', `-F ${c.sshConfig}`, '-f', String(PEER_FANOUT), '-w', set, '-c', src, '--dest', dst], {})) : undefined,
          }, RUNS);
        } finally {
          await engine.stop();
          fs.rmSync(sd, { recursive: true, force: true });
        }
        const f = (k: keyof typeof failed) => `${cell(r[k], 2)}${failed[k] ? ' (!)' : ''}`;
        rows.push([
          `${mb} MB${mb !== 1 && !FULL ? ' (sized down)' : ''}`, String(n), f('cold'), f('warm'), havePdcp ? f('pdcp') : 'n/a', haveClush ? f('clush') : 'n/a',
          ratio(r.cold, r.pdcp), ratio(r.warm, r.pdcp), ratio(r.cold, r.clush), rss ? `${rss.toFixed(0)} MiB` : 'n/a',
        ]);
      }
    }
    // memory: 100 MB to 16 nodes, one cold vacm (its RSS must not grow with the file: chunks are shared)
    let memory = 'n/a';
    {
      const n = Math.min(16, maxNodes);
      const yamlPath = path.join(c.dir, `vacm-bench-mem.yaml`);
      fs.writeFileSync(yamlPath, c.vacmYaml().replace(/^fanout: \d+$/m, `fanout: ${n}`));
      const t = await timeProcess(process.execPath, [path.join(ROOT, 'bin', 'vacm.js'), 'ipc', '--no-gather', '--config', yamlPath, `SSH:PUSH:${nodeSet(n)}:${fileOf(100)}:${dst}`], { VACM_STATE_DIR: stateDir }, (o) => o.includes(`JOB_COMPLETED:ok=${n}:failed=0`));
      memory = `100 MB to ${n} nodes (one cold vacm): ${t.secs.toFixed(1)} s, peak RSS ${t.rssMiB ? t.rssMiB.toFixed(0) : '?'} MiB${t.ok ? '' : ' (!) not every node completed'}`;
    }
    out.print(['file', 'nodes', 'vacm cold', 'vacm warm', 'pdcp', 'clush -c', 'cold/pdcp', 'warm/pdcp', 'cold/clush', 'vacm peak RSS'], rows, [
      `vacm cold: a new \`node bin/vacm.js ipc SSH:PUSH:...\` process (hashes the file, connects to every node, copies); vacm warm: the same push again in one engine (pooled connections). pdcp -R ssh and clush -c with fanout ${PEER_FANOUT}; vacm with fanout = nodes. Aim: cold ≤ 0.5× pdcp. Peak RSS: VmHWM of the cold vacm process. (!) marks a case where some node failed; ${NOISY} a ratio inside the noise.`,
      FULL ? 'Full size (VACM_BENCH_COPY_FULL=1): 100 MB to 64 and 256 nodes.' : 'Sized down: the big file is 10 MB to 64 nodes and 2 MB to 256 (100 MB is 6.4 GB / 25.6 GB of encryption per tool on 2 cores); VACM_BENCH_COPY_FULL=1 for 100 MB.',
      `Memory: ${memory}.`,
    ]);
  } finally {
    await c.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
    fs.rmSync(srcDir, { recursive: true, force: true });
    fs.rmSync(dstDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await bench();
