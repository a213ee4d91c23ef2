/**
 * Who may do what through `vacm serve`: the `serve:` section's users (name, role, public keys, the
 * source networks they may come from) and the role each request needs. The engine asks
 * `roleNeeded` on every request that carries an origin (engine.submit), so a refusal does not depend
 * on which client sent it. The SSH door (cli/serve-door.ts) asks `findUser`/`fromAllowed` when a key
 * is offered.
 */
import net from 'node:net';
import { VacmError } from '../protocol/errors.js';
import type { Request } from '../protocol/ipc.js';
import { isTrue } from '../protocol/vars.js';
import type { CommandDef, ConfigView, JobView, Role } from '../protocol/module.js';
import { readTrustedFile } from '../platform/trusted-file.js';
import { checkSection, custom, int, listOf, mapping, oneOf, section, text, words } from '../protocol/config-schema.js';
import { listenField } from '../protocol/listen.js';

export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function roleAtLeast(have: Role, need: Role): boolean {
  return RANK[have] >= RANK[need];
}

/** One OpenSSH public key line of a user: the type, the blob (base64 decoded), the comment. */
export interface UserKey {
  readonly type: string;
  readonly blob: Buffer;
}

export interface ServeUser {
  readonly name: string;
  readonly role: Role;
  readonly keys: readonly UserKey[];
  /** source networks (CIDR) this user may log in from over TCP; undefined: anywhere */
  readonly from?: net.BlockList;
  readonly fromText?: readonly string[];
}

export interface ServeSection {
  /** ADDR:PORT of the SSH front door; undefined: none */
  listen?: string;
  /** the local socket's path (default <state dir>/serve.sock); false: none */
  socket?: string | false;
  users: readonly ServeUser[];
  /** sessions at once (default 64) */
  maxSessions: number;
  /** jobs in flight per session (default 64) */
  maxJobsPerSession: number;
  /** failed authentication attempts per source address per minute (default 20) */
  maxAuthPerMinute: number;
  /** a session with no request and no job of its own for this long is closed (default 900) */
  idleS: number;
  /** bytes a client may leave unread before it is disconnected (default 4 MiB) */
  maxUnreadBytes: number;
  /** a client that answers nothing (not even SSH keepalives) for this long is disconnected (default 60) */
  clientAliveS: number;
}

const USER_NAME = /^[A-Za-z0-9._][A-Za-z0-9._-]{0,63}$/;

const SERVE_USER = mapping(
  {
    name: text({ pattern: USER_NAME, says: 'must be a login name (letters, digits, . _ -; at most 64)' }),
    role: oneOf(ROLES),
    keys: words({ says: 'must be a list of OpenSSH public key lines (ssh-ed25519 AAAA... comment)' }),
    keys_file: text({ says: 'must be the path of a file of OpenSSH public key lines' }),
    from: words({ says: 'must be a CIDR or a list of CIDRs, e.g. [10.0.0.0/8, 127.0.0.1/32]' }),
  },
  { must: 'a mapping { name, role, keys | keys_file, from }', showValue: false, noun: 'a user', required: { name: 'required: the user name clients log in as', role: `required: one of ${ROLES.join(', ')}` } },
);

/**
 * serve: `vacm serve`'s front doors (issue 13). The one schema of the section: the config loader
 * checks a file against it, and parseServeSection checks against it before it reads the values;
 * only what a schema cannot say (a user listed twice, keys or keys_file, the key lines, the CIDRs)
 * is checked by hand below.
 */
export const SERVE_SECTION = section(
  'serve',
  mapping(
    {
      listen: listenField(0, '127.0.0.1'),
      socket: custom((v) => (v === false || (typeof v === 'string' && v !== '') ? undefined : 'must be the path of the local socket (default in the state dir), or false for none')),
      users: listOf(SERVE_USER, { must: 'a list of { name, role, keys | keys_file, from }' }),
      idle_s: int(1, 30 * 86_400, { unit: 'seconds', example: 900 }),
      max_sessions: int(1, 10_000, { example: 64 }),
      max_jobs_per_session: int(1, 100_000, { example: 64 }),
      max_auth_per_minute: int(1, 100_000, { example: 20 }),
      max_unread_bytes: int(64 * 1024, 1 << 30, { unit: 'bytes', example: 4_194_304 }),
      client_alive_s: int(4, 86_400, { unit: 'seconds', example: 60 }),
    },
    { must: 'a mapping, e.g. serve: { listen: "0.0.0.0:2222", users: [...] }', showValue: false },
  ),
);
const KEY_TYPES = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)$/;

