/**
 * Running as a service: the systemd units pass `systemd-analyze verify` and carry the hardening the
 * issue asks for; `vacm serve` (the real process) reloads its config on SIGHUP — a good config
 * replaces the running one, a broken one is reported and the running one kept — and logs one line a
 * message, with journald's priority prefixes when JOURNAL_STREAM says stderr is the journal.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { hasBinary } from '../e2e/tmux.js';
import { serveLogger } from '../../src/cli/serve.js';
import { manPage } from '../../src/cli/manpage.js';
import { builtinModules } from '../../src/backends/index.js';
import { until } from '../helpers/wait.js';

const UNITS = ['vacm-serve.service', 'vacm-agent.service'];
const unitText = (u: string) => fs.readFileSync(path.join(ROOT, 'contrib', 'systemd', u), 'utf8');

describe('contrib/systemd units', () => {
  it.each(UNITS)('%s is hardened and restarts on failure', (u) => {
    const t = unitText(u);
    for (const line of ['ProtectSystem=strict', 'NoNewPrivileges=true', 'Restart=on-failure', 'PrivateTmp=true', 'UMask=0077']) expect(t).toMatch(new RegExp(`^${line}$`, 'm'));
    expect(t).toMatch(/^StateDirectory=vacm(-agent)?$/m);
    expect(t).toMatch(/^ExecStart=\/usr\/local\/bin\/vacm (serve|agent) /m);
  });

  it('vacm-serve reloads with SIGHUP and keeps its state in the StateDirectory', () => {
    const t = unitText('vacm-serve.service');
    expect(t).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    expect(t).toMatch(/^Environment=VACM_STATE_DIR=%S\/vacm$/m);
  });

  describe.skipIf(!hasBinary('systemd-analyze'))('systemd-analyze verify (needs systemd)', () => {
    let dir: string;
    beforeAll(() => {
      dir = tempDir('vacm-units-');
      // the man page the units point to (Documentation=man:vacm(1)), where man finds it
      fs.mkdirSync(path.join(dir, 'man', 'man1'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'man', 'man1', 'vacm.1'), manPage({ version: 'test', date: '2026-12-01', modules: builtinModules() }));
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it.each(UNITS)('%s verifies clean', (u) => {
      // verify checks that ExecStart's program exists: point it at one that does (the only change)
      const bin = path.join(dir, 'vacm');
      fs.writeFileSync(bin, '#!/bin/sh\n', { mode: 0o755 });
      const file = path.join(dir, u);
      fs.writeFileSync(file, unitText(u).replaceAll('/usr/local/bin/vacm', bin));
      const r = spawnSync('systemd-analyze', ['verify', file], { env: { ...process.env, MANPATH: path.join(dir, 'man'), SYSTEMD_LOG_COLOR: '0' }, encoding: 'utf8' });
      expect(r.stderr + r.stdout).toBe('');
      expect(r.status).toBe(0);
    });
  });
});

describe('serve logging', () => {
  const when = () => new Date('2026-12-01T08:00:00.000Z');
  it('under systemd: a priority prefix, no time (journald stamps it), one line a message', () => {
    const out: string[] = [];
    const log = serveLogger((s) => out.push(s), { JOURNAL_STREAM: '8:12345' }, when);
    log('info', 'started');
    log('warn', 'no collector');
    log('error', 'bad\nsecond line\x1b[31m');
    log('event', 'NEXXUS:0:NODE_DOWN:n1:timeout');
    expect(out).toEqual(['<6>started\n', '<4>no collector\n', '<3>bad | second line?[31m\n', '<5>event NEXXUS:0:NODE_DOWN:n1:timeout\n']);
  });

  it('elsewhere: the time and the level, still one line a message', () => {
    const out: string[] = [];
    serveLogger((s) => out.push(s), {}, when)('info', 'a\r\nb');
    expect(out).toEqual(['2026-12-01T08:00:00.000Z info a? | b\n']);
  });
});

describe('vacm serve and SIGHUP (real process)', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  let err = '';
  beforeAll(() => {
    dir = tempDir('vacm-hup-');
  });
  afterEach(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child = undefined;
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const yaml = (nodes: string) => `cluster: hup\nnodes:\n  - names: ${nodes}\n    vars: { sim: "true", power: sim }\nping:\n  enabled: false\n`;

  it('reloads a good config, keeps running on a broken one, and stops cleanly on SIGTERM — journald lines throughout', async () => {
    const cfg = path.join(dir, 'vacm.yaml');
    fs.writeFileSync(cfg, yaml('n[1-2]'));
    err = '';
    child = spawn(process.execPath, [BIN, 'serve', '--config', cfg], { env: { ...process.env, VACM_STATE_DIR: path.join(dir, 'state'), JOURNAL_STREAM: '8:1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child!.on('close', (code) => r(code)));
    await until(() => `start; stderr:\n${err}`, () => err.includes('<6>vacm serve: cluster hup, 2 nodes'), 30_000);

    fs.writeFileSync(cfg, yaml('n[1-5]'));
    child.kill('SIGHUP');
    await until(() => `reload; stderr:\n${err}`, () => err.includes('<6>SIGHUP: config reloaded'), 30_000);
    expect(err).toContain('<6>vacm serve: cluster hup, 5 nodes');

    fs.writeFileSync(cfg, 'nodes: [\n');
    child.kill('SIGHUP');
    await until(() => `refused reload; stderr:\n${err}`, () => /<3>SIGHUP: ERR_CONFIG: .*; still running with the previous config\n/.test(err), 30_000);
    expect(child.exitCode).toBe(null);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(err).toContain('<6>SIGTERM: stopping\n<6>stopped cleanly\n');
    // every line is one message with its priority: nothing else reached the journal
    for (const line of err.trimEnd().split('\n')) expect(line).toMatch(/^<[3-7]>\S/);
    // the saved state is the reloaded cluster's
    const saved = JSON.parse(fs.readFileSync(path.join(dir, 'state', 'serve-snapshot.json'), 'utf8')) as { nodes: { name: string }[] };
    expect(saved.nodes.map((n) => n.name)).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
  }, 60_000);

  it('a config that loads but does not start (its /metrics port is taken) falls back to the running one', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const cfg = path.join(dir, 'fallback.yaml');
      fs.writeFileSync(cfg, yaml('m[1-2]'));
      err = '';
      child = spawn(process.execPath, [BIN, 'serve', '--config', cfg], { env: { ...process.env, VACM_STATE_DIR: path.join(dir, 'state2'), JOURNAL_STREAM: '8:1' }, stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr!.on('data', (d) => (err += d));
      const exited = new Promise<number | null>((r) => child!.on('close', (code) => r(code)));
      await until(() => `start; stderr:\n${err}`, () => err.includes('<6>vacm serve: cluster hup, 2 nodes'), 30_000);
      fs.writeFileSync(cfg, yaml('m[1-3]') + `metrics:\n  listen: 127.0.0.1:${port}\n`);
      child.kill('SIGHUP');
      await until(() => `fallback; stderr:\n${err}`, () => err.includes('; back to the previous one\n'), 30_000);
      expect(err).toMatch(/^<3>SIGHUP: the new config does not start \(ERR_\w+: .*\); back to the previous one$/m);
      await until(() => `running again with the previous config; stderr:\n${err}`, () => (err.match(/<6>vacm serve: cluster hup, 2 nodes/g) ?? []).length === 2, 30_000);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      busy.close();
    }
  }, 60_000);
});
