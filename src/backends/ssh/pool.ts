/**
 * The SSH connection pool: one ssh2 connection per node, opened on first use and reused by later
 * jobs (keepalive; closed after an idle while; reopened when it dies or the node's variables change).
 * Concurrent callers for the same node share one in-flight connect. Settings come from the node's
 * variables, then vacm.yaml's `ssh:` section, then ~/.ssh/config, then OpenSSH's defaults; keys from
 * ssh-agent and identity files; host keys are checked against known_hosts (known-hosts.ts).
 * The parts: targets.ts (where and how to reach a node), auth.ts (keys offered, host keys accepted),
 * error-map.ts (what went wrong, as ERR_* codes), channel.ts (a command's lines, exit and stop).
 */
import net from 'node:net';
import os from 'node:os';
import type { Client, ClientChannel, ConnectConfig, SFTPWrapper } from 'ssh2';
import { VacmError } from '../../protocol/errors.js';
import type { NodeVars } from '../../protocol/module.js';
import type { ExecExit, ExecResult, RemoteExecutor, StreamExecOptions, StreamingExecutor } from '../capabilities.js';
import { parseSshSection, type SshSection } from './settings.js';
import { SshTargets, type SshTarget } from './targets.js';
import { SshAuth, loadSsh2, type Ssh2 } from './auth.js';
import { classifyConnectError, connectTimeoutError, execStartError, sftpStartError, where } from './error-map.js';
import { RUN_MAX_BYTES, openChannel, openSftp, raceAbort, runChannel } from './channel.js';
import { ignoreHostKeysAnnouncement, loginWithoutServiceWait, signWithoutQuery } from './ssh2-tuning.js';

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
  /** the connection under the client (close() lets a process that is done exit without its FIN) */
  sock: net.Socket;
  target: SshTarget;
  inflight: number;
  closed: boolean;
  idle?: NodeJS.Timeout;
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

/**
 * A TCP connection opened before ssh2 is loaded and the keys are read: sshd forks, re-executes
 * itself and sends its banner meanwhile, on the other core. Until ssh2 takes the socket over, its
 * error and close are kept here (an 'error' with no listener would end the process); what arrives
 * waits in the paused socket's buffer, as it would for ssh2.
 */
class EarlySocket {
  error?: Error;
  closed = false;
  readonly sock: net.Socket;
  private readonly onError = (err: Error) => {
    this.error ??= err;
  };
  private readonly onClose = () => {
    this.closed = true;
  };
  constructor(host: string, port: number) {
    this.sock = batchedSocket(host, port);
    this.sock.on('error', this.onError).on('close', this.onClose);
  }
  /** ssh2 takes the socket (it listens for its error and close itself from now on) */
  handOver(): net.Socket {
    this.sock.off('error', this.onError).off('close', this.onClose);
    return this.sock;
  }
}

export class SshPool implements RemoteExecutor, StreamingExecutor {
  readonly stats: PoolStats = { handshakes: 0, connects: 0, reused: 0 };
  private section: SshSection;
  private readonly env: NodeJS.ProcessEnv;
  private readonly targets: SshTargets;
  private readonly auth: SshAuth;
  private readonly conns = new Map<string, Pooled>();
  private readonly connecting = new Map<string, { sig: string; promise: Promise<Pooled> }>();
  private closing = false;

  constructor(opts: PoolOptions = {}) {
    this.section = opts.section ?? parseSshSection(undefined);
    this.auth = new SshAuth(opts.readOnly ?? false);
    this.env = opts.env ?? process.env;
    let user = opts.localUser;
    if (!user) {
      try {
        user = os.userInfo().username;
      } catch {
        user = this.env.USER ?? 'root';
      }
    }
    this.targets = new SshTargets(this.section, this.env, user);
  }

  configure(section: SshSection, opts: { readOnly?: boolean } = {}): void {
    this.section = section;
    this.targets.section = section;
    this.closing = false;
    if (opts.readOnly !== undefined) this.auth.readOnly = opts.readOnly;
  }

