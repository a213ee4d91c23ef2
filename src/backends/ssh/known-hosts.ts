/**
 * known_hosts (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): plain and hashed (`|1|salt|hash`) host
 * patterns, `[host]:port` for non-standard ports, `!` negation, wildcards, `@revoked` markers
 * (`@cert-authority` lines are ignored: vacm does not do host certificates). Parsing and checking are
 * pure; only `appendKnownHost` writes.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { globMatch } from '../../protocol/glob.js';
import { makeDirectory } from '../../platform/make-dir.js';

export interface KnownHostEntry {
  readonly file: string;
  readonly line: number;
  readonly marker?: 'revoked' | 'cert-authority';
  /** the raw comma-separated host field */
  readonly hosts: string;
  readonly keyType: string;
  /** base64 of the key blob */
  readonly key: string;
}

export type HostKeyCheck =
  | { status: 'ok'; entry: KnownHostEntry }
  | { status: 'unknown' }
  | { status: 'changed'; entry: KnownHostEntry }
  | { status: 'revoked'; entry: KnownHostEntry };

/**
 * The name known_hosts stores for a host: `host` on port 22, `[host]:port` otherwise; lower-cased,
 * as ssh looks it up and writes it (a hashed entry ssh made for node6 is NODE6's too).
 */
export function knownHostName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

export function parseKnownHosts(text: string, file = 'known_hosts'): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, idx) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const f = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (f[0].startsWith('@')) {
      const m = f.shift()!;
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else return;
    }
    if (f.length < 3) return;
    const [hosts, keyType, key] = f;
    if (!/^[A-Za-z0-9+/]+=*$/.test(key)) return;
    out.push({ file, line: idx + 1, marker, hosts, keyType, key });
  });
  return out;
}

/**
 * A known_hosts pattern: `*` any run of characters, `?` one character, case-insensitive, as ssh
 * matches them (its own names are lower-cased first: knownHostName). Host lines of ssh_config match
 * otherwise (ssh-config.ts hostMatches).
 */
function matchPattern(name: string, pattern: string): boolean {
  return globMatch(pattern.toLowerCase(), name.toLowerCase());
}

/** Does the entry's host field name `name` (already in `[host]:port` form when needed)? */
export function entryMatches(hostsField: string, name: string): boolean {
  if (hostsField.startsWith('|1|')) {
    const [, , salt, hash] = hostsField.split('|');
    if (!salt || !hash) return false;
    try {
      const h = crypto.createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
      return h === hash;
    } catch {
      return false;
    }
  }
  let matched = false;
  for (const p of hostsField.split(',')) {
    if (p.startsWith('!')) {
      if (matchPattern(name, p.slice(1))) return false;
    } else if (matchPattern(name, p)) matched = true;
  }
  return matched;
}

/** The key type named inside an SSH public key blob (its first string). */
export function blobKeyType(blob: Buffer): string {
  if (blob.length < 4) return '';
  const n = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + n).toString('latin1');
}

