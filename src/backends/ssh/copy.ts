/**
 * SSH:PUSH and SSH:PULL — copy files to and from many nodes over the pooled SSH connections (SFTP,
 * one session per node on its warm connection). PUSH reads the local file once for its sha256 (the
 * audit records it) and once more for every node together (copy-source.ts: nodes share the chunks
 * they read); PULL saves `<local-dir>/<basename>.<node>` as `clush --rcopy` does, through a temporary
 * file created exclusively and renamed into place, so that nothing a node sends (names, links) nor
 * anything planted in the directory makes it write elsewhere. Events: `COPY:node:bytes:sha256` (or
 * `unchanged` with SKIP_SAME), `PROGRESS:bytes:total:done/nodes` at most twice a second, and per-node
 * errors ERR_NO_SPACE, ERR_PERMISSION, ERR_NO_SUCH_FILE, ERR_COPY. docs/files.md has the user's view.
 */
import path from 'node:path';
import { VacmError } from '../../protocol/errors.js';
import type { CommandDef, ModuleHost, NodeVars } from '../../protocol/module.js';
import type { Request } from '../../protocol/ipc.js';
import { parseCopyFlags } from '../../protocol/copy.js';
import { nodeWindow } from './copy-source.js';
import { type FileTransport, Progress } from './copy-sftp.js';
import { type PushPlan, planPush, SourceSet, pushNode } from './copy-push.js';
import { pullDir, pullNode } from './copy-pull.js';

export { MAX_TREE_DEPTH, MAX_TREE_ENTRIES, type FileTransport } from './copy-sftp.js';

// --- the commands ---------------------------------------------------------------------------------

const FLAGS_ARG = { name: 'flags', optional: true } as const;

export function createCopyCommands(caps: { transport: FileTransport; isSim: (node: string, vars: NodeVars) => boolean }): CommandDef[] {
  const { transport, isSim } = caps;
  /** the plan PUSH's prepare made (hashes and all), for its run */
  const plans = new WeakMap<Request, PushPlan>();

  const simRefusal = () => new VacmError('ERR_UNSUPPORTED', 'simulated nodes have no file system: SSH:PUSH and SSH:PULL copy over SSH to real nodes');

  const push: CommandDef = {
    name: 'PUSH',
    summary: 'copy a local file (or tree, with RECURSIVE) to the nodes over SFTP; flags RECURSIVE, PRESERVE, SKIP_SAME',
    nodes: 'required',
    args: [{ name: 'src' }, { name: 'dst' }, FLAGS_ARG],
    lane: 'bulk',
    dangerous: true,
    skipKnownDown: true,
    validate(req) {
      parseCopyFlags(req.named.flags, 'PUSH');
    },
    async prepare(req, _nodes, _host: ModuleHost, signal) {
      const plan = await planPush(req, signal);
      plans.set(req, plan);
      return { source: plan.src, sha256: plan.sha256, bytes: String(plan.bytes), files: String(plan.files.length) };
    },
    async run(ctx) {
      const plan = plans.get(ctx.request) ?? (await planPush(ctx.request, ctx.signal));
      const sources = new SourceSet(plan);
      const window = nodeWindow(Math.min(ctx.nodes.length, ctx.host.config.fanout));
      const progress = new Progress(ctx, ctx.nodes.length);
      progress.total = plan.bytes * ctx.nodes.length;
      progress.start();
      try {
        await ctx.forEachNode(ctx.nodes, async ({ node, vars, signal }) => {
          try {
            if (isSim(node, vars)) throw simRefusal();
            const r = await pushNode(transport, plan, sources, node, vars, window, signal, progress);
            if (signal.aborted) throw signal.reason ?? new VacmError('ERR_CANCELLED', 'cancelled');
            ctx.emit({ type: 'COPY', node, bytes: r.bytes, sha256: r.unchanged ? 'unchanged' : plan.sha256 });
            return 'ok';
          } finally {
            progress.done++;
          }
        });
      } finally {
        progress.stop();
        plans.delete(ctx.request);
      }
    },
  };

  const pull: CommandDef = {
    name: 'PULL',
    summary: 'copy a file (or tree, with RECURSIVE) from each node into LOCAL-DIR/<basename>.<node>; flags RECURSIVE, PRESERVE',
    nodes: 'required',
    args: [{ name: 'src' }, { name: 'dir' }, FLAGS_ARG],
    lane: 'bulk',
    // it writes only into the operator's own directory on this machine: nothing on the nodes changes
    dangerous: false,
    skipKnownDown: true,
    validate(req) {
      parseCopyFlags(req.named.flags, 'PULL');
      if ((req.named.src ?? '') === '') throw new VacmError('ERR_BAD_ARGS', 'SSH:PULL needs a remote path: SSH:PULL:<nodes>:<remote-path>:<local-dir>[:<flags>]');
    },
    async prepare(req) {
      await pullDir(req.named.dir ?? '');
    },
    async run(ctx) {
      const flags = parseCopyFlags(ctx.args.flags, 'PULL');
      const dir = await pullDir(ctx.args.dir ?? '');
      const window = nodeWindow(Math.min(ctx.nodes.length, ctx.host.config.fanout));
      const progress = new Progress(ctx, ctx.nodes.length);
      progress.start();
      try {
        await ctx.forEachNode(ctx.nodes, async ({ node, vars, signal }) => {
          try {
            if (isSim(node, vars)) throw simRefusal();
            const r = await pullNode(transport, ctx.args.src, dir, flags, node, vars, window, signal, progress);
            if (signal.aborted) throw signal.reason ?? new VacmError('ERR_CANCELLED', 'cancelled');
            ctx.emit({ type: 'COPY', node, bytes: r.bytes, sha256: r.sha256 });
            return 'ok';
          } finally {
            progress.done++;
          }
        });
      } finally {
        progress.stop();
      }
    },
  };

  return [push, pull];
}
