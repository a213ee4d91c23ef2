/**
 * The `ssh:` section of vacm.yaml: defaults for every node, below node variables and above
 * ~/.ssh/config. Validated once at start; errors name the key and what to write instead.
 */
import { bool, checkSection, custom, int, mapping, oneOf, section, text, words } from '../../protocol/config-schema.js';

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

const ms = (allowZero: boolean) => int(allowZero ? 0 : 1, Number.MAX_SAFE_INTEGER, { says: `must be a whole number of milliseconds${allowZero ? '' : ' above 0'}, e.g. 10000` });
const paths = words({ nonEmpty: true, says: 'must be a file path or a list of file paths' });

export const SSH_SECTION = section(
  'ssh',
  mapping(
    {
      connect_timeout_ms: ms(false),
      command_timeout_ms: ms(true),
      strict_host_key_checking: oneOf(['yes', 'accept-new', 'no', true, false], { says: 'must be yes, accept-new or no' }),
      known_hosts: paths,
      identity: paths,
      user: text({ says: 'must be a user name' }),
      port: int(1, 65535, { says: 'must be a port number from 1 to 65535' }),
      config: custom((v) => (v === false || (typeof v === 'string' && v !== '') ? undefined : 'must be the path of an OpenSSH client config, or false to ignore ~/.ssh/config')),
      agent: bool({ says: 'must be true or false' }),
      keepalive_ms: ms(true),
      idle_close_ms: ms(true),
    } satisfies Record<(typeof SSH_SECTION_KEYS)[number], unknown>,
    { must: 'a mapping, e.g. ssh: { connect_timeout_ms: 5000 }', showValue: false },
  ),
);

const list = (v: unknown): string[] => (typeof v === 'string' ? [v] : (v as string[]));

export function parseSshSection(raw: unknown): SshSection {
  const out: SshSection = { agent: true, keepaliveMs: 15_000, idleCloseMs: 300_000 };
  checkSection(SSH_SECTION, raw);
  if (raw === undefined || raw === null) return out;
  const r = raw as Record<string, unknown>;
  if (r.connect_timeout_ms !== undefined) out.connectTimeoutMs = r.connect_timeout_ms as number;
  if (r.command_timeout_ms !== undefined && (r.command_timeout_ms as number) > 0) out.commandTimeoutMs = r.command_timeout_ms as number;
  if (r.strict_host_key_checking !== undefined) {
    const v = r.strict_host_key_checking;
    out.strictHostKeyChecking = v === true ? 'yes' : v === false ? 'no' : (v as StrictHostKeyChecking);
  }
  if (r.known_hosts !== undefined) out.knownHosts = list(r.known_hosts);
  if (r.identity !== undefined) out.identity = list(r.identity);
  if (r.user !== undefined) out.user = r.user as string;
  if (r.port !== undefined) out.port = r.port as number;
  if (r.config !== undefined) out.configFile = r.config as string | false;
  if (r.agent !== undefined) out.agent = r.agent as boolean;
  if (r.keepalive_ms !== undefined) out.keepaliveMs = r.keepalive_ms as number;
  if (r.idle_close_ms !== undefined) out.idleCloseMs = r.idle_close_ms as number;
  return out;
}
