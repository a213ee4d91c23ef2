/**
 * The V8 code cache of `vacm ipc` (src/platform/code-cache.ts, installed by bin/vacm.js): a stale,
 * damaged or unusable cache never changes the answer or fails the command; it is used only from a
 * directory that may be trusted with code.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/engine.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(root, 'bin', 'vacm.js');
const reason = fs.existsSync(path.join(root, 'dist', 'platform', 'code-cache.js')) ? undefined : 'vacm is not built (npm run build)';

function ipc(args: string[], env: NodeJS.ProcessEnv) {
  const home = tempDir('vacm-cc-home-');
  const r = spawnSync(process.execPath, [BIN, 'ipc', ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: home, VACM_CONFIG: '', VACM_STATE_DIR: path.join(home, 'state'), ...env } });
  return { out: r.stdout, err: r.stderr, code: r.status, home };
}

function blobs(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.v8')).sort() : [];
}

/** a cache directory as the cache makes it: yours, mode 0700 */
function cacheDir(): string {
  const dir = path.join(tempDir('vacm-cc-'), 'code');
  fs.mkdirSync(dir, { mode: 0o700 });
  return dir;
}

describe.skipIf(!!reason)(`vacm ipc with a code cache${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let expected: string;
  beforeAll(() => {
    // the one file fresh, as npm run build makes it (other tests rebuild dist/ with tsc alone)
    execFileSync(process.execPath, [path.join(root, 'scripts', 'nodeset-file.mjs')], { cwd: root, stdio: 'ignore' });
    const plain = ipc(['NEXXUS:MODULES'], { VACM_CODE_CACHE: 'off' });
    expect(plain.code).toBe(0);
    expect(plain.out).toMatch(/^NEXXUS:1:JOB_COMPLETED:ok=\d+:failed=0$/m);
    expected = plain.out;
  }, 60_000);

  it('writes the cache on the first run and answers the same from it on the next', () => {
    const dir = cacheDir();
    const first = ipc(['NEXXUS:MODULES'], { VACM_CODE_CACHE: dir });
    expect(first.code).toBe(0);
    expect(first.out).toBe(expected);
    const written = blobs(dir);
    expect(written.length).toBeGreaterThan(0);
    for (const b of written) expect(fs.statSync(path.join(dir, b)).mode & 0o077).toBe(0);
    const again = ipc(['NEXXUS:MODULES'], { VACM_CODE_CACHE: dir });
    expect(again).toMatchObject({ code: 0, out: expected, err: '' });
    expect(blobs(dir)).toEqual(written);
  });

  it('a damaged or truncated cache is refused by V8: the same answer, and the blobs are written again', () => {
    const dir = cacheDir();
    expect(ipc(['NEXXUS:MODULES'], { VACM_CODE_CACHE: dir }).code).toBe(0);
    const names = blobs(dir);
    const garbage = new Map<string, Buffer>();
    names.forEach((b, i) => {
      const f = path.join(dir, b);
      const size = fs.statSync(f).size;
      // every other blob random bytes of its size, the rest cut in half
      const bad = i % 2 === 0 ? Buffer.from(Array.from({ length: size }, (_, k) => (k * 131 + i) & 0xff)) : fs.readFileSync(f).subarray(0, size >> 1);
      fs.writeFileSync(f, bad);
      garbage.set(b, bad);
    });
    const r = ipc(['NEXXUS:MODULES'], { VACM_CODE_CACHE: dir });
    expect(r).toMatchObject({ code: 0, out: expected, err: '' });
    expect(blobs(dir)).toEqual(names);
    for (const b of names) expect(fs.readFileSync(path.join(dir, b)).equals(garbage.get(b)!)).toBe(false);
  });

  it('works without a cache when the directory cannot be made, or may not be trusted (others could write code into it)', () => {
    const file = path.join(tempDir('vacm-cc-'), 'a-file');
    fs.writeFileSync(file, '');
    expect(ipc(['NEXXUS:MODULES'], { VACM_CODE_CACHE: path.join(file, 'code') })).toMatchObject({ code: 0, out: expected, err: '' });
    // where Node's own recursive mkdir would spin forever (procfs answers ENOENT)
    expect(ipc(['NEXXUS:MODULES'], { VACM_CODE_CACHE: '/proc/self/vacm/code' })).toMatchObject({ code: 0, out: expected, err: '' });
    const open = cacheDir();
    fs.chmodSync(open, 0o777);
    expect(ipc(['NEXXUS:MODULES'], { VACM_CODE_CACHE: open })).toMatchObject({ code: 0, out: expected, err: '' });
    expect(blobs(open)).toEqual([]);
  });

  it('VACM_CODE_CACHE=off keeps none; by default it is in ~/.cache/vacm/code', () => {
    const off = ipc(['NEXXUS:MODULES'], { VACM_CODE_CACHE: 'off' });
    expect(off.out).toBe(expected);
    expect(fs.existsSync(path.join(off.home, '.cache'))).toBe(false);
    const dflt = ipc(['NEXXUS:MODULES'], {});
    expect(dflt.out).toBe(expected);
    expect(blobs(path.join(dflt.home, '.cache', 'vacm', 'code')).length).toBeGreaterThan(0);
  });
});

describe.skipIf(!!reason)('the code cache of a changed file', () => {
  /** require `file` through the code cache in `dir`, in a new process; what it exports */
  function load(file: string, dir: string): string {
    const script = `import { createRequire } from 'node:module';
const { installCodeCache } = await import(${JSON.stringify(path.join(root, 'dist', 'platform', 'code-cache.js'))});
installCodeCache([${JSON.stringify(path.dirname(file) + path.sep)}], ${JSON.stringify(dir)});
process.stdout.write(String(createRequire(import.meta.url)(${JSON.stringify(file)})));`;
    return execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  it('a file changed to a source of the same length gets its new code, not the old blob', () => {
    const dir = cacheDir();
    const pkg = tempDir('vacm-cc-pkg-');
    const file = path.join(pkg, 'answer.js');
    fs.writeFileSync(file, "module.exports = 'one';\n");
    expect(load(file, dir)).toBe('one');
    expect(load(file, dir)).toBe('one');
    const [old] = blobs(dir);
    // V8 itself checks only the source's length: the blob's name is the source's hash
    fs.writeFileSync(file, "module.exports = 'two';\n");
    expect(load(file, dir)).toBe('two');
    expect(blobs(dir)).toHaveLength(2);
    expect(blobs(dir)).toContain(old);
  });

  it('require() inside a cached file still finds files next to it, and its errors are its own', () => {
    const dir = cacheDir();
    const pkg = tempDir('vacm-cc-pkg-');
    fs.writeFileSync(path.join(pkg, 'lib.js'), 'module.exports = { n: 41 };\n');
    fs.writeFileSync(path.join(pkg, 'main.js'), "const lib = require('./lib.js'); module.exports = lib.n + 1 + ':' + require.resolve('./lib.js').endsWith('lib.js') + ':' + (__dirname === " + JSON.stringify(pkg) + ');\n');
    expect(load(path.join(pkg, 'main.js'), dir)).toBe('42:true:true');
    expect(load(path.join(pkg, 'main.js'), dir)).toBe('42:true:true');
    fs.writeFileSync(path.join(pkg, 'bad.js'), 'module.exports = (;\n');
    expect(() => load(path.join(pkg, 'bad.js'), dir)).toThrow(/SyntaxError/);
  });
});