function fail(key: string, msg: string): never {
  throw new VacmError('ERR_CONFIG', `serve.${key}: ${msg}`);
}

/**
 * Public key lines as in authorized_keys: `TYPE BASE64 [comment]`; blank lines and `#` comments
 * skipped. Options before the type (`from="..."`, `command="..."`) are refused rather than ignored:
 * an operator who wrote them expects them to apply, and vacm does not apply them.
 */
export function parseKeyLines(text: string, where: string): UserKey[] {
  const out: UserKey[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [type, b64] = line.split(/\s+/);
    if (!KEY_TYPES.test(type)) throw new VacmError('ERR_CONFIG', `${where}, line ${i + 1}: not an OpenSSH public key line (TYPE BASE64 [comment], e.g. ssh-ed25519 AAAA... alice@laptop); authorized_keys options are not supported`);
    if (!b64 || !/^[A-Za-z0-9+/]+=*$/.test(b64)) throw new VacmError('ERR_CONFIG', `${where}, line ${i + 1}: the key's base64 is missing or damaged`);
    const blob = Buffer.from(b64, 'base64');
    // the blob names its own type first: a line whose type and blob disagree is a mistake
    const n = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
    if (n <= 0 || 4 + n > blob.length || blob.subarray(4, 4 + n).toString('latin1') !== type) throw new VacmError('ERR_CONFIG', `${where}, line ${i + 1}: the key is not a ${type} key`);
    out.push({ type, blob });
  });
  return out;
}

function parseFrom(v: unknown, key: string): { list: net.BlockList; text: string[] } {
  const items = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(items) || items.length === 0) fail(key, 'must be a CIDR or a list of CIDRs, e.g. [10.0.0.0/8, 127.0.0.1/32]');
  const list = new net.BlockList();
  const text: string[] = [];
  for (const it of items) {
    if (typeof it !== 'string') fail(key, 'must be a list of CIDRs, e.g. [10.0.0.0/8]');
    const m = /^([0-9a-fA-F:.]+)(?:\/(\d{1,3}))?$/.exec(it.trim());
    const family = m ? net.isIP(m[1]) : 0;
    const bits = m?.[2] !== undefined ? Number(m[2]) : family === 6 ? 128 : 32;
    if (!m || family === 0 || bits > (family === 6 ? 128 : 32)) fail(key, `"${it}" is not a CIDR (e.g. 10.1.0.0/16, 192.0.2.7, ::1/128)`);
    list.addSubnet(m[1], bits, family === 6 ? 'ipv6' : 'ipv4');
    text.push(it.trim());
  }
  return { list, text };
}

export function parseServeSection(raw: unknown, readFile: (file: string) => string = defaultReadKeys): ServeSection {
  const out: ServeSection = { users: [], maxSessions: 64, maxJobsPerSession: 64, maxAuthPerMinute: 20, idleS: 900, maxUnreadBytes: 4 << 20, clientAliveS: 60 };
  if (raw === undefined || raw === null) return out;
  checkSection(SERVE_SECTION, raw);
  const r = raw as Record<string, unknown>;
  if (r.listen !== undefined) out.listen = String(r.listen);
  if (r.socket !== undefined) out.socket = r.socket as string | false;
  if (r.max_sessions !== undefined) out.maxSessions = r.max_sessions as number;
  if (r.max_jobs_per_session !== undefined) out.maxJobsPerSession = r.max_jobs_per_session as number;
  if (r.max_auth_per_minute !== undefined) out.maxAuthPerMinute = r.max_auth_per_minute as number;
  if (r.idle_s !== undefined) out.idleS = r.idle_s as number;
  if (r.max_unread_bytes !== undefined) out.maxUnreadBytes = r.max_unread_bytes as number;
  if (r.client_alive_s !== undefined) out.clientAliveS = r.client_alive_s as number;
  if (r.users !== undefined) {
    const names = new Set<string>();
    out.users = (r.users as Record<string, unknown>[]).map((o, i): ServeUser => {
      const at = `users[${i}]`;
      const name = o.name as string;
      if (names.has(name)) fail(`${at}.name`, `${name} is listed twice`);
      names.add(name);
      if ((o.keys === undefined) === (o.keys_file === undefined)) fail(at, 'give keys (a list of public key lines) or keys_file (an authorized_keys-style file), one of them');
      const keys = o.keys !== undefined
        ? parseKeyLines((typeof o.keys === 'string' ? [o.keys] : (o.keys as string[])).join('\n'), `serve.${at}.keys`)
        : parseKeyLines(readFile(o.keys_file as string), o.keys_file as string);
      if (keys.length === 0) fail(at, `${name} has no key: add one, or remove the user`);
      const from = o.from === undefined ? undefined : parseFrom(o.from, `${at}.from`);
      return { name, role: o.role as Role, keys, from: from?.list, fromText: from?.text };
    });
  }
  return out;
}

