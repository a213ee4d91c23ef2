/**
 * vacm serve's front doors (issue 13): an SSH server on ssh2, on TCP (`serve.listen`,
 * `--listen-ssh`) and on a local unix socket (`serve.socket`, the same SSH protocol: the peer proves
 * who it is with its key, as over TCP; docs/decisions.md says why). Public-key authentication only,
 * against `serve.users`. Three kinds of session:
 *   - exec (`ssh -p PORT alice@head01 'POWER:STATUS:@rack1'`): the request lines run as `vacm ipc`
 *     runs them (runIpc: one formatter), its exit status the channel's;
 *   - shell (vash): `NEXXUS_READY`, then one request a line, job-0 events streamed, `quit` or EOF ends;
 *   - the `vacm` subsystem: JSON lines for vacm's own clients (serve-proto.ts).
 * Every request carries a JobOrigin (user, role, door, address, key fingerprint): the engine checks
 * the role and records it. Limits: sessions, failed authentications per source address per minute,
 * idle sessions, and the bytes a client may leave unread before it is dropped.
 */
import fs from 'node:fs';
import net from 'node:net';
import type { Readable } from 'node:stream';
import type { Connection, ServerChannel, Server as SshServer, AuthContext, PublicKeyAuthContext } from 'ssh2';
import { VacmError, toVacmError } from '../protocol/errors.js';
import { escapeControls } from '../protocol/visible.js';
import { formatResponse } from '../protocol/ipc.js';
import type { JobOrigin, Role, SessionView } from '../protocol/module.js';
import { findUser, fromAllowed, type ServeSection, type ServeUser } from '../engine/auth.js';
import type { Engine } from '../engine/engine.js';
import { fingerprint } from '../backends/ssh/known-hosts.js';
import { runIpc, type IpcOptions } from './ipc.js';
import { loadSsh2, type Ssh2 } from './serve-hostkey.js';
import { channelInput, channelWriter, emptyInput } from './serve-channel.js';
import { EXIT_USAGE, type Io } from './io.js';


export const SOCKET_FILE = 'serve.sock';

/** How long a connection may take to log in before it is closed. */
const LOGIN_GRACE_MS = 20_000;
/** source addresses whose failures are remembered at once (oldest forgotten first) */
const MAX_TRACKED_SOURCES = 4096;

export type DoorLog = (level: 'debug' | 'info' | 'warn' | 'error', m: string) => void;

export interface DoorOptions {
  /** the engine now (SIGHUP replaces it) */
  engine: () => Engine;
  section: ServeSection;
  hostKey: Buffer;
  log: DoorLog;
  /** the subsystem `vacm` (serve-proto.ts): given a channel and the session's origin */
  subsystem?: (ch: ServerChannel, origin: JobOrigin, conn: DoorConnection) => void;
}

/** One logged-in connection. */
export interface DoorConnection {
  readonly id: number;
  readonly user: ServeUser;
  readonly door: 'ssh' | 'socket';
  readonly addr: string;
  readonly key: string;
  /** a request or a job's end: the session is not idle */
  touch(): void;
  /** close with a message in the server's log (and on the channel's stderr where it is still read) */
  drop(why: string): void;
  /** bytes written to this connection's socket and not yet taken by the peer */
  unread(): number;
  readonly maxUnread: number;
}

interface Conn extends DoorConnection {
  sock: net.Socket;
  client: Connection;
  lastActive: number;
  busy: number;
  idle?: NodeJS.Timeout;
  channels: Set<ServerChannel>;
  overLimit: boolean;
}

let connSeq = 0;
let sessionSeq = 0;

export class ServeDoor {
  private ssh2!: Ssh2;
  private server!: SshServer;
  private readonly listeners: net.Server[] = [];
  private readonly conns = new Set<Conn>();
  private readonly failures = new Map<string, number[]>();
  private socketPath?: string;
  private closed = false;

  constructor(private readonly o: DoorOptions) {}

  private get section(): ServeSection {
    return this.o.section;
  }

  /** Users and limits from a reloaded config (sessions already logged in keep theirs). */
  configure(section: ServeSection): void {
    const alive = this.o.section.clientAliveS;
    this.o.section = section;
    if (section.clientAliveS !== alive) this.server = this.makeServer(); // connections from now on
  }

