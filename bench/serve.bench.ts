/**
 * vacm serve's SSH front door (issue 13): `vacm ipc --attach ssh://... 'SSH:EXEC:node[001-N]:true'`
 * as a fresh process each time against a standing serve whose pool is warm, side by side with pdsh
 * and clush, on the private OpenSSH cluster (test/fixtures/sshd.ts); NEXXUS:NODE_LIST's round trip
 * through the door from a fresh process and from an open session (the vacm subsystem); the bare start
 * of `node` with and without NODE_EXTRA_CA_CERTS, which this machine sets (~150 ms of every fresh
 * process); the state stream an attached client gets from a serve of 4096 simulated nodes; and real
 * attached dashboards (tmux) on it: their CPU and bytes, and the serve's CPU with 0, 1 and 8 of them.
 * VACM_BENCH_SERVE_SSH=0 / VACM_BENCH_SERVE_SIM=0 leave out either half.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ssh2 from 'ssh2';
import { hasBinary, sshdAvailable, startSshCluster } from '../test/fixtures/sshd.js';
import { NOISY, cell, interleave, ratio, runs, section, versusAim, type Runs } from './measure.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'vacm.js');
const FANOUT = 64;
const SIZES = (process.env.VACM_BENCH_SIZES ?? '16,64,256').split(',').map(Number).filter((n) => n > 0 && n <= 500);
const RUNS = Math.max(1, Number(process.env.VACM_BENCH_RUNS ?? 3) || 3);

interface Serve {
  port: number;
  home: string;
  key: string;
  known: string;
  pid: number;
  stop: () => Promise<void>;
}

/** A vacm serve with one admin user `bench`; a HOME whose ~/.ssh holds its key and the serve's host key. */
async function startServe(yaml: string, dir: string, args: string[] = []): Promise<Serve> {
  const key = path.join(dir, 'bench-key');
  if (!fs.existsSync(key)) spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const pub = fs.readFileSync(key + '.pub', 'utf8').trim();
  const stateDir = fs.mkdtempSync(path.join(dir, 'serve-state-'));
  const cfg = path.join(dir, `serve-${path.basename(stateDir)}.yaml`);
  fs.writeFileSync(cfg, `${yaml}\nserve:\n  listen: 127.0.0.1:0\n  max_sessions: 256\n  users:\n    - { name: bench, role: admin, keys: ["${pub}"] }\n`);
  const child = spawn(process.execPath, [BIN, 'serve', '--config', cfg, ...args], { env: { ...process.env, VACM_STATE_DIR: stateDir }, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  const end = Date.now() + 60_000;
  let port = 0;
  while (!port) {
    const m = /ssh front door on 127\.0\.0\.1:(\d+)/.exec(log);
    if (m) port = Number(m[1]);
    else if (Date.now() > end || child.exitCode !== null) throw new Error(`serve did not start: ${log}`);
    else await new Promise((r) => setTimeout(r, 100));
  }
  const home = fs.mkdtempSync(path.join(dir, 'home-'));
  fs.mkdirSync(path.join(home, '.ssh'), { mode: 0o700 });
  fs.copyFileSync(key, path.join(home, '.ssh', 'id_ed25519'));
  fs.chmodSync(path.join(home, '.ssh', 'id_ed25519'), 0o600);
  const hostPub = fs.readFileSync(path.join(stateDir, 'serve_host_ed25519_key.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const known = path.join(home, '.ssh', 'known_hosts');
  fs.writeFileSync(known, `[127.0.0.1]:${port} ${hostPub}\n`);
  return {
    port, home, key, known, pid: child.pid!,
    stop: async () => {
      const done = new Promise((r) => child.once('close', r));
      child.kill('SIGTERM');
      await done;
    },
  };
}

/** Wall seconds of a process run to its end; ok when it exited 0. */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ secs: number; ok: boolean }> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'ignore'] });
    const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(kill);
      resolve({ secs: Number(process.hrtime.bigint() - t0) / 1e9, ok: code === 0 });
    });
  });
}

