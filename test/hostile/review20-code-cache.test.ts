/**
 * review20, an attacker's pass over the V8 code cache of `vacm ipc` (src/platform/code-cache.ts):
 * - a blob damaged inside (its header intact: bit rot, a torn write after a power cut) must not
 *   crash node: V8 (Node 20, a release build) checks a code cache's header, length and flags but
 *   not its payload, and deserialising a damaged payload is a SIGSEGV or a V8 CHECK, in every run
 *   after, since a blob V8 accepted is never written again;
 * - the directory must be one that nobody else can replace, all the way up: under sudo with the
 *   user's HOME, root's own ~/.cache/vacm/code inside the user's ~/.cache is not (the user can swap
 *   ~/.cache/vacm for a symlink at any time, and the blobs written at exit, and the pruning, would
 *   go wherever it points);
 * - the blobs are written at exit into the directory that was checked at the start, not into
 *   whatever its path names by then.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/engine.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CACHE = path.join(root, 'dist', 'platform', 'code-cache.js');
const reason = fs.existsSync(CACHE) ? undefined : 'vacm is not built (npm run build)';
const asRoot = process.geteuid?.() === 0;
const NOBODY = 65534;

/**
 * require `file` through the code cache in `dir` in a new process; `swap` (a path) is renamed to
 * `swap.away` and replaced by a symlink to `swapTo` after the file is loaded, before exit
 */
function load(file: string, dir: string, swap?: { path: string; to: string }) {
  const script = `import { createRequire } from 'node:module';
import fs from 'node:fs';
const { installCodeCache } = await import(${JSON.stringify(CACHE)});
const on = installCodeCache([${JSON.stringify(path.dirname(file) + path.sep)}], ${JSON.stringify(dir)});
const value = createRequire(import.meta.url)(${JSON.stringify(file)});
${swap ? `fs.renameSync(${JSON.stringify(swap.path)}, ${JSON.stringify(swap.path + '.away')}); fs.symlinkSync(${JSON.stringify(swap.to)}, ${JSON.stringify(swap.path)});` : ''}
process.stdout.write(on + ':' + String(value));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  return { out: r.stdout, code: r.status, signal: r.signal };
}

function blobs(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.v8')).sort() : [];
}

/** a package file whose many functions all run, so that its blob holds their bytecode */
function bigFile(): { file: string; answer: string } {
  const pkg = tempDir('vacm-r20-pkg-');
  let src = '';
  for (let i = 0; i < 300; i++) src += `function f${i}(x) { let s = 0; for (let j = 0; j < x; j++) { s += (j * ${i}) % 7; if (s > 1e6) s -= ${i}; } return s + 'k${i}'; }\n`;
  src += 'let out = 0;\n';
  for (let i = 0; i < 300; i++) src += `out += String(f${i}(50)).length;\n`;
  src += 'module.exports = out;\n';
  const file = path.join(pkg, 'big.js');
  fs.writeFileSync(file, src);
  return { file, answer: 'true:1904' };
}

describe.skipIf(!!reason)(`review20: the code cache's blobs${reason ? ` (skipped: ${reason})` : ''}`, () => {
  it('a blob damaged inside (header intact) gives the same answer, no crash, and is written again', () => {
    const dir = path.join(tempDir('vacm-r20-cc-'), 'code');
    const { file, answer } = bigFile();
    expect(load(file, dir)).toMatchObject({ code: 0, out: answer });
    const [blob] = blobs(dir);
    expect(blob).toBeDefined();
    const good = fs.readFileSync(path.join(dir, blob));
    expect(good.length).toBeGreaterThan(20_000);
    // 16 bytes flipped at a few places past V8's header (its first 64 bytes at most)
    for (const at of [100, 1000, 5000, good.length >> 1, good.length - 100]) {
      const bad = Buffer.from(good);
      for (let i = 0; i < 16; i++) bad[at + i] ^= 0x5a;
      fs.writeFileSync(path.join(dir, blob), bad, { mode: 0o600 });
      const r = load(file, dir);
      expect({ at, ...r }).toEqual({ at, code: 0, signal: null, out: answer });
      // refused, so written again at exit: the damage does not stay
      expect(fs.readFileSync(path.join(dir, blob)).equals(bad)).toBe(false);
    }
    // and the blob written again is used
    expect(load(file, dir)).toMatchObject({ code: 0, out: answer });
  });

  it('a blob cut short, or empty, is refused too', () => {
    const dir = path.join(tempDir('vacm-r20-cc-'), 'code');
    const { file, answer } = bigFile();
    expect(load(file, dir).out).toBe(answer);
    const [blob] = blobs(dir);
    const good = fs.readFileSync(path.join(dir, blob));
    for (const bad of [good.subarray(0, 10), good.subarray(0, good.length - 1), Buffer.alloc(0)]) {
      fs.writeFileSync(path.join(dir, blob), bad, { mode: 0o600 });
      expect(load(file, dir)).toMatchObject({ code: 0, signal: null, out: answer });
    }
  });
});

describe.skipIf(!!reason || !asRoot)(`review20: the code cache's directory, as root${reason ? ` (skipped: ${reason})` : !asRoot ? ' (skipped: needs root)' : ''}`, () => {
  it("is refused for root inside another user's directory, even where root made the last two levels (sudo with the user's HOME)", () => {
    const base = tempDir('vacm-r20-home-');
    const home = path.join(base, 'alice');
    fs.mkdirSync(path.join(home, '.cache'), { recursive: true, mode: 0o755 });
    fs.chownSync(home, NOBODY, NOBODY);
    fs.chownSync(path.join(home, '.cache'), NOBODY, NOBODY);
    const dir = path.join(home, '.cache', 'vacm', 'code');
    const { file } = bigFile();
    expect(load(file, dir)).toMatchObject({ code: 0, out: 'false:1904' });
    expect(blobs(dir)).toEqual([]);
  });

  it("is refused through a symlink another user planted (in a sticky /tmp), used through one of root's", () => {
    const base = tempDir('vacm-r20-link-');
    fs.chmodSync(base, 0o1777);
    const real = path.join(base, 'real');
    fs.mkdirSync(real, { mode: 0o700 });
    const theirs = path.join(base, 'theirs');
    fs.symlinkSync(real, theirs);
    fs.lchownSync(theirs, NOBODY, NOBODY);
    const { file } = bigFile();
    expect(load(file, path.join(theirs, 'code'))).toMatchObject({ code: 0, out: 'false:1904' });
    expect(fs.existsSync(path.join(real, 'code'))).toBe(false);
    const mine = path.join(base, 'mine');
    fs.symlinkSync(real, mine);
    expect(load(file, path.join(mine, 'code'))).toMatchObject({ code: 0, out: 'true:1904' });
    expect(blobs(path.join(real, 'code'))).toHaveLength(1);
  });

  it('writes its blobs at exit into the directory it checked, not where its path leads by then', () => {
    const base = tempDir('vacm-r20-swap-');
    const cache = path.join(base, 'cache');
    const elsewhere = path.join(base, 'elsewhere');
    fs.mkdirSync(path.join(elsewhere, 'code'), { recursive: true, mode: 0o700 });
    const { file } = bigFile();
    const r = load(file, path.join(cache, 'code'), { path: cache, to: elsewhere });
    expect(r).toMatchObject({ code: 0, out: 'true:1904' });
    expect(blobs(path.join(elsewhere, 'code'))).toEqual([]);
  });
});
