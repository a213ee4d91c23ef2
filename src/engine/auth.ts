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

export const SERVE_KEYS = ['listen', 'socket', 'users', 'max_sessions', 'max_jobs_per_session', 'max_auth_per_minute', 'idle_s', 'max_unread_bytes', 'client_alive_s'] as const;
const USER_KEYS = ['name', 'role', 'keys', 'keys_file', 'from'];
/** a user name: what a login name may be, nothing a terminal or a log line could be fooled by */
const USER_NAME = /^[A-Za-z0-9._][A-Za-z0-9._-]{0,63}$/;
const KEY_TYPES = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)$/;

function fail(key: string, msg: string): never {
  throw new VacmError('ERR_CONFIG', `serve.${key}: ${msg}`);
}

function whole(v: unknown, key: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(key, `must be a whole number from ${min} to ${max}`);
  return v;
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
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new VacmError('ERR_CONFIG', 'serve: must be a mapping, e.g. serve: { listen: 127.0.0.1:2200, users: [...] }');
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!(SERVE_KEYS as readonly string[]).includes(k)) fail(k, `unknown key; serve takes ${SERVE_KEYS.join(', ')}`);
  if (r.listen !== undefined) {
    if (typeof r.listen !== 'string' || r.listen === '') fail('listen', 'must be ADDR:PORT, e.g. 0.0.0.0:2200');
    out.listen = r.listen;
  }
  if (r.socket !== undefined) {
    if (r.socket === false) out.socket = false;
    else if (typeof r.socket === 'string' && r.socket !== '') out.socket = r.socket;
    else fail('socket', 'must be a path, or false for no local socket');
  }
  if (r.max_sessions !== undefined) out.maxSessions = whole(r.max_sessions, 'max_sessions', 1, 10_000);
  if (r.max_jobs_per_session !== undefined) out.maxJobsPerSession = whole(r.max_jobs_per_session, 'max_jobs_per_session', 1, 100_000);
  if (r.max_auth_per_minute !== undefined) out.maxAuthPerMinute = whole(r.max_auth_per_minute, 'max_auth_per_minute', 1, 100_000);
  if (r.idle_s !== undefined) out.idleS = whole(r.idle_s, 'idle_s', 1, 30 * 86_400);
  if (r.max_unread_bytes !== undefined) out.maxUnreadBytes = whole(r.max_unread_bytes, 'max_unread_bytes', 64 * 1024, 1 << 30);
  if (r.client_alive_s !== undefined) out.clientAliveS = whole(r.client_alive_s, 'client_alive_s', 4, 86_400);
  if (r.users !== undefined) {
    if (!Array.isArray(r.users)) fail('users', 'must be a list of {name, role, keys | keys_file, from}');
    const names = new Set<string>();
    out.users = r.users.map((u: unknown, i: number): ServeUser => {
      const at = `users[${i}]`;
      if (typeof u !== 'object' || u === null || Array.isArray(u)) fail(at, 'must be a mapping {name, role, keys | keys_file, from}');
      const o = u as Record<string, unknown>;
      for (const k of Object.keys(o)) if (!USER_KEYS.includes(k)) fail(`${at}.${k}`, `unknown key; a user takes ${USER_KEYS.join(', ')}`);
      if (typeof o.name !== 'string' || !USER_NAME.test(o.name)) fail(`${at}.name`, 'must be a login name (letters, digits, . _ -; at most 64)');
      if (names.has(o.name)) fail(`${at}.name`, `${o.name} is listed twice`);
      names.add(o.name);
      if (typeof o.role !== 'string' || !(ROLES as readonly string[]).includes(o.role)) fail(`${at}.role`, `must be one of ${ROLES.join(', ')}`);
      if ((o.keys === undefined) === (o.keys_file === undefined)) fail(at, 'give keys (a list of public key lines) or keys_file (an authorized_keys-style file), one of them');
      let keys: UserKey[];
      if (o.keys !== undefined) {
        const lines = typeof o.keys === 'string' ? [o.keys] : o.keys;
        if (!Array.isArray(lines) || lines.some((l) => typeof l !== 'string')) fail(`${at}.keys`, 'must be a list of OpenSSH public key lines');
        keys = parseKeyLines((lines as string[]).join('\n'), `serve.${at}.keys`);
      } else {
        if (typeof o.keys_file !== 'string' || o.keys_file === '') fail(`${at}.keys_file`, 'must be a file path');
        keys = parseKeyLines(readFile(o.keys_file), o.keys_file);
      }
      if (keys.length === 0) fail(at, `${o.name} has no key: add one, or remove the user`);
      const from = o.from === undefined ? undefined : parseFrom(o.from, `${at}.from`);
      return { name: o.name, role: o.role as Role, keys, from: from?.list, fromText: from?.text };
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
