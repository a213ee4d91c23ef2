/**
 * The `ssh:` section of vacm.yaml: defaults for every node, below node variables and above
 * ~/.ssh/config. Validated once at start; errors name the key and what to write instead.
 */
import { VacmError } from '../../protocol/errors.js';

export type StrictHostKeyChecking = 'yes' | 'accept-new' | 'no';

export interface SshSection {
  /** TCP connect + SSH handshake + auth deadline (default: ConnectTimeout from ~/.ssh/config, else 10 000) */
  connectTimeoutMs?: number;
  /** per-node command deadline; none when undefined */
  commandTimeoutMs?: number;
  strictHostKeyChecking?: StrictHostKeyChecking;
  /** known_hosts files (default: ~/.ssh/known_hosts, or UserKnownHostsFile from ~/.ssh/config) */
  knownHosts?: string[];
  /** private key files tried after the agent (default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa) */
  identity?: string[];
  user?: string;
  port?: number;
  /** OpenSSH client config to honour; `false` in YAML turns it off (default ~/.ssh/config) */
  configFile?: string | false;
  /** use ssh-agent through $SSH_AUTH_SOCK (default true) */
  agent: boolean;
  /** keepalive probe interval on pooled connections (default 15 000) */
  keepaliveMs: number;
  /** a pooled connection unused this long is closed (default 300 000) */
  idleCloseMs: number;
}

export const SSH_SECTION_KEYS = [
  'connect_timeout_ms', 'command_timeout_ms', 'strict_host_key_checking', 'known_hosts', 'identity',
  'user', 'port', 'config', 'agent', 'keepalive_ms', 'idle_close_ms',
] as const;

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

function fail(key: string, msg: string): never {
  throw new VacmError('ERR_CONFIG', `ssh.${key}: ${msg}`);
}

function ms(v: unknown, key: string, allowZero = false): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || (!allowZero && v === 0)) fail(key, `must be a whole number of milliseconds${allowZero ? '' : ' above 0'}, e.g. 10000`);
  return v;
}

function paths(v: unknown, key: string): string[] {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length === 0 || list.some((x) => typeof x !== 'string' || x === '')) fail(key, 'must be a file path or a list of file paths');
  return list as string[];
}

export function parseSshSection(raw: unknown): SshSection {
  const out: SshSection = { agent: true, keepaliveMs: 15_000, idleCloseMs: 300_000 };
  if (raw === undefined || raw === null) return out;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new VacmError('ERR_CONFIG', 'ssh: must be a mapping, e.g. ssh: { connect_timeout_ms: 5000 }');
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    if (!(SSH_SECTION_KEYS as readonly string[]).includes(k)) fail(k, `unknown key; ssh takes ${SSH_SECTION_KEYS.join(', ')}`);
  }
  if (r.connect_timeout_ms !== undefined) out.connectTimeoutMs = ms(r.connect_timeout_ms, 'connect_timeout_ms');
  if (r.command_timeout_ms !== undefined) {
    const v = ms(r.command_timeout_ms, 'command_timeout_ms', true);
    if (v > 0) out.commandTimeoutMs = v;
  }
  if (r.strict_host_key_checking !== undefined) {
    const v = r.strict_host_key_checking === true ? 'yes' : r.strict_host_key_checking === false ? 'no' : r.strict_host_key_checking;
    if (v !== 'yes' && v !== 'no' && v !== 'accept-new') fail('strict_host_key_checking', 'must be yes, accept-new or no');
    out.strictHostKeyChecking = v;
  }
  if (r.known_hosts !== undefined) out.knownHosts = paths(r.known_hosts, 'known_hosts');
  if (r.identity !== undefined) out.identity = paths(r.identity, 'identity');
  if (r.user !== undefined) {
    if (typeof r.user !== 'string' || r.user === '') fail('user', 'must be a user name');
    out.user = r.user;
  }
  if (r.port !== undefined) {
    if (typeof r.port !== 'number' || !Number.isInteger(r.port) || r.port < 1 || r.port > 65535) fail('port', 'must be a port number from 1 to 65535');
    out.port = r.port;
  }
  if (r.config !== undefined) {
    if (r.config === false) out.configFile = false;
    else if (typeof r.config === 'string' && r.config !== '') out.configFile = r.config;
    else fail('config', 'must be the path of an OpenSSH client config, or false to ignore ~/.ssh/config');
  }
  if (r.agent !== undefined) {
    if (typeof r.agent !== 'boolean') fail('agent', 'must be true or false');
    out.agent = r.agent;
  }
  if (r.keepalive_ms !== undefined) out.keepaliveMs = ms(r.keepalive_ms, 'keepalive_ms', true);
  if (r.idle_close_ms !== undefined) out.idleCloseMs = ms(r.idle_close_ms, 'idle_close_ms', true);
  return out;
}
