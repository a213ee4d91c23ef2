/**
 * The SSH connection pool: one ssh2 connection per node, opened on first use and reused by later
 * jobs (keepalive; closed after an idle while; reopened when it dies or the node's variables change).
 * Concurrent callers for the same node share one in-flight connect. Settings come from the node's
 * variables, then vacm.yaml's `ssh:` section, then ~/.ssh/config, then OpenSSH's defaults; keys from
 * ssh-agent and identity files; host keys are checked against known_hosts (known-hosts.ts).
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AnyAuthMethod, Client, ClientChannel, ConnectConfig, ParsedKey, SFTPWrapper } from 'ssh2';
import { VacmError } from '../../protocol/errors.js';
import { checkTrustedFile } from '../../platform/trusted-file.js';
import { peerText } from '../../protocol/visible.js';
import type { NodeVars } from '../../protocol/module.js';
import type { ExecResult, RemoteExecutor } from '../capabilities.js';
import type { ExecExit, StreamExecOptions, StreamingExecutor } from './module.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, parseSshSection, type SshSection, type StrictHostKeyChecking } from './settings.js';
import { expandSshPath, parseSshConfig, resolveHostConfig, type SshConfigBlock } from './ssh-config.js';
import { appendKnownHost, blobKeyType, checkHostKey, fingerprint, knownHostName, knownKeyTypes, readKnownHosts, type KnownHostEntry } from './known-hosts.js';

type Ssh2 = typeof import('ssh2');
let ssh2Loading: Promise<Ssh2> | undefined;
let ssh2: Ssh2 | undefined;

/** ssh2 is loaded on the first connect: vacm commands that never SSH start ~0.1 s sooner. */
async function loadSsh2(): Promise<Ssh2> {
  ssh2Loading ??= import('ssh2').then((m) => (ssh2 = ((m as { default?: Ssh2 }).default ?? m) as Ssh2));
  return ssh2Loading;
}

/** Where and how to reach one node, fully resolved. */
export interface SshTarget {
  node: string;
  host: string;
  port: number;
  user: string;
  /** identity files to try after the agent, in order */
  identities: string[];
  /** whether the identity list is the built-in default (missing files are then not worth naming) */
  defaultIdentities: boolean;
  agent?: string;
  knownHosts: string[];
  /** read-only system-wide known hosts */
  globalKnownHosts: string[];
  strict: StrictHostKeyChecking;
  connectTimeoutMs: number;
  /** identity of the settings: a pooled connection is reused only for the same signature */
  sig: string;
}

export interface PoolStats {
  /** completed SSH handshakes (each is a new connection) */
  handshakes: number;
  /** connection attempts, failed ones included */
  connects: number;
  /** execs served by an already open connection */
  reused: number;
}

export interface PoolOptions {
  section?: SshSection;
  /** environment for HOME and SSH_AUTH_SOCK (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** local user name (default os.userInfo()) */
  localUser?: string;
  /** vacm runs read-only: accept-new keeps new host keys in memory and writes no known_hosts */
  readOnly?: boolean;
}

interface Pooled {
  client: Client;
  target: SshTarget;
  inflight: number;
  closed: boolean;
  idle?: NodeJS.Timeout;
}

const DEFAULT_IDENTITIES = ['~/.ssh/id_ed25519', '~/.ssh/id_ecdsa', '~/.ssh/id_rsa'];
const PREFERRED_HOST_KEYS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
const SIGNALS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, ILL: 4, ABRT: 6, FPE: 8, KILL: 9, SEGV: 11, PIPE: 13, ALRM: 14, TERM: 15, USR1: 10, USR2: 12 };

/** The longest output line kept: the rest of a longer line is counted and dropped (IPC lines are 64 KiB too). */
export const MAX_LINE_BYTES = 64 * 1024;

/** Output a command vacm runs for itself (SYSSTAT's /proc read, ssh power) may answer before it is stopped. */
export const RUN_MAX_BYTES = 4 * 1024 * 1024;

/** The suffix of a line cut at MAX_LINE_BYTES: it says how many bytes were dropped. */
export function cutSuffix(bytes: number): string {
  return `…[cut ${bytes} bytes]`;
}

