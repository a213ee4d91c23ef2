/**
 * A V8 code cache for the CommonJS packages a cold `vacm ipc` loads (ssh2: ~600 KB of JavaScript,
 * ~120 ms of CPU to compile in every new process; Node 20 has no module.enableCompileCache()).
 * installCodeCache() wraps Module.prototype._compile: each file is compiled with vm.Script and the
 * cached data kept for it, and, at exit, the data of what was compiled without (or with rejected)
 * data is written for the next process. Files, modules and require() behave as with Node's own
 * loader: the module wrapper, `require` relative to the file, native bindings found next to it.
 *
 * Trust: V8 code cache is code. A blob is used only from a directory that checkTrustedFile accepts
 * (yours or root's, not group/other-writable, not replaceable) and whose every ancestor nobody else
 * can replace either (under sudo with the user's HOME, ~/.cache is the user's), by its real path;
 * read with readTrustedFile, and its name is the sha256 of the node binary and its versions, the
 * file name and the file's whole source, so a changed package never meets an old blob (V8 itself
 * checks only the source length, its version and flags, and rejects a mismatch:
 * `cachedDataRejected`, then the file is compiled as usual). V8 does not check the payload of a release build's code cache: a blob
 * damaged inside (bit rot, a torn write) is a SIGSEGV in every process that reads it. So each blob
 * starts with the sha256 of the rest, checked before V8 sees it (~0.5 ms for ssh2's). Nothing here
 * may fail a command: any error means "no cache".
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import Module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { makeDirectory } from './make-dir.js';
import { checkTrustedFile, distrustedPath, effectiveUid, readTrustedFile } from './trusted-file.js';

/** the most blobs kept: older ones are removed when a new one is written (a few versions of ssh2) */
const MAX_BLOBS = 256;
/** a blob larger than this is not read (ssh2's largest is ~0.5 MB) */
const MAX_BLOB_BYTES = 8 * 1024 * 1024;

interface Pending {
  file: string;
  script: vm.Script;
}

export interface CodeCacheStats {
  /** files compiled from their cached data */
  hits: number;
  /** files compiled without cached data (none yet, or written at exit) */
  misses: number;
  /** files whose cached data V8 refused (another node, other flags, damaged) */
  rejected: number;
  /** blobs written at exit */
  written: number;
}

let installed: { dir: string; stats: CodeCacheStats } | undefined;

/**
 * The code cache directory: VACM_CODE_CACHE if set (empty or "off": none), else
 * $XDG_CACHE_HOME/vacm/code, else ~/.cache/vacm/code.
 */
export function codeCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const set = env.VACM_CODE_CACHE;
  if (set !== undefined) return set === '' || set === 'off' ? undefined : path.resolve(set);
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(base, 'vacm', 'code');
}

/** What the cache did in this process (tests, VACM_DEBUG). Undefined when it is not installed. */
export function codeCacheStats(): Readonly<CodeCacheStats> | undefined {
  return installed?.stats;
}

/** a directory checked once: its real path and what it was then */
interface CheckedDir {
  path: string;
  dev: number;
  ino: number;
}

/** Whether no symlink on the way to `dir` (as given) is another user's: they could point it elsewhere next time. */
function noStrangersLinks(dir: string): boolean {
  const uid = effectiveUid();
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const st = fs.lstatSync(d, { throwIfNoEntry: false }); // (not made yet: nothing to follow)
    if (st?.isSymbolicLink() && uid !== undefined && st.uid !== uid && st.uid !== 0) return false;
    if (path.dirname(d) === d) return true;
  }
}

