/**
 * The air-gapped install: `npm run bundle`'s vacm.mjs copied alone into an empty directory (no
 * node_modules anywhere above it) runs with plain node — --version, ipc on sim nodes, the dashboard
 * in tmux, SSH:EXEC against the real sshd fixture — and the release tarball installs with
 * `npm install -g` with no registry to reach. Peers (tmux, sshd): run under the lock.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { Tmux, hasBinary, tmuxAvailable } from '../e2e/tmux.js';
import { sshdAvailable, startSshCluster, type SshCluster } from '../fixtures/sshd.js';

const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Run `file` with node in `cwd`, with only PATH, HOME and the given variables in the environment. */
function run(file: string, args: string[], opts: { cwd: string; env?: Record<string, string>; timeoutMs?: number }): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, ...args], {
      cwd: opts.cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: opts.cwd, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out, err });
    });
  });
}

/** No node_modules in `dir` or any directory above it: nothing but the file can be loaded. */
function noNodeModulesAbove(dir: string): boolean {
  for (let d = dir; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'node_modules'))) return false;
    if (path.dirname(d) === d) return true;
  }
}

const SIM_YAML = `cluster: airgap
nodes:
  - names: box[1-4]
    groups: [rack1]
    vars: { sim: "true", power: sim }
`;

describe('vacm.mjs, the one-file install', () => {
  let dir: string;
  let bundle: string;

  beforeAll(() => {
    dir = tempDir('vacm-bundle-');
    bundle = path.join(dir, 'vacm.mjs');
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'bundle.mjs'), bundle], { cwd: ROOT, stdio: 'pipe' });
    fs.writeFileSync(path.join(dir, 'vacm.yaml'), SIM_YAML);
  }, 120_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is one file in a directory with no node_modules anywhere above it', () => {
    expect(fs.readdirSync(dir).sort()).toEqual(['vacm.mjs', 'vacm.yaml']);
    expect(fs.statSync(bundle).mode & 0o111).not.toBe(0);
    expect(noNodeModulesAbove(dir)).toBe(true);
    // ssh2's native parts are left out: neither cpu-features nor sshcrypto.node is looked for on disk
    const text = fs.readFileSync(bundle, 'utf8');
    expect(text.startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(text).not.toMatch(/require\(["'][^"']*sshcrypto\.node["']\)/);
  });

  it('--version prints the package version', async () => {
    const r = await run(bundle, ['--version'], { cwd: dir });
    expect(r.err).toBe('');
    expect(r.out).toBe(`${VERSION}\n`);
    expect(r.code).toBe(0);
  });

  it('ipc answers for the sim nodes of ./vacm.yaml: NEXXUS:MODULES, POWER:STATUS, SYSSTAT:GET, and nodeset folds', async () => {
    const state = path.join(dir, 'state');
    const mods = await run(bundle, ['ipc', 'NEXXUS:MODULES'], { cwd: dir, env: { VACM_STATE_DIR: state } });
    expect(mods.err).toBe('');
    expect(mods.out).toMatch(/^NEXXUS:1:MODULE:SSH:EXEC[,:]/m);
    expect(mods.code).toBe(0);
    const r = await run(bundle, ['ipc', 'POWER:STATUS:@rack1', 'SYSSTAT:GET:box[1-4]'], { cwd: dir, env: { VACM_STATE_DIR: state } });
    expect(r.err).toBe('');
    for (const n of ['box1', 'box2', 'box3', 'box4']) {
      expect(r.out).toMatch(new RegExp(`^POWER:1:POWER:${n}:(on|off)$`, 'm'));
      expect(r.out).toMatch(new RegExp(`^SYSSTAT:2:STAT:${n}:load1=[\\d.]+:`, 'm'));
    }
    expect(r.out).toContain('POWER:1:JOB_COMPLETED:ok=4:failed=0');
    expect(r.out).toContain('SYSSTAT:2:JOB_COMPLETED:ok=4:failed=0');
    expect(r.code).toBe(0);
    const ns = await run(bundle, ['nodeset', '-f', 'box1', 'box2', 'box3'], { cwd: dir });
    expect(ns.out).toBe('box[1-3]\n');
  });

  it('loads its lazy parts from inside: systeminformation (local SYSSTAT), fping and the ping package (ICMP_ECHO), yaml', async () => {
    const local = path.join(dir, 'local');
    fs.mkdirSync(local);
    const me = (await run(bundle, ['ipc', 'NEXXUS:NODE_LIST'], { cwd: local })).out.match(/^NEXXUS:1:NODELIST:(\S+)$/m)?.[1];
    expect(me).toBeTruthy();
    const stats = await run(bundle, ['ipc', 'SYSSTAT:GET:*'], { cwd: local, env: { VACM_STATE_DIR: path.join(local, 'state') } });
    expect(stats.err).toBe('');
    expect(stats.out).toMatch(new RegExp(`^SYSSTAT:1:STAT:${me}:load1=[\\d.]+:.*:mem_total_mib=\\d+:`, 'm'));
    // the ping package (ping.method: ping) and fping (auto, when installed), through a vacm.yaml (yaml)
    for (const method of ['ping', 'auto']) {
      const cfg = path.join(local, `${method}.yaml`);
      fs.writeFileSync(cfg, `nodes:\n  - names: lo[1-2]\n    vars: { host: "127.0.0.{n}" }\nping:\n  method: ${method}\n`);
      const r = await run(bundle, ['ipc', '--config', cfg, 'ICMP_ECHO:PING:lo[1-2]'], { cwd: local, env: { VACM_STATE_DIR: path.join(local, 'state') } });
      expect(r.err, method).toBe('');
      expect(r.out, method).toMatch(/^ICMP_ECHO:1:PING:lo1:up:[\d.]+ms$/m);
      expect(r.out, method).toContain('ICMP_ECHO:1:JOB_COMPLETED:ok=2:failed=0');
    }
  }, 60_000);

  it('--help and an unknown option go through yargs inside the bundle', async () => {
    const h = await run(bundle, ['ipc', '--help'], { cwd: dir });
    expect(h.out).toContain('--parallel');
    expect(h.code).toBe(0);
    const bad = await run(bundle, ['ipc', '--no-such-option', 'NEXXUS:JOBS'], { cwd: dir });
    expect(bad.err).toMatch(/^ERR_USAGE: Unknown argument/m);
    expect(bad.code).toBe(2);
  });

  describe.skipIf(!tmuxAvailable())('--demo in tmux (needs tmux: apt-get install tmux)', () => {
    const tmux = new Tmux('bundle');
    afterAll(() => tmux.kill());

    it('shows the simulated cluster with the bundled themes, and q quits with status 0', async () => {
      // from a directory with no vacm.yaml: the demo cluster and this machine only
      const cwd = path.join(dir, 'tui');
      fs.mkdirSync(cwd);
      tmux.start(`${process.execPath} ../vacm.mjs --demo --nodes 16`, { cwd, env: { VACM_STATE_DIR: path.join(cwd, 'state'), HOME: cwd } });
      const s = await tmux.waitFor((x) => /sim001 on .* \d+\.\d\d/.test(x) && x.includes('sim016'), 30_000);
      expect(s).toContain('vacm · demo');
      expect(s).toMatch(/17 nodes: \d+ up/);
      expect(tmux.alternateScreenOn()).toBe(true);
      // the detail pane's load chart is drawn with drawille (a lazy require inside the bundle)
      await tmux.waitFor(/[\u2801-\u28ff]/);
      // the header names the theme; t cycles to the next one the bundle carries (without them: mono only)
      expect(s).toMatch(/default\s+\d\d:\d\d/);
      tmux.keys('t');
      await tmux.waitFor(/light\s+\d\d:\d\d/);
      tmux.keys('q');
      const end = await tmux.waitFor('VACM_EXITED');
      expect(end).toContain('VACM_EXITED 0');
    }, 60_000);
  });

  describe.skipIf(!sshdAvailable())('SSH:EXEC against the real sshd fixture (needs root and openssh-server)', () => {
    let cluster: SshCluster;
    beforeAll(async () => {
      cluster = await startSshCluster({ count: 3 });
    }, 60_000);
    afterAll(async () => cluster?.stop());

    it('runs hostname on every node over ssh2\'s pure-JS crypto, output gathered, exit 0', async () => {
      const r = await run(bundle, ['ipc', '--config', cluster.vacmYamlPath, `SSH:EXEC:${cluster.folded}:hostname`], { cwd: dir, env: { VACM_STATE_DIR: path.join(dir, 'ssh-state') } });
      expect(r.err).toBe('');
      for (const n of cluster.nodes) expect(r.out).toContain(`SSH:1:OUTPUT:${n.name}:stdout:${n.name}`);
      expect(r.out).toContain(`SSH:1:JOB_COMPLETED:ok=${cluster.nodes.length}:failed=0`);
      expect(r.code).toBe(0);
    }, 60_000);
  });
});

