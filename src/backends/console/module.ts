/**
 * CONSOLE: serial consoles. `TAIL:nodes[:lines]` the last lines kept (or logged) per node,
 * `WATCH:nodes[:FORCE]` streams CONSOLE lines until cancelled, `SEND:nodes:text` types a line
 * (text and Enter) on each (dangerous, audited: conman's broadcast), `BREAK:nodes` a serial break
 * (dangerous: with SysRq it can reboot a Linux node). The driver is the node's `console` variable
 * (driver.ts); connections are the hub's (hub.ts), shared and, with `console.log: true`, kept.
 */
import { VacmError } from '../../protocol/errors.js';
import type { CommandDef, JobContext, ModuleDef, ModuleHost } from '../../protocol/module.js';
import { readStateFile } from '../../platform/state-files.js';
import { hasConsole, type ConsoleDriver, type ConsoleDriverName } from './driver.js';
import { ConsoleHub, type ConsoleEvent } from './hub.js';
import { createIpmiConsoleDriver, type IpmiConsoleOptions } from './ipmi-driver.js';
import { createLibvirtConsoleDriver, type LibvirtConsoleOptions } from './libvirt-driver.js';
import { ConsoleLog } from './log-file.js';
import { parseConsoleSection } from './settings.js';
import { parsePowerSection } from '../power/settings.js';

export interface ConsoleModuleOptions {
  ipmi?: IpmiConsoleOptions;
  libvirt?: LibvirtConsoleOptions;
  /** per-node deadline of SEND and BREAK (default 20 s) */
  sendTimeoutMs?: number;
  partialMs?: number;
  /** drivers in place of the real ones (tests) */
  drivers?: Partial<Record<ConsoleDriverName, ConsoleDriver>>;
}

export const DEFAULT_TAIL_LINES = 20;
const FORCE_ARG = { name: 'force', optional: true, oneOf: ['FORCE'] } as const;

export interface ConsoleModule extends ModuleDef {
  /** the engine's consoles, once the engine started (the dashboard's `c`, `vacm console`) */
  hub(): ConsoleHub | undefined;
}

