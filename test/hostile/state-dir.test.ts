/**
 * Hostile state directories and state files (issue 10, item 9): vacm runs as root, so a state dir
 * that another user can write to, or a symlink planted under a state file's name, must never make
 * it write somewhere else. Real files, chowned to `nobody` where it matters (tests run as root).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendStateFile, ensureStateDir, openStateFile, readStateFile, writeStateFile, writeStateFileAsync } from '../../src/platform/state-files.js';
import { VacmError } from '../../src/protocol/errors.js';
import { BIN, vacm } from '../helpers/cli.js';

const NOBODY = 65534;
const asRoot = process.geteuid?.() === 0;

let base: string;
beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-statedir-'));
});
afterEach(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    return err instanceof VacmError ? `${err.code}: ${err.message}` : `not a VacmError: ${(err as Error).message}`;
  }
  return undefined;
}

const modeOf = (p: string) => fs.statSync(p).mode & 0o777;

describe('the state directory', () => {
  it('is created 0700, parents too, when missing', () => {
    const dir = path.join(base, 'a', 'b', 'state');
    ensureStateDir(dir);
    expect(modeOf(dir)).toBe(0o700);
    expect(modeOf(path.join(base, 'a'))).toBe(0o700);
  });

  it('is refused when it is writable by others or its group', () => {
    const dir = path.join(base, 'state');
    fs.mkdirSync(dir);
    fs.chmodSync(dir, 0o777);
    expect(codeOf(() => ensureStateDir(dir))).toMatch(/^ERR_STATE_DIR: state directory .*state is writable by everyone \(mode 0777\); chmod go-w/);
    fs.chmodSync(dir, 0o770);
    expect(codeOf(() => ensureStateDir(dir))).toMatch(/^ERR_STATE_DIR: .* writable by its group/);
    fs.chmodSync(dir, 0o755);
    expect(codeOf(() => ensureStateDir(dir))).toBeUndefined();
  });

  it.runIf(asRoot)('is refused when another user owns it', () => {
    const dir = path.join(base, 'state');
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.chownSync(dir, NOBODY, NOBODY);
    expect(codeOf(() => ensureStateDir(dir))).toMatch(/^ERR_STATE_DIR: state directory .* is owned by uid 65534, not by you \(uid 0\) or root/);
    expect(codeOf(() => openStateFile(dir, 'audit.jsonl'))).toMatch(/^ERR_STATE_DIR/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it.runIf(asRoot)('is refused when it is a symlink that another user planted, accepted when you made it', () => {
    const real = path.join(base, 'real');
    fs.mkdirSync(real, { mode: 0o700 });
    const link = path.join(base, 'link');
    fs.symlinkSync(real, link);
    expect(codeOf(() => ensureStateDir(link))).toBeUndefined();
    fs.lchownSync(link, NOBODY, NOBODY);
    expect(codeOf(() => ensureStateDir(link))).toMatch(/^ERR_STATE_DIR: state directory .*link is a symbolic link owned by uid 65534/);
  });

  it('is refused when it is a file, not a directory', () => {
    const f = path.join(base, 'file');
    fs.writeFileSync(f, '');
    expect(codeOf(() => ensureStateDir(f))).toMatch(/^ERR_STATE_DIR: state directory .*file is not a regular directory/);
  });

  it('under /proc fails at once with ERR_STATE_DIR (Node\'s recursive mkdir spins there forever)', () => {
    expect(codeOf(() => ensureStateDir('/proc/self/vacm/state'))).toMatch(/^ERR_STATE_DIR: cannot create state directory \/proc\/self\/vacm\/state: ENOENT/);
    expect(codeOf(() => ensureStateDir('/proc/self'))).toMatch(/^ERR_STATE_DIR: cannot write to state directory \/proc\/self/);
  });
});

describe('state files', () => {
  it('a symlinked file is refused and its target left untouched', () => {
    const dir = path.join(base, 'state');
    ensureStateDir(dir);
    const victim = path.join(base, 'victim');
    fs.writeFileSync(victim, 'precious\n');
    fs.symlinkSync(victim, path.join(dir, 'audit.jsonl'));
    expect(codeOf(() => openStateFile(dir, 'audit.jsonl'))).toMatch(/^ERR_STATE_DIR: state file .*audit.jsonl is a symbolic link, which vacm does not follow there; remove it/);
    expect(codeOf(() => appendStateFile(dir, 'audit.jsonl', 'x\n'))).toMatch(/symbolic link/);
    expect(codeOf(() => readStateFile(dir, 'audit.jsonl'))).toMatch(/symbolic link/);
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  it('a hard link to another file is refused', () => {
    const dir = path.join(base, 'state');
    ensureStateDir(dir);
    const victim = path.join(base, 'victim');
    fs.writeFileSync(victim, 'precious\n');
    fs.linkSync(victim, path.join(dir, 'prompt_history'));
    expect(codeOf(() => appendStateFile(dir, 'prompt_history', 'x\n'))).toMatch(/^ERR_STATE_DIR: state file .*prompt_history has 2 hard links/);
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  it('a FIFO under a state file\'s name is refused instead of hanging', () => {
    const dir = path.join(base, 'state');
    ensureStateDir(dir);
    const r = spawnSync('mkfifo', [path.join(dir, 'audit.jsonl')]);
    expect(r.status).toBe(0);
    expect(codeOf(() => readStateFile(dir, 'audit.jsonl'))).toMatch(/is not a regular file/);
  });

  it('are created 0600, and an existing one with a looser mode is set back to 0600', () => {
    const dir = path.join(base, 'state');
    appendStateFile(dir, 'prompt_history', 'one\n');
    expect(modeOf(path.join(dir, 'prompt_history'))).toBe(0o600);
    fs.chmodSync(path.join(dir, 'prompt_history'), 0o666);
    appendStateFile(dir, 'prompt_history', 'two\n');
    expect(modeOf(path.join(dir, 'prompt_history'))).toBe(0o600);
    expect(readStateFile(dir, 'prompt_history')?.toString()).toBe('one\ntwo\n');
  });

  it('reading a file or a dir that does not exist gives undefined and creates nothing', () => {
    expect(readStateFile(path.join(base, 'none'), 'x')).toBeUndefined();
    expect(fs.existsSync(path.join(base, 'none'))).toBe(false);
    fs.mkdirSync(path.join(base, 'empty'), { mode: 0o700 });
    expect(readStateFile(path.join(base, 'empty'), 'x')).toBeUndefined();
  });

  it('a name that would leave the directory is refused', () => {
    expect(codeOf(() => writeStateFile(base, '../x', 'y'))).toMatch(/^ERR_INTERNAL: bad state file name/);
  });
});

describe('writing a whole state file', () => {
  it('replaces it atomically, 0600, leaving no temp file', async () => {
    const dir = path.join(base, 'state');
    writeStateFile(dir, 'serve-snapshot.json', '{"a":1}');
    await writeStateFileAsync(dir, 'serve-snapshot.json', '{"a":2}');
    expect(fs.readFileSync(path.join(dir, 'serve-snapshot.json'), 'utf8')).toBe('{"a":2}');
    expect(modeOf(path.join(dir, 'serve-snapshot.json'))).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['serve-snapshot.json']);
  });

  it('replaces a symlink planted under the file\'s name or the old temp name without writing through it', async () => {
    const dir = path.join(base, 'state');
    ensureStateDir(dir);
    const victim = path.join(base, 'victim');
    fs.writeFileSync(victim, 'precious\n');
    fs.symlinkSync(victim, path.join(dir, 'serve-snapshot.json'));
    fs.symlinkSync(victim, path.join(dir, 'serve-snapshot.json.tmp'));
    await writeStateFileAsync(dir, 'serve-snapshot.json', 'new');
    writeStateFile(dir, 'discovered.json', 'new');
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(fs.lstatSync(path.join(dir, 'serve-snapshot.json')).isFile()).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'serve-snapshot.json'), 'utf8')).toBe('new');
  });
});

describe('the real binary with a bad state dir', () => {
  const LOCAL = os.hostname().split('.')[0] || 'localhost';
  const env = (stateDir: string) => ({ VACM_STATE_DIR: stateDir, VACM_CONFIG: '', HOME: base });

  it('vacm serve with its state dir under /proc stops at once with ERR_STATE_DIR, exit 2 (it used to spin forever)', async () => {
    const r = await vacm(['serve'], { env: env('/proc/self/vacm'), cwd: base, timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^ERR_STATE_DIR: cannot create state directory \/proc\/self\/vacm: ENOENT on \/proc\/self\/vacm; set \$VACM_STATE_DIR to a directory you own$/m);
  });

  it('vacm ipc with its state dir under /proc fails the dangerous job at once with ERR_AUDIT saying why; reading still works', async () => {
    const r = await vacm(['ipc', `NEXXUS:SET_VAR:${LOCAL}:a:b`, 'NEXXUS:NODE_LIST'], { env: env('/proc/self/vacm'), cwd: base, timeoutMs: 20_000 });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^NEXXUS:1:JOB_FAILED:ERR_AUDIT:cannot write the audit log\\: cannot create state directory \/proc\/self\/vacm\\: ENOENT/m);
    expect(r.out).toContain(`NEXXUS:2:NODELIST:${LOCAL}`);
  });

  it.runIf(asRoot)('vacm serve refuses a state dir owned by nobody, and one with mode 0777, with ERR_STATE_DIR, exit 2', async () => {
    const dir = path.join(base, 'state');
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.chownSync(dir, NOBODY, NOBODY);
    let r = await vacm(['serve'], { env: env(dir), cwd: base, timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.err).toContain(`ERR_STATE_DIR: state directory ${dir} is owned by uid 65534, not by you (uid 0) or root; chown it or remove it`);
    fs.chownSync(dir, 0, 0);
    fs.chmodSync(dir, 0o777);
    r = await vacm(['serve'], { env: env(dir), cwd: base, timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.err).toContain(`ERR_STATE_DIR: state directory ${dir} is writable by everyone (mode 0777); chmod go-w ${dir}`);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('vacm ipc refuses to act with a state dir of mode 0777: no audit record, no action', async () => {
    const dir = path.join(base, 'state');
    fs.mkdirSync(dir);
    fs.chmodSync(dir, 0o777);
    const r = await vacm(['ipc', `NEXXUS:SET_VAR:${LOCAL}:a:b`], { env: env(dir), cwd: base });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/JOB_FAILED:ERR_AUDIT:cannot write the audit log\\: state directory .* is writable by everyone \(mode 0777\); chmod go-w/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('vacm serve saves its snapshot with serve-snapshot.json and .tmp planted as symlinks: the links are replaced, their target untouched', async () => {
    const dir = path.join(base, 'state');
    ensureStateDir(dir);
    const victim = path.join(base, 'victim');
    fs.writeFileSync(victim, 'precious\n');
    fs.symlinkSync(victim, path.join(dir, 'serve-snapshot.json.tmp'));
    fs.symlinkSync(victim, path.join(dir, 'serve-snapshot.json'));
    const child = spawn(process.execPath, [BIN, 'serve'], { env: { ...process.env, ...env(dir) }, cwd: base, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('close', r));
    try {
      for (let i = 0; i < 200 && !err.includes('vacm serve: cluster'); i++) await new Promise((r) => setTimeout(r, 100));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(fs.lstatSync(path.join(dir, 'serve-snapshot.json')).isFile()).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'serve-snapshot.json'), 'utf8'))).toMatchObject({ version: 1, cluster: expect.any(String) });
    expect(fs.statSync(path.join(dir, 'serve-snapshot.json')).mode & 0o777).toBe(0o600);
  });
});
