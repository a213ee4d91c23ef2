/**
 * ClusterShell's group sources, read as ClusterShell reads them, so `@rack1` and `@slurm:gpu` mean
 * in vacm what they mean to clush on the same machine: groups.conf from /etc/clustershell,
 * ~/.local/etc/clustershell, ~/.config/clustershell ($XDG_CONFIG_HOME) and $CLUSTERSHELL_CFGDIR
 * (later ones override; $CFGDIR is the directory of the last one found), its `confdir` parts
 * (*.conf, upcall sources: map, list, all, reverse, cache_time) and its `autodir` (*.yaml, static
 * groups).
 *
 * Upcalls are commands that the administrator wrote: they run as ClusterShell runs them
 * (`/bin/sh -c`, in $CFGDIR), but only from files that pass checkTrustedFile, with a timeout and
 * bounded output, and with $GROUP / $NODE substituted only when they are plain words (a group
 * name from a request never becomes shell syntax).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { VacmError } from '../protocol/errors.js';
import { GroupSources, staticSource, type GroupSource } from '../protocol/groups.js';
import { distrustReason } from './trusted-file.js';

export interface ClusterShellGroupOptions {
  env?: NodeJS.ProcessEnv;
  /** per upcall (default 10 s) */
  timeoutMs?: number;
  /** per upcall's standard output (default 4 MiB) */
  maxOutputBytes?: number;
  now?: () => number;
  /** groups.conf candidates, lowest priority first (default: ClusterShell's list) */
  paths?: string[];
}

const DEFAULT_CACHE_S = 3600;
/** what $GROUP and $NODE may hold: ClusterShell's group and node names, nothing the shell reads */
const SAFE_WORD = /^[A-Za-z0-9_.+%=/-]+$/;

export function groupsConfPaths(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env.HOME ?? os.homedir();
  const paths = [
    '/etc/clustershell/groups.conf',
    path.join(home, '.local/etc/clustershell/groups.conf'),
    path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'clustershell', 'groups.conf'),
  ];
  if (env.CLUSTERSHELL_CFGDIR !== undefined) paths.push(path.join(env.CLUSTERSHELL_CFGDIR, 'groups.conf'));
  return paths;
}

type Ini = Map<string, Map<string, string>>;

/** Python's ConfigParser, the part groups.conf uses: [sections], key: value or key = value, indented continuations, # and ; comments. */
export function parseIni(text: string, into: Ini = new Map()): Ini {
  let section: Map<string, string> | undefined;
  let key: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s*[#;]/.test(raw) || raw.trim() === '') {
      if (raw.trim() === '') key = undefined;
      continue;
    }
    if (/^\s/.test(raw) && section && key !== undefined) {
      section.set(key, `${section.get(key)}\n${raw.trim()}`);
      continue;
    }
    const sec = /^\[([^\]]+)\]/.exec(raw);
    if (sec) {
      const name = sec[1];
      section = into.get(name) ?? new Map();
      into.set(name, section);
      key = undefined;
      continue;
    }
    const kv = /^([^:=]+?)\s*[:=]\s*(.*)$/.exec(raw);
    if (kv && section) {
      key = kv[1].trim().toLowerCase();
      section.set(key, kv[2].trim());
    }
  }
  return into;
}

