/**
 * `power: powerman` — a client of powermand (which drives PDUs: Baytech, APC, and many more).
 * One connection per server per request; the plugs of all the request's nodes on a server go in
 * one command with their names folded (`on node[001-016]`), then one `status` reads the state after.
 * Node variables: powerman_server (host[:port], default 127.0.0.1:10101), powerman_plug (default
 * the node name).
 */
import net from 'node:net';
import { VacmError } from '../../../protocol/errors.js';
import type { PowerState } from '../../../protocol/events.js';
import { foldNodeSet } from '../../../protocol/nodeset.js';
import type { NodeVars } from '../../../protocol/module.js';
import type { PowerDriver } from '../../capabilities.js';
import type { PowerActionName } from '../../../protocol/power.js';
import { ReplyReader, deviceErrors, describeReply, isSuccess, noSuchPlugs, parseStatus, type Reply } from './powerman-reply.js';

export const DEFAULT_POWERMAN_SERVER = '127.0.0.1:10101';

/** `host`, `host:port`, `[v6]:port` → host and port. */
export function parseServer(s: string): { host: string; port: number } {
  const t = s.trim();
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(t) ?? /^([^:]+)(?::(\d+))?$/.exec(t);
  const port = m?.[2] !== undefined ? Number(m[2]) : 10101;
  if (!m || !(port >= 1 && port <= 65535)) throw new VacmError('ERR_CONFIG', `powerman_server is "${s}"; write host or host:port, e.g. 127.0.0.1:10101`);
  return { host: m[1], port };
}

/** One connection to powermand: a command goes out only after the prompt of the last reply. */
class PowermanConnection {
  private readonly reader = new ReplyReader();
  private readonly replies: Reply[] = [];
  private waiter: { resolve: (r: Reply) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  private constructor(private readonly sock: net.Socket, private readonly where: string) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      try {
        for (const r of this.reader.push(d)) this.replies.push(r);
      } catch (err) {
        this.fail(err as Error);
        sock.destroy();
      }
      this.wake();
    });
    sock.on('error', (e) => this.fail(this.describe(e)));
    sock.on('close', () => this.fail(new VacmError('ERR_POWERMAN', `powermand at ${where} closed the connection${this.reader.rest().trim() ? `: ${this.reader.rest().trim()}` : ''}`)));
  }

  private describe(e: Error): VacmError {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED') return new VacmError('ERR_POWERMAN', `cannot reach powermand at ${this.where}: connection refused; start powermand there or set powerman_server`);
    return new VacmError('ERR_POWERMAN', `powermand at ${this.where}: ${code ?? e.message}; check powerman_server and the network`);
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    if (!w) return;
    const r = this.replies.shift();
    if (r) {
      this.waiter = undefined;
      w.resolve(r);
    } else if (this.failure) {
      this.waiter = undefined;
      w.reject(this.failure);
    }
  }

  private next(): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.wake();
    });
  }

  static async open(host: string, port: number, signal: AbortSignal): Promise<PowermanConnection> {
    const where = `${host}:${port}`;
    const sock = net.connect({ host, port });
    const c = new PowermanConnection(sock, where);
    const onAbort = () => sock.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    sock.once('close', () => signal.removeEventListener('abort', onAbort));
    const greeting = await c.next(); // "001 <version>" then the prompt
    if (greeting.final.code !== 1) throw new VacmError('ERR_POWERMAN', `${where} does not speak powerman's protocol (it said "${describeReply(greeting)}")`);
    return c;
  }

  async command(line: string): Promise<Reply> {
    if (this.failure) throw this.failure;
    this.sock.write(line + '\r\n');
    return this.next();
  }

  close(): void {
    if (!this.sock.destroyed && !this.failure) this.sock.end('quit\r\n');
    this.sock.destroy();
  }
}

type Report = (node: string, result: PowerState | Error) => void;

