/**
 * The part of OpenSSH's client config (ssh_config(5)) that vacm honours: Host blocks with `*`, `?`
 * and `!` patterns, and HostName, Port, User, IdentityFile, IdentitiesOnly, UserKnownHostsFile,
 * StrictHostKeyChecking, ConnectTimeout. Like ssh, the first value obtained for a keyword wins,
 * except IdentityFile, which accumulates. `Match` blocks are skipped (their keywords do not apply).
 * Pure: the caller reads the file and expands `~` and `%` tokens.
 */
import { globMatch } from '../../protocol/glob.js';

export interface SshConfigBlock {
  /** the Host patterns; undefined for the lines before the first Host (they apply to every host) */
  readonly patterns?: readonly string[];
  /** Match blocks are kept so that their lines are not mistaken for the previous block's */
  readonly match?: boolean;
  readonly options: readonly { key: string; args: readonly string[]; line: number }[];
}

export interface HostSshConfig {
  hostName?: string;
  port?: number;
  user?: string;
  identityFiles: string[];
  identitiesOnly?: boolean;
  userKnownHostsFiles?: string[];
  strictHostKeyChecking?: 'yes' | 'no' | 'accept-new' | 'ask' | 'off';
  connectTimeoutS?: number;
}

/** Split a config line into words: whitespace separated, "double quotes" group, `key=value` allowed. */
export function splitConfigLine(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inQuote = false;
  let have = false;
  let i = 0;
  const s = line.trim();
  // the keyword may be followed by `=` (with optional spaces around it)
  const m = /^([A-Za-z][A-Za-z0-9]*)\s*(?:=\s*|\s+)(.*)$/.exec(s);
  if (m) {
    words.push(m[1]);
    i = 0;
    const rest = m[2];
    for (; i < rest.length; i++) {
      const ch = rest[i];
      if (ch === '"') {
        inQuote = !inQuote;
        have = true;
      } else if (!inQuote && /\s/.test(ch)) {
        if (have) words.push(cur);
        cur = '';
        have = false;
      } else {
        cur += ch;
        have = true;
      }
    }
    if (have) words.push(cur);
    return words;
  }
  return s === '' ? [] : [s];
}

export function parseSshConfig(text: string): SshConfigBlock[] {
  const blocks: { patterns?: string[]; match?: boolean; options: { key: string; args: string[]; line: number }[] }[] = [{ options: [] }];
  text.split(/\r?\n/).forEach((raw, idx) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const words = splitConfigLine(line);
    if (words.length === 0) return;
    const key = words[0].toLowerCase();
    const args = words.slice(1);
    if (key === 'host') blocks.push({ patterns: args, options: [] });
    else if (key === 'match') blocks.push({ match: true, options: [] });
    else blocks[blocks.length - 1].options.push({ key, args, line: idx + 1 });
  });
  return blocks;
}

/**
 * A Host line matches when some pattern matches and no negated (`!`) pattern does. As ssh matches
 * Host lines (readconf.c, `ssh -G`): against the name as given, case-sensitively, each
 * whitespace-separated word one pattern (a comma is a character there, unlike in known_hosts or
 * `Match host`). Matching looser than ssh would apply a block, `StrictHostKeyChecking no` say, to
 * hosts ssh itself keeps checking.
 */
export function hostMatches(name: string, patterns: readonly string[]): boolean {
  let matched = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (globMatch(p.slice(1), name)) return false;
    } else if (globMatch(p, name)) matched = true;
  }
  return matched;
}

const YES = new Set(['yes', 'true']);

/**
 * Which blocks may apply to a host, found without trying every Host line: blocks whose patterns
 * are plain names (no `*`, `?` or `!`) by name; the others (patterns, negations, the lines before
 * the first Host) are tried one by one. A config with a Host block per node then costs a lookup.
 */
export interface SshConfigIndex {
  /** plain name, as written -> indexes of the blocks naming it */
  readonly plain: ReadonlyMap<string, readonly number[]>;
  /** indexes of the blocks that must be matched (hostMatches) */
  readonly patterned: readonly number[];
}

export function indexSshConfig(blocks: readonly SshConfigBlock[]): SshConfigIndex {
  const plain = new Map<string, number[]>();
  const patterned: number[] = [];
  blocks.forEach((b, i) => {
    if (b.match) return;
    if (!b.patterns || b.patterns.some((p) => /[*?!]/.test(p))) {
      patterned.push(i);
      return;
    }
    for (const n of new Set(b.patterns)) {
      const at = plain.get(n);
      if (at) at.push(i);
      else plain.set(n, [i]);
    }
  });
  return { plain, patterned };
}

/**
 * The settings that apply to `host` (the name given to ssh), first value per keyword wins. With
 * `index` (indexSshConfig of the same blocks) the same answer, from the blocks it points to.
 */
export function resolveHostConfig(blocks: readonly SshConfigBlock[], host: string, index?: SshConfigIndex): HostSshConfig {
  const out: HostSshConfig = { identityFiles: [] };
  const seen = new Set<string>();
  const order = index
    ? [...(index.plain.get(host) ?? []), ...index.patterned].sort((a, b) => a - b).map((i) => blocks[i])
    : blocks;
  for (const b of order) {
    if (b.match) continue;
    if (b.patterns && !hostMatches(host, b.patterns)) continue;
    for (const { key, args } of b.options) {
      if (args.length === 0) continue;
      if (key === 'identityfile') {
        if (args[0].toLowerCase() !== 'none') out.identityFiles.push(args[0]);
        continue;
      }
      if (seen.has(key)) continue;
      switch (key) {
        case 'hostname':
          out.hostName = args[0];
          break;
        case 'port': {
          const p = Number(args[0]);
          if (Number.isInteger(p) && p > 0 && p < 65536) out.port = p;
          else continue;
          break;
        }
        case 'user':
          out.user = args[0];
          break;
        case 'identitiesonly':
          out.identitiesOnly = YES.has(args[0].toLowerCase());
          break;
        case 'userknownhostsfile':
          out.userKnownHostsFiles = args.filter((a) => a.toLowerCase() !== 'none');
          break;
        case 'stricthostkeychecking': {
          const v = args[0].toLowerCase();
          out.strictHostKeyChecking = v === 'true' ? 'yes' : v === 'false' ? 'no' : (['yes', 'no', 'accept-new', 'ask', 'off'].includes(v) ? (v as HostSshConfig['strictHostKeyChecking']) : 'ask');
          break;
        }
        case 'connecttimeout': {
          const t = Number(args[0]);
          if (Number.isFinite(t) && t > 0) out.connectTimeoutS = t;
          else continue;
          break;
        }
        default:
          continue;
      }
      seen.add(key);
    }
  }
  return out;
}

/** Expand `~/` and the `%` tokens ssh knows in IdentityFile and UserKnownHostsFile. */
export function expandSshPath(p: string, t: { home: string; host: string; hostName: string; port: number; user: string; localUser: string }): string {
  let s = p.startsWith('~/') ? t.home + p.slice(1) : p === '~' ? t.home : p;
  s = s.replace(/%([%dhnpru])/g, (_m, c: string) => {
    switch (c) {
      case '%': return '%';
      case 'd': return t.home;
      case 'h': return t.hostName;
      case 'n': return t.host;
      case 'p': return String(t.port);
      case 'r': return t.user;
      case 'u': return t.localUser;
      default: return _m;
    }
  });
  return s;
}