export function createConsoleModule(opts: ConsoleModuleOptions = {}): ConsoleModule {
  let hub: ConsoleHub | undefined;
  let host: ModuleHost | undefined;
  let unsubscribe: (() => void) | undefined;
  const theHub = (): ConsoleHub => {
    if (!hub) throw new VacmError('ERR_INTERNAL', 'CONSOLE used before the engine started');
    return hub;
  };

  const parseLines = (text: string | undefined, max: number): number => {
    if (text === undefined || text === '') return DEFAULT_TAIL_LINES;
    if (!/^\d{1,6}$/.test(text) || Number(text) < 1 || Number(text) > max) throw new VacmError('ERR_BAD_ARGS', `the line count is '${text.slice(0, 20)}'; give a number from 1 to ${max} (console.keep_lines)`);
    return Number(text);
  };

  /** lines from the log file a standing engine (vacm serve) writes, for a one-shot engine */
  const logTail = (h: ModuleHost, node: string, n: number): string[] | undefined => {
    let data: Buffer | undefined;
    try {
      data = readStateFile(ConsoleLog.dirOf(h.stateDir), `${node}.log`, theHub().settings.maxBytes + 1024 * 1024);
    } catch {
      return undefined;
    }
    if (!data) return undefined;
    const lines = data.toString('utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    // `ISO-time text`; the text was escaped when written
    return lines.slice(-n).map((l) => l.replace(/^\S+ /, ''));
  };

  const emitEvent = (ctx: JobContext, node: string, e: ConsoleEvent): void => {
    if (e.kind === 'line') ctx.emit({ type: 'CONSOLE', node, kind: e.partial ? 'part' : 'line', line: e.text });
    else ctx.emit({ type: 'CONSOLE_STATE', node, state: e.state, message: e.message });
  };

  const tail: CommandDef = {
    name: 'TAIL',
    summary: `the last lines of each node's console (default ${DEFAULT_TAIL_LINES}): kept in memory by this engine, else from console/<node>.log`,
    nodes: 'required',
    args: [{ name: 'lines', optional: true }],
    lane: 'control',
    dangerous: false,
    validate(req, _nodes, h) {
      parseLines(req.named.lines, parseConsoleSection(h.config.sections.console).keepLines);
    },
    async run(ctx) {
      const n = parseLines(ctx.args.lines, theHub().settings.keepLines);
      await ctx.forEachNode(ctx.nodes, async ({ node }) => {
        const kept = theHub().tail(node, n);
        if (kept) {
          for (const l of kept) ctx.emit({ type: 'CONSOLE', node, kind: 'line', line: l.text });
          return;
        }
        const logged = logTail(ctx.host, node, n);
        if (logged) {
          for (const l of logged) ctx.emit({ type: 'CONSOLE', node, kind: 'line', line: l });
          return;
        }
        throw new VacmError('ERR_UNSUPPORTED', `no console lines are kept for ${node}: set console.log: true in vacm.yaml (vacm serve then keeps and logs every console), or use CONSOLE:WATCH`);
      });
    },
  };

  const watch: CommandDef = {
    name: 'WATCH',
    summary: "stream each node's console (CONSOLE lines) until cancelled; FORCE takes over a console held by another session",
    nodes: 'required',
    args: [FORCE_ARG],
    lane: 'control',
    dangerous: false,
    async run(ctx) {
      const force = ctx.args.force?.toUpperCase() === 'FORCE';
      await ctx.forEachNode(ctx.nodes, async ({ node, signal }) => {
        const lease = await theHub().acquire(node, { force, signal });
        const off = lease.listen((e) => emitEvent(ctx, node, e));
        ctx.emit({ type: 'CONSOLE_STATE', node, state: 'connected', message: `watching ${node}'s console` });
        try {
          await new Promise<void>((resolve) => {
            if (signal.aborted) return resolve();
            signal.addEventListener('abort', () => resolve(), { once: true });
          });
        } finally {
          off();
          await lease.release();
        }
      });
    },
  };

  const withLease = async (ctx: JobContext, fn: (node: string, lease: Awaited<ReturnType<ConsoleHub['acquire']>>) => Promise<void>): Promise<void> => {
    await ctx.forEachNode(
      ctx.nodes,
      async ({ node, signal }) => {
        const lease = await theHub().acquire(node, { signal });
        try {
          await fn(node, lease);
        } finally {
          await lease.release();
        }
      },
      { timeoutMs: opts.sendTimeoutMs ?? 20_000, timeoutMessage: 'the console did not take the characters in time; check the node\'s BMC or domain' },
    );
  };

  const send: CommandDef = {
    name: 'SEND',
    summary: "type TEXT and Enter on each node's console (conman's broadcast); audited",
    nodes: 'required',
    args: [{ name: 'text', rest: true }],
    lane: 'control',
    dangerous: true,
    validate(req) {
      if (Buffer.byteLength(req.named.text ?? '') > 4096) throw new VacmError('ERR_LIMIT', 'CONSOLE:SEND takes at most 4096 bytes of text; send it in parts');
    },
    async run(ctx) {
      const data = Buffer.from(`${ctx.args.text ?? ''}\r`);
      await withLease(ctx, async (node, lease) => {
        lease.write(data);
        await lease.drained();
        ctx.emit({ type: 'CONSOLE_STATE', node, state: 'sent', message: `${data.length} bytes` });
      });
    },
  };

  const brk: CommandDef = {
    name: 'BREAK',
    summary: "send a serial break on each node's console (with SysRq a Linux node acts on the next key); audited",
    nodes: 'required',
    args: [],
    lane: 'control',
    dangerous: true,
    async run(ctx) {
      await withLease(ctx, async (node, lease) => {
        lease.sendBreak();
        await lease.drained();
        ctx.emit({ type: 'CONSOLE_STATE', node, state: 'break', message: 'serial break sent' });
      });
    },
  };

  return {
    tag: 'CONSOLE',
    summary: 'serial consoles (IPMI SOL, virsh console): tail, watch, send, break; kept and logged with console.log',
    commands: [tail, watch, send, brk],
    hub: () => hub,
    // the black box of a NODE_DOWN record: the lines the hub keeps (the engine escapes and cuts them)
    lastConsoleLines: (node, count) => hub?.tail(node, count)?.map((l) => l.text),
    init(h) {
      host = h;
      const settings = parseConsoleSection(h.config.sections.console);
      hub = new ConsoleHub({
        // libvirt_uri is checked as POWER checks it, with the same opt-ins (power.drivers.libvirt)
        drivers: opts.drivers ?? { ipmi: createIpmiConsoleDriver(opts.ipmi), libvirt: createLibvirtConsoleDriver({ uriPolicy: parsePowerSection(h.config.sections.power).libvirtUri, ...opts.libvirt }) },
        vars: (node) => h.vars(node),
        settings,
        stateDir: h.stateDir,
        partialMs: opts.partialMs,
        warn: (m) => h.log('warn', m),
      });
      if (h.monitor && settings.log) {
        for (const n of h.nodes()) if (hasConsole(n.vars)) hub.keep(n.name);
        unsubscribe = h.onVarChange((node, key) => {
          if (key === 'console' && hasConsole(h.vars(node))) hub?.keep(node);
        });
      }
    },
    async dispose() {
      unsubscribe?.();
      const hb = hub;
      hub = undefined;
      host = undefined;
      await hb?.dispose();
    },
  };
}