/** shlex.split for the confdir/autodir lists: white space separates, quotes group. */
function shlexSplit(s: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(s); m; m = re.exec(s)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/** Python's string.Template.safe_substitute: $NAME and ${NAME}; unknown names are left as they are. */
function substitute(tpl: string, vars: Record<string, string>): string {
  return tpl.replace(/\$(?:(\$)|([A-Za-z_]\w*)|\{([A-Za-z_]\w*)\})/g, (m, dollar: string, a: string, b: string) => {
    if (dollar) return '$';
    const k = a ?? b;
    return Object.hasOwn(vars, k) ? vars[k] : m;
  });
}

/** Words of an upcall's output (ClusterShell splits every line on white space). */
function words(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

class UpcallSource implements GroupSource {
  private readonly cache = new Map<string, { at: number; value: string | undefined }>();

  constructor(
    readonly name: string,
    private readonly upcalls: Map<string, string>,
    private readonly cfgdir: string,
    private readonly file: string,
    private readonly distrust: string | undefined,
    private readonly cacheS: number,
    private readonly o: Required<Pick<ClusterShellGroupOptions, 'timeoutMs' | 'maxOutputBytes' | 'now'>>,
  ) {}

  /** Run one upcall (cached for cache_time); undefined when it fails (ClusterShell: no such group). */
  private call(kind: string, arg?: { name: string; value: string }): string | undefined {
    const tpl = this.upcalls.get(kind);
    if (tpl === undefined) return undefined;
    if (this.distrust) throw new VacmError('ERR_UNSAFE_FILE', `${this.distrust}; its group source "${this.name}" is not used until then`);
    if (arg && !SAFE_WORD.test(arg.value)) {
      throw new VacmError('ERR_NODESET_PARSE', `illegal ${arg.name.toLowerCase()} name "${arg.value}" for group source "${this.name}": letters, digits and _ . + % = / - only`, { fragment: arg.value });
    }
    const key = `${kind}\u0000${arg?.value ?? ''}`;
    const hit = this.cache.get(key);
    const now = this.o.now();
    if (hit && now - hit.at < this.cacheS * 1000) return hit.value;
    const vars: Record<string, string> = { CFGDIR: this.cfgdir, SOURCE: this.name };
    if (arg) vars[arg.name] = arg.value;
    const cmd = substitute(tpl, vars);
    let value: string | undefined;
    try {
      value = execFileSync('/bin/sh', ['-c', cmd], {
        cwd: fs.existsSync(this.cfgdir) ? this.cfgdir : undefined,
        encoding: 'utf8',
        timeout: this.o.timeoutMs,
        maxBuffer: this.o.maxOutputBytes,
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { signal?: string };
      if (e.code === 'ENOBUFS') throw new VacmError('ERR_LIMIT', `group source "${this.name}" (${this.file}): the ${kind} upcall printed more than ${this.o.maxOutputBytes} bytes`);
      if (e.signal === 'SIGTERM') throw new VacmError('ERR_TIMEOUT', `group source "${this.name}" (${this.file}): the ${kind} upcall did not finish in ${this.o.timeoutMs / 1000} s`);
      // a failing map: no such group; a failing list or all: an error, as in ClusterShell
      if (kind !== 'map') throw new VacmError('ERR_CONFIG', `group source "${this.name}" (${this.file}): the ${kind} upcall failed: ${cmd}`);
      value = undefined;
    }
    this.cache.set(key, { at: now, value });
    return value;
  }

  /** undefined for a failing upcall or an empty answer: vacm names an unknown group (ClusterShell makes it empty) */
  map(group: string): string | undefined {
    const out = this.call('map', { name: 'GROUP', value: group });
    return out === undefined || out === '' ? undefined : words(out).join(',');
  }

  /** a listed group: an empty answer is an empty group, a failing map an error (ClusterShell's parse_group) */
  members(group: string): string {
    const out = this.call('map', { name: 'GROUP', value: group });
    if (out === undefined) throw new VacmError('ERR_CONFIG', `group source "${this.name}" (${this.file}): the map upcall failed for group "${group}", which the source names`);
    return words(out).join(',');
  }

  get canReverse(): boolean {
    return this.upcalls.has('reverse');
  }

  list(): string[] | undefined {
    if (!this.upcalls.has('list')) return undefined;
    return words(this.call('list') ?? '');
  }

  all(): string | undefined {
    if (!this.upcalls.has('all')) return undefined;
    return words(this.call('all') ?? '').join(',');
  }

  reverse(node: string): string[] | undefined {
    if (!this.upcalls.has('reverse')) return undefined;
    return words(this.call('reverse', { name: 'NODE', value: node }) ?? '');
  }
}

function readable(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function trustOf(file: string, directory = false): string | undefined {
  try {
    return distrustReason(file, fs.statSync(file), { what: directory ? 'ClusterShell group directory' : 'ClusterShell group file', directory });
  } catch {
    return undefined;
  }
}

let yamlLib: typeof import('yaml') | undefined;
const yaml = (): typeof import('yaml') => (yamlLib ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'));

function yamlSources(file: string): GroupSource[] {
  const text = readable(file);
  if (text === undefined) return []; // ClusterShell skips files it may not read
  let doc: unknown;
  try {
    doc = yaml().parse(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new VacmError('ERR_CONFIG', `${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new VacmError('ERR_CONFIG', `${file}: invalid content (base is not a dict)`);
  const out: GroupSource[] = [];
  for (const [src, groups] of Object.entries(doc as Record<string, unknown>)) {
    if (typeof groups !== 'object' || groups === null || Array.isArray(groups)) throw new VacmError('ERR_CONFIG', `${file}: invalid content (group source '${src}' is not a dict)`);
    const g: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const [name, v] of Object.entries(groups as Record<string, unknown>)) {
      if (Array.isArray(v)) g[name] = v.map(String).join(',');
      else if (v === null || typeof v === 'object') throw new VacmError('ERR_CONFIG', `${file}: ${src}: group ${name}: must be a node set or a list`);
      else g[name] = String(v);
    }
    out.push(staticSource(src, g));
  }
  return out;
}

/** The group sources ClusterShell would use on this machine (none when it has no groups.conf). */
export function loadClusterShellGroups(opts: ClusterShellGroupOptions = {}): GroupSources {
  const o = { timeoutMs: opts.timeoutMs ?? 10_000, maxOutputBytes: opts.maxOutputBytes ?? 4 << 20, now: opts.now ?? Date.now };
  const ini: Ini = new Map();
  let last: string | undefined;
  const distrusted = new Map<string, string>();
  for (const p of opts.paths ?? groupsConfPaths(opts.env)) {
    const text = readable(p);
    if (text === undefined) continue;
    parseIni(text, ini);
    last = p;
    const why = trustOf(p);
    if (why) distrusted.set(p, why);
  }
  if (last === undefined) return new GroupSources([]);
  const cfgdir = path.dirname(last);
  // one distrusted groups.conf taints the upcalls it may have changed: all of the merged file's
  const mainDistrust = distrusted.size ? [...distrusted.values()][0] : undefined;
  const sources: GroupSource[] = [];
  const fromIni = (cfg: Ini, dir: string, file: string, distrust: string | undefined): void => {
    for (const [section, keys] of cfg) {
      for (const name of section.split(',')) {
        if (name === 'Main') continue;
        const map = keys.get('map');
        if (map === undefined) throw new VacmError('ERR_CONFIG', `${file}: [${section}]: no map upcall (it is the one ClusterShell requires)`);
        const upcalls = new Map<string, string>([['map', map]]);
        for (const k of ['all', 'list', 'reverse']) if (keys.has(k)) upcalls.set(k, keys.get(k)!);
        const ct = keys.get('cache_time');
        const cacheS = ct === undefined ? DEFAULT_CACHE_S : Number(ct);
        if (!Number.isFinite(cacheS)) throw new VacmError('ERR_CONFIG', `${file}: [${section}]: cache_time must be a number of seconds`);
        sources.push(new UpcallSource(name, upcalls, dir, file, distrust, cacheS, o));
      }
    }
  };
  const main = ini.get('Main') ?? new Map<string, string>();
  const dirs = (key: string): string[] => {
    const seen = new Set<string>();
    for (const d of shlexSplit(main.get(key) ?? '')) {
      const dir = path.normalize(substitute(d, { CFGDIR: cfgdir }));
      if (seen.has(dir)) continue;
      if (!fs.existsSync(dir)) continue;
      if (!fs.statSync(dir).isDirectory()) throw new VacmError('ERR_CONFIG', `Defined ${key} ${dir} is not a directory`);
      seen.add(dir);
    }
    return [...seen];
  };
  const listDir = (dir: string, ext: string): string[] =>
    fs.readdirSync(dir).filter((f) => f.endsWith(ext)).sort().map((f) => path.join(dir, f));
  for (const dir of dirs(main.has('groupsdir') ? 'groupsdir' : 'confdir')) {
    for (const f of listDir(dir, '.conf')) {
      const text = readable(f);
      if (text !== undefined) fromIni(parseIni(text), dir, f, trustOf(f) ?? trustOf(dir, true));
    }
  }
  for (const dir of dirs('autodir')) for (const f of listDir(dir, '.yaml')) sources.push(...yamlSources(f));
  const own: Ini = new Map([...ini].filter(([k]) => k !== 'Main'));
  fromIni(own, cfgdir, last, mainDistrust);
  const def = main.get('default');
  if (def && !sources.some((s) => s.name === def)) throw new VacmError('ERR_CONFIG', `${last}: Default group source not found: "${def}"`);
  return new GroupSources(sources, def || undefined);
}
