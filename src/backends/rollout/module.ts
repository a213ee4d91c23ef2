/**
 * ROLLOUT:RUN:<nodes>:<batch>:<budget>:<request> — an inner request (without its node set:
 * `POWER:CYCLE:WAIT=ssh`, `SSH:EXEC:systemctl restart slurmd`) run in waves of `batch` nodes, each
 * wave submitted through the engine once the one before it has ended, stopping (ERR_BUDGET) as soon
 * as more than `budget` nodes have failed. One job, audited as dangerous with its inner request; a
 * WAVE event when each wave starts and ends; each node's outcome is its wave's. Cancelling it cancels
 * the wave that runs and starts no other.
 */
import { VacmError } from '../../protocol/errors.js';
import { escapeField, splitFields } from '../../protocol/ipc.js';
import { foldNodeSet } from '../../protocol/nodeset.js';
import type { CommandDef, JobHandle, ModuleDef, ModuleHost } from '../../protocol/module.js';
import type { Request } from '../../protocol/ipc.js';

const MAX_BATCH = 65_536;

interface Rollout {
  batch: number;
  budget: number;
  tag: string;
  command: string;
  /** the inner request's arguments, as written (escapes kept) */
  rest: string | undefined;
}

function parseRollout(req: Request, host: ModuleHost): Rollout {
  const { batch: b, budget: f, request } = req.named;
  const usage = 'ROLLOUT:RUN:<nodes>:<batch>:<budget>:<request without its nodes>, e.g. ROLLOUT:RUN:@compute:16:2:POWER:CYCLE:WAIT=ssh';
  if (!/^\d{1,6}$/.test(b ?? '') || Number(b) < 1 || Number(b) > MAX_BATCH) throw new VacmError('ERR_BAD_ARGS', `batch must be a whole number of nodes from 1 to ${MAX_BATCH}, not "${b}": ${usage}`);
  if (!/^\d{1,6}$/.test(f ?? '')) throw new VacmError('ERR_BAD_ARGS', `budget must be a whole number of failed nodes (0: stop at the first), not "${f}": ${usage}`);
  const { fields, rest } = splitFields((request ?? '').trim(), 2);
  const tag = fields[0]?.text.trim().toUpperCase() ?? '';
  const command = fields[1]?.text.trim().toUpperCase() ?? '';
  if (!tag || !command) throw new VacmError('ERR_BAD_ARGS', `the inner request needs TAG:COMMAND: ${usage}`);
  if (tag === 'ROLLOUT') throw new VacmError('ERR_BAD_ARGS', 'a rollout cannot run another rollout');
  const mod = host.modules().find((m) => m.tag === tag);
  if (!mod) throw new VacmError('ERR_UNKNOWN_MODULE', `no module ${tag} for the inner request; NEXXUS:MODULES lists them`);
  const cmd = mod.commands.find((c) => c.name === command);
  if (!cmd) throw new VacmError('ERR_UNKNOWN_COMMAND', `${tag} has no command ${command}; NEXXUS:HELP:${tag} lists them`);
  if (cmd.nodes === 'none' || cmd.outsideNodelist) throw new VacmError('ERR_BAD_ARGS', `${tag}:${command} takes no node set from the nodelist: it cannot roll out in waves`);
  return { batch: Number(b), budget: Number(f), tag, command, rest: rest?.text };
}

const run: CommandDef = {
  name: 'RUN',
  summary: 'run a request on the nodes in waves of BATCH, stopping when more than BUDGET nodes failed',
  nodes: 'required',
  args: [{ name: 'batch' }, { name: 'budget' }, { name: 'request', rest: true }],
  lane: 'control',
  dangerous: true,
  validate(req, _nodes, host) {
    parseRollout(req, host);
  },
  async run(ctx) {
    const r = parseRollout(ctx.request, ctx.host);
    const nodes = ctx.nodes;
    const waves = Math.ceil(nodes.length / r.batch);
    let failedSoFar = 0;
    let current: JobHandle | undefined;
    const onAbort = () => current?.cancel();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (let w = 0; w < waves; w++) {
        if (ctx.signal.aborted) return;
        const wave = nodes.slice(w * r.batch, (w + 1) * r.batch);
        const set = foldNodeSet(wave);
        const line = `${r.tag}:${r.command}:${escapeField(set)}${r.rest !== undefined ? `:${r.rest}` : ''}`;
        // the wave runs for whoever asked for the rollout: its own audit records name them too
        // (and through the same door of vacm serve: each wave is checked against their role again)
        const h = ctx.host.submit(line, ctx.origin ? { origin: ctx.origin } : {});
        current = h;
        ctx.emit({ type: 'WAVE', wave: w + 1, waves, nodes: set, count: wave.length, inner: h.id });
        const view = await h.done;
        current = undefined;
        const outcomes = ctx.host.jobOutcomes?.(h.id);
        for (const n of wave) {
          const o = outcomes?.get(n);
          if (o === 'ok' || o === 'failed') ctx.outcome(n, o);
        }
        ctx.emit({ type: 'WAVE', wave: w + 1, waves, nodes: set, count: wave.length, inner: h.id, ok: view.ok, failed: view.failed });
        if (view.state === 'cancelled' || ctx.signal.aborted) return;
        if (view.state === 'failed') throw new VacmError('ERR_MODULE', `wave ${w + 1} of ${waves} (job ${h.id}) failed as a whole: ${view.error?.code}: ${view.error?.message}; the later waves were not run`);
        failedSoFar += view.failed;
        if (failedSoFar > r.budget && w + 1 < waves) {
          const left = nodes.slice((w + 1) * r.batch);
          throw new VacmError('ERR_BUDGET', `${failedSoFar} nodes failed, over the budget of ${r.budget}: stopped after wave ${w + 1} of ${waves}; not run: ${foldNodeSet(left)} (${left.length})`);
        }
      }
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
  },
};

export const rolloutModule: ModuleDef = {
  tag: 'ROLLOUT',
  summary: 'run a request in waves with a failure budget (ROLLOUT:RUN:<nodes>:<batch>:<budget>:<request>)',
  commands: [run],
};