/** A keys_file is trusted with logins: read only when nobody else could have written it. */
function defaultReadKeys(file: string): string {
  return readTrustedFile(file, { what: 'serve keys file', code: 'ERR_CONFIG', maxBytes: 1 << 20 }).toString('utf8');
}

/** The user `name` when `blob` (an SSH public key blob, which names its own type) is one of its keys. */
export function findUser(section: ServeSection, name: string, blob: Buffer): ServeUser | undefined {
  const u = section.users.find((x) => x.name === name);
  if (!u) return undefined;
  return u.keys.some((k) => k.blob.equals(blob)) ? u : undefined;
}

/** May `user` log in from `ip` (the TCP door)? An IPv4-mapped IPv6 address counts as IPv4. */
export function fromAllowed(user: ServeUser, ip: string): boolean {
  if (!user.from) return true;
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  const addr = v4 ?? ip;
  const family = net.isIP(addr);
  if (family === 0) return false;
  return user.from.check(addr, family === 6 ? 'ipv6' : 'ipv4');
}

/** exec.safe: commands a viewer may run. Seam: the `ui3` work adds the list to the config; until then none. */
export function execSafeList(config: ConfigView): readonly string[] {
  const safe = (config.exec as { safe?: unknown }).safe;
  return Array.isArray(safe) ? safe.filter((x): x is string => typeof x === 'string') : [];
}

/** A command line matched against exec.safe entries: the exact text, or a `*`-glob over it. */
function safeCommand(config: ConfigView, command: string): boolean {
  return execSafeList(config).some((p) => {
    if (!p.includes('*')) return p === command.trim();
    const re = new RegExp('^' + p.split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^;&|`$<>]*') + '$');
    return re.test(command.trim());
  });
}

export interface RoleNeed {
  role: Role;
  /** what the role is needed for, for the message */
  why: string;
}

/**
 * The least role that may make this request (issue 13): a viewer everything that changes nothing
 * (and exec.safe commands); an operator power and exec on nodes that are not guarded (controller:
 * true, or guarded: true); an admin :FORCE, SET_VAR/UNSET_VAR, ADOPT, cancelling others' jobs, and
 * anything on a guarded node. exec.allow still applies on top, in the SSH module.
 */
export function roleNeeded(req: Request, cmd: CommandDef, dangerous: boolean, targets: readonly string[], ctx: {
  config: ConfigView;
  varsOf: (node: string) => Readonly<Record<string, string>> | undefined;
  job: (id: number) => JobView | undefined;
  user: string;
}): RoleNeed {
  const what = `${req.tag}:${req.command}`;
  if (req.tag === 'NEXXUS' && ['SET_VAR', 'UNSET_VAR', 'ADOPT'].includes(req.command)) return { role: 'admin', why: what };
  if (req.tag === 'NEXXUS' && req.command === 'CANCEL') {
    const id = Number(req.named.jobid);
    const j = Number.isInteger(id) ? ctx.job(id) : undefined;
    if (j && j.user !== undefined && j.user !== ctx.user) return { role: 'admin', why: `cancelling job ${id} of ${j.user}` };
    return { role: 'viewer', why: what };
  }
  if (req.args.some((a) => a.toUpperCase() === 'FORCE')) return { role: 'admin', why: `${what}:FORCE` };
  if (!dangerous) return { role: 'viewer', why: what };
  if (req.tag === 'SSH' && req.command === 'EXEC' && safeCommand(ctx.config, req.named.command ?? '')) return { role: 'viewer', why: `${what} of an exec.safe command` };
  const guarded = targets.find((n) => {
    const v = ctx.varsOf(n);
    return v !== undefined && (isTrue(v.controller) || isTrue(v.guarded));
  });
  if (guarded !== undefined) return { role: 'admin', why: `${what} on the guarded node ${guarded}` };
  return { role: 'operator', why: what };
}