/** Where a line cut at `end` bytes may end without splitting a UTF-8 character (a partial last one is dropped). */
function utf8Boundary(b: Buffer, end: number): number {
  let i = end - 1;
  while (i >= 0 && end - i < 4 && (b[i] & 0xc0) === 0x80) i--;
  if (i < 0) return end;
  const lead = b[i];
  const len = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return i + len <= end ? end : i;
}

/**
 * Splits a byte stream into lines; the last unterminated line is flushed at the end. Each chunk is
 * scanned once, for its own newlines only, and a line is decoded as a whole once its newline has
 * come (so a UTF-8 character split between chunks survives). A line longer than `maxLineBytes`
 * keeps its first `maxLineBytes` bytes (to a character boundary); the rest is counted and dropped
 * until the newline, and the line is handed out then, ending in `…[cut N bytes]`: a remote line
 * of any length costs at most `maxLineBytes` of memory and one pass over its bytes.
 */
export class LineSplitter {
  /** the current line's kept bytes (copies: ssh2 may reuse the buffers it hands out) */
  private parts: Buffer[] = [];
  private kept = 0;
  private cut = 0;
  private readonly max: number;
  constructor(private readonly onLine: (line: string) => void, opts: { maxLineBytes?: number } = {}) {
    this.max = opts.maxLineBytes ?? MAX_LINE_BYTES;
  }

  push(chunk: Buffer | string): void {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    let nl: number;
    while ((nl = b.indexOf(10, start)) >= 0) {
      if (this.kept === 0 && this.cut === 0 && nl - start <= this.max) this.onLine(b.toString('utf8', start, nl));
      else {
        this.take(b, start, nl);
        this.flush();
      }
      start = nl + 1;
    }
    if (start < b.length) this.take(b, start, b.length);
  }

  end(): void {
    if (this.kept > 0 || this.cut > 0) this.flush();
  }

  private take(b: Buffer, from: number, to: number): void {
    const n = Math.min(this.max - this.kept, to - from);
    if (n > 0) {
      this.parts.push(Buffer.from(b.subarray(from, from + n)));
      this.kept += n;
    }
    this.cut += to - from - n;
  }

  private flush(): void {
    const line = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.kept);
    if (this.cut === 0) this.onLine(line.toString('utf8'));
    else {
      const end = utf8Boundary(line, this.kept);
      this.onLine(line.toString('utf8', 0, end) + cutSuffix(this.cut + this.kept - end));
    }
    this.parts = [];
    this.kept = 0;
    this.cut = 0;
  }
}

/**
 * A TCP socket for ssh2 that coalesces the SSH packets written in one tick into one writev
 * (ssh2 writes each packet on its own: a handshake is a dozen small writes, and on a loaded
 * machine every syscall counts), with Nagle off as OpenSSH does.
 */
function batchedSocket(host: string, port: number): net.Socket {
  const sock = new net.Socket();
  sock.setNoDelay(true);
  const write = sock.write.bind(sock) as (...a: unknown[]) => boolean;
  let corked = false;
  sock.write = ((...args: unknown[]) => {
    if (!corked) {
      corked = true;
      sock.cork();
      process.nextTick(() => {
        corked = false;
        sock.uncork();
      });
    }
    return write(...args);
  }) as typeof sock.write;
  sock.connect({ host, port });
  return sock;
}

function abortError(signal: AbortSignal): Error {
  const r = signal.reason;
  return r instanceof Error ? r : new VacmError('ERR_CANCELLED', 'cancelled');
}

/** Wait for `p`, or reject when `signal` aborts (p keeps running: it may be shared). */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

export class SshPool implements RemoteExecutor, StreamingExecutor {
  readonly stats: PoolStats = { handshakes: 0, connects: 0, reused: 0 };
  private section: SshSection;
  private readonly env: NodeJS.ProcessEnv;
  private readonly localUser: string;
  private readonly conns = new Map<string, Pooled>();
  private readonly connecting = new Map<string, { sig: string; promise: Promise<Pooled> }>();
  private configCache?: { file: string; mtimeMs: number; ctimeMs: number; blocks: SshConfigBlock[] };
  private readonly keyCache = new Map<string, { mtimeMs: number; key: ParsedKey | Error }>();
  private closing = false;
  private readOnly: boolean;
  /** host keys accepted (accept-new) while read-only: remembered for this process, never written */
  private readonly acceptedInMemory: KnownHostEntry[] = [];