  async init(): Promise<void> {
    this.ssh2 = await loadSsh2();
    this.server = this.makeServer();
  }

  /**
   * The SSH server new connections are given to. It sends a keepalive (as sshd's ClientAliveInterval)
   * a quarter of serve.client_alive_s after the client's last packet; a client that has answered
   * nothing for client_alive_s (stopped, hung, cut off) is dropped even when it holds no unread bytes.
   */
  private makeServer(): SshServer {
    const aliveMs = this.section.clientAliveS * 1000;
    const server = new this.ssh2.Server({ hostKeys: [this.o.hostKey], ident: 'vacm-serve', keepaliveInterval: Math.ceil(aliveMs / 4), keepaliveCountMax: 3 }, () => {});
    server.on('error', (err: Error) => this.o.log('warn', `ssh front door: ${err.message}`));
    server.on('connection', (client: Connection) => {
      const sock = (client as unknown as { _sock?: net.Socket })._sock;
      const on = sock ? this.injected.get(sock) : undefined;
      if (!sock || !on) {
        client.end();
        return;
      }
      this.injected.delete(sock);
      on(client);
    });
    return server;
  }

  /** Listen on TCP ADDR:PORT; resolves with the address bound (port 0 picks one). */
  listenTcp(host: string, port: number): Promise<net.AddressInfo> {
    const srv = net.createServer((sock) => this.accept(sock, 'ssh'));
    this.listeners.push(srv);
    return new Promise((resolve, reject) => {
      srv.once('error', (err: NodeJS.ErrnoException) => reject(new VacmError('ERR_USAGE', `cannot listen for SSH on ${host}:${port}: ${err.code ?? err.message}; is another serve running there?`)));
      srv.listen(port, host, () => {
        srv.on('error', (err) => this.o.log('warn', `ssh front door: ${err.message}`));
        resolve(srv.address() as net.AddressInfo);
      });
    });
  }

  /**
   * Listen on a unix socket (mode 0600: only this user, and root, can even reach the door; everyone
   * who does must still log in with a key of serve.users). A stale socket left by a serve that died
   * is replaced; one a live serve answers on is not.
   */
  async listenSocket(file: string): Promise<void> {
    if (fs.existsSync(file)) {
      const st = fs.lstatSync(file);
      if (!st.isSocket()) throw new VacmError('ERR_STATE_DIR', `${file} exists and is not a socket; remove it or set serve.socket elsewhere`);
      const live = await new Promise<boolean>((r) => {
        const s = net.connect(file, () => (s.destroy(), r(true)));
        s.on('error', () => r(false));
      });
      if (live) throw new VacmError('ERR_USAGE', `another vacm serve answers on ${file}; stop it first, or set serve.socket elsewhere`);
      fs.rmSync(file);
    }
    const srv = net.createServer((sock) => this.accept(sock, 'socket'));
    this.listeners.push(srv);
    await new Promise<void>((resolve, reject) => {
      srv.once('error', (err: NodeJS.ErrnoException) => reject(new VacmError('ERR_STATE_DIR', `cannot listen on ${file}: ${err.code ?? err.message}`)));
      const old = process.umask(0o177);
      try {
        srv.listen(file, () => resolve());
      } finally {
        process.umask(old);
      }
    });
    fs.chmodSync(file, 0o600);
    this.socketPath = file;
  }

  /** The sessions now (NEXXUS:WHO lists them through the engine). */
  get connections(): number {
    return this.conns.size;
  }

  /** Close every session with `why` (serve stops, or its config is reloaded). */
  dropAll(why: string): void {
    for (const c of [...this.conns]) c.drop(why);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.dropAll('vacm serve is stopping');
    await Promise.all(this.listeners.map((l) => new Promise<void>((r) => l.close(() => r()))));
    if (this.socketPath) fs.rmSync(this.socketPath, { force: true });
  }

