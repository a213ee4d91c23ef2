/**
 * SSH:EXEC — run a command on many nodes (gomd's cluster-wide execution). Output is streamed per
 * node as it arrives (`OUTPUT:node:stdout|stderr:<line>`), then `EXIT:node:<code>`. A node with a
 * non-zero exit counts as failed. A node whose capabilities (src/backends/providers.ts) bring a shell
 * runs through it (the simulated nodes); every other node, the local machine included, is reached
 * over SSH through the shared pool. SSH:PUSH and SSH:PULL (copy.ts) copy files over the same
 * pooled connections.
 */
import { VacmError } from '../../protocol/errors.js';
import type { CommandDef, ModuleDef, ModuleHost, NodeVars } from '../../protocol/module.js';
import { parseSshSection, type SshSection } from './settings.js';
import { REAL_PROVIDERS, type Providers, type StreamingExecutor } from '../capabilities.js';
import { checkExecAllowed, formatAllowEntry, type ExecAllowEntry } from '../../protocol/shell-words.js';
import { createCopyCommands, type FileTransport } from './copy.js';
import { SSH_REACH_FACTS } from '../../protocol/node-facts.js';
import type { SshTarget } from './targets.js';
import { shellArgv } from './shell.js';

/** The pool as the dashboard's `S` asks it how it reaches a node (the same settings go to the system ssh). */
export interface ShellTargets {
  resolveTarget?(node: string, vars: NodeVars): SshTarget;
}

/** Variables whose change invalidates a pooled connection. */
export const CONNECTION_VARS: ReadonlySet<string> = new Set(['host', 'ssh_user', 'ssh_port', 'ssh_identity', 'ssh_known_hosts', 'sim']);

/** The command line to send for `command`, or ERR_NOT_ALLOWED saying why and what to add. */
function allowedCommand(command: string, allow: readonly ExecAllowEntry[], source: string | undefined): string {
  const d = checkExecAllowed(command, allow);
  if (d.ok) return d.command;
  const list = allow.map(formatAllowEntry).join(', ') || 'empty';
  // JSON-quoted: a newline or ESC in the command is shown, not replayed
  const shown = JSON.stringify(command.trim().length > 200 ? `${command.trim().slice(0, 200)}…` : command.trim());
  throw new VacmError('ERR_NOT_ALLOWED', `${shown} is not allowed by exec.allow (${list}): ${d.reason}; add a pattern for it to exec.allow in ${source ?? 'vacm.yaml'} (docs/ssh.md, Allowlist)`);
}

/** Is `command` one that exec.safe lists (word-matched like exec.allow; shell syntax never is)? */
export function isSafeCommand(command: string, safe: readonly ExecAllowEntry[]): boolean {
  if (command.trim() === '' || safe.length === 0) return false;
  const d = checkExecAllowed(command, safe);
  return d.ok && d.rule !== '*';
}

/** The SSH module, with what the dashboard's `S` asks of it. */
export interface SshModuleDef extends ModuleDef {
  /** the system ssh's argv (without `ssh`) for an interactive login on `node`, as the pool would reach it; throws ERR_UNSUPPORTED / ERR_BAD_ARGS */
  shellArgv(node: string, vars: NodeVars): string[];
}

