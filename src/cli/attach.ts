/**
 * Attaching to a running `vacm serve` (issue 13): `vacm ipc --attach TARGET`, `VACM_ATTACH`, or by
 * default the serve's local socket in the state dir when it answers. TARGET is `ssh://[user@]host[:port]`
 * or a socket path. The client is the SSH backend's own (SshPool.dial): ~/.ssh/config, ssh-agent,
 * identity files, and known_hosts for the serve's host key. Over the socket the same SSH protocol
 * runs, so the user still proves who they are with a key; the socket's directory, which nobody else
 * can replace, is what vouches for the server.
 *
 * `vacm ipc` attached is an exec request: the serve runs the lines with runIpc and sends back exactly
 * what `vacm ipc` prints, and its exit status (the one formatter is the serve's).
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Client } from 'ssh2';
import { VacmError, toVacmError } from '../protocol/errors.js';
import { escapeControls } from '../protocol/visible.js';
import { defaultStateDir } from '../engine/audit.js';
import { checkTrustedFile } from '../platform/trusted-file.js';
import { EXIT_USAGE, type Io } from './io.js';

export const DEFAULT_SERVE_PORT = 2200;

export type AttachTarget = { kind: 'ssh'; user?: string; host: string; port?: number } | { kind: 'socket'; path: string; user?: string };

/** `ssh://[user@]host[:port]` (an IPv6 host in brackets) or a socket path. */
export function parseAttachTarget(text: string): AttachTarget {
  const t = text.trim();
  if (t.startsWith('ssh://')) {
    const m = /^ssh:\/\/(?:([A-Za-z0-9._][A-Za-z0-9._-]*)@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?\/?$/.exec(t);
    const port = m?.[3] !== undefined ? Number(m[3]) : undefined;
    if (!m || (port !== undefined && (port < 1 || port > 65535))) throw new VacmError('ERR_USAGE', `--attach ${escapeControls(t)}: give ssh://[user@]host[:port] (e.g. ssh://alice@head01:2200) or the path of serve's socket`);
    return { kind: 'ssh', user: m[1], host: m[2].replace(/^\[|\]$/g, ''), port };
  }
  if (t === '' || t.includes('\0')) throw new VacmError('ERR_USAGE', '--attach: give ssh://[user@]host[:port] or the path of serve\'s socket');
  // [user@]/path: the serve user to log in as over the socket (default: this OS user's name)
  const u = /^([A-Za-z0-9._][A-Za-z0-9._-]*)@(\/.*)$/.exec(t);
  if (u) return { kind: 'socket', user: u[1], path: path.resolve(u[2]) };
  return { kind: 'socket', path: path.resolve(t) };
}

/** The serve's socket in the state dir, when there is one (a file that is a socket, nothing more). */
export function defaultSocket(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = path.join(defaultStateDir(env), 'serve.sock');
  try {
    return fs.lstatSync(file).isSocket() ? file : undefined;
  } catch {
    return undefined;
  }
}

/** A socket that does not answer (a serve that died and left it): the caller embeds an engine instead. */
export class NotAnswering extends Error {}

/** Connect and log in to the serve at `target`. */
export async function dialServe(target: AttachTarget, env: NodeJS.ProcessEnv = process.env): Promise<Client> {
  const { SshPool } = await import('../backends/ssh/pool.js');
  const { parseSshSection } = await import('../backends/ssh/settings.js');
  const pool = new SshPool({ section: parseSshSection(undefined), env });
  if (target.kind === 'ssh') {
    const vars: Record<string, string> = {};
    if (target.port !== undefined) vars.ssh_port = String(target.port);
    if (target.user !== undefined) vars.ssh_user = target.user;
    // the port: the URL's, else ~/.ssh/config's, else serve's default (not ssh's 22)
    const probe = pool.resolveTarget(target.host, vars);
    if (target.port === undefined && probe.port === 22) vars.ssh_port = String(DEFAULT_SERVE_PORT);
    return (await pool.dial(target.host, vars)).client;
  }
  // the socket: its directory must be one nobody else could have put a fake serve's socket in
  checkTrustedFile(path.dirname(target.path), { what: 'the directory of serve\'s socket', directory: true });
  const sock = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(target.path);
    s.once('connect', () => resolve(s));
    s.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ECONNREFUSED' || err.code === 'ENOENT' ? new NotAnswering(err.code) : new VacmError('ERR_SSH_CONNECT', `cannot open ${target.path}: ${err.code ?? err.message}`)));
  });
  const vars: Record<string, string> = { host: target.path };
  if (target.user !== undefined) vars.ssh_user = target.user;
  try {
    return (await pool.dial('vacm-serve-socket', vars, { sock, hostKey: () => undefined })).client;
  } catch (err) {
    const ve = toVacmError(err, 'ERR_SSH_CONNECT');
    if (ve.code !== 'ERR_SSH_AUTH') throw ve;
    const who = target.user ?? pool.resolveTarget('vacm-serve-socket', vars).user;
    throw new VacmError('ERR_SSH_AUTH', `the serve does not know your key as ${who}'s (serve.users); log in as another user with --attach USER@${target.path}, or ask its admin to add your public key`);
  }
}