  /** Failed logins from `ip` in the last minute (and forget the older ones). */
  private recentFailures(ip: string, now = Date.now()): number[] {
    const list = (this.failures.get(ip) ?? []).filter((t) => now - t < 60_000);
    if (list.length === 0) this.failures.delete(ip);
    else this.failures.set(ip, list);
    return list;
  }

  private failed(ip: string): void {
    const list = this.recentFailures(ip);
    list.push(Date.now());
    this.failures.delete(ip);
    this.failures.set(ip, list.slice(-(this.section.maxAuthPerMinute + 1)));
    if (this.failures.size > MAX_TRACKED_SOURCES) this.failures.delete(this.failures.keys().next().value!);
  }

  private accept(sock: net.Socket, door: 'ssh' | 'socket'): void {
    if (this.closed) return void sock.destroy();
    const ip = door === 'socket' ? 'local' : (sock.remoteAddress ?? '?');
    const addr = door === 'socket' ? 'local' : `${ip}:${sock.remotePort ?? 0}`;
    sock.on('error', () => {});
    // a source that failed too often this minute is not even heard (it may try again in a minute)
    if (this.recentFailures(ip).length >= this.section.maxAuthPerMinute) {
      this.o.log('warn', `ssh front door: ${addr} refused: more than ${this.section.maxAuthPerMinute} failed logins in a minute (serve.max_auth_per_minute)`);
      return void sock.destroy();
    }
    // unauthenticated connections count too: at most twice the sessions allowed, then refused at once
    if (this.conns.size + this.pending >= 2 * this.section.maxSessions) return void sock.destroy();
    this.pending++;
    let pendingCounted = true;
    const unpend = () => {
      if (pendingCounted) this.pending--;
      pendingCounted = false;
    };
    const grace = setTimeout(() => sock.destroy(), LOGIN_GRACE_MS);
    grace.unref();
    sock.once('close', () => {
      clearTimeout(grace);
      unpend();
    });
    // ssh2 announces a connection once its version line arrives, in whatever order the peers send
    // them: each is matched to its own socket (ssh2 keeps it as _sock), never to the one injected first
    this.injected.set(sock, (client) => this.onClient(client, sock, door, ip, addr, grace, unpend));
    sock.once('close', () => this.injected.delete(sock));
    this.server.injectSocket(sock);
  }

  private pending = 0;
  private readonly injected = new Map<net.Socket, (client: Connection) => void>();

