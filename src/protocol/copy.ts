/**
 * SSH:PUSH and SSH:PULL, the pure parts: their flags, the names PULL writes (`<basename>.<node>`, as
 * `clush --rcopy` does), which names from a node are safe to write under the operator's directory,
 * reading `sha256sum -z` output back, and the hash that names a directory tree. No I/O.
 */
import { VacmError } from './errors.js';

export interface CopyFlags {
  /** copy a directory and everything under it */
  recursive: boolean;
  /** set each copy's mode and mtime from its source */
  preserve: boolean;
  /** PUSH: leave nodes whose copy already has the source's sha256 alone (COPY ... unchanged) */
  skipSame: boolean;
}

const FLAG_WORDS: Record<string, keyof CopyFlags> = {
  RECURSIVE: 'recursive',
  R: 'recursive',
  PRESERVE: 'preserve',
  P: 'preserve',
  SKIP_SAME: 'skipSame',
};

/** `RECURSIVE,PRESERVE,SKIP_SAME` (any order, case-insensitive, R and P for short); '' is none. */
export function parseCopyFlags(text: string | undefined, command: 'PUSH' | 'PULL'): CopyFlags {
  const flags: CopyFlags = { recursive: false, preserve: false, skipSame: false };
  for (const raw of (text ?? '').split(',')) {
    const w = raw.trim().toUpperCase();
    if (w === '') continue;
    const key = FLAG_WORDS[w];
    if (!key || (key === 'skipSame' && command === 'PULL')) {
      const allowed = command === 'PUSH' ? 'RECURSIVE, PRESERVE, SKIP_SAME' : 'RECURSIVE, PRESERVE';
      throw new VacmError('ERR_BAD_ARGS', `SSH:${command}: unknown flag "${raw.trim()}"; flags are ${allowed}, separated by commas`, { fragment: raw.trim() });
    }
    flags[key] = true;
  }
  return flags;
}

/** The longest file name written (Linux's NAME_MAX, in bytes). */
export const MAX_NAME_BYTES = 255;

/**
 * Why `name` may not be one path component written under the operator's directory, or undefined:
 * not empty, not `.` or `..`, no `/`, no NUL, at most 255 bytes. A node chooses the names of the
 * files inside a directory it sends: any of these would write elsewhere, or fail late.
 */
export function unsafeComponent(name: string): string | undefined {
  if (name === '') return 'an empty name';
  if (name === '.' || name === '..') return `the name "${name}"`;
  if (name.includes('/')) return 'a name with "/" in it';
  if (name.includes('\0')) return 'a name with a NUL byte in it';
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `a name longer than ${MAX_NAME_BYTES} bytes`;
  return undefined;
}

/** The last component of a POSIX path (trailing slashes ignored); '' for `/`. */
export function posixBasename(p: string): string {
  const t = p.replace(/\/+$/, '');
  return t.slice(t.lastIndexOf('/') + 1);
}

/** `dir/name` for a remote POSIX path. */
export function posixJoin(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/**
 * The name PULL saves `remotePath` of `node` under: `<basename>.<node>`. Refused (ERR_COPY) when
 * that is not one safe component: `..` as the basename, or a path that has none (`/`).
 */
export function pulledName(remotePath: string, node: string): string {
  const base = posixBasename(remotePath);
  const name = `${base}.${node}`;
  const bad = base === '' || base === '.' || base === '..' ? `the remote path "${remotePath}" names no file` : unsafeComponent(name);
  if (bad) throw new VacmError('ERR_COPY', `cannot save ${JSON.stringify(remotePath)} of ${node} as "<basename>.${node}": ${bad}; name a file, not a directory like / or ..`);
  return name;
}

/**
 * `sha256sum -z` output read back: NUL-terminated `<64 hex>  <name>` records (no escaping with -z,
 * so any name survives). Records that do not parse are ignored: a node's answer is only compared.
 */
export function parseSha256sumZ(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const rec of out.split('\0')) {
    const r = /^([0-9a-f]{64}) [ *](.*)$/s.exec(rec.replace(/^\n+/, ''));
    if (r) m.set(r[2], r[1]);
  }
  return m;
}

/**
 * The sha256 that COPY reports for a directory tree: of its manifest, `sha256sum`'s lines of every
 * file sorted by relative path (`<sha256>  ./<rel>\n`), so that on a node
 * `cd DIR && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum` gives the same.
 */
export function manifestLines(files: readonly { rel: string; sha256: string }[]): string {
  return [...files].sort((a, b) => Buffer.compare(Buffer.from(a.rel), Buffer.from(b.rel))).map((f) => `${f.sha256}  ./${f.rel}\n`).join('');
}

/** `1.5 MiB`: bytes for a person. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** What a COPY event says as a line of gathered output (`vacm push`, `vacm ipc`). */
export function copyLine(e: { bytes: number; sha256: string }): string {
  return e.sha256 === 'unchanged' ? 'unchanged (same sha256)' : `copied ${e.bytes} bytes, sha256 ${e.sha256}`;
}

/** The IPC request `vacm push` / `vacm pull` send: every field escaped (`\\:` for a colon in a path). */
export function copyRequest(command: 'PUSH' | 'PULL', nodes: string, from: string, to: string, flags: CopyFlags): string {
  const esc = (f: string) => f.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
  const words = [flags.recursive && 'RECURSIVE', flags.preserve && 'PRESERVE', flags.skipSame && 'SKIP_SAME'].filter(Boolean).join(',');
  return `SSH:${command}:${esc(nodes)}:${esc(from)}:${esc(to)}${words ? `:${words}` : ''}`;
}
