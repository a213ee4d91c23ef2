/** The SSH connection pool (being written): for now it refuses, so sim nodes work end to end. */
import { VacmError } from '../../protocol/errors.js';
import type { NodeVars } from '../../protocol/module.js';
import type { ExecResult, RemoteExecutor } from '../capabilities.js';
import type { ExecExit, StreamExecOptions, StreamingExecutor } from './module.js';

export class SshPool implements RemoteExecutor, StreamingExecutor {
  readonly stats = { handshakes: 0 };
  async exec(node: string, _vars: NodeVars, _command: string, _opts: StreamExecOptions): Promise<ExecExit> {
    throw new VacmError('ERR_UNSUPPORTED', `${node}: SSH is not available yet`);
  }
  async run(node: string, vars: NodeVars, command: string, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<ExecResult> {
    const out: string[] = [];
    const err: string[] = [];
    const r = await this.exec(node, vars, command, { ...opts, onLine: (s, l) => (s === 'stdout' ? out : err).push(l) });
    return { stdout: out.join('\n'), stderr: err.join('\n'), code: r.code };
  }
  drop(_node: string): void {}
  async close(): Promise<void> {}
}