describe.skipIf(!hasBinary('npm'))('the release tarball (npm run release), installed with npm install -g and no registry', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('vacm-release-');
    // the man page is generated from dist/: build first, as `npm run release` does
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' });
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'release.mjs'), dir], { cwd: ROOT, stdio: 'pipe' });
  }, 180_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('installs offline (empty cache, unreachable registry) and the installed vacm runs, with its man page', async () => {
    const tgz = fs.readdirSync(dir).filter((f) => /^vacm-.*\.tgz$/.test(f));
    expect(tgz).toEqual([`vacm-${VERSION}.tgz`]);
    const prefix = path.join(dir, 'prefix');
    const cache = path.join(dir, 'cache');
    fs.mkdirSync(cache);
    // 127.0.0.1:9 (discard) answers nothing: any registry request would fail the install
    execFileSync('npm', ['install', '-g', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, '--cache', cache, '--registry', 'http://127.0.0.1:9/', `./${tgz[0]}`], { cwd: dir, stdio: 'pipe', env: { ...process.env, npm_config_userconfig: path.join(dir, 'no-npmrc') } });
    const installed = path.join(prefix, 'lib', 'node_modules', 'vacm');
    expect(fs.readdirSync(installed).sort()).toEqual(['README.md', 'contrib', 'docs', 'package.json', 'vacm.1', 'vacm.mjs']);
    expect(fs.existsSync(path.join(prefix, 'share', 'man', 'man1', 'vacm.1'))).toBe(true);
    const bin = path.join(prefix, 'bin', 'vacm');
    const v = spawnSyncText(bin, ['--version'], dir);
    expect(v).toBe(`${VERSION}\n`);
    const r = await run(fs.realpathSync(bin), ['ipc', 'NEXXUS:NODE_LIST'], { cwd: dir, env: { VACM_STATE_DIR: path.join(dir, 'state') } });
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^NEXXUS:1:NODELIST:\S+$/m);
    expect(r.code).toBe(0);
  }, 120_000);
});

function spawnSyncText(file: string, args: string[], cwd: string): string {
  return execFileSync(file, args, { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd } });
}
