/**
 * `vacm ipc [--json] MSG...`: send IPC strings to an in-process engine and print the response lines
 * as they stream; one message a line on stdin when none are given. Fields are escaped by the grammar;
 * command output (the verbatim field, and the gathered blocks) is byte-exact into a pipe or file and
 * shown with its controls visible (`^[`) on a terminal, unless --raw.
 */
import { jsonText, toJsonLine, toLine, type VacmEvent } from '../protocol/events.js';
import { formatResponse, lineTooLongError } from '../protocol/ipc.js';
import { BoundedGather, diffGathered, gatherOutputs, formatGathered, nodeSetLine, similarLine, summarizeFailures, type NodeFailure } from '../protocol/gather.js';
import { toVacmError, type VacmError } from '../protocol/errors.js';
import { escapeControls, visible } from '../protocol/visible.js';
import type { Engine } from '../engine/engine.js';
import type { JobOrigin } from '../protocol/module.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, ioWith, type Io } from './io.js';
import { readRequestLines } from './request-lines.js';
import { copyLine } from '../protocol/copy.js';

export interface IpcOptions {
  json?: boolean;
  gather?: boolean;
  parallel?: boolean;
  /** command output byte-exact even on a terminal */
  raw?: boolean;
  /** clush --diff: each gathered stdout group as a unified diff against the largest */
  diff?: boolean;
  /** similar-line gathering: a node's own name and address in its lines become [NODE] */
  similar?: boolean;
  /** which event lines to print as they come (default all); `vacm push` shows its COPY lines gathered only */
  show?: (e: VacmEvent) => boolean;
  messages: string[];
  /** who sends these through which door of vacm serve: the engine checks their role on each request */
  origin?: JobOrigin;
  /**
   * vash, serve's shell session: requests run as they arrive (each line at once, as --parallel),
   * job-0 events are printed too, and a `quit` line ends it without waiting for running jobs
   */
  shell?: boolean;
}

/** What `vacm ipc` gathers of one job for the summary printed when it ends. */
interface JobGather {
  /** stdout and stderr per node, bounded (output.max_gather_bytes) */
  output: BoundedGather;
  failures: Map<string, NodeFailure>;
  /** exit status per node: clush -b gathers nodes by exit status, then by output */
  codes: Map<string, number>;
}

/** Gathered blocks of `per`, grouped by exit status first (0 first), as clush -b does. */
function gatherByExit(per: Map<string, string[]>, codes: Map<string, number>): string[] {
  const byCode = new Map<number, [string, string[]][]>();
  for (const [node, lines] of per) {
    const c = codes.get(node) ?? -1;
    const list = byCode.get(c);
    if (list) list.push([node, lines]);
    else byCode.set(c, [[node, lines]]);
  }
  return [...byCode.keys()].sort((a, b) => a - b).flatMap((c) => formatGathered(gatherOutputs(byCode.get(c)!), { rule: true }));
}

/**
 * `io` with stdout batched: what one tick prints goes out in one write (a sweep's 1024 PING lines:
 * one write, not 1024 syscalls), flushed at the end of the tick, past 64 KiB, before anything on
 * stderr (the two keep their order) and by `flush()`.
 */
function batchedOut(io: Io): Io & { flush(): void } {
  let pending = '';
  const flush = () => {
    if (pending === '') return;
    const s = pending;
    pending = '';
    io.out(s);
  };
  return ioWith(io, {
    out(s: string) {
      if (pending === '') queueMicrotask(flush);
      pending += s;
      if (pending.length > 65_536) flush();
    },
    err(s: string) {
      flush();
      io.err(s);
    },
    flush,
  });
}