  private onClient(client: Connection, sock: net.Socket, door: 'ssh' | 'socket', ip: string, addr: string, grace: NodeJS.Timeout, unpend: () => void): void {
    let user: ServeUser | undefined;
    let keyFp = '';
    let conn: Conn | undefined;
    client.on('error', (err: Error & { level?: string }) => {
      if (err.level !== 'client-timeout') return;
      const who = conn ? `${conn.user.name} at ${addr}` : addr;
      const why = `${who} answered nothing for ${this.section.clientAliveS} s, not even SSH keepalives (a stopped or cut-off client; serve.client_alive_s): disconnected`;
      if (conn) conn.drop(why);
      else this.o.log('info', `ssh front door: ${why}`);
      sock.destroy();
    });
    client.on('authentication', (ctx: AuthContext) => {
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      const pk = ctx as PublicKeyAuthContext;
      const u = findUser(this.section, ctx.username, pk.key.data);
      const shownName = escapeControls(ctx.username.slice(0, 64));
      if (!u) {
        this.failed(ip);
        this.o.log('info', `ssh front door: ${addr}: key ${fingerprint(pk.key.data)} is not one of ${shownName}'s in serve.users`);
        return ctx.reject(['publickey']);
      }
      if (door === 'ssh' && !fromAllowed(u, ip)) {
        this.failed(ip);
        this.o.log('warn', `ssh front door: ${u.name} may not log in from ${ip} (serve.users from: ${(u.fromText ?? []).join(', ')})`);
        return ctx.reject(['publickey']);
      }
      if (!pk.signature) return ctx.accept(); // the client asks whether the key would do
      const key = this.ssh2.utils.parseKey(pk.key.data);
      const k = Array.isArray(key) ? key[0] : key;
      if (k instanceof Error || k.verify(pk.blob!, pk.signature, pk.hashAlgo) !== true) {
        this.failed(ip);
        this.o.log('warn', `ssh front door: ${addr}: a bad signature for ${u.name}'s key`);
        return ctx.reject(['publickey']);
      }
      user = u;
      keyFp = fingerprint(pk.key.data);
      ctx.accept();
    });
    client.on('ready', () => {
      clearTimeout(grace);
      unpend();
      if (!user) return client.end();
      const c = this.connection(client, sock, door, addr, user, keyFp);
      conn = c;
      this.o.log('info', `ssh front door: ${user.name} (${user.role}) logged in from ${addr} with ${keyFp}`);
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        let tty = false;
        let ipcEnv = '';
        session.on('pty', (_accept, reject) => {
          // line editing stays with the client (vash): no terminal on this side; output is then
          // shown as on a terminal (controls made visible)
          tty = true;
          reject?.();
        });
        session.on('env', (accept, reject, info) => {
          if (info.key === 'VACM_IPC' && info.val.length <= 256) {
            ipcEnv = info.val;
            accept?.();
          } else reject?.();
        });
        session.on('exec', (accept, _reject, info) => {
          const ch = accept();
          void this.exec(c, ch, info.command, tty, ipcEnv);
        });
        session.on('shell', (accept) => {
          const ch = accept();
          void this.shell(c, ch, tty);
        });
        session.on('subsystem', (accept, reject, info) => {
          if (info.name !== 'vacm' || !this.o.subsystem) return reject();
          const ch = accept();
          if (this.refuseOverLimit(c, ch)) return;
          const end = this.register(c, ch, 'vacm');
          ch.on('close', end);
          this.o.subsystem(ch, this.origin(c), c);
        });
      });
    });
  }

  private connection(client: Connection, sock: net.Socket, door: 'ssh' | 'socket', addr: string, user: ServeUser, key: string): Conn {
    const conn: Conn = {
      id: ++connSeq,
      user, door, addr, key, sock, client,
      lastActive: Date.now(),
      busy: 0,
      channels: new Set(),
      overLimit: this.conns.size >= this.section.maxSessions,
      maxUnread: this.section.maxUnreadBytes,
      touch: () => {
        conn.lastActive = Date.now();
      },
      unread: () => {
        let n = sock.writableLength;
        for (const ch of conn.channels) n += ch.writableLength + (ch.stderr?.writableLength ?? 0);
        return n;
      },
      drop: (why: string) => {
        if (!this.conns.has(conn)) return;
        this.conns.delete(conn);
        this.o.log('info', `ssh front door: ${why}`);
        for (const ch of conn.channels) {
          try {
            if (ch.writableLength < 64 * 1024) ch.stderr.write(`vacm serve: ${why}\n`);
          } catch {
            /* gone already */
          }
        }
        clearInterval(conn.idle);
        try {
          client.end();
        } catch {
          /* gone already */
        }
        // a peer that does not read will not take the goodbye either: the socket goes regardless
        setTimeout(() => sock.destroy(), 1000).unref();
      },
    };
    this.conns.add(conn);
    sock.once('close', () => {
      this.conns.delete(conn);
      clearInterval(conn.idle);
    });
    // idle: no request and no job of its own for serve.idle_s (a dashboard pings)
    const idleMs = this.section.idleS * 1000;
    conn.idle = setInterval(() => {
      if (conn.busy === 0 && Date.now() - conn.lastActive > idleMs) conn.drop(`${user.name} at ${addr} was idle for more than ${this.section.idleS} s (serve.idle_s): disconnected`);
    }, Math.min(idleMs, 5_000));
    conn.idle.unref();
    return conn;
  }

  private origin(conn: Conn): JobOrigin {
    return { user: conn.user.name, role: conn.user.role as Role, door: conn.door, addr: conn.addr, key: conn.key, session: conn.id, maxJobs: this.section.maxJobsPerSession };
  }

  /** NEXXUS:WHO: the session is listed while the channel is open. */
  private register(conn: Conn, ch: ServerChannel, kind: string): () => void {
    conn.channels.add(ch);
    const view: SessionView = { id: ++sessionSeq, user: conn.user.name, role: conn.user.role, door: conn.door, addr: conn.addr, key: conn.key, kind, since: Date.now() };
    const engine = this.o.engine();
    const off = engine.addSession(view);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      conn.channels.delete(ch);
      off();
    };
  }

  /** Past serve.max_sessions: every channel of the connection says so and ends (exit 2). */
  private refuseOverLimit(conn: Conn, ch: ServerChannel): boolean {
    if (!conn.overLimit) return false;
    const msg = `vacm serve has ${this.section.maxSessions} sessions already (serve.max_sessions); try again later`;
    try {
      ch.stderr.write(formatResponse({ tag: 'NEXXUS', job: 0, event: 'ERROR', fields: ['ERR_LIMIT', msg] }) + '\n');
      ch.exit(EXIT_USAGE);
      ch.end();
    } catch {
      /* gone */
    }
    setTimeout(() => conn.drop(`${conn.user.name} at ${conn.addr} refused: ${msg}`), 200).unref();
    return true;
  }

  private io(conn: Conn, ch: ServerChannel, stdin: Readable, tty: boolean): Io {
    return {
      out: channelWriter(conn, ch, ch),
      err: channelWriter(conn, ch, ch.stderr),
      stdin,
      stdinIsTTY: false,
      stdoutIsTTY: tty,
      stderrIsTTY: tty,
    };
  }

  /** The options a vacm client passes (VACM_IPC=json,raw,...); OpenSSH's ssh passes none. */
  private ipcOptions(env: string): Omit<IpcOptions, 'messages'> {
    const o: Omit<IpcOptions, 'messages'> = {};
    for (const w of env.split(',')) {
      if (w === 'json') o.json = true;
      else if (w === 'raw') o.raw = true;
      else if (w === 'parallel') o.parallel = true;
      else if (w === 'diff') o.diff = true;
      else if (w === 'similar') o.similar = true;
      else if (w === 'gather') o.gather = true;
      else if (w === 'nogather') o.gather = false;
    }
    return o;
  }

  private async exec(conn: Conn, ch: ServerChannel, command: string, tty: boolean, env: string): Promise<void> {
    if (this.refuseOverLimit(conn, ch)) return;
    const end = this.register(conn, ch, 'exec');
    conn.touch();
    conn.busy++;
    let code: number;
    try {
      const env2 = env.split(',');
      const ttyOut = tty || env2.includes('tty');
      // `-`: the requests come on the channel's input, one a line (vacm ipc --attach reading stdin)
      const fromInput = command.trim() === '-';
      const messages = fromInput ? [] : command.split('\n').filter((l) => l.trim() !== '');
      const stdin = fromInput ? channelInput(ch) : emptyInput();
      code = await runIpc(this.o.engine(), { ...this.ipcOptions(env), messages, origin: this.origin(conn) }, this.io(conn, ch, stdin, ttyOut));
    } catch (err) {
      const ve = toVacmError(err);
      channelWriter(conn, ch, ch.stderr)(`${ve.code}: ${escapeControls(ve.message)}\n`);
      code = EXIT_USAGE;
    } finally {
      conn.busy--;
      conn.touch();
    }
    try {
      if (!ch.destroyed) {
        ch.exit(code);
        ch.end();
      }
    } catch {
      /* closed by the peer */
    }
    end();
  }

  private async shell(conn: Conn, ch: ServerChannel, tty: boolean): Promise<void> {
    if (this.refuseOverLimit(conn, ch)) return;
    const end = this.register(conn, ch, 'shell');
    conn.touch();
    const io = this.io(conn, ch, channelInput(ch), tty);
    io.out('NEXXUS_READY\n');
    // a line typed is activity; the data itself is read by runIpc
    ch.on('data', () => conn.touch());
    let code: number;
    try {
      code = await runIpc(this.o.engine(), { messages: [], shell: true, origin: this.origin(conn) }, io);
    } catch (err) {
      const ve = toVacmError(err);
      io.err(`${ve.code}: ${escapeControls(ve.message)}\n`);
      code = EXIT_USAGE;
    }
    try {
      if (!ch.destroyed) {
        ch.exit(code);
        ch.end();
      }
    } catch {
      /* closed by the peer */
    }
    end();
  }
}
