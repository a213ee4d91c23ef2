/**
 * The audit log under attack (issue 10, items 9 and 10): a symlinked audit.jsonl, a spoofed
 * $SUDO_USER, two processes whose job ids collide, refusals, an outcome that cannot be written and
 * logrotate. In-process engines where the engine is the point, the real binary where the process
 * (its uid, loginuid, pid, environment, signals) is.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeEngine, run, tempDir } from '../helpers/engine.js';
import { BIN, vacm } from '../helpers/cli.js';
import { runIpc } from '../../src/cli/ipc.js';
import { controllingTty, ttyName, userNameOf } from '../../src/engine/audit.js';
import type { ModuleDef } from '../../src/protocol/module.js';
import { gatheredJobLines } from '../../src/ui/format.js';

const asRoot = process.geteuid?.() === 0;
const LOCAL = os.hostname().split('.')[0] || 'localhost';

type Rec = Record<string, unknown>;
const records = (stateDir: string, name = 'audit.jsonl'): Rec[] =>
  fs.readFileSync(path.join(stateDir, name), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Rec);

let dirs: string[] = [];
const dir = () => {
  const d = tempDir('vacm-audit-');
  dirs.push(d);
  return d;
};
beforeEach(() => {
  dirs = [];
});
afterEach(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('a symlinked audit.jsonl', () => {
  it('is refused: the action does not run and the link\'s target is untouched', async () => {
    const { engine, stateDir } = await makeEngine();
    const victim = path.join(dir(), 'victim');
    fs.writeFileSync(victim, 'precious\n');
    fs.symlinkSync(victim, path.join(stateDir, 'audit.jsonl'));
    const lines = await run(engine, 'NEXXUS:SET_VAR:node01:color:red');
    expect(lines.at(-1)).toMatch(/^NEXXUS:1:JOB_FAILED:ERR_AUDIT:cannot write the audit log\\: state file .*audit.jsonl is a symbolic link, which vacm does not follow there; remove it$/);
    expect(engine.vars('node01').color).toBeUndefined();
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious\n');
    await engine.stop();
  });

  it('an existing audit.jsonl with a looser mode is set back to 0600', async () => {
    const { engine, stateDir } = await makeEngine();
    const f = path.join(stateDir, 'audit.jsonl');
    fs.writeFileSync(f, '');
    fs.chmodSync(f, 0o644);
    await run(engine, 'NEXXUS:SET_VAR:node01:color:red');
    expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    expect(records(stateDir).map((r) => r.phase)).toEqual(['attempt', 'outcome']);
    await engine.stop();
  });
});

describe('who, as the kernel says', () => {
  it('records uid, euid, pid, a per-process id and the host; $SUDO_USER=alice only as claimed_user', async () => {
    const stateDir = dir();
    const r = await vacm(['ipc', `NEXXUS:SET_VAR:${LOCAL}:color:red`], { env: { VACM_STATE_DIR: stateDir, VACM_CONFIG: '', HOME: stateDir, SUDO_USER: 'alice' }, cwd: stateDir });
    expect(r.code).toBe(0);
    const [attempt, outcome] = records(stateDir);
    const me = os.userInfo();
    expect(attempt).toMatchObject({ phase: 'attempt', job: 1, uid: process.getuid!(), euid: process.geteuid!(), claimed_user: 'alice', host: os.hostname(), request: `NEXXUS:SET_VAR:${LOCAL}:color:red`, targets: LOCAL, count: 1 });
    expect(attempt.user).not.toContain('alice');
    expect(attempt.user).toBe(me.username);
    expect(attempt.proc).toMatch(/^[0-9a-f]{12}$/);
    expect(typeof attempt.pid).toBe('number');
    expect(attempt.pid).not.toBe(process.pid);
    // the same identity in the outcome
    for (const k of ['proc', 'pid', 'uid', 'euid', 'claimed_user', 'user']) expect(outcome[k]).toEqual(attempt[k]);
    expect(outcome).toMatchObject({ phase: 'outcome', state: 'completed', ok: 1, failed: 0 });
  });

  it('with no $SUDO_USER there is no claimed_user at all', async () => {
    const { engine, stateDir } = await makeEngine();
    const saved = process.env.SUDO_USER;
    delete process.env.SUDO_USER;
    try {
      await run(engine, 'NEXXUS:SET_VAR:node01:color:red');
    } finally {
      if (saved !== undefined) process.env.SUDO_USER = saved;
    }
    expect(Object.keys(records(stateDir)[0])).not.toContain('claimed_user');
    await engine.stop();
  });

  // the kernel lets root set a process's login uid once (CAP_AUDIT_CONTROL); where it does not, skip
  const canSetLoginuid = asRoot && spawnSync('sh', ['-c', 'echo 65534 > /proc/self/loginuid']).status === 0;
  it.runIf(canSetLoginuid)('records the login uid (kept across su and sudo) and shows that user in front of the effective one', async () => {
    const stateDir = dir();
    const r = spawnSync('sh', ['-c', `echo 65534 > /proc/self/loginuid && exec "${process.execPath}" "${BIN}" ipc "NEXXUS:SET_VAR:${LOCAL}:a:b"`], {
      env: { ...process.env, VACM_STATE_DIR: stateDir, VACM_CONFIG: '', HOME: stateDir, SUDO_USER: 'alice' },
      cwd: stateDir,
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    const [attempt] = records(stateDir);
    expect(attempt).toMatchObject({ loginuid: 65534, login_user: userNameOf(65534), uid: 0, euid: 0, claimed_user: 'alice' });
    expect(attempt.user).toBe(`${userNameOf(65534) ?? 'uid 65534'} (as root)`);
  });

  it('two processes at once: both have a job 1, told apart by proc and pid', async () => {
    const stateDir = dir();
    const env = { VACM_STATE_DIR: stateDir, VACM_CONFIG: '', HOME: stateDir };
    const [a, b] = await Promise.all([
      vacm(['ipc', `NEXXUS:SET_VAR:${LOCAL}:who:a`], { env, cwd: stateDir }),
      vacm(['ipc', `NEXXUS:SET_VAR:${LOCAL}:who:b`], { env, cwd: stateDir }),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const recs = records(stateDir);
    expect(recs).toHaveLength(4);
    expect(recs.every((r) => r.job === 1)).toBe(true);
    const procs = [...new Set(recs.map((r) => r.proc))];
    expect(procs).toHaveLength(2);
    expect(new Set(recs.map((r) => r.pid)).size).toBe(2);
    for (const p of procs) {
      const mine = recs.filter((r) => r.proc === p);
      expect(mine.map((r) => r.phase)).toEqual(['attempt', 'outcome']);
      expect(new Set(mine.map((r) => r.request)).size).toBe(1);
    }
    expect(recs.filter((r) => r.phase === 'attempt').map((r) => r.request).sort()).toEqual([`NEXXUS:SET_VAR:${LOCAL}:who:a`, `NEXXUS:SET_VAR:${LOCAL}:who:b`]);
  });

  it('names the controlling tty from /proc/<pid>/stat, and none when there is none', () => {
    expect(ttyName(0)).toBeUndefined();
    expect(ttyName((136 << 8) | 3)).toBe('pts/3');
    expect(ttyName((137 << 8) | 1)).toBe('pts/257');
    expect(ttyName((4 << 8) | 1)).toBe('tty1');
    const f = path.join(dir(), 'stat');
    fs.writeFileSync(f, `4242 (a (weird) name) S 1 4242 4242 ${(136 << 8) | 7} 4242 4194560 0 0\n`);
    expect(controllingTty(f)).toBe('pts/7');
    fs.writeFileSync(f, '4242 (x) S 1 4242 4242 0 -1 4194560\n');
    expect(controllingTty(f)).toBeUndefined();
  });

  it.runIf(process.platform === 'linux' && spawnSync('script', ['--version']).status === 0)('records the tty of a process run on one (script gives it a pty)', () => {
    const stateDir = dir();
    const r = spawnSync('script', ['-qec', `"${process.execPath}" "${BIN}" ipc "NEXXUS:SET_VAR:${LOCAL}:a:b"`, '/dev/null'], {
      env: { ...process.env, VACM_STATE_DIR: stateDir, VACM_CONFIG: '', HOME: stateDir },
      cwd: stateDir,
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(records(stateDir)[0].tty).toMatch(/^pts\/\d+$/);
  });
});

describe('what is audited', () => {
  it('an ERR_READ_ONLY refusal: an outcome "refused", job 0, with the error', async () => {
    const stateDir = dir();
    const r = await vacm(['ipc', '--read-only', `NEXXUS:SET_VAR:${LOCAL}:color:red`], { env: { VACM_STATE_DIR: stateDir, VACM_CONFIG: '', HOME: stateDir }, cwd: stateDir });
    expect(r.code).toBe(2);
    expect(r.err).toContain('ERR_READ_ONLY');
    const recs = records(stateDir);
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ phase: 'outcome', state: 'refused', job: 0, request: `NEXXUS:SET_VAR:${LOCAL}:color:red`, targets: LOCAL, count: 1 });
    expect(recs[0].error).toMatch(/^ERR_READ_ONLY: NEXXUS:SET_VAR changes things and vacm runs read-only/);
  });

  it('an ERR_CONTROLLER refusal: the node\'s result in the outcome, after the attempt', async () => {
    const stateDir = dir();
    const r = await vacm(['ipc', `POWER:OFF:${LOCAL}`], { env: { VACM_STATE_DIR: stateDir, VACM_CONFIG: '', HOME: stateDir }, cwd: stateDir });
    expect(r.out).toContain('ERR_CONTROLLER');
    const recs = records(stateDir);
    expect(recs.map((x) => x.phase)).toEqual(['attempt', 'outcome']);
    expect(recs[1]).toMatchObject({ request: `POWER:OFF:${LOCAL}`, failed: 1, results: { [LOCAL]: 'ERR_CONTROLLER' } });
  });

  it('ADOPT records the set it was asked for (its nodes are not in the nodelist yet)', async () => {
    const { engine, stateDir } = await makeEngine();
    fs.writeFileSync(path.join(stateDir, 'discovered.json'), JSON.stringify({ newbox1: { addr: '127.0.0.5', first: '2026-12-01T10:00:00.000Z', last: '2026-12-01T10:05:00.000Z' } }), { mode: 0o600 });
    await run(engine, 'NEXXUS:ADOPT:newbox[1-2]');
    const [attempt, outcome] = records(stateDir);
    expect(attempt).toMatchObject({ phase: 'attempt', request: 'NEXXUS:ADOPT:newbox[1-2]', targets: 'newbox[1-2]', count: 2 });
    expect(outcome.results).toEqual({ newbox1: 'ok', newbox2: 'ERR_NO_SUCH_NODE' });
    await engine.stop();
  });
});

describe('an outcome that cannot be written', () => {
  /** A command that, while it runs, replaces audit.jsonl with a symlink: the outcome cannot follow it. */
  const saboteur = (stateDir: () => string): ModuleDef => ({
    tag: 'SAB', summary: 's',
    commands: [{
      name: 'DO', summary: 'd', nodes: 'required', args: [], lane: 'control', dangerous: true,
      async run(ctx) {
        const f = path.join(stateDir(), 'audit.jsonl');
        fs.renameSync(f, f + '.1');
        fs.symlinkSync('/dev/null', f);
        await ctx.forEachNode(ctx.nodes, async () => 'ok');
      },
    }],
  });

  it('is the job\'s own ERR_AUDIT error before its terminal event, and vacm ipc says so on stderr and exits 1', async () => {
    let sd = '';
    const { engine, stateDir } = await makeEngine({ modules: [saboteur(() => sd)] });
    sd = stateDir;
    let out = '';
    let err = '';
    const code = await runIpc(engine, { messages: ['SAB:DO:node01'] }, { out: (s) => void (out += s), err: (s) => void (err += s), stdin: Readable.from([]), stdinIsTTY: false });
    const lines = out.trim().split('\n');
    expect(lines.at(-2)).toMatch(/^SAB:1:ERROR:ERR_AUDIT:the outcome of job 1 \(SAB\\:DO\) was not recorded\\: cannot write the audit log\\: state file .*audit.jsonl is a symbolic link/);
    expect(lines.at(-1)).toBe('SAB:1:JOB_COMPLETED:ok=1:failed=0');
    expect(err).toMatch(/^vacm: ERR_AUDIT: the outcome of job 1 \(SAB:DO\) was not recorded/m);
    expect(code).toBe(1);
    // the attempt is in the file that was moved away
    expect(records(stateDir, 'audit.jsonl.1').map((r) => r.phase)).toEqual(['attempt']);
    // and the dashboard's jobs pane shows it among the job's lines
    const view = engine.getSnapshot().jobs.find((j) => j.id === 1)!;
    expect(gatheredJobLines(view).some((l) => /^ERR_AUDIT {2}the outcome of job 1 \(SAB:DO\) was not recorded: cannot write the audit log: state file .* is a symbolic link/.test(l))).toBe(true);
    await engine.stop();
  });
});

