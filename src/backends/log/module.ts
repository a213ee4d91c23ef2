/**
 * LOG:FOLLOW — follow a log on many nodes over the pooled SSH connections: `journalctl -f -u UNIT`
 * for a unit, `tail -F -- PATH` for an absolute path, the whole journal (`journalctl -f`) when none
 * is given. Lines stream as `OUTPUT:node:stdout|stderr:<line>` (cut at 64 KiB by the pool; the job
 * keeps a bounded tail of them, output.max_job_bytes); the job runs until it is cancelled, which
 * signals the remote tail's process group and closes its channel (pool.ts), so nothing is left
 * running on the nodes. The unit or path is quoted as one shell word: it never becomes a command;
 * `{name}` and `{n}` expand in it per node.
 */
import { VacmError } from '../../protocol/errors.js';
import type { CommandDef, ModuleDef } from '../../protocol/module.js';
import { quoteWord } from '../../protocol/shell-words.js';
import { expandTemplate } from '../../protocol/vars.js';
import { REAL_PROVIDERS, type Providers, type StreamingExecutor } from '../capabilities.js';
import { SSH_REACH_FACTS } from '../../protocol/node-facts.js';

/** Lines of history shown before following. */
export const FOLLOW_BACKLOG = 10;

const UNIT_RE = /^[A-Za-z0-9@._\\-]+$/;

/** The command that follows `what` on a node: a path (absolute), a systemd unit, or the journal. */
export function followCommand(what: string | undefined): string {
  const w = (what ?? '').trim();
  if (w === '') return `journalctl -f -n ${FOLLOW_BACKLOG} --no-pager`;
  if (w.startsWith('/')) return `tail -n ${FOLLOW_BACKLOG} -F -- ${quoteWord(w)}`;
  if (!UNIT_RE.test(w)) throw new VacmError('ERR_BAD_ARGS', `LOG:FOLLOW: "${w}" is neither an absolute path nor a unit name (letters, digits, @ . _ - \\); e.g. LOG:FOLLOW:node01:sshd or LOG:FOLLOW:node01:/var/log/syslog`);
  return `journalctl -f -n ${FOLLOW_BACKLOG} --no-pager -u ${quoteWord(w)}`;
}

export function createLogModule(caps: { pool: StreamingExecutor; providers?: Providers }): ModuleDef {
  const providers = caps.providers ?? REAL_PROVIDERS;
  const follow: CommandDef = {
    name: 'FOLLOW',
    summary: 'follow a log on the nodes until cancelled: a unit (journalctl -f -u), an absolute path (tail -F), or the journal',
    nodes: 'required',
    args: [{ name: 'what', optional: true, rest: true }],
    // a follow never ends by itself: in the bulk lane it would hold fanout slots for as long as it runs
    lane: 'control',
    dangerous: false,
    validate(req) {
      followCommand(req.named.what);
    },
    async run(ctx) {
      await ctx.forEachNode(ctx.nodes, async ({ node, vars, signal }) => {
        // {name} and {n} expand per node, as in SSH:PUSH's remote paths
        const command = followCommand(expandTemplate(ctx.args.what ?? '', node));
        // a node whose shell stands in for SSH (a simulated one) keeps no logs
        if (providers.of(node, vars).shell) throw new VacmError('ERR_UNSUPPORTED', 'simulated nodes keep no logs to follow');
        const r = await caps.pool.exec(node, vars, command, { signal, onLine: (stream, line) => ctx.emit({ type: 'OUTPUT', node, stream, line }) });
        if (signal.aborted) throw signal.reason ?? new VacmError('ERR_CANCELLED', 'cancelled');
        ctx.emit(r.signal ? { type: 'EXIT', node, code: r.code, signal: r.signal } : { type: 'EXIT', node, code: r.code });
        return r.code === 0 ? 'ok' : 'failed';
      });
    },
  };
  return { tag: 'LOG', summary: 'follow logs on nodes over SSH (journalctl -f, tail -F)', commands: [follow], facts: SSH_REACH_FACTS };
}