/** Run `line <plugs>`, dropping plugs powermand does not know (each of their nodes gets an error) and retrying once. */
async function onPlugs(c: PowermanConnection, verb: string, plugs: Map<string, string[]>, report: Report, where: string): Promise<Reply | undefined> {
  for (let attempt = 0; attempt < 2 && plugs.size > 0; attempt++) {
    const r = await c.command(`${verb} ${foldNodeSet(plugs.keys())}`);
    const unknown = noSuchPlugs(r);
    if (!unknown) return r;
    const named = unknown.filter((p) => plugs.has(p));
    if (named.length === 0) {
      // cannot tell which plug it means: all of them fail
      for (const nodes of plugs.values()) for (const n of nodes) report(n, new VacmError('ERR_POWERMAN', `powermand at ${where}: ${describeReply(r)}`));
      plugs.clear();
      return undefined;
    }
    for (const p of named) {
      for (const n of plugs.get(p)!) report(n, new VacmError('ERR_POWERMAN', `powermand at ${where} has no plug ${p}; set powerman_plug to the name powerman.conf gives this node (pm -l lists them)`));
      plugs.delete(p);
    }
  }
  return undefined;
}

const EXPECTED: Partial<Record<PowerActionName, PowerState>> = { on: 'on', off: 'off', cycle: 'on', reset: 'on' };

/** One connection to `server` with exprange on (one line per plug), for the length of `f`. */
async function onServer<T>(server: string, signal: AbortSignal, f: (c: PowermanConnection, where: string) => Promise<T>): Promise<T> {
  const { host, port } = parseServer(server);
  const where = `${host}:${port}`;
  const c = await PowermanConnection.open(host, port, signal);
  try {
    // one status line per plug instead of folded ranges (a toggle: make sure it ends up on)
    const ex = await c.command('exprange');
    if (/OFF/.test(ex.final.text)) await c.command('exprange');
    return await f(c, where);
  } finally {
    c.close();
  }
}

function runOnServer(server: string, action: PowerActionName, plugs: Map<string, string[]>, signal: AbortSignal, report: Report): Promise<void> {
  return onServer(server, signal, async (c, where) => {
    const failAll = (r: Reply) => {
      for (const nodes of plugs.values()) for (const n of nodes) report(n, new VacmError('ERR_POWERMAN', `powermand at ${where}: ${describeReply(r)}`));
      plugs.clear();
    };
    let acted: Reply | undefined;
    if (action !== 'status') {
      acted = await onPlugs(c, action, plugs, report, where);
      if (!acted) return;
      // 210: completed with errors (which plugs is told by the status below); other 2xx: nothing done
      if (!isSuccess(acted) && acted.final.code !== 210) return failAll(acted);
    }
    const st = await onPlugs(c, 'status', plugs, report, where);
    if (!st) return;
    if (!isSuccess(st) && st.final.code !== 211) return failAll(st);
    const states = parseStatus(st);
    const errs = [...deviceErrors(st), ...(acted ? deviceErrors(acted) : [])];
    const expected = EXPECTED[action];
    for (const [plug, nodes] of plugs) {
      const s = states.get(plug) ?? 'unknown';
      const failedAction = acted !== undefined && !isSuccess(acted) && s !== expected;
      const why = errs.length ? [...new Set(errs)].join('; ') : 'no state reported';
      for (const n of nodes) {
        if (failedAction) report(n, new VacmError('ERR_POWERMAN', `powermand at ${where} could not ${action === 'on' || action === 'off' ? `switch plug ${plug} ${action}` : `${action} plug ${plug}`} (${why}); it is ${s}`));
        else if (s === 'unknown' && errs.length) report(n, new VacmError('ERR_POWERMAN', `powermand at ${where} cannot tell plug ${plug}'s state: ${why}`));
        else report(n, s);
      }
    }
  });
}

/** A plug name as powermand's hostlists take one word: no spaces or line ends (a second command), no `[`, `,` (more plugs). */
const PLUG_RE = /^[A-Za-z0-9._:+-]{1,128}$/;

/** A node's powermand and plug, from powerman_server and powerman_plug; ERR_CONFIG for a plug that is not one name. */
export function powermanPlug(node: string, vars: NodeVars): { server: string; plug: string } {
  const plug = vars.powerman_plug?.trim() || node;
  if (!PLUG_RE.test(plug)) throw new VacmError('ERR_CONFIG', `${node}: powerman_plug ${JSON.stringify(plug.slice(0, 40))} is not one plug name; write the name powerman.conf gives the node (letters, digits, . _ : + -)`);
  return { server: vars.powerman_server?.trim() || DEFAULT_POWERMAN_SERVER, plug };
}

/** The longest value kept from a query line (a PDU's temperature is a few characters). */
const MAX_VALUE_CHARS = 64;

/**
 * `temp` or `beacon` of these plugs on one server, in one query: plug → powermand's word for it
 * (`83`, `on`), or the plug's error (powermand does not know it, or did not answer for it).
 * `213` (the device cannot) and other failures of the whole query are thrown.
 */