describe('logrotate', () => {
  it('after mv audit.jsonl audit.jsonl.1, new records go to a new audit.jsonl (reopen, as on SIGHUP, or found moved)', async () => {
    const { engine, stateDir } = await makeEngine();
    const f = path.join(stateDir, 'audit.jsonl');
    await run(engine, 'NEXXUS:SET_VAR:node01:a:1');
    fs.renameSync(f, f + '.1');
    engine.audit.reopen(); // what serve's SIGHUP handler does
    await run(engine, 'NEXXUS:SET_VAR:node01:a:2');
    fs.renameSync(f, f + '.2');
    await run(engine, 'NEXXUS:SET_VAR:node01:a:3'); // no signal: the moved file is noticed
    expect(records(stateDir, 'audit.jsonl.1').map((r) => r.request)).toEqual(['NEXXUS:SET_VAR:node01:a:1', 'NEXXUS:SET_VAR:node01:a:1']);
    expect(records(stateDir, 'audit.jsonl.2').map((r) => r.request)).toEqual(['NEXXUS:SET_VAR:node01:a:2', 'NEXXUS:SET_VAR:node01:a:2']);
    expect(records(stateDir).map((r) => r.request)).toEqual(['NEXXUS:SET_VAR:node01:a:3', 'NEXXUS:SET_VAR:node01:a:3']);
    expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    await engine.stop();
  });

  it('vacm serve takes SIGHUP as "reopen the audit log" and keeps running; SIGTERM still stops it', async () => {
    const stateDir = dir();
    const child = spawn(process.execPath, [BIN, 'serve'], { env: { ...process.env, VACM_STATE_DIR: stateDir, VACM_CONFIG: '', HOME: stateDir }, cwd: stateDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    const waitFor = (re: RegExp) => new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${re}; stderr: ${err}`)), 20_000);
      const check = () => {
        if (re.test(err)) {
          clearTimeout(t);
          resolve();
        }
      };
      child.stderr.on('data', (d) => {
        err += d;
        check();
      });
      check();
    });
    const exited = new Promise<number | null>((r) => child.on('close', r));
    try {
      await waitFor(/vacm serve: cluster/);
      child.kill('SIGHUP');
      await waitFor(/SIGHUP: the audit log .*audit.jsonl is reopened/);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(err).toContain('stopped cleanly');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
