/** A real `vacm serve` with its SSH front door on loopback, users with fresh keys, and OpenSSH's ssh against it. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN } from './cli.js';

/** the one program check (test/helpers/peers.ts), here for the serve tests that import it from this file */
export { hasBinary } from './peers.js';
import { until } from './wait.js';

export interface ServeFixture {
  dir: string;
  stateDir: string;
  port: number;
  child: ChildProcess;
  log: () => string;
  /** key file of a user (made with ssh-keygen) */
  key: (user: string) => string;
  /** known_hosts naming the serve's real key */
  knownHosts: string;
  /** a HOME whose ~/.ssh has `user`'s key as id_ed25519 and the serve in known_hosts (vacm's client) */
  home: (user: string) => string;
  /** stop the serve (SIGTERM, or SIGKILL: `hard`) and start it again on the same config and state dir */
  restart: (opts?: { hard?: boolean }) => Promise<void>;
  stop: () => Promise<void>;
}

export interface ServeUserSpec {
  name: string;
  role: 'viewer' | 'operator' | 'admin';
  from?: string[];
}

export async function startServe(users: ServeUserSpec[], opts: { nodes?: string; extra?: string; args?: string[]; listen?: string; env?: Record<string, string> } = {}): Promise<ServeFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-door-'));
  const stateDir = path.join(dir, 'state');
  const keys = new Map<string, string>();
  const keygen = (name: string) => {
    const f = path.join(dir, `key-${name}`);
    if (!fs.existsSync(f)) spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', f]);
    keys.set(name, f);
    return fs.readFileSync(f + '.pub', 'utf8').trim();
  };
  const userYaml = users.map((u) => `    - { name: ${u.name}, role: ${u.role}, keys: ["${keygen(u.name)}"]${u.from ? `, from: [${u.from.join(', ')}]` : ''} }`).join('\n');
  keygen('stranger');
  fs.writeFileSync(path.join(dir, 'vacm.yaml'), `cluster: doortest
nodes:
  - names: ${opts.nodes ?? 'sim[001-008]'}
    vars: { power: sim, sim: true }
serve:
  listen: ${opts.listen ?? '127.0.0.1:0'}
${opts.extra ?? ''}  users:
${userYaml}
`);
  let child!: ChildProcess;
  let log = '';
  let port = 0;
  const launch = async () => {
    log = '';
    child = spawn(process.execPath, [BIN, 'serve', '--config', path.join(dir, 'vacm.yaml'), ...(opts.args ?? [])], { env: { ...process.env, ...opts.env, VACM_STATE_DIR: stateDir }, stdio: ['ignore', 'ignore', 'pipe'] });
    const c = child;
    c.stderr!.on('data', (d) => (log += d));
    port = await until('serve listening', () => {
      const m = /ssh front door on 127\.\d+\.\d+\.\d+:(\d+)/.exec(log);
      if (c.exitCode !== null) throw new Error(`serve exited: ${log}`);
      return m ? Number(m[1]) : undefined;
    }, 30_000);
    await until('serve socket', () => (log.includes('local socket') ? true : undefined), 10_000);
  };
  await launch();
  const halt = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) {
      const done = new Promise((r) => child.once('close', r));
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(t);
    }
  };
  const pub = fs.readFileSync(path.join(stateDir, 'serve_host_ed25519_key.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const knownHosts = path.join(dir, 'known_hosts');
  fs.writeFileSync(knownHosts, `[127.0.0.1]:${port} ${pub}\n`);
  const home = (user: string) => {
    const h = path.join(dir, `home-${user}`);
    fs.mkdirSync(path.join(h, '.ssh'), { recursive: true, mode: 0o700 });
    fs.copyFileSync(keys.get(user)!, path.join(h, '.ssh', 'id_ed25519'));
    fs.chmodSync(path.join(h, '.ssh', 'id_ed25519'), 0o600);
    fs.copyFileSync(knownHosts, path.join(h, '.ssh', 'known_hosts'));
    return h;
  };
  const stop = async () => {
    await halt('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const f: ServeFixture = {
    dir, stateDir, port, child, log: () => log, key: (u) => keys.get(u)!, knownHosts, home, stop,
    restart: async (o = {}) => {
      await halt(o.hard ? 'SIGKILL' : 'SIGTERM');
      await launch();
      f.port = port;
      f.child = child;
      fs.writeFileSync(knownHosts, `[127.0.0.1]:${port} ${pub}\n`);
    },
  };
  return f;
}

/** OpenSSH's ssh against the door: exit status, stdout, stderr. */
export function ssh(f: ServeFixture, user: string, args: string[], opts: { key?: string; stdin?: string; bind?: string; timeoutMs?: number; extra?: string[] } = {}): Promise<{ code: number | null; out: string; err: string }> {
  const argv = [
    '-F', '/dev/null', '-p', String(f.port), '-i', opts.key ?? f.key(user), '-o', `UserKnownHostsFile=${f.knownHosts}`, '-o', 'StrictHostKeyChecking=yes',
    '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'LogLevel=ERROR', ...(opts.bind ? ['-b', opts.bind] : []), ...(opts.extra ?? []), `${user}@127.0.0.1`, ...args,
  ];
  return new Promise((resolve) => {
    const child = spawn('ssh', argv, { env: { ...process.env, SSH_AUTH_SOCK: '' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out, err });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}