/** the directory, made if missing (0700), when it may be trusted with code; else undefined */
function trustedDir(dir: string): CheckedDir | undefined {
  try {
    // (before making anything through another user's symlink, and again once it is all there)
    if (!noStrangersLinks(dir)) return undefined;
    makeDirectory(dir, 0o700);
    checkTrustedFile(dir, { what: 'code cache directory', directory: true });
    const real = fs.realpathSync(dir);
    const st = fs.statSync(real);
    if (!st.isDirectory() || distrustedPath(real, 'code cache directory') !== undefined || !noStrangersLinks(dir)) return undefined;
    return { path: real, dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}

/** whether `dir` is still the directory that was checked (written into at exit, by path) */
function stillThere(dir: CheckedDir): boolean {
  try {
    const st = fs.statSync(dir.path);
    return st.isDirectory() && st.dev === dir.dev && st.ino === dir.ino && distrustedPath(dir.path, 'code cache directory') === undefined;
  } catch {
    return false;
  }
}

let nodeIdentity: string | undefined;

/**
 * What a blob was made by: the node binary (its path, size and change time: a distribution's
 * rebuild of the same version is another binary, whose V8 may be built otherwise) and every version
 * it reports (V8's with its patch level). "2": a blob is sha256(payload) + payload (the blobs of
 * before, V8's data alone, have other names).
 */
function madeBy(): string {
  if (nodeIdentity === undefined) {
    let bin = '';
    try {
      const st = fs.statSync(process.execPath);
      bin = `${st.size}\0${st.ctimeMs}`;
    } catch {
      /* the versions alone */
    }
    nodeIdentity = `2\0${process.execPath}\0${bin}\0${JSON.stringify(process.versions)}\0${process.arch}\0`;
  }
  return nodeIdentity;
}

function blobName(file: string, source: string): string {
  return crypto.createHash('sha256').update(madeBy()).update(`${file}\0`).update(source).digest('hex') + '.v8';
}

const SUM_BYTES = 32;

/** V8's data of a blob; 'damaged' when its sum does not match; undefined when there is none to read */
function readBlob(file: string): Buffer | 'damaged' | undefined {
  let blob: Buffer;
  try {
    blob = readTrustedFile(file, { what: 'code cache', maxBytes: MAX_BLOB_BYTES });
  } catch {
    return undefined;
  }
  if (blob.length <= SUM_BYTES) return 'damaged';
  const data = blob.subarray(SUM_BYTES);
  return crypto.createHash('sha256').update(data).digest().equals(blob.subarray(0, SUM_BYTES)) ? data : 'damaged';
}

function sealed(data: Buffer): Buffer {
  return Buffer.concat([crypto.createHash('sha256').update(data).digest(), data]);
}

/** Write a blob beside the others: a temporary file renamed into place, so a reader sees all or nothing. */
function writeBlob(dir: string, name: string, data: Buffer): boolean {
  const tmp = path.join(dir, `.${name}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' });
    fs.renameSync(tmp, path.join(dir, name));
    return true;
  } catch {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      /* nothing to tidy */
    }
    return false;
  }
}

/** Keep the newest MAX_BLOBS blobs (run only when something was written). */
function prune(dir: string): void {
  try {
    const blobs = fs.readdirSync(dir).filter((f) => f.endsWith('.v8'));
    if (blobs.length <= MAX_BLOBS) return;
    const aged = blobs.map((f) => ({ f, t: fs.statSync(path.join(dir, f)).mtimeMs })).sort((a, b) => a.t - b.t);
    for (const { f } of aged.slice(0, aged.length - MAX_BLOBS)) fs.rmSync(path.join(dir, f), { force: true });
  } catch {
    /* a cache that cannot be tidied is still a cache */
  }
}

type CompileFn = (this: Module, content: string, filename: string) => unknown;
interface ModuleInternals {
  prototype: { _compile: CompileFn };
  wrap(source: string): string;
  _resolveFilename(request: string, parent: Module, isMain: boolean, options?: unknown): string;
  _extensions: unknown;
  _cache: unknown;
}

/**
 * Compile the CommonJS files of `only` (absolute path prefixes, e.g. ssh2's folder) through the code
 * cache in `dir` (default codeCacheDir()). Does nothing when the directory cannot be made or trusted,
 * or when called twice. Returns whether it is installed.
 */
export function installCodeCache(only: readonly string[], dir = codeCacheDir()): boolean {
  if (installed || !dir || only.length === 0) return false;
  const trusted = trustedDir(dir);
  if (!trusted) return false;
  const M = Module as unknown as ModuleInternals;
  const original = M.prototype._compile;
  const stats: CodeCacheStats = { hits: 0, misses: 0, rejected: 0, written: 0 };
  const pending: Pending[] = [];
  installed = { dir: trusted.path, stats };

  M.prototype._compile = function (this: Module, content: string, filename: string): unknown {
    // a file with import() is Node's to compile: a script from the code cache has no dynamic import
    // callback (and vm's own, USE_MAIN_CONTEXT_DEFAULT_LOADER, is experimental on Node 20)
    if (!only.some((p) => filename.startsWith(p)) || content.includes('import(')) return original.call(this, content, filename);
    let script: vm.Script;
    let name: string;
    try {
      name = blobName(filename, content);
      const blob = readBlob(path.join(trusted.path, name));
      const cachedData = blob === 'damaged' ? undefined : blob;
      script = new vm.Script(M.wrap(content), { filename, cachedData });
      if (blob === undefined) stats.misses++;
      else if (blob === 'damaged' || script.cachedDataRejected) stats.rejected++;
      else stats.hits++;
      if (!cachedData || script.cachedDataRejected) pending.push({ file: name, script });
    } catch {
      // a syntax error (or anything odd) is Node's own to report, as it would without the cache
      return original.call(this, content, filename);
    }
    const fn = script.runInThisContext({ displayErrors: true }) as (...a: unknown[]) => unknown;
    const mod = this;
    const req = ((id: string) => mod.require(id)) as NodeJS.Require;
    req.resolve = ((request: string, options?: unknown) => M._resolveFilename(request, mod, false, options)) as NodeJS.RequireResolve;
    req.main = require_main();
    (req as { extensions: unknown }).extensions = M._extensions;
    (req as { cache: unknown }).cache = M._cache;
    return fn.call(mod.exports, mod.exports, req, mod, filename, path.dirname(filename));
  };

  // at exit the scripts' functions compiled so far (the handshake's too) go into their blobs
  process.once('exit', () => {
    // by path, into the directory checked at the start only: not wherever its path leads by now
    if (pending.length === 0 || !stillThere(trusted)) return;
    for (const p of pending) {
      try {
        if (writeBlob(trusted.path, p.file, sealed(p.script.createCachedData()))) stats.written++;
      } catch {
        /* not written: the next process compiles it again */
      }
    }
    if (stats.written > 0) prune(trusted.path);
  });
  return true;
}

function require_main(): NodeJS.Module | undefined {
  return (process as { mainModule?: NodeJS.Module }).mainModule;
}

/**
 * The node_modules folder (with a trailing separator) that `pkg` is found in from `fromUrl`, its
 * real path as Node names the files it loads; undefined when it is not installed.
 */
export function packagesDir(fromUrl: string | URL, pkg: string): string | undefined {
  try {
    const main = fs.realpathSync(Module.createRequire(fromUrl).resolve(pkg));
    const at = main.lastIndexOf(`${path.sep}node_modules${path.sep}`);
    return at < 0 ? undefined : main.slice(0, at + `${path.sep}node_modules${path.sep}`.length);
  } catch {
    return undefined;
  }
}