export function createSshModule(caps: { pool: StreamingExecutor & ShellTargets; providers?: Providers; files?: FileTransport }): SshModuleDef {
  const { pool } = caps;
  const providers = caps.providers ?? REAL_PROVIDERS;
  /** what stands in for SSH on the node (a simulated node's shell), or undefined: the pool */
  const standIn = (node: string, vars: NodeVars) => providers.of(node, vars).shell;
  let section: SshSection = parseSshSection(undefined);
  let safe: readonly ExecAllowEntry[] = [];
  let unsubscribe: (() => void) | undefined;

  const commandTimeout = (vars: NodeVars): number | undefined => {
    const v = vars.ssh_command_timeout_ms;
    if (v !== undefined && /^\d+$/.test(v) && Number(v) > 0) return Number(v);
    return section.commandTimeoutMs;
  };

  const exec: CommandDef = {
    name: 'EXEC',
    summary: 'run a shell command on the nodes; output streamed per node, gathered at the end',
    nodes: 'required',
    args: [{ name: 'command', rest: true }],
    lane: 'bulk',
    // a command exec.safe lists changes nothing: no confirmation, allowed read-only (docs/security.md)
    dangerous: (req) => !isSafeCommand(req.named.command ?? '', safe),
    skipKnownDown: true,
    validate(req, _nodes, host: ModuleHost) {
      const command = req.named.command ?? '';
      if (command.trim() === '') throw new VacmError('ERR_BAD_ARGS', 'SSH:EXEC needs a command: SSH:EXEC:<nodes>:<command>');
      allowedCommand(command, host.config.exec.allow, host.config.source);
    },
    async run(ctx) {
      // what is sent is what was checked: the matched words re-quoted (or the exact {shell:} text)
      const command = allowedCommand(ctx.args.command, ctx.host.config.exec.allow, ctx.host.config.source);
      await ctx.forEachNode(ctx.nodes, async ({ node, vars, signal }) => {
        const onLine = (stream: 'stdout' | 'stderr', line: string) => ctx.emit({ type: 'OUTPUT', node, stream, line });
        const r = await (standIn(node, vars) ?? pool).exec(node, vars, command, { signal, timeoutMs: commandTimeout(vars), onLine });
        if (signal.aborted) throw signal.reason ?? new VacmError('ERR_CANCELLED', 'cancelled');
        ctx.emit(r.signal ? { type: 'EXIT', node, code: r.code, signal: r.signal } : { type: 'EXIT', node, code: r.code });
        return r.code === 0 && !r.signal ? 'ok' : 'failed';
      });
    },
  };

  // SSH:USERS: how many are logged in (`who`), for a confirmation's blast radius. A fixed command, not
  // the operator's, so exec.allow does not apply; over SSH only (a simulated node has no `who`).
  const users: CommandDef = {
    name: 'USERS',
    summary: 'count the users logged in on the nodes (`who` over SSH; simulated nodes are skipped): OUTPUT users=N',
    nodes: 'required',
    args: [{ name: 'timeout_ms', optional: true }],
    lane: 'bulk',
    dangerous: false,
    skipKnownDown: true,
    validate(req) {
      const t = req.named.timeout_ms;
      if (t !== undefined && !(/^\d+$/.test(t) && Number(t) >= 1 && Number(t) <= 60_000)) throw new VacmError('ERR_BAD_ARGS', 'SSH:USERS timeout_ms: whole milliseconds, 1-60000, e.g. SSH:USERS:@rack1:2000');
    },
    async run(ctx) {
      const timeoutMs = Number(ctx.args.timeout_ms ?? 2000);
      await ctx.forEachNode(ctx.nodes, async ({ node, vars, signal }) => {
        if (standIn(node, vars)) return 'ok';
        let count = 0;
        const r = await pool.exec(node, vars, 'who', { signal, timeoutMs, onLine: (stream, line) => { if (stream === 'stdout' && line.trim() !== '') count++; } });
        if (signal.aborted) throw signal.reason ?? new VacmError('ERR_CANCELLED', 'cancelled');
        if (r.code !== 0) throw new VacmError('ERR_EXEC', `who exited with ${r.code}`);
        ctx.emit({ type: 'OUTPUT', node, stream: 'stdout', line: `users=${count}` });
        return 'ok';
      });
    },
  };

  return {
    tag: 'SSH',
    summary: 'run commands on nodes and copy files to and from them over SSH (pooled connections, ~/.ssh/config, ssh-agent, known_hosts)',
    commands: caps.files ? [exec, users, ...createCopyCommands({ transport: caps.files, isSim: (node, vars) => standIn(node, vars) !== undefined })] : [exec, users],
    // by output and exit code: a node's lines with its non-zero exit are what it is grouped by
    gather: { OUTPUT: {}, EXIT: {} },
    facts: SSH_REACH_FACTS,
    shellArgv(node, vars) {
      if (standIn(node, vars)) throw new VacmError('ERR_UNSUPPORTED', `${node} is a simulated node: there is no shell to open on it`);
      if (!pool.resolveTarget) throw new VacmError('ERR_UNSUPPORTED', 'this SSH backend cannot say how it reaches a node');
      return shellArgv(pool.resolveTarget(node, vars), { configFile: section.configFile });
    },
    init(host) {
      section = parseSshSection(host.config.sections.ssh);
      safe = host.config.exec.safe ?? [];
      pool.configure?.(section, { readOnly: host.readOnly });
      unsubscribe = host.onVarChange((node, key) => {
        if (CONNECTION_VARS.has(key) || key.startsWith('ssh_')) pool.drop?.(node);
      });
    },
    async dispose() {
      unsubscribe?.();
      unsubscribe = undefined;
      await pool.close?.();
    },
  };
}
