/**
 * SSH:EXEC — run a command on many nodes (gomd's cluster-wide execution). Output is streamed per
 * node as it arrives (`OUTPUT:node:stdout|stderr:<line>`), then `EXIT:node:<code>`. A node with a
 * non-zero exit counts as failed. Nodes with `sim: true` answer through the SimCluster; every other
 * node, the local machine included, is reached over SSH through the shared pool.
 */
import { VacmError } from '../../protocol/errors.js';
import type { CommandDef, ModuleDef, ModuleHost, NodeVars } from '../../protocol/module.js';
import type { SimCluster } from '../sim/cluster.js';
import { isSimNode } from '../sim/module.js';
import { parseSshSection, type SshSection } from './settings.js';

/** What SSH:EXEC needs from the pool: a streaming exec. */
export interface StreamingExecutor {
  exec(node: string, vars: NodeVars, command: string, opts: StreamExecOptions): Promise<ExecExit>;
  /** the module hands the validated `ssh` config section to the pool (read-only: no known_hosts writes) */
  configure?(section: SshSection, opts?: { readOnly?: boolean }): void;
  /** a node's host/ssh_* variable changed: forget its connection */
  drop?(node: string): void;
  close?(): Promise<void> | void;
}

export interface StreamExecOptions {
  signal?: AbortSignal;
  /** command timeout (none when undefined) */
  timeoutMs?: number;
  onLine(stream: 'stdout' | 'stderr', line: string): void;
}

export interface ExecExit {
  code: number;
  signal?: string;
}

/** Variables whose change invalidates a pooled connection. */
export const CONNECTION_VARS: ReadonlySet<string> = new Set(['host', 'ssh_user', 'ssh_port', 'ssh_identity', 'ssh_known_hosts', 'sim']);

/** Shell-style glob (`*`, `?`) matched against the whole command line. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (const ch of glob) {
    if (ch === '*') re += '[\\s\\S]*';
    else if (ch === '?') re += '[\\s\\S]';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Is `command` allowed by the exec allowlist? `*` allows everything. */
export function commandAllowed(command: string, allow: readonly string[]): boolean {
  const c = command.trim();
  return allow.some((g) => g === '*' || globToRegExp(g.trim()).test(c));
}

export function createSshModule(caps: { pool: StreamingExecutor; sim: SimCluster }): ModuleDef {
  const { pool, sim } = caps;
  let section: SshSection = parseSshSection(undefined);
  let unsubscribe: (() => void) | undefined;

  const commandTimeout = (vars: NodeVars): number | undefined => {
    const v = vars.ssh_command_timeout_ms;
    if (v !== undefined && /^\d+$/.test(v) && Number(v) > 0) return Number(v);
    return section.commandTimeoutMs;
  };

  const execSim = async (node: string, command: string, signal: AbortSignal, onLine: StreamExecOptions['onLine']): Promise<ExecExit> => {
    const r = await sim.exec(node, command, signal);
    if (!r) throw new VacmError('ERR_SSH_REFUSED', 'connection refused (the simulated node is down)');
    for (const l of r.stdout) onLine('stdout', l);
    for (const l of r.stderr) onLine('stderr', l);
    return { code: r.code };
  };

  const exec: CommandDef = {
    name: 'EXEC',
    summary: 'run a shell command on the nodes; output streamed per node, gathered at the end',
    nodes: 'required',
    args: [{ name: 'command', rest: true }],
    lane: 'bulk',
    dangerous: true,
    validate(req, _nodes, host: ModuleHost) {
      const command = req.named.command ?? '';
      if (command.trim() === '') throw new VacmError('ERR_BAD_ARGS', 'SSH:EXEC needs a command: SSH:EXEC:<nodes>:<command>');
      const allow = host.config.exec.allow;
      if (!commandAllowed(command, allow)) {
        throw new VacmError('ERR_NOT_ALLOWED', `"${command.trim()}" is not in exec.allow (${allow.join(', ') || 'empty'}); add a glob for it to exec.allow in ${host.config.source ?? 'vacm.yaml'}`);
      }
    },
    async run(ctx) {
      const command = ctx.args.command;
      await ctx.forEachNode(ctx.nodes, async ({ node, vars, signal }) => {
        const onLine = (stream: 'stdout' | 'stderr', line: string) => ctx.emit({ type: 'OUTPUT', node, stream, line });
        const r = isSimNode(vars) && sim.has(node)
          ? await execSim(node, command, signal, onLine)
          : await pool.exec(node, vars, command, { signal, timeoutMs: commandTimeout(vars), onLine });
        if (signal.aborted) throw signal.reason ?? new VacmError('ERR_CANCELLED', 'cancelled');
        ctx.emit(r.signal ? { type: 'EXIT', node, code: r.code, signal: r.signal } : { type: 'EXIT', node, code: r.code });
        return r.code === 0 && !r.signal ? 'ok' : 'failed';
      });
    },
  };

  return {
    tag: 'SSH',
    summary: 'run commands on nodes over SSH (pooled connections, ~/.ssh/config, ssh-agent, known_hosts)',
    commands: [exec],
    init(host) {
      section = parseSshSection(host.config.sections.ssh);
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