  constructor(opts: PoolOptions = {}) {
    this.section = opts.section ?? parseSshSection(undefined);
    this.readOnly = opts.readOnly ?? false;
    this.env = opts.env ?? process.env;
    let user = opts.localUser;
    if (!user) {
      try {
        user = os.userInfo().username;
      } catch {
        user = this.env.USER ?? 'root';
      }
    }
    this.localUser = user;
  }

  configure(section: SshSection, opts: { readOnly?: boolean } = {}): void {
    this.section = section;
    this.closing = false;
    if (opts.readOnly !== undefined) this.readOnly = opts.readOnly;
  }

  private get home(): string {
    return this.env.HOME ?? os.homedir();
  }

  private sshConfig(): SshConfigBlock[] {
    const file = this.section.configFile === false ? undefined : (this.section.configFile ?? path.join(this.home, '.ssh', 'config'));
    if (!file) return [];
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      return [];
    }
    if (this.configCache && this.configCache.file === file && this.configCache.mtimeMs === st.mtimeMs && this.configCache.ctimeMs === st.ctimeMs) return this.configCache.blocks;
    // it picks identities and known_hosts files: refused when others could have written it, as ssh
    // does ("Bad owner or permissions"); throws ERR_UNSAFE_FILE for every node it would have served
    checkTrustedFile(file, { what: 'ssh client config' });
    let blocks: SshConfigBlock[] = [];
    try {
      blocks = parseSshConfig(fs.readFileSync(file, 'utf8'));
    } catch {
      blocks = [];
    }
    this.configCache = { file, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, blocks };
    return blocks;
  }

  /** Resolve how to reach `node`: node variables, then the ssh section, then ~/.ssh/config, then defaults. */
  resolveTarget(node: string, vars: NodeVars): SshTarget {
    const s = this.section;
    const cfg = resolveHostConfig(this.sshConfig(), node);
    const host = vars.host || cfg.hostName || node;
    let port = s.port ?? cfg.port ?? 22;
    if (vars.ssh_port !== undefined && vars.ssh_port !== '') {
      const p = Number(vars.ssh_port);
      if (!Number.isInteger(p) || p < 1 || p > 65535) throw new VacmError('ERR_CONFIG', `ssh_port "${vars.ssh_port}" is not a port number (1-65535); fix it with NEXXUS:SET_VAR:${node}:ssh_port:22`);
      port = p;
    }
    const user = vars.ssh_user || s.user || cfg.user || this.localUser;
    const tokens = { home: this.home, host: node, hostName: host, port, user, localUser: this.localUser };
    const expand = (p: string) => path.resolve(expandSshPath(p, tokens));
    let identities: string[];
    let defaultIdentities = false;
    if (vars.ssh_identity) identities = vars.ssh_identity.split(',').map((x) => x.trim()).filter(Boolean);
    else if (s.identity) identities = s.identity;
    else if (cfg.identityFiles.length > 0) identities = cfg.identityFiles;
    else {
      identities = DEFAULT_IDENTITIES;
      defaultIdentities = true;
    }
    identities = identities.map(expand);
    const useAgent = s.agent && !cfg.identitiesOnly && !!this.env.SSH_AUTH_SOCK;
    let knownHosts: string[];
    if (vars.ssh_known_hosts) knownHosts = vars.ssh_known_hosts.split(',').map((x) => x.trim()).filter(Boolean);
    else if (s.knownHosts) knownHosts = s.knownHosts;
    else if (cfg.userKnownHostsFiles && cfg.userKnownHostsFiles.length > 0) knownHosts = cfg.userKnownHostsFiles;
    else knownHosts = ['~/.ssh/known_hosts', '~/.ssh/known_hosts2'];
    knownHosts = knownHosts.map(expand);
    const cfgStrict = cfg.strictHostKeyChecking === 'off' ? 'no' : cfg.strictHostKeyChecking === 'ask' ? 'yes' : cfg.strictHostKeyChecking;
    const strict: StrictHostKeyChecking = s.strictHostKeyChecking ?? cfgStrict ?? 'yes';
    const connectTimeoutMs = s.connectTimeoutMs ?? (cfg.connectTimeoutS !== undefined ? cfg.connectTimeoutS * 1000 : DEFAULT_CONNECT_TIMEOUT_MS);
    const t: Omit<SshTarget, 'sig'> = {
      node, host, port, user, identities, defaultIdentities,
      agent: useAgent ? this.env.SSH_AUTH_SOCK : undefined,
      knownHosts, globalKnownHosts: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
      strict, connectTimeoutMs,
    };
    return { ...t, sig: JSON.stringify([host, port, user, identities, t.agent ?? '', knownHosts, strict]) };
  }

  private loadKey(file: string): ParsedKey | Error | undefined {
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      return undefined;
    }
    const c = this.keyCache.get(file);
    if (c && c.mtimeMs === st.mtimeMs) return c.key;
    let key: ParsedKey | Error;
    try {
      const parsed = ssh2!.utils.parseKey(fs.readFileSync(file));
      key = Array.isArray(parsed) ? parsed[0] : parsed;
    } catch (err) {
      key = err as Error;
    }
    this.keyCache.set(file, { mtimeMs: st.mtimeMs, key });
    return key;
  }

  private authMethods(t: SshTarget): { methods: AnyAuthMethod[]; tried: string[]; skipped: string[] } {
    const methods: AnyAuthMethod[] = [];
    const tried: string[] = [];
    const skipped: string[] = [];
    if (t.agent) {
      methods.push({ type: 'agent', username: t.user, agent: t.agent });
      tried.push(`ssh-agent (${t.agent})`);
    } else if (this.section.agent && !this.env.SSH_AUTH_SOCK) {
      skipped.push('ssh-agent (SSH_AUTH_SOCK is not set)');
    }
    for (const f of t.identities) {
      const k = this.loadKey(f);
      if (k === undefined) {
        if (!t.defaultIdentities) skipped.push(`${f} (missing)`);
        continue;
      }
      if (k instanceof Error) {
        skipped.push(`${f} (${/encrypted|passphrase/i.test(k.message) ? 'encrypted: load it into ssh-agent with ssh-add' : k.message})`);
        continue;
      }
      methods.push({ type: 'publickey', username: t.user, key: k });
      tried.push(f);
    }
    if (t.defaultIdentities && !methods.some((m) => m.type === 'publickey')) skipped.push(`no key in ${DEFAULT_IDENTITIES.join(', ')}`);
    return { methods, tried, skipped };
  }

  private where(t: SshTarget): string {
    return `${t.user}@${t.host}:${t.port}`;
  }

  private classify(t: SshTarget, err: Error & { code?: string; level?: string }, auth: { tried: string[]; skipped: string[] }): VacmError {
    const w = this.where(t);
    const code = err.code ?? '';
    if (code === 'ECONNREFUSED') return new VacmError('ERR_SSH_REFUSED', `connection refused by ${t.host}:${t.port} (no sshd listening there?); check the node's host/ssh_port`, { cause: err });
    if (code === 'ETIMEDOUT' || err.level === 'client-timeout') return this.timeoutError(t);
    if (['EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL', 'ENETDOWN', 'EHOSTDOWN'].includes(code)) {
      return new VacmError('ERR_SSH_UNREACHABLE', `cannot reach ${t.host}:${t.port} (${code}${code === 'ENOTFOUND' ? ': unknown host name' : ''}); check the node's host variable and the network`, { cause: err });
    }
    if (err.level === 'client-authentication') {
      const parts = [`authentication failed for ${w}`, `tried: ${auth.tried.length ? auth.tried.join(', ') : 'nothing'}`];
      if (auth.skipped.length) parts.push(`skipped: ${auth.skipped.join(', ')}`);
      parts.push(`add your public key to ~${t.user}/.ssh/authorized_keys on the node, or set ssh_identity/ssh_user`);
      return new VacmError('ERR_SSH_AUTH', parts.join('; '), { cause: err });
    }
    if (code === 'ECONNRESET') return new VacmError('ERR_SSH_CONNECT', `${t.host}:${t.port} closed the connection during the handshake (sshd MaxStartups, or not an SSH server)`, { cause: err });
    // ssh2's message may be the peer's own text (a DISCONNECT reason, sent before any host key check)
    return new VacmError('ERR_SSH_CONNECT', `SSH to ${w} failed: ${peerText(err.message)}`, { cause: err });
  }

  private timeoutError(t: SshTarget): VacmError {
    return new VacmError('ERR_TIMEOUT', `no SSH answer from ${t.host}:${t.port} within ${t.connectTimeoutMs} ms (node down or packets dropped); raise ssh.connect_timeout_ms if it is just slow`);
  }

  private verifyHostKey(t: SshTarget, blob: Buffer): VacmError | undefined {
    const name = knownHostName(t.host, t.port);
    const entries = [...readKnownHosts([...t.knownHosts, ...t.globalKnownHosts]), ...this.acceptedInMemory];
    const r = checkHostKey(entries, [name], blob);
    const desc = `${peerText(blobKeyType(blob), 64)} ${fingerprint(blob)}`;
    if (r.status === 'ok') return undefined;
    if (r.status === 'revoked') return new VacmError('ERR_HOSTKEY', `the host key of ${name} (${desc}) is marked @revoked in ${r.entry.file}:${r.entry.line}; refusing to connect`);
    if (r.status === 'changed') {
      return new VacmError('ERR_HOSTKEY', `the host key of ${name} has CHANGED (now ${desc}) and does not match ${r.entry.file}:${r.entry.line}. Someone may be intercepting, or the node was reinstalled: if you expect the change, remove line ${r.entry.line} of ${r.entry.file} (ssh-keygen -R '${name}' -f ${r.entry.file}) and connect again`);
    }
    if (t.strict === 'yes') {
      return new VacmError('ERR_HOSTKEY', `the host key of ${name} (${desc}) is not known in ${t.knownHosts.join(', ')}; add it (ssh-keyscan -p ${t.port} ${t.host} >> ${t.knownHosts[0]}) or set ssh.strict_host_key_checking: accept-new`);
    }
    if (t.strict === 'accept-new' && this.readOnly) {
      // read-only writes no files: the key is trusted for this process only, as accept-new would
      this.acceptedInMemory.push({ file: '(accepted in memory: vacm runs read-only)', line: this.acceptedInMemory.length + 1, hosts: name, keyType: blobKeyType(blob), key: blob.toString('base64') });
      return undefined;
    }
    if (t.strict === 'accept-new') {
      try {
        appendKnownHost(t.knownHosts[0], name, blob);
      } catch (err) {
        return new VacmError('ERR_HOSTKEY', `cannot record the new host key of ${name} in ${t.knownHosts[0]}: ${(err as Error).message}`);
      }
    }
    return undefined;
  }

  /**
   * One connection of its own, not pooled, to `name` as the pool would reach a node of that name
   * (~/.ssh/config, ssh-agent, identity files, known_hosts): `vacm ipc --attach ssh://...` reaching
   * vacm serve. `sock` replaces the TCP connection (the serve's local socket), and `hostKey` the
   * known_hosts check (there, the socket's directory is what is trusted).
   */
  async dial(name: string, vars: NodeVars, opts: { sock?: net.Socket; hostKey?: (blob: Buffer) => VacmError | undefined } = {}): Promise<{ client: Client; target: SshTarget }> {
    const t = this.resolveTarget(name, vars);
    const p = await this.connect(t, opts);
    return { client: p.client, target: t };
  }

  private async connect(t: SshTarget, opts: { sock?: net.Socket; hostKey?: (blob: Buffer) => VacmError | undefined } = {}): Promise<Pooled> {
    this.stats.connects++;
    await loadSsh2();
    const auth = this.authMethods(t);
    return new Promise<Pooled>((resolve, reject) => {
      const client = new ssh2!.Client();
      let settled = false;
      let hostKeyError: VacmError | undefined;
      const fail = (e: VacmError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client.destroy();
        reject(e);
      };
      const timer = setTimeout(() => fail(this.timeoutError(t)), t.connectTimeoutMs);
      timer.unref();
      if (auth.methods.length === 0) {
        fail(new VacmError('ERR_SSH_AUTH', `no key to log in as ${this.where(t)} with: ${auth.skipped.join(', ') || 'no ssh-agent and no identity file'}; start ssh-agent and ssh-add a key, or set ssh_identity`));
        return;
      }
      client.on('ready', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.stats.handshakes++;
        const p: Pooled = { client, target: t, inflight: 0, closed: false };
        client.on('close', () => this.forget(t.node, p));
        client.on('error', () => this.forget(t.node, p));
        resolve(p);
      });
      client.on('error', (err: Error & { code?: string; level?: string }) => {
        fail(hostKeyError ?? this.classify(t, err, auth));
      });
      client.on('close', () => fail(hostKeyError ?? new VacmError('ERR_SSH_CONNECT', `${t.host}:${t.port} closed the connection during the handshake (sshd MaxStartups, or not an SSH server)`)));
      // prefer host key types known_hosts already has for this host, as ssh does
      const known = knownKeyTypes([...readKnownHosts([...t.knownHosts, ...t.globalKnownHosts]), ...this.acceptedInMemory], [knownHostName(t.host, t.port)]);
      const knownAlgs = PREFERRED_HOST_KEYS.filter((a) => known.includes(a) || (a.startsWith('rsa-sha2') && known.includes('ssh-rsa')));
      const serverHostKey = [...knownAlgs, ...PREFERRED_HOST_KEYS.filter((a) => !knownAlgs.includes(a))];
      const cfg: ConnectConfig = {
        sock: opts.sock ?? batchedSocket(t.host, t.port),
        host: t.host,
        port: t.port,
        username: t.user,
        readyTimeout: t.connectTimeoutMs + 1000,
        keepaliveInterval: this.section.keepaliveMs,
        keepaliveCountMax: 3,
        authHandler: auth.methods,
        algorithms: { serverHostKey: serverHostKey as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
        hostVerifier: (key: Buffer) => {
          hostKeyError = opts.hostKey ? opts.hostKey(key) : this.verifyHostKey(t, key);
          return hostKeyError === undefined;
        },
      };
      try {
        client.connect(cfg);
      } catch (err) {
        fail(this.classify(t, err as Error, auth));
      }
    });
  }

  private forget(node: string, p: Pooled): void {
    p.closed = true;
    if (p.idle) clearTimeout(p.idle);
    if (this.conns.get(node) === p) this.conns.delete(node);
  }

  /** A ready connection for `node`: the pooled one, a shared in-flight connect, or a new one. */
  private async acquire(t: SshTarget, signal?: AbortSignal, fresh = false): Promise<{ conn: Pooled; reused: boolean }> {
    if (this.closing) throw new VacmError('ERR_CANCELLED', 'the SSH pool is closing');
    const cur = this.conns.get(t.node);
    if (cur && !cur.closed && cur.target.sig === t.sig && !fresh) return { conn: cur, reused: true };
    if (cur && (cur.target.sig !== t.sig || fresh)) this.drop(t.node);
    let pending = this.connecting.get(t.node);
    if (!pending || pending.sig !== t.sig) {
      const promise = this.connect(t).then(
        (p) => {
          if (this.connecting.get(t.node)?.promise === promise) this.connecting.delete(t.node);
          if (this.closing) {
            p.client.end();
            throw new VacmError('ERR_CANCELLED', 'the SSH pool is closing');
          }
          this.conns.set(t.node, p);
          this.armIdle(p);
          return p;
        },
        (e) => {
          if (this.connecting.get(t.node)?.promise === promise) this.connecting.delete(t.node);
          throw e;
        },
      );
      pending = { sig: t.sig, promise };
      this.connecting.set(t.node, pending);
    }
    return { conn: await raceAbort(pending.promise, signal), reused: false };
  }

  private armIdle(p: Pooled): void {
    if (p.idle) clearTimeout(p.idle);
    p.idle = undefined;
    if (p.closed) {
      // dropped (settings changed) while commands ran on it: close after the last one
      if (p.inflight === 0) p.client.end();
      return;
    }
    if (p.inflight > 0 || this.section.idleCloseMs <= 0) return;
    p.idle = setTimeout(() => {
      if (p.inflight === 0) {
        this.forget(p.target.node, p);
        p.client.end();
      }
    }, this.section.idleCloseMs);
    p.idle.unref();
  }

  private openChannel(p: Pooled, command: string): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      try {
        p.client.exec(command, (err, stream) => (err ? reject(err) : resolve(stream)));
      } catch (err) {
        reject(err);
      }
    });
  }

  /** Run `command` on `node`, streaming its output line by line; resolves with the exit status. */
  async exec(node: string, vars: NodeVars, command: string, opts: StreamExecOptions): Promise<ExecExit> {
    const t = this.resolveTarget(node, vars);
    const { signal } = opts;
    let { conn, reused } = await this.acquire(t, signal);
    const hold = (p: Pooled) => {
      p.inflight++;
      if (p.idle) clearTimeout(p.idle);
    };
    const release = (p: Pooled) => {
      p.inflight--;
      this.armIdle(p);
    };
    let stream: ClientChannel;
    hold(conn);
    try {
      stream = await raceAbort(this.openChannel(conn, command), signal);
    } catch (err) {
      release(conn);
      if (signal?.aborted || !reused) throw this.startError(err);
      // the pooled connection went stale (node rebooted, sshd restarted): reconnect once
      this.drop(node);
      ({ conn } = await this.acquire(t, signal, true));
      reused = false;
      hold(conn);
      try {
        stream = await raceAbort(this.openChannel(conn, command), signal);
      } catch (err2) {
        release(conn);
        throw this.startError(err2);
      }
    }
    if (reused) this.stats.reused++;
    try {
      return await this.runChannel(t, stream, opts);
    } finally {
      release(conn);
    }
  }

  private openSftp(p: Pooled): Promise<SFTPWrapper> {
    return new Promise((resolve, reject) => {
      try {
        p.client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp)));
      } catch (err) {
        reject(err);
      }
    });
  }

  /**
   * Run `fn` with an SFTP session on `node`'s pooled connection (opened for the call, closed after
   * it; a stale pooled connection is reopened once, as exec does). When `signal` aborts, the session
   * is closed at once: its pending requests fail and `fn` ends with them.
   */
  async withSftp<T>(node: string, vars: NodeVars, signal: AbortSignal | undefined, fn: (sftp: SFTPWrapper) => Promise<T>): Promise<T> {
    const t = this.resolveTarget(node, vars);
    let { conn, reused } = await this.acquire(t, signal);
    conn.inflight++;
    if (conn.idle) clearTimeout(conn.idle);
    const release = (p: Pooled) => {
      p.inflight--;
      this.armIdle(p);
    };
    let sftp: SFTPWrapper;
    try {
      sftp = await raceAbort(this.openSftp(conn), signal);
    } catch (err) {
      release(conn);
      if (signal?.aborted || !reused) throw this.sftpStartError(err);
      this.drop(node);
      ({ conn } = await this.acquire(t, signal, true));
      reused = false;
      conn.inflight++;
      try {
        sftp = await raceAbort(this.openSftp(conn), signal);
      } catch (err2) {
        release(conn);
        throw this.sftpStartError(err2);
      }
    }
    if (reused) this.stats.reused++;
    const onAbort = () => sftp.end();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await fn(sftp);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      sftp.end();
      release(conn);
    }
  }

  private sftpStartError(err: unknown): Error {
    if (err instanceof VacmError || (err instanceof Error && err.name === 'AbortError')) return err;
    const m = peerText((err as Error)?.message ?? String(err));
    return new VacmError('ERR_UNSUPPORTED', `cannot start SFTP over SSH: ${m}; the node's sshd needs "Subsystem sftp /usr/lib/openssh/sftp-server" (or internal-sftp) in sshd_config`, { cause: err });
  }

  private startError(err: unknown): Error {
    if (err instanceof VacmError) return err;
    if (err instanceof Error && err.name === 'AbortError') return err;
    return new VacmError('ERR_EXEC', `cannot start the command over SSH: ${peerText((err as Error)?.message ?? String(err))}`, { cause: err });
  }

  private runChannel(t: SshTarget, stream: ClientChannel, opts: StreamExecOptions): Promise<ExecExit> {
    const { signal } = opts;
    return new Promise<ExecExit>((resolve, reject) => {
      const out = new LineSplitter((l) => opts.onLine('stdout', l));
      const err = new LineSplitter((l) => opts.onLine('stderr', l));
      let exit: ExecExit | undefined;
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (e?: Error) => {
        if (done) return;
        done = true;
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (e) {
          reject(e);
          return;
        }
        out.end();
        err.end();
        resolve(exit ?? { code: 255, signal: 'LOST' });
      };
      // stop the remote command: sshd delivers the signal to its whole process group, then close
      const stop = () => {
        try {
          stream.signal('TERM');
          const kill = setTimeout(() => {
            try {
              stream.signal('KILL');
              stream.close();
            } catch {
              /* already closed */
            }
          }, 1000);
          kill.unref();
          stream.once('close', () => clearTimeout(kill));
        } catch {
          /* already closed */
        }
      };
      const onAbort = () => {
        stop();
        finish(abortError(signal!));
      };
      stream.on('data', (d: Buffer) => out.push(d));
      stream.stderr.on('data', (d: Buffer) => err.push(d));
      let closed = false;
      const noteExit = (code: number | null | undefined, sig?: string) => {
        if (exit) return;
        if (typeof code === 'number') exit = { code };
        else if (sig) {
          const name = sig.replace(/^SIG/, '');
          exit = { code: 128 + (SIGNALS[name] ?? 127), signal: name };
        }
      };
      stream.on('exit', (code: number | null, sig?: string) => {
        noteExit(code, sig);
        if (closed) finish();
      });
      // the Duplex may report 'close' before the exit status has been read: give it a moment
      stream.on('close', (code?: number | null, sig?: string) => {
        noteExit(code, sig);
        closed = true;
        if (exit) finish();
        else setTimeout(() => finish(), 250).unref();
      });
      stream.on('error', (e: Error) => finish(new VacmError('ERR_EXEC', `the SSH channel failed: ${peerText(e.message)}`)));
      if (signal) {
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }
      if (opts.timeoutMs !== undefined && opts.timeoutMs > 0) {
        timer = setTimeout(() => {
          stop();
          finish(new VacmError('ERR_TIMEOUT', `the command did not finish within ${opts.timeoutMs} ms and was stopped (ssh.command_timeout_ms)`));
        }, opts.timeoutMs);
      }
    });
  }

  /**
   * RemoteExecutor: run a command and collect its output. What a node answers is bounded: past
   * RUN_MAX_BYTES of output the command is stopped and the call fails with ERR_LIMIT.
   */
  async run(node: string, vars: NodeVars, command: string, opts: { signal?: AbortSignal; timeoutMs?: number; maxBytes?: number } = {}): Promise<ExecResult> {
    const out: string[] = [];
    const err: string[] = [];
    const max = opts.maxBytes ?? RUN_MAX_BYTES;
    let bytes = 0;
    const ac = new AbortController();
    const onAbort = () => ac.abort(opts.signal!.reason);
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    const onLine = (s: 'stdout' | 'stderr', l: string) => {
      if (ac.signal.aborted) return;
      bytes += Buffer.byteLength(l) + 1;
      if (bytes > max) ac.abort(new VacmError('ERR_LIMIT', `${node} answered more than ${max} bytes to a command vacm runs for itself (a few KiB are expected); the command was stopped`));
      else (s === 'stdout' ? out : err).push(l);
    };
    try {
      const r = await this.exec(node, vars, command, { signal: ac.signal, timeoutMs: opts.timeoutMs, onLine });
      return { stdout: out.join('\n'), stderr: err.join('\n'), code: r.code };
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Forget a node's pooled connection (its settings changed); running commands finish on it. */
  drop(node: string): void {
    const p = this.conns.get(node);
    if (!p) return;
    this.forget(node, p);
    // running commands finish on the old connection; armIdle closes it after the last one
    if (p.inflight === 0) p.client.end();
  }

  /** Nodes with an open pooled connection. */
  openNodes(): string[] {
    return [...this.conns.keys()];
  }

  async close(): Promise<void> {
    this.closing = true;
    const all = [...this.conns.values()];
    this.conns.clear();
    await Promise.all(all.map((p) => new Promise<void>((res) => {
      if (p.idle) clearTimeout(p.idle);
      p.closed = true;
      const t = setTimeout(() => {
        p.client.destroy();
        res();
      }, 1000);
      t.unref();
      p.client.once('close', () => {
        clearTimeout(t);
        res();
      });
      p.client.end();
    })));
  }
}
