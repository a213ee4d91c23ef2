/**
 * bin/vacm.js, the sh and CommonJS polyglot: run as a program (`./bin/vacm.js`, the npm bin link)
 * node starts without NODE_EXTRA_CA_CERTS (it does not read the certificates), and vacm gives the
 * variable back before anything else, so that what vacm runs sees the environment the user gave,
 * byte for byte, whatever the value; arguments, stdin, stdout and exit codes pass through the shell
 * untouched. `node bin/vacm.js` (and `npm start`) run the same file as JavaScript.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/engine.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(root, 'bin', 'vacm.js');
const reason = fs.existsSync(path.join(root, 'dist', 'cli', 'index.js')) ? undefined : 'vacm is not built (npm run build)';

/** values of NODE_EXTRA_CA_CERTS a shell could get wrong: spaces, quotes, newlines, expansions, a leading dash, globs */
const HOSTILE = [
  '/etc/ssl/certs/ca certificates.crt',
  "it's",
  '"double" and \\back\\slash',
  'line one\nline two\n',
  '$(touch MARK)',
  '`touch MARK`',
  '${HOME}',
  '-n',
  '--',
  '=x',
  '-',
  '*',
  'a;touch MARK;b',
  '',
  ' ',
];

interface Started {
  how: 'program' | 'node' | 'link';
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  input?: string;
}

function start(s: Started) {
  const file = s.how === 'link' ? link() : BIN;
  const [cmd, argv] = s.how === 'node' ? [process.execPath, [file, ...s.args]] : [file, s.args];
  const r = spawnSync(cmd, argv, { cwd: s.cwd, env: s.env, input: s.input ?? '', encoding: 'utf8', timeout: 60_000 });
  return { out: r.stdout, err: r.stderr, code: r.status };
}

/** an npm bin link: node_modules/.bin/vacm, a relative symlink to the package's bin/vacm.js */
let linkPath: string | undefined;
function link(): string {
  if (linkPath) return linkPath;
  const dir = tempDir('vacm-launch-link-');
  fs.mkdirSync(path.join(dir, 'node_modules', '.bin'), { recursive: true });
  fs.symlinkSync(root, path.join(dir, 'node_modules', 'vacm'));
  linkPath = path.join(dir, 'node_modules', '.bin', 'vacm');
  fs.symlinkSync('../vacm/bin/vacm.js', linkPath);
  return linkPath;
}