  /** Resolve how to reach `node`: node variables, then the ssh section, then ~/.ssh/config, then defaults. */
  resolveTarget(node: string, vars: NodeVars): SshTarget {
    return this.targets.resolve(node, vars);
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
    // the TCP connection first, when there is a key to offer (else nothing is opened, as before)
    const early = opts.sock || !this.auth.mayOffer(t) ? undefined : new EarlySocket(t.host, t.port);
    let ssh2: Ssh2;
    try {
      ssh2 = await loadSsh2();
    } catch (err) {
      early?.sock.destroy();
      throw err;
    }
    const auth = this.auth.methods(t, this.section.agent, this.env.SSH_AUTH_SOCK);
    return new Promise<Pooled>((resolve, reject) => {
      const client = new ssh2.Client();
      let settled = false;
      let hostKeyError: VacmError | undefined;
      const fail = (e: VacmError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client.destroy();
        early?.sock.destroy();
        reject(e);
      };
      const timer = setTimeout(() => fail(connectTimeoutError(t)), t.connectTimeoutMs);
      timer.unref();
      if (auth.methods.length === 0) {
        fail(new VacmError('ERR_SSH_AUTH', `no key to log in as ${where(t)} with: ${auth.skipped.join(', ') || 'no ssh-agent and no identity file'}; start ssh-agent and ssh-add a key, or set ssh_identity`));
        return;
      }
      client.on('ready', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.stats.handshakes++;
        const p: Pooled = { client, sock: cfg.sock as net.Socket, target: t, inflight: 0, closed: false };
        client.on('close', () => this.forget(t.node, p));
        client.on('error', () => this.forget(t.node, p));
        resolve(p);
      });
      client.on('error', (err: Error & { code?: string; level?: string }) => {
        fail(hostKeyError ?? classifyConnectError(t, err, auth));
      });
      client.on('close', () => fail(hostKeyError ?? new VacmError('ERR_SSH_CONNECT', `${t.host}:${t.port} closed the connection during the handshake (sshd MaxStartups, or not an SSH server)`)));
      // prefer host key types known_hosts already has for this host, as ssh does
      const serverHostKey = this.auth.hostKeyAlgorithms(t);
      let sock = opts.sock;
      if (early) {
        sock = early.handOver();
        // refused, unreachable or closed while ssh2 was loading: the same errors as a later socket's
        if (early.error) return fail(classifyConnectError(t, early.error, auth));
        // (ssh2's own words for a socket that ended before the server's SSH version line)
        if (early.closed) return fail(classifyConnectError(t, Object.assign(new Error('Connection lost before handshake'), { level: 'protocol' }), auth));
      }
      const cfg: ConnectConfig = {
        sock: sock ?? batchedSocket(t.host, t.port),
        host: t.host,
        port: t.port,
        username: t.user,
        readyTimeout: t.connectTimeoutMs + 1000,
        keepaliveInterval: this.section.keepaliveMs,
        keepaliveCountMax: 3,
        authHandler: auth.methods,
        algorithms: { serverHostKey: serverHostKey as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
        hostVerifier: (key: Buffer) => {
          hostKeyError = opts.hostKey ? opts.hostKey(key) : this.auth.verifyHostKey(t, key);
          return hostKeyError === undefined;
        },
      };
      try {
        client.connect(cfg);
        ignoreHostKeysAnnouncement(client);
        signWithoutQuery(client);
        loginWithoutServiceWait(client);
      } catch (err) {
        fail(classifyConnectError(t, err as Error, auth));
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
      stream = await raceAbort(openChannel(conn.client, command), signal);
    } catch (err) {
      release(conn);
      if (signal?.aborted || !reused) throw execStartError(err);
      // the pooled connection went stale (node rebooted, sshd restarted): reconnect once
      this.drop(node);
      ({ conn } = await this.acquire(t, signal, true));
      reused = false;
      hold(conn);
      try {
        stream = await raceAbort(openChannel(conn.client, command), signal);
      } catch (err2) {
        release(conn);
        throw execStartError(err2);
      }
    }
    if (reused) this.stats.reused++;
    try {
      return await runChannel(stream, opts);
    } finally {
      release(conn);
    }
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
      sftp = await raceAbort(openSftp(conn.client), signal);
    } catch (err) {
      release(conn);
      if (signal?.aborted || !reused) throw sftpStartError(err);
      this.drop(node);
      ({ conn } = await this.acquire(t, signal, true));
      reused = false;
      conn.inflight++;
      try {
        sftp = await raceAbort(openSftp(conn.client), signal);
      } catch (err2) {
        release(conn);
        throw sftpStartError(err2);
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

  /**
   * Close every pooled connection: SSH_MSG_DISCONNECT, then our FIN. Done once both are with the
   * kernel (the socket's 'finish'), or when the node closed first; a node silent for 1 s is cut off.
   * The node's own FIN is not waited for: the socket is unref'd, so a process with nothing else to
   * do (a cold `vacm ipc`) exits at once, while a running one still takes the close when it comes.
   */
  async close(): Promise<void> {
    this.closing = true;
    const all = [...this.conns.values()];
    this.conns.clear();
    await Promise.all(all.map((p) => new Promise<void>((res) => {
      if (p.idle) clearTimeout(p.idle);
      p.closed = true;
      const done = () => {
        clearTimeout(t);
        res();
      };
      const t = setTimeout(() => {
        p.client.destroy();
        res();
      }, 1000);
      t.unref();
      p.client.once('close', done);
      p.sock.once('finish', () => {
        p.sock.unref();
        done();
      });
      p.client.end();
    })));
  }
}
