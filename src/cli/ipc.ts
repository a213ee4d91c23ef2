/**
 * `vacm ipc [--json] MSG...`: send IPC strings to an in-process engine and print the response lines
 * as they stream; one message a line on stdin when none are given.
 */
import readline from 'node:readline';
import { toJsonLine, toLine, type VacmEvent } from '../protocol/events.js';
import { formatResponse } from '../protocol/ipc.js';
import { gatherOutputs, formatGathered } from '../protocol/gather.js';
import { toVacmError } from '../protocol/errors.js';
import type { Engine } from '../engine/engine.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Io } from './io.js';

export interface IpcOptions {
  json?: boolean;
  gather?: boolean;
  parallel?: boolean;
  messages: string[];
}

export async function runIpc(engine: Engine, opts: IpcOptions, io: Io): Promise<number> {
  const gather = opts.gather ?? !opts.json;
  const mine = new Set<number>();
  const outputs = new Map<number, Map<string, string[]>>();
  let exit = EXIT_OK;
  const worse = (c: number) => (exit = Math.max(exit, c));
  const print = (e: VacmEvent) => io.out((opts.json ? toJsonLine(e) : toLine(e)) + '\n');

  const unsubscribe = engine.subscribe((e) => {
    if (!mine.has(e.job)) return;
    print(e);
    if (gather && e.type === 'OUTPUT') {
      const per = outputs.get(e.job) ?? new Map<string, string[]>();
      outputs.set(e.job, per);
      const lines = per.get(e.node) ?? [];
      per.set(e.node, lines);
      lines.push(e.stream === 'stderr' ? `[stderr] ${e.line}` : e.line);
    }
    if (gather && e.type === 'EXIT') {
      const per = outputs.get(e.job) ?? new Map<string, string[]>();
      outputs.set(e.job, per);
      if (!per.has(e.node)) per.set(e.node, []);
    }
  });

  const send = async (line: string): Promise<void> => {
    if (line.trim() === '') return;
    let handle;
    try {
      handle = engine.submit(line);
    } catch (err) {
      const ve = toVacmError(err, 'ERR_PROTO_PARSE');
      io.err((opts.json
        ? JSON.stringify({ tag: 'NEXXUS', job: 0, event: 'ERROR', node: null, fields: [ve.code, ve.message], ts: new Date().toISOString() })
        : formatResponse({ tag: 'NEXXUS', job: 0, event: 'ERROR', fields: [ve.code, ve.message] })) + '\n');
      worse(EXIT_USAGE);
      return;
    }
    mine.add(handle.id);
    const view = await handle.done;
    if (view.state !== 'completed' || view.failed > 0) worse(EXIT_FAILED);
    const per = outputs.get(view.id);
    if (gather && per && per.size > 0) {
      for (const l of formatGathered(gatherOutputs(per), { rule: true })) io.out(l + '\n');
      outputs.delete(view.id);
    }
    mine.delete(view.id);
  };

  try {
    if (opts.messages.length > 0) {
      if (opts.parallel) await Promise.all(opts.messages.map(send));
      else for (const m of opts.messages) await send(m);
    } else {
      const rl = readline.createInterface({ input: io.stdin, crlfDelay: Infinity, terminal: false });
      const pending: Promise<void>[] = [];
      for await (const line of rl) {
        const p = send(line);
        if (opts.parallel) pending.push(p);
        else await p;
      }
      await Promise.all(pending);
    }
  } finally {
    unsubscribe();
  }
  return exit;
}