/** A config whose one node is powered through a `virsh` that writes the environment it was given (NUL-separated) to a file. */
function envProbe() {
  const dir = tempDir('vacm-launch-env-');
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  const out = path.join(dir, 'virsh.env');
  fs.writeFileSync(path.join(bin, 'virsh'), `#!/bin/sh\nenv -0 > '${out}'\necho running\n`, { mode: 0o755 });
  const config = path.join(dir, 'vacm.yaml');
  fs.writeFileSync(config, 'cluster: t\nnodes:\n  - names: vm1\n    vars: { power: libvirt }\n', { mode: 0o600 });
  const env = (extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({
    // node first as the shebang would find it; PWD as a shell leaves it (sh sets it when it is missing)
    PATH: [bin, path.dirname(process.execPath), '/usr/bin', '/bin'].join(':'),
    HOME: dir,
    PWD: dir,
    VACM_STATE_DIR: path.join(dir, 'state'),
    VACM_CODE_CACHE: 'off',
    ...extra,
  });
  const childEnv = (how: Started['how'], extra: NodeJS.ProcessEnv) => {
    fs.rmSync(out, { force: true });
    const r = start({ how, args: ['ipc', '--config', config, 'POWER:STATUS:vm1'], env: env(extra), cwd: dir });
    expect(r.code, r.err).toBe(0);
    const seen: Record<string, string> = {};
    for (const kv of fs.readFileSync(out, 'utf8').split('\0').filter(Boolean)) seen[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
    return seen;
  };
  return { dir, childEnv };
}

describe.skipIf(!!reason)(`the launcher, started as a program${reason ? ` (skipped: ${reason})` : ''}`, () => {
  beforeAll(() => {
    // vitest may run from a checkout where the mode bit was not kept
    expect(fs.statSync(BIN).mode & 0o111).not.toBe(0);
  });

  it('does not make node read NODE_EXTRA_CA_CERTS, where `node bin/vacm.js` does', () => {
    const dir = tempDir('vacm-launch-ca-');
    const env = { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, HOME: dir, NODE_EXTRA_CA_CERTS: path.join(dir, 'no-such.pem') };
    const direct = start({ how: 'node', args: ['nodeset', '-c', 'n[1-3]'], env, cwd: dir });
    expect(direct.err).toMatch(/Ignoring extra certs from/);
    for (const how of ['program', 'link'] as const) {
      const r = start({ how, args: ['nodeset', '-c', 'n[1-3]'], env, cwd: dir });
      expect(r).toEqual({ out: '3\n', err: '', code: 0 });
    }
  });

  it('gives what vacm runs the environment the user gave, for any value of NODE_EXTRA_CA_CERTS, and never evaluates it', () => {
    const probe = envProbe();
    for (const value of HOSTILE) {
      const viaNode = probe.childEnv('node', { NODE_EXTRA_CA_CERTS: value });
      expect(viaNode.NODE_EXTRA_CA_CERTS).toBe(value);
      for (const how of ['program', 'link'] as const) {
        const seen = probe.childEnv(how, { NODE_EXTRA_CA_CERTS: value });
        expect(seen, JSON.stringify(value)).toEqual(viaNode);
      }
    }
    expect(fs.existsSync(path.join(probe.dir, 'MARK'))).toBe(false);
  }, 240_000); // 45 starts of vacm, on a loaded 2-core machine

  it('changes nothing when NODE_EXTRA_CA_CERTS is unset, and leaks nothing of its own', () => {
    const probe = envProbe();
    const viaNode = probe.childEnv('node', {});
    const seen = probe.childEnv('program', {});
    expect(seen).toEqual(viaNode);
    expect(Object.keys(seen).filter((k) => k === 'NODE_EXTRA_CA_CERTS' || k.startsWith('VACM_SH'))).toEqual([]);
    // a name of the launcher's in the user's own environment is not taken for its note
    const stray = probe.childEnv('program', { VACM_SH_CA: '=/tmp/not-mine.pem' });
    expect(stray.NODE_EXTRA_CA_CERTS).toBeUndefined();
  });

  it('passes arguments through untouched, whatever they hold', () => {
    const dir = tempDir('vacm-launch-argv-');
    const probe = path.join(dir, 'probe.cjs');
    const out = path.join(dir, 'argv.json');
    fs.writeFileSync(probe, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(process.argv.slice(2))));\n`);
    const args = ['nodeset', '-c', '--', 'a b', "it's", '$(touch MARK)', '`touch MARK`', '"', '\\', '', '-e', '--help', '\n', '*', '$0', '$@'];
    const env = { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, HOME: dir, NODE_OPTIONS: `--require ${probe}` };
    const viaNode = start({ how: 'node', args, env, cwd: dir });
    const viaNodeArgv = fs.readFileSync(out, 'utf8');
    expect(JSON.parse(viaNodeArgv)).toEqual(args);
    fs.rmSync(out);
    const asProgram = start({ how: 'program', args, env, cwd: dir });
    expect(fs.readFileSync(out, 'utf8')).toBe(viaNodeArgv);
    expect(asProgram).toEqual(viaNode);
    expect(fs.existsSync(path.join(dir, 'MARK'))).toBe(false);
  });

  it('passes stdin, stdout and the exit code through', () => {
    const dir = tempDir('vacm-launch-io-');
    const env = { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, HOME: dir, VACM_CONFIG: '', VACM_STATE_DIR: path.join(dir, 'state'), VACM_CODE_CACHE: 'off' };
    const fromStdin = start({ how: 'program', args: ['ipc'], env, cwd: dir, input: 'NEXXUS:NODE_LIST:*\nNEXXUS:MODULES\n' });
    expect(fromStdin.code).toBe(0);
    expect(fromStdin.out).toMatch(/^NEXXUS:1:JOB_COMPLETED:ok=1:failed=0$/m);
    expect(fromStdin.out).toMatch(/^NEXXUS:2:JOB_COMPLETED:ok=\d+:failed=0$/m);
    const usage = start({ how: 'program', args: ['ipc', 'POWER:FRY:n1'], env, cwd: dir });
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/ERR_/);
    expect(start({ how: 'node', args: ['ipc', 'POWER:FRY:n1'], env, cwd: dir })).toEqual(usage);
    const failed = start({ how: 'program', args: ['nodeset', '-c', 'n[1-'], env, cwd: dir });
    expect(failed.code).toBe(1);
    expect(failed.err).toMatch(/ERR_NODESET_PARSE/);
  });
});