export function powermanQuery(server: string, what: 'temp' | 'beacon', plugs: readonly string[], signal: AbortSignal): Promise<Map<string, string | Error>> {
  return onServer(server, signal, async (c, where) => {
    const asked = new Map(plugs.map((p) => [p, [p]]));
    const out = new Map<string, string | Error>();
    const r = await onPlugs(c, what, asked, (plug, e) => out.set(plug, e as Error), where);
    if (!r) return out;
    if (r.final.code === 213) throw new VacmError('ERR_UNSUPPORTED', `powermand at ${where}: the power controller has no ${what === 'temp' ? 'temperature' : 'beacon'} (213 ${r.final.text})`);
    if (!isSuccess(r) && r.final.code !== 211) throw new VacmError('ERR_POWERMAN', `powermand at ${where}: ${describeReply(r)}`);
    for (const l of r.lines) {
      if (l.code !== 303) continue;
      const m = /^(.*?):\s*(.*)$/.exec(l.text);
      if (m && asked.has(m[1].trim())) out.set(m[1].trim(), m[2].trim().slice(0, MAX_VALUE_CHARS));
    }
    const why = deviceErrors(r);
    for (const p of asked.keys()) if (!out.has(p)) out.set(p, new VacmError('ERR_POWERMAN', `powermand at ${where} gave no ${what} for plug ${p}${why.length ? ` (${[...new Set(why)].join('; ')})` : ''}`));
    return out;
  });
}

/** `flash` or `unflash` one plug, then read its beacon back: `on` or `off` as powermand says. */
async function beacon(node: string, vars: NodeVars, on: boolean, signal: AbortSignal): Promise<string> {
  const { server, plug } = powermanPlug(node, vars);
  return onServer(server, signal, async (c, where) => {
    const r = await c.command(`${on ? 'flash' : 'unflash'} ${foldNodeSet([plug])}`);
    if (noSuchPlugs(r)) throw new VacmError('ERR_POWERMAN', `powermand at ${where} has no plug ${plug}; set powerman_plug to the name powerman.conf gives this node (pm -l lists them)`);
    if (r.final.code === 213) throw new VacmError('ERR_UNSUPPORTED', `powermand at ${where}: the power controller of plug ${plug} has no beacon (213 ${r.final.text})`);
    if (!isSuccess(r)) throw new VacmError('ERR_POWERMAN', `powermand at ${where} could not ${on ? 'flash' : 'unflash'} plug ${plug}: ${describeReply(r)}`);
    const st = await c.command(`beacon ${foldNodeSet([plug])}`);
    const state = parseStatus(st).get(plug);
    if (!isSuccess(st) || state === undefined) throw new VacmError('ERR_POWERMAN', `powermand at ${where} flashed plug ${plug} but cannot tell its beacon: ${describeReply(st)}`);
    return state;
  });
}

export function createPowermanDriver(): PowerDriver {
  return {
    name: 'powerman',
    actions: ['on', 'off', 'cycle', 'reset', 'status'],
    // the beacon has no timer in powerman's protocol: SECONDS would need vacm to hold a job open
    async identify(node, vars, mode, signal) {
      if (mode.kind === 'seconds') throw new VacmError('ERR_UNSUPPORTED', `${node}: powerman's beacon has no timer; use POWER:IDENTIFY:${node}:on, then off`);
      return beacon(node, vars, mode.kind === 'on', signal);
    },
    async run(action, nodes, { signal, report }) {
      // server → plug → nodes (two nodes may share a plug)
      const servers = new Map<string, Map<string, string[]>>();
      for (const { node, vars } of nodes) {
        let at: { server: string; plug: string };
        try {
          at = powermanPlug(node, vars);
        } catch (err) {
          report(node, err as Error);
          continue;
        }
        const { server, plug } = at;
        const plugs = servers.get(server) ?? new Map<string, string[]>();
        servers.set(server, plugs);
        plugs.set(plug, [...(plugs.get(plug) ?? []), node]);
      }
      await Promise.all(
        [...servers].map(async ([server, plugs]) => {
          const all = [...plugs.values()].flat();
          try {
            await runOnServer(server, action, plugs, signal, report);
          } catch (err) {
            for (const n of all) report(n, err as Error); // the module ignores nodes already reported
          }
        }),
      );
    },
  };
}