export interface AttachedIpcArgs {
  json?: boolean;
  gather?: boolean;
  parallel?: boolean;
  raw?: boolean;
  diff?: boolean;
  similar?: boolean;
  messages: string[];
}

/** `vacm ipc` through a serve: the lines as an exec request, the output and the exit status passed through. */
export async function attachedIpc(client: Client, a: AttachedIpcArgs, io: Io): Promise<number> {
  const flags = [a.json && 'json', a.raw && 'raw', a.parallel && 'parallel', a.diff && 'diff', a.similar && 'similar', a.gather === true && 'gather', a.gather === false && 'nogather', io.stdoutIsTTY && 'tty']
    .filter((x): x is string => typeof x === 'string');
  const fromStdin = a.messages.length === 0;
  const command = fromStdin ? '-' : a.messages.join('\n');
  try {
    return await new Promise<number>((resolve, reject) => {
      client.exec(command, { env: { VACM_IPC: flags.join(',') } }, (err, ch) => {
        if (err) return reject(new VacmError('ERR_SSH_CONNECT', `the serve refused the request channel: ${err.message}`));
        const out = new StringDecoder('utf8');
        const errd = new StringDecoder('utf8');
        ch.on('data', (d: Buffer) => io.out(out.write(d)));
        ch.stderr.on('data', (d: Buffer) => io.err(errd.write(d)));
        let code: number | undefined;
        ch.on('exit', (c: number | null) => (code = c ?? undefined));
        ch.on('close', () => {
          io.out(out.end());
          io.err(errd.end());
          if (code === undefined) io.err('vacm: the serve closed the connection before the requests ended\n');
          resolve(code ?? 1);
        });
        if (fromStdin) io.stdin.pipe(ch);
        else ch.end();
      });
    });
  } finally {
    client.end();
  }
}

/** Run `vacm ipc` attached to `target`; NotAnswering when a default socket turned out stale. */
export async function ipcAttached(target: AttachTarget, a: AttachedIpcArgs, io: Io): Promise<number> {
  let client: Client;
  try {
    client = await dialServe(target);
  } catch (err) {
    if (err instanceof NotAnswering) throw err;
    const ve = toVacmError(err, 'ERR_SSH_CONNECT');
    io.err(`${ve.code}: attaching to vacm serve at ${target.kind === 'ssh' ? `ssh://${target.user ? target.user + '@' : ''}${target.host}${target.port ? ':' + target.port : ''}` : target.path}: ${escapeControls(ve.message)}; --embedded runs an engine of this process instead\n`);
    return EXIT_USAGE;
  }
  return attachedIpc(client, a, io);
}