/** `SHA256:...` as ssh-keygen -l prints it. */
export function fingerprint(blob: Buffer): string {
  return 'SHA256:' + crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/**
 * Check a server's key against known entries. Like ssh: a matching key is ok; a revoked key is
 * refused; a host known with a different key of the same type has "changed". A host known only
 * with keys of other types is treated as changed too (safer than OpenSSH's prompt; the pool orders
 * host key algorithms so that a known type is negotiated first).
 */
export function checkHostKey(entries: readonly KnownHostEntry[], names: readonly string[], blob: Buffer): HostKeyCheck {
  const b64 = blob.toString('base64');
  const mine = entries.filter((e) => e.marker !== 'cert-authority' && names.some((n) => entryMatches(e.hosts, n)));
  const revoked = mine.find((e) => e.marker === 'revoked' && e.key === b64);
  if (revoked) return { status: 'revoked', entry: revoked };
  const ok = mine.find((e) => e.marker === undefined && e.key === b64);
  if (ok) return { status: 'ok', entry: ok };
  const known = mine.filter((e) => e.marker === undefined);
  if (known.length === 0) return { status: 'unknown' };
  const type = blobKeyType(blob);
  return { status: 'changed', entry: known.find((e) => e.keyType === type) ?? known[0] };
}

/** Key types known for a host, to prefer them in host key negotiation. */
export function knownKeyTypes(entries: readonly KnownHostEntry[], names: readonly string[]): string[] {
  const types: string[] = [];
  for (const e of entries) {
    if (e.marker === undefined && names.some((n) => entryMatches(e.hosts, n)) && !types.includes(e.keyType)) types.push(e.keyType);
  }
  return types;
}

/**
 * A parsed known_hosts file, and which of its entries name a host: entries whose host field is a
 * plain list of names (no wildcard, `!` or hash) are found by name at once; the others are tried
 * one by one, once per host name (the answer is kept: the pool asks twice per connection).
 */
interface ParsedFile {
  mtimeMs: number;
  size: number;
  entries: KnownHostEntry[];
  /** lower-cased plain name -> indexes into entries */
  plain: Map<string, number[]>;
  /** indexes of the entries that must be matched one by one */
  patterned: number[];
  /** host name -> the entries naming it, in file order */
  byName: Map<string, KnownHostEntry[]>;
}

/** the most host names whose entries a parsed file remembers (then it starts over) */
const MAX_NAMES_KEPT = 65_536;

const parsedFiles = new Map<string, ParsedFile>();

function indexFile(entries: KnownHostEntry[], st: fs.Stats): ParsedFile {
  const plain = new Map<string, number[]>();
  const patterned: number[] = [];
  entries.forEach((e, i) => {
    if (e.hosts.startsWith('|') || /[*?!]/.test(e.hosts)) {
      patterned.push(i);
      return;
    }
    for (const n of new Set(e.hosts.toLowerCase().split(','))) {
      const at = plain.get(n);
      if (at) at.push(i);
      else plain.set(n, [i]);
    }
  });
  return { mtimeMs: st.mtimeMs, size: st.size, entries, plain, patterned, byName: new Map() };
}

/** The file as parsed now (read again when it changed), or undefined when it cannot be read. */
function parsedFile(f: string): ParsedFile | undefined {
  let st: fs.Stats;
  try {
    st = fs.statSync(f);
  } catch {
    parsedFiles.delete(f);
    return undefined;
  }
  const c = parsedFiles.get(f);
  if (c && c.mtimeMs === st.mtimeMs && c.size === st.size) return c;
  let text: string;
  try {
    text = fs.readFileSync(f, 'utf8');
  } catch {
    return undefined;
  }
  const p = indexFile(parseKnownHosts(text, f), st);
  parsedFiles.set(f, p);
  return p;
}

/**
 * Read several known_hosts files; a missing file is simply empty. Parsed files are kept until
 * they change (a 256-node fan-out reads the same file 256 times).
 */
export function readKnownHosts(files: readonly string[]): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  for (const f of files) {
    const p = parsedFile(f);
    if (p) out.push(...p.entries);
  }
  return out;
}

/**
 * The entries of `files` that name `name` (entryMatches, `!` negation included), in file order:
 * what readKnownHosts(files) filtered by that name gives, without matching every line of a large
 * file against every node of a fan-out.
 */
export function knownHostsFor(files: readonly string[], name: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  for (const f of files) {
    const p = parsedFile(f);
    if (!p) continue;
    let mine = p.byName.get(name);
    if (!mine) {
      const at = [...(p.plain.get(name.toLowerCase()) ?? []), ...p.patterned.filter((i) => entryMatches(p.entries[i].hosts, name))];
      mine = at.sort((a, b) => a - b).map((i) => p.entries[i]);
      if (p.byName.size >= MAX_NAMES_KEPT) p.byName.clear();
      p.byName.set(name, mine);
    }
    out.push(...mine);
  }
  return out;
}

/** Append `name keytype key` (accept-new), creating the file (0600) and its directory (0700). */
export function appendKnownHost(file: string, name: string, blob: Buffer): void {
  makeDirectory(path.dirname(file));
  let prefix = '';
  try {
    const cur = fs.readFileSync(file, 'utf8');
    if (cur.length > 0 && !cur.endsWith('\n')) prefix = '\n';
  } catch {
    /* new file */
  }
  fs.appendFileSync(file, `${prefix}${name} ${blobKeyType(blob)} ${blob.toString('base64')}\n`, { mode: 0o600 });
}
