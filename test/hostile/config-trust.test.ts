/**
 * A vacm.yaml that someone else could have written (issue 10, item 3): owned by `nobody` in the
 * working directory, its hooks ran as root under `vacm serve`. Now every config file, however it is
 * found, is read only when nobody but you or root could have written it. Real files, real chown
 * (the tests run as root), and the real binary for what an operator sees.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findConfig, loadConfigFile } from '../../src/engine/config.js';
import { VacmError } from '../../src/protocol/errors.js';
import { vacm } from '../helpers/cli.js';
import { SshPool } from '../../src/backends/ssh/pool.js';
import { parseSshSection } from '../../src/backends/ssh/settings.js';

const NOBODY = 65534;
const asRoot = process.geteuid?.() === 0;

let base: string;
let marker: string;
beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-cfgtrust-'));
  marker = path.join(base, 'hook-ran');
});
afterEach(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

/** A config whose hook would leave `marker` behind, and whose node name shows that it was read. */
function hostileYaml(): string {
  return [
    'cluster: planted',
    'nodes:',
    '  - names: planted01',
    '    vars: { host: 127.0.0.1, power: none }',
    'hooks:',
    `  - command: "touch ${marker}"`,
    '',
  ].join('\n');
}

function refusal(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    return err instanceof VacmError ? `${err.code}: ${err.message}` : `not a VacmError: ${(err as Error).message}`;
  }
  return undefined;
}

function plant(dir: string, mode = 0o644, uid = 0): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const f = path.join(dir, 'vacm.yaml');
  fs.writeFileSync(f, hostileYaml());
  fs.chmodSync(f, mode);
  fs.chownSync(f, uid, uid);
  return f;
}

describe('loadConfigFile refuses a config that someone else could have written', () => {
  it.runIf(asRoot)('owned by nobody', () => {
    const f = plant(path.join(base, 'cwd'), 0o644, NOBODY);
    expect(refusal(() => loadConfigFile(f))).toMatch(new RegExp(`^ERR_CONFIG: config file ${f} is owned by uid 65534, not by you \\(uid 0\\) or root; chown it or remove it; vacm runs the hooks a config names, so it reads only one that nobody else could have written`));
  });

  it('group-writable', () => {
    const f = plant(path.join(base, 'cwd'), 0o664);
    expect(refusal(() => loadConfigFile(f))).toMatch(new RegExp(`^ERR_CONFIG: config file ${f} is writable by its group \\(mode 0664\\); chmod go-w ${f}`));
  });

  it('world-writable', () => {
    const f = plant(path.join(base, 'cwd'), 0o666);
    expect(refusal(() => loadConfigFile(f))).toMatch(/^ERR_CONFIG: config file .* is writable by everyone \(mode 0666\)/);
  });

  it('in a world-writable directory that is not sticky', () => {
    const d = path.join(base, 'open');
    const f = plant(d);
    fs.chmodSync(d, 0o777);
    expect(refusal(() => loadConfigFile(f))).toMatch(/^ERR_CONFIG: config file .*open\/vacm.yaml is in .*open, which everyone can write to \(mode 0777, not sticky\)/);
  });

  it('and reads the good ones: yours or root\'s, 0644 or 0600, in a sticky world-writable directory too', () => {
    const f = plant(path.join(base, 'ok'));
    expect(loadConfigFile(f).view.cluster).toBe('planted');
    fs.chmodSync(f, 0o600);
    expect(loadConfigFile(f).nodes.map((n) => n.name)).toEqual(['planted01']);
    const sticky = path.join(base, 'sticky');
    const g = plant(sticky);
    fs.chmodSync(sticky, 0o1777);
    expect(loadConfigFile(g).view.cluster).toBe('planted');
  });

  it.runIf(asRoot)('the same check for --config and $VACM_CONFIG as for ./vacm.yaml (findConfig finds, loadConfigFile refuses)', () => {
    const f = plant(path.join(base, 'explicit'), 0o644, NOBODY);
    const home = path.join(base, 'home');
    expect(findConfig(f, { HOME: home }, base)).toBe(f);
    expect(findConfig(undefined, { HOME: home, VACM_CONFIG: f }, base)).toBe(f);
    expect(refusal(() => loadConfigFile(f))).toMatch(/^ERR_CONFIG: config file .* owned by uid 65534/);
  });
});

describe.runIf(asRoot)('the real binary in a directory holding a planted vacm.yaml', () => {
  const env = () => ({ HOME: path.join(base, 'home'), VACM_CONFIG: '', VACM_STATE_DIR: path.join(base, 'state') });

  it('vacm ipc refuses with ERR_CONFIG and exit 2, naming the file and the fix; the hook does not run', async () => {
    const cwd = path.join(base, 'cwd');
    const f = plant(cwd, 0o644, NOBODY);
    const r = await vacm(['ipc', 'NEXXUS:NODE_LIST'], { env: env(), cwd });
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain(`ERR_CONFIG: config file ${f} is owned by uid 65534, not by you (uid 0) or root; chown it or remove it`);
    expect(r.err).not.toMatch(/at .*\.js:\d+/); // no stack trace
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('vacm serve refuses it the same way and does not start', async () => {
    const cwd = path.join(base, 'cwd');
    plant(cwd, 0o666);
    const r = await vacm(['serve'], { env: env(), cwd, timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/ERR_CONFIG: config file .*cwd\/vacm.yaml is writable by everyone \(mode 0666\); chmod go-w/);
    expect(r.err).not.toContain('vacm serve: cluster');
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('the same file, once owned by root and 0644, is used from the working directory', async () => {
    const cwd = path.join(base, 'cwd');
    plant(cwd, 0o644, 0);
    const r = await vacm(['ipc', 'NEXXUS:NODE_LIST'], { env: env(), cwd });
    expect(r.err).toBe('');
    expect(r.out).toContain('NEXXUS:1:NODELIST:planted01');
    expect(r.code).toBe(0);
  });
});

describe('~/.ssh/config, which picks identities and known_hosts files, is checked as ssh checks it', () => {
  const target = (file: string) => new SshPool({ section: parseSshSection({ config: file }), localUser: 'root' }).resolveTarget('n1', { host: '127.0.0.1' });

  it('read when it is yours and not writable by others', () => {
    const f = path.join(base, 'ssh_config');
    fs.writeFileSync(f, 'Host n1\n  Port 2299\n  User ops\n');
    expect(target(f)).toMatchObject({ port: 2299, user: 'ops' });
  });

  it('refused with ERR_UNSAFE_FILE when others could have written it (and again after a chmod, not from the cache)', () => {
    const f = path.join(base, 'ssh_config');
    fs.writeFileSync(f, 'Host n1\n  Port 2299\n');
    const pool = new SshPool({ section: parseSshSection({ config: f }), localUser: 'root' });
    expect(pool.resolveTarget('n1', { host: '127.0.0.1' }).port).toBe(2299);
    fs.chmodSync(f, 0o666);
    expect(refusal(() => pool.resolveTarget('n1', { host: '127.0.0.1' }))).toMatch(/^ERR_UNSAFE_FILE: ssh client config .*ssh_config is writable by everyone \(mode 0666\); chmod go-w/);
  });

  it.runIf(asRoot)('refused when another user owns it', () => {
    const f = path.join(base, 'ssh_config');
    fs.writeFileSync(f, 'Host n1\n  Port 2299\n');
    fs.chownSync(f, NOBODY, NOBODY);
    expect(refusal(() => target(f))).toMatch(/^ERR_UNSAFE_FILE: ssh client config .* owned by uid 65534/);
  });
});
