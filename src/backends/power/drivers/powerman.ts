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
import type { PowerAction, PowerDriver } from '../../capabilities.js';
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

const EXPECTED: Partial<Record<PowerAction, PowerState>> = { on: 'on', off: 'off', cycle: 'on', reset: 'on' };

async function runOnServer(server: string, action: PowerAction, plugs: Map<string, string[]>, signal: AbortSignal, report: Report): Promise<void> {
  const { host, port } = parseServer(server);
  const where = `${host}:${port}`;
  const c = await PowermanConnection.open(host, port, signal);
  try {
    // one status line per plug instead of folded ranges (a toggle: make sure it ends up on)
    let ex = await c.command('exprange');
    if (/OFF/.test(ex.final.text)) ex = await c.command('exprange');
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
  } finally {
    c.close();
  }
}

export function createPowermanDriver(): PowerDriver {
  return {
    name: 'powerman',
    actions: ['on', 'off', 'cycle', 'reset', 'status'],
    async run(action, nodes, { signal, report }) {
      // server → plug → nodes (two nodes may share a plug)
      const servers = new Map<string, Map<string, string[]>>();
      for (const { node, vars } of nodes) {
        const server = vars.powerman_server?.trim() || DEFAULT_POWERMAN_SERVER;
        const plug = vars.powerman_plug?.trim() || node;
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