function withoutCa(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/** An open subsystem session: submit a line, resolve when its terminal event arrives. */
async function openSession(s: Serve): Promise<{ roundTrip: (line: string) => Promise<number>; bytes: () => number; subscribe: (view?: string) => void; close: () => void }> {
  const client = new ssh2.Client();
  await new Promise<void>((resolve, reject) => {
    client.on('ready', () => resolve());
    client.on('error', reject);
    client.connect({ host: '127.0.0.1', port: s.port, username: 'bench', privateKey: fs.readFileSync(s.key), hostVerifier: () => true });
  });
  const ch = await new Promise<ssh2.ClientChannel>((resolve, reject) => client.subsys('vacm', (err, c) => (err ? reject(err) : resolve(c))));
  let buf = '';
  let bytes = 0;
  let waiting: ((o: { type: string; event?: string }) => void) | undefined;
  ch.on('data', (d: Buffer) => {
    bytes += d.length;
    buf += d.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (waiting && line.includes('"event":"JOB_COMPLETED"')) waiting({ type: 'event', event: 'JOB_COMPLETED' });
    }
  });
  return {
    roundTrip: (line) => new Promise((resolve) => {
      const t0 = process.hrtime.bigint();
      waiting = () => {
        waiting = undefined;
        resolve(Number(process.hrtime.bigint() - t0) / 1e6);
      };
      ch.write(JSON.stringify({ op: 'submit', line }) + '\n');
    }),
    bytes: () => bytes,
    subscribe: (view) => {
      if (view) ch.write(JSON.stringify({ op: 'view', nodes: view }) + '\n');
      ch.write('{"op":"subscribe"}\n');
    },
    close: () => client.end(),
  };
}

function cpuSeconds(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 1/100 s
}