export async function runIpc(engine: Engine, opts: IpcOptions, rawIo: Io): Promise<number> {
  const io = batchedOut(rawIo);
  // --diff is a way of gathering (clush: "diff implies at least -b")
  const gather = opts.gather ?? (opts.diff || !opts.json);
  const mine = new Set<number>();
  const gathered = new Map<number, JobGather>();
  let exit = EXIT_OK;
  const worse = (c: number) => (exit = Math.max(exit, c));
  // a response line's only unescaped text is its verbatim field: on a terminal, show its controls
  const shownOut = !opts.raw && io.stdoutIsTTY ? visible : (s: string) => s;
  const shownErr = !opts.raw && io.stderrIsTTY ? visible : (s: string) => s;
  const print = (e: VacmEvent) => io.out((opts.json ? toJsonLine(e) : shownOut(toLine(e))) + '\n');

  /** a node's own name and address, for similar-line gathering (remembered: asked once a line) */
  const aliases = new Map<string, string[]>();
  const aliasesOf = (node: string): string[] => {
    let a = aliases.get(node);
    if (!a) {
      const host = engine.node(node)?.vars.host;
      aliases.set(node, (a = host ? [node, host] : [node]));
    }
    return a;
  };

  const unsubscribe = engine.subscribe((e) => {
    if (!mine.has(e.job)) {
      if (opts.shell && e.job === 0) print(e);
      return;
    }
    if (!opts.show || opts.show(e)) print(e);
    // the job ran but its outcome is not in the audit log: say so where a person looks, and fail
    if (e.type === 'ERROR' && e.node === undefined && e.code === 'ERR_AUDIT') {
      io.err(`vacm: ${e.code}: ${e.message}\n`);
      worse(EXIT_FAILED);
    }
    if (!gather) return;
    let g = gathered.get(e.job);
    if (!g) gathered.set(e.job, (g = { output: new BoundedGather({ maxBytes: engine.outputLimits.maxGatherBytes }), failures: new Map(), codes: new Map() }));
    if (e.type === 'OUTPUT') g.output.add(e.stream, e.node, opts.similar ? similarLine(e.line, aliasesOf(e.node)) : e.line);
    else if (e.type === 'COPY') {
      g.output.add('stdout', e.node, copyLine(e));
      g.codes.set(e.node, 0);
    }
    else if (e.type === 'EXIT') {
      g.codes.set(e.node, e.code);
      if (e.code !== 0 || e.signal) g.failures.set(e.node, { exit: { code: e.code, signal: e.signal } });
    } else if (e.type === 'ERROR' && e.node !== undefined) {
      g.failures.set(e.node, { error: { code: e.code, message: e.message } });
    }
  });

  const refuse = (ve: VacmError): void => {
    io.err((opts.json
      ? jsonText({ tag: 'NEXXUS', job: 0, event: 'ERROR', node: null, fields: [ve.code, ve.message], ts: new Date().toISOString() })
      : formatResponse({ tag: 'NEXXUS', job: 0, event: 'ERROR', fields: [ve.code, ve.message] })) + '\n');
    worse(EXIT_USAGE);
  };

  const send = async (line: string): Promise<void> => {
    if (line.trim() === '') return;
    let handle;
    try {
      handle = engine.submit(line, opts.origin ? { origin: opts.origin } : {});
    } catch (err) {
      refuse(toVacmError(err, 'ERR_PROTO_PARSE'));
      return;
    }
    mine.add(handle.id);
    const view = await handle.done;
    if (view.state !== 'completed' || view.failed > 0) worse(EXIT_FAILED);
    const g = gathered.get(view.id);
    if (gather && g) {
      // ClusterShell -b: identical stdout gathered on stdout; stderr gathered on stderr; then
      // the nodes that failed, folded by how they failed (clush prints these on stderr too)
      for (const l of opts.diff ? diffGathered(g.output.stdout, g.codes) : gatherByExit(g.output.stdout, g.codes)) io.out(shownOut(l) + '\n');
      for (const l of gatherByExit(g.output.stderr, g.codes)) io.err(shownErr(l) + '\n');
      const notice = g.output.notice();
      if (notice) io.err(`vacm: job ${view.id}: ${escapeControls(notice)}; raise output.max_gather_bytes in vacm.yaml to gather more\n`);
      for (const l of summarizeFailures(g.failures)) io.err(`vacm: ${escapeControls(l)}\n`);
    }
    // the skipped and the failed nodes as node sets, each on a line of its own (a script feeds them back);
    // the job's counts say whether there are any: a clean 1024-node sweep copies no outcome map
    if (!opts.json && view.failed + (view.skipped ?? 0) > 0) {
      const by = { failed: [] as string[], skipped: [] as string[] };
      for (const [node, o] of engine.jobOutcomes(view.id) ?? []) if (o !== 'ok') by[o].push(node);
      for (const l of [nodeSetLine('skipped', by.skipped), nodeSetLine('failed', by.failed)]) if (l) io.err(`vacm: ${escapeControls(l)}\n`);
    }
    gathered.delete(view.id);
    mine.delete(view.id);
  };

  try {
    if (opts.messages.length > 0) {
      if (opts.parallel) await Promise.all(opts.messages.map(send));
      else for (const m of opts.messages) await send(m);
    } else {
      const pending = new Set<Promise<void>>(); // the running ones only: a long shell session keeps none of the ended
      for await (const r of readRequestLines(io.stdin)) {
        if ('tooLong' in r) {
          refuse(lineTooLongError(r.tooLong));
          continue;
        }
        if (opts.shell && r.line.trim().toLowerCase() === 'quit') return exit; // jobs go on in the engine
        const p = send(r.line);
        if (opts.parallel || opts.shell) {
          pending.add(p);
          void p.finally(() => pending.delete(p));
        } else await p;
      }
      await Promise.all(pending);
    }
  } finally {
    unsubscribe();
    io.flush();
  }
  return exit;
}