/** bytes read by a process so far (/proc/PID/io rchar: its socket to the serve, once started) */
function bytesRead(pid: number): number {
  const m = /rchar: (\d+)/.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/**
 * `n` real `vacm --attach` dashboards, each in its own session of a private tmux server (its own -L
 * socket: no other tmux is touched), up and showing the 4096 nodes; `stop` kills that server only.
 */
let tmuxSeq = 0;

async function dashboards(s: Serve, n: number): Promise<{ pids: number[]; stop: () => void }> {
  // a server of its own each time: the last one may still be going away when the next case starts
  const sock = `vacm-bench-serve-${process.pid}-${++tmuxSeq}`;
  const tmux = (args: string[]) => execFileSync('tmux', ['-L', sock, ...args], { encoding: 'utf8' });
  const pids: number[] = [];
  const stop = () => {
    try {
      if (n > 0) execFileSync('tmux', ['-L', sock, 'kill-server'], { stdio: 'ignore' });
    } catch {
      /* none started */
    }
  };
  try {
    // one after the other: eight snapshots of 4096 nodes at once on a loaded 2-core machine is a
    // start-up storm, not the steady state measured here
    for (let i = 0; i < n; i++) {
      const state = fs.mkdtempSync(path.join(s.home, 'client-'));
      tmux(['-f', '/dev/null', 'new-session', '-d', '-s', `d${i}`, '-x', '200', '-y', '60', '-c', ROOT,
        `unset CI; env HOME='${s.home}' SSH_AUTH_SOCK= VACM_STATE_DIR='${state}' ${process.execPath} ${BIN} --attach ssh://bench@127.0.0.1:${s.port}; sleep 600`]);
      const end = Date.now() + 180_000;
      while (!tmux(['capture-pane', '-p', '-t', `d${i}`]).includes('4096 nodes')) {
        if (Date.now() > end) throw new Error(`dashboard ${i} did not show its nodes within 180 s`);
        await new Promise((r) => setTimeout(r, 250));
      }
      const shell = Number(tmux(['list-panes', '-t', `d${i}`, '-F', '#{pane_pid}']).trim());
      const kid = fs.readFileSync(`/proc/${shell}/task/${shell}/children`, 'utf8').trim().split(/\s+/).map(Number).find((k) => k > 0 && fs.readFileSync(`/proc/${k}/cmdline`, 'utf8').includes('vacm.js'));
      if (kid === undefined) throw new Error(`dashboard ${i}: no vacm process in its pane`);
      pids.push(kid);
    }
  } catch (err) {
    stop();
    throw err;
  }
  return { pids, stop };
}

export async function bench(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-bench-serve-'));
  try {
    // ---- node's own start, with and without this machine's NODE_EXTRA_CA_CERTS ----
    const start = section(`serve: the start of a fresh node process — seconds, ${RUNS * 3} interleaved rounds`);
    const ns = await interleave({
      withCa: async () => (await timed(process.execPath, ['-e', ''], {})).secs,
      withoutCa: async () => (await timed(process.execPath, ['-e', ''], withoutCa())).secs,
    }, RUNS * 3, { warmup: 1 });
    start.print(['case', 'seconds'], [
      [`node -e '' (NODE_EXTRA_CA_CERTS=${process.env.NODE_EXTRA_CA_CERTS ? 'set' : 'unset'})`, cell(ns.withCa)],
      ['node -e \'\' without NODE_EXTRA_CA_CERTS', cell(ns.withoutCa)],
    ], ['Every `vacm ipc` below is a fresh process and pays this start.']);

    if (process.env.VACM_BENCH_SERVE_SSH === '0' || !sshdAvailable()) {
      console.log(`\n### serve: SSH:EXEC skipped (${process.env.VACM_BENCH_SERVE_SSH === '0' ? 'VACM_BENCH_SERVE_SSH=0' : 'needs root, sshd and ssh-keygen'})`);
    } else {
      const c = await startSshCluster({ count: Math.max(...SIZES), perNode: false, width: 3 });
      const yaml = c.vacmYaml().replace(/^fanout: \d+$/m, `fanout: ${FANOUT}`);
      const s = await startServe(yaml, dir);
      const havePdsh = hasBinary('pdsh');
      const haveClush = hasBinary('clush');
      try {
        const attach = (line: string, env: NodeJS.ProcessEnv = {}) => timed(process.execPath, [BIN, 'ipc', '--no-gather', '--attach', `ssh://bench@127.0.0.1:${s.port}`, line], { HOME: s.home, SSH_AUTH_SOCK: '', ...env });
        // open the serve's pool to every node once
        await attach(`SSH:EXEC:node[001-${String(Math.max(...SIZES)).padStart(3, '0')}]:true`);
        const out = section(`serve: vacm ipc --attach (fresh process, warm serve) vs pdsh and clush — seconds, ${RUNS} interleaved rounds, fanout ${FANOUT}`);
        const rows: string[][] = [];
        for (const n of SIZES) {
          const set = `node[001-${String(n).padStart(3, '0')}]`;
          const failed = { attach: 0, noCa: 0, pdsh: 0, clush: 0 };
          const sec = async (k: keyof typeof failed, p: Promise<{ secs: number; ok: boolean }>) => {
            const t = await p;
            if (!t.ok) failed[k]++;
            return t.secs;
          };
          const r: Record<'attach' | 'noCa' | 'pdsh' | 'clush', Runs | undefined> = await interleave({
            attach: () => sec('attach', attach(`SSH:EXEC:${set}:true`)),
            noCa: () => sec('noCa', timed(process.execPath, [BIN, 'ipc', '--no-gather', '--attach', `ssh://bench@127.0.0.1:${s.port}`, `SSH:EXEC:${set}:true`], { ...withoutCa(), HOME: s.home, SSH_AUTH_SOCK: '' })),
            pdsh: havePdsh ? () => sec('pdsh', timed('pdsh', ['-R', 'ssh', '-f', String(FANOUT), '-w', set, 'true'], { PDSH_SSH_ARGS_APPEND: `-F ${c.sshConfig}` })) : undefined,
            clush: haveClush ? () => sec('clush', timed('clush', ['-o', `-F ${c.sshConfig}`, '-f', String(FANOUT), '-w', set, '-b', 'true'], {})) : undefined,
          }, RUNS);
          const f = (k: keyof typeof failed) => `${cell(r[k])}${failed[k] ? ' (!)' : ''}`;
          rows.push([String(n), f('attach'), f('noCa'), havePdsh ? f('pdsh') : 'n/a', haveClush ? f('clush') : 'n/a', ratio(r.attach, r.pdsh), ratio(r.noCa, r.pdsh), ratio(r.attach, r.clush)]);
        }
        out.print(['nodes', 'attach', 'attach, no CA certs', 'pdsh', 'clush', 'attach/pdsh', 'no-CA/pdsh', 'attach/clush'], rows, [
          `attach: \`node bin/vacm.js ipc --attach ssh://bench@127.0.0.1:PORT 'SSH:EXEC:node[001-N]:true'\`, a fresh process each time, against a serve whose pool is open; "no CA certs": the same without NODE_EXTRA_CA_CERTS. Aim: ≤ 0.1× pdsh. (!) marks a run that did not exit 0; ${NOISY} a ratio inside the noise.`,
        ]);

        // ---- NEXXUS:NODE_LIST round trip ----
        const rt = section(`serve: NEXXUS:NODE_LIST:node001 round trip through the SSH door — milliseconds, ${RUNS * 5} rounds`);
        const sess = await openSession(s);
        await sess.roundTrip('NEXXUS:NODE_LIST:node001');
        const open: number[] = [];
        const fresh: number[] = [];
        for (let i = 0; i < RUNS * 5; i++) {
          open.push(await sess.roundTrip('NEXXUS:NODE_LIST:node001'));
          fresh.push((await attach('NEXXUS:NODE_LIST:node001')).secs * 1000);
        }
        sess.close();
        const ro = runs(open);
        rt.print(['from', 'ms', 'aim ≤ 5 ms'], [
          ['an open session (vacm subsystem, submit to JOB_COMPLETED)', cell(ro, 2), versusAim(ro, 5, 'lower')],
          ['a fresh `vacm ipc --attach` process (start, SSH handshake, login, request)', cell(runs(fresh), 1), versusAim(runs(fresh), 5, 'lower')],
        ], ['The fresh process includes node\'s start (first table) and the SSH handshake; the open session is the door itself.']);
      } finally {
        await s.stop();
        await c.stop();
      }
    }

    // ---- the state stream of an attached client at 4096 simulated nodes ----
    if (process.env.VACM_BENCH_SERVE_SIM === '0') {
      console.log('\n### serve: 4096 simulated nodes skipped (VACM_BENCH_SERVE_SIM=0)');
      return;
    }
    const sim = await startServe('cluster: sim4096\nnodes: []\n', dir, ['--demo', '--nodes', '4096']);
    try {
      const st = section('serve: state stream to an attached client, 4096 simulated nodes — 20 s each');
      const rows: string[][] = [];
      for (const [label, view] of [['every node\'s stats (no view)', undefined], ['a screen\'s worth: view of 40 nodes', 'sim[0001-0040]']] as const) {
        const sess = await openSession(sim);
        sess.subscribe(view);
        await new Promise((r) => setTimeout(r, 3000)); // the snapshot
        const b0 = sess.bytes();
        const c0 = cpuSeconds(sim.pid);
        await new Promise((r) => setTimeout(r, 20_000));
        const kbs = (sess.bytes() - b0) / 20 / 1024;
        const cpu = ((cpuSeconds(sim.pid) - c0) / 20) * 100;
        sess.close();
        rows.push([label, kbs.toFixed(1), kbs <= 50 ? 'meets' : 'misses', cpu.toFixed(1)]);
      }
      st.print(['client', 'KB/s received', 'aim ≤ 50 KB/s', 'serve CPU % (one core)'], rows, [
        'Measured with a bare subsystem client (ssh2), subscribed, after its snapshot; the serve\'s CPU includes the simulation of 4096 nodes and its pollers.',
      ], { legend: false });

      // ---- real attached dashboards (tmux): client CPU and bytes, serve CPU with 0/1/8 of them ----
      if (!hasBinary('tmux')) console.log('\n### serve: attached dashboards skipped (needs tmux)');
      else {
        const SECS = Number(process.env.VACM_BENCH_DASH_SECS ?? 15) || 15;
        const dash = section(`serve: real \`vacm --attach\` dashboards on 4096 simulated nodes — ${SECS} s each, ${RUNS === 1 ? 1 : 2} interleaved rounds`);
        const counts = [0, 1, 8];
        const serveCpu = new Map<number, number[]>(counts.map((c) => [c, []]));
        const clientCpu: number[] = [];
        const clientKbs: number[] = [];
        for (let round = 0; round < (RUNS === 1 ? 1 : 2); round++) {
          for (const n of counts) {
            let d: Awaited<ReturnType<typeof dashboards>>;
            try {
              d = await dashboards(sim, n);
            } catch (err) {
              console.log(`\n(${n} dashboards: ${(err as Error).message}; that case is left out of this round)`);
              continue;
            }
            try {
              await new Promise((r) => setTimeout(r, 3000)); // past the snapshot's first frames
              const c0 = d.pids.map(cpuSeconds);
              const b0 = d.pids.map(bytesRead);
              const s0 = cpuSeconds(sim.pid);
              await new Promise((r) => setTimeout(r, SECS * 1000));
              serveCpu.get(n)!.push(((cpuSeconds(sim.pid) - s0) / SECS) * 100);
              if (n === 1) {
                clientCpu.push(((cpuSeconds(d.pids[0]) - c0[0]) / SECS) * 100);
                clientKbs.push((bytesRead(d.pids[0]) - b0[0]) / SECS / 1024);
              } else if (n > 1) {
                // every one of the 8: their median is one sample per round
                const each = d.pids.map((p, i) => ((cpuSeconds(p) - c0[i]) / SECS) * 100);
                clientCpu.push(runs(each).median);
              }
            } finally {
              d.stop();
            }
          }
        }
        const cc = runs(clientCpu);
        const kb = runs(clientKbs);
        dash.print(['what', 'measured', 'aim'], [
          ['client CPU, % of one core (1 dashboard; median of 8 with 8)', cell(cc, 1), `≤ 5 % ${versusAim(cc, 5, 'lower')}`],
          ['client bytes read, KB/s (rchar: its socket to the serve)', cell(kb, 1), `≤ 50 KB/s ${versusAim(kb, 50, 'lower')}`],
          ...counts.map((n) => [`serve CPU %, ${n} dashboard${n === 1 ? '' : 's'} attached`, cell(runs(serveCpu.get(n)!), 1), '']),
        ], ['A dashboard: `vacm --attach ssh://bench@127.0.0.1:PORT` in a 200×60 tmux pane, its overview of 4096 cells; CPU from /proc/PID/stat (user + system), bytes from /proc/PID/io. The serve\'s CPU includes the simulation and pollers of 4096 nodes.']);
      }
    } finally {
      await sim.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
