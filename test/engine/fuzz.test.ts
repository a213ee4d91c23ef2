/**
 * Bad input never crashes the engine, and hostile text never reaches a terminal raw:
 * - 100 000 seeded random and mutated request lines, each either refused with a VacmError carrying
 *   an ERR_* code or run to exactly one terminal event; every response line they caused is one line
 *   with no control outside its verbatim field, and parses back to the fields it was made of;
 * - 1 000 hostile output lines (random bytes: ESC, OSC, CSI, C1, CR, NUL, invalid UTF-8) through the
 *   real line splitter, `vacm ipc` and the dashboard's formatting: byte-exact into a pipe, no control
 *   left on a terminal or in the dashboard, one line each.
 */
import { mulberry32 } from '../../src/protocol/random.js';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { makeEngine } from '../helpers/engine.js';
import { VacmError, isErrorCode } from '../../src/protocol/errors.js';
import { createBackends } from '../../src/backends/index.js';
import { formatResponse, parseResponse } from '../../src/protocol/ipc.js';
import { toLine, toWire, verbatimFieldsBefore } from '../../src/protocol/events.js';
import type { CommandDef, JobView, ModuleDef, NodeView } from '../../src/protocol/module.js';
import { LineSplitter } from '../../src/backends/ssh/channel.js';
import { runIpc } from '../../src/cli/ipc.js';
import type { Io } from '../../src/cli/io.js';
import { formatJobLine, gatheredJobLines, perNodeJobLines } from '../../src/ui/format.js';
import { detailStatLines } from '../../src/ui/panes/DetailPane.js';

const prng = mulberry32;

/** A state dir on tmpfs where there is one: the audit log's fsync per dangerous job is then cheap. */
const shm = fs.existsSync('/dev/shm') ? { TMPDIR: '/dev/shm' } : {};

/** C0 but TAB, DEL and C1: what a terminal acts on. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/;

const CORPUS = [
  'NEXXUS:NODE_LIST', 'nexxus:node_list:node[01-04]', 'NEXXUS:GET_VAR:@rack1:host', 'NEXXUS:SET_VAR:node01:k:v\\:w',
  'NEXXUS:UNSET_VAR:node0[1-3]:k', 'NEXXUS:HELP::nexxus', 'NEXXUS:JOBS', 'NEXXUS:CANCEL::1', 'NEXXUS:GROUPS', 'NEXXUS:MODULES',
  'SIM:FAIL:node01:1', 'SIM:RECOVER:node[01-08]', 'NEXXUS:NODE_LIST:node[01-08]!node0[2-3]&@compute^node01', 'NEXXUS:NODE_LIST:*',
  'NEXXUS:SET_VAR:node02:motd:\x1b]0;t\x07', 'NEXXUS:GET_VAR:node0[1-2]:motd',
];
const ALPHABET = ':\\[]-,!&^@*?{}/ \t\n\r\x1b\x07\x9b\u0000\u00e9\ufffdnode0123456789ABCDEFXYZ_';

describe('fuzz', () => {
  it('100 000 random and mutated lines: an ERR_* refusal or one terminal event each, never a crash, never a forged line', async () => {
    const tmp = process.env.TMPDIR;
    Object.assign(process.env, shm);
    const { engine, events, stateDir } = await makeEngine({ modules: createBackends().modules.filter((m) => m.tag !== 'NEXXUS') });
    if (tmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmp;
    const rand = prng(20261123);
    const pick = (s: string) => s[Math.floor(rand() * s.length)];
    const randomText = (len: number, char: () => string) => {
      let t = '';
      for (let k = 0; k < len; k++) t += char();
      return t;
    };
    const N = 100_000;
    // refusals are the common case here and their stack traces the costliest part of one: none needed
    const stackLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    let refused = 0;
    let ran = 0;
    const bad: string[] = [];
    const states = new Map<string, number>();
    const handles: Promise<unknown>[] = [];
    for (let i = 0; i < N; i++) {
      let line: string;
      const r = rand();
      if (r < 0.3) {
        line = randomText(Math.floor(rand() * 40), () => pick(ALPHABET));
      } else if (r < 0.35) {
        line = randomText(Math.floor(rand() * 64), () => String.fromCharCode(Math.floor(rand() * 0xffff)));
      } else if (r < 0.3502) {
        line = 'NEXXUS:NODE_LIST:' + 'n'.repeat(70_000 + Math.floor(rand() * 1_000_000));
      } else {
        const chars = [...CORPUS[Math.floor(rand() * CORPUS.length)]];
        const edits = 1 + Math.floor(rand() * 4);
        for (let k = 0; k < edits; k++) {
          const at = Math.floor(rand() * (chars.length + 1));
          const op = rand();
          if (op < 0.4) chars.splice(at, 1);
          else if (op < 0.8) chars.splice(at, 0, pick(ALPHABET));
          else chars.splice(at, 1, pick(ALPHABET));
        }
        line = chars.join('');
      }
      try {
        const h = engine.submit(line);
        ran++;
        handles.push(h.done.then((v) => states.set(v.state, (states.get(v.state) ?? 0) + 1)));
      } catch (err) {
        // collected, not expect()ed one by one: 30 000 expect calls cost more than the engine
        if (!(err instanceof VacmError) || !isErrorCode(err.code)) bad.push(`${JSON.stringify(line.slice(0, 80))}: ${String(err)}`);
        refused++;
      }
      if (handles.length >= 500) await Promise.all(handles.splice(0));
    }
    await Promise.all(handles);
    Error.stackTraceLimit = stackLimit;
    expect(bad).toEqual([]);
    expect(refused).toBeGreaterThan(5000);
    expect(ran).toBeGreaterThan(1500);
    // every job that ran ended (done resolved once per job), most of them completed
    expect([...states.values()].reduce((a, b) => a + b, 0)).toBe(ran);
    expect(states.get('completed')).toBeGreaterThan(500);
    // every job that ran has exactly one terminal event, and it came last for that job
    const terminal = new Map<number, number>();
    for (const e of events) if (e.job && (e.type === 'JOB_COMPLETED' || e.type === 'JOB_FAILED' || e.type === 'JOB_CANCELLED')) terminal.set(e.job, (terminal.get(e.job) ?? 0) + 1);
    expect([...terminal.values()].every((n) => n === 1)).toBe(true);
    expect(terminal.size).toBe(ran);
    // (the check that every job's state was terminal could not fail: done resolves only then; this
    // one can) each job's events open with JOB_STARTED and close with its terminal event
    const firstLast = new Map<number, [string, string]>();
    for (const e of events) {
      if (!e.job) continue;
      const fl = firstLast.get(e.job);
      if (fl) fl[1] = e.type;
      else firstLast.set(e.job, [e.type, e.type]);
    }
    expect([...firstLast].filter(([, [f, l]]) => f !== 'JOB_STARTED' || !/^JOB_(COMPLETED|FAILED|CANCELLED)$/.test(l))).toEqual([]);
    // every refusal was an unsolicited ERROR with a code
    const errs = events.filter((e) => e.job === 0 && e.type === 'ERROR');
    expect(errs.length).toBe(refused);
    // every response line is one line, with no control outside its verbatim field, and reads back
    const forged: string[] = [];
    let withControls = 0;
    for (const e of events) {
      const w = toWire(e);
      const line = toLine(e);
      const head = w.verbatimLast ? formatResponse({ tag: e.tag, job: e.job, event: w.event, fields: w.fields.slice(0, -1) }) : line;
      if (CONTROL.test(head)) forged.push(line);
      const back = parseResponse(line, verbatimFieldsBefore);
      if (back.fields.length !== w.fields.length || back.fields.some((f, i) => f !== w.fields[i])) forged.push(line);
      if (w.fields.some((f, i) => CONTROL.test(f) && !(w.verbatimLast && i === w.fields.length - 1))) withControls++;
    }
    expect(forged).toEqual([]);
    // the fuzz did put controls into messages (refusals quote what they refused)
    expect(withControls).toBeGreaterThan(1000);
    // and the engine keeps answering
    const v = await engine.submit('NEXXUS:NODE_LIST:node01').done;
    expect(v.state).toBe('completed');
    await engine.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }, 180_000);

  it('1 000 hostile output lines: byte-exact into a pipe, no control on a terminal or in the dashboard, one line each', async () => {
    const rand = prng(20261201);
    // bytes weighted towards what terminals act on and what breaks decoders
    const SPICE = [0x1b, 0x1b, 0x5d, 0x5b, 0x07, 0x0d, 0x00, 0x08, 0x7f, 0x9b, 0x9d, 0x9c, 0x85, 0xc2, 0xe2, 0xff, 0xfe, 0x80, 0x09, 0x0a];
    const chunks: Buffer[] = [];
    for (let i = 0; i < 1000; i++) {
      const n = 1 + Math.floor(rand() * 80);
      const b = Buffer.alloc(n);
      for (let k = 0; k < n; k++) b[k] = rand() < 0.4 ? SPICE[Math.floor(rand() * SPICE.length)] : Math.floor(rand() * 256);
      // the payload every line may carry: OSC 0 (window title), OSC 52 (clipboard), 8-bit CSI
      if (i % 10 === 0) chunks.push(Buffer.from('\x1b]0;PWNED\x07\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUvc2ggfCBzaA==\x07\u009b2J'));
      chunks.push(b);
      chunks.push(Buffer.from('\n'));
    }
    // the real splitter decodes them (invalid UTF-8 becomes U+FFFD) and cuts at newlines
    const lines: string[] = [];
    const split = new LineSplitter((l) => lines.push(l));
    for (const c of chunks) split.push(c);
    split.end();
    expect(lines.length).toBeGreaterThanOrEqual(1000);
    expect(lines.filter((l) => CONTROL.test(l)).length).toBeGreaterThan(900);

    // a module that prints these lines as a node's output, as SSH:EXEC would
    const cmd: CommandDef = {
      name: 'SPEW', summary: 'hostile output', nodes: 'required', args: [], lane: 'bulk', dangerous: false,
      async run(ctx) {
        await ctx.forEachNode(ctx.nodes, async (n) => {
          for (const line of lines) ctx.emit({ type: 'OUTPUT', node: n.node, stream: 'stdout', line });
          ctx.emit({ type: 'EXIT', node: n.node, code: 0 });
        });
      },
    };
    const mod: ModuleDef = { tag: 'HOSTILE', summary: 'hostile output', commands: [cmd] };
    const { engine } = await makeEngine({ modules: [mod] });
    const ipc = async (tty: boolean, raw = false) => {
      let out = '';
      let err = '';
      const io: Io = { out: (s) => void (out += s), err: (s) => void (err += s), stdin: Readable.from([]), stdinIsTTY: false, stdoutIsTTY: tty, stderrIsTTY: tty };
      const code = await runIpc(engine, { messages: ['HOSTILE:SPEW:node01'], raw }, io);
      return { code, out, err };
    };

    // into a pipe: every OUTPUT line is the node's line, exactly; the gathered block too
    const piped = await ipc(false);
    expect(piped.code).toBe(0);
    const outLines = piped.out.split('\n').filter((l) => l.includes(':OUTPUT:'));
    expect(outLines).toEqual(lines.map((l) => `HOSTILE:1:OUTPUT:node01:stdout:${l}`));
    expect(piped.out.endsWith(['---------------', 'node01', '---------------', ...lines].join('\n') + '\n')).toBe(true);

    // --raw on a terminal: the same bytes
    const raw = await ipc(true, true);
    expect(raw.out.replace(/^HOSTILE:\d+:/gm, 'HOSTILE:1:')).toBe(piped.out);

    // on a terminal: no control left, and one printed line per response or gathered line
    const tty = await ipc(true);
    const printed = tty.out.split('\n');
    expect(printed.pop()).toBe('');
    expect(printed.filter((l) => CONTROL.test(l))).toEqual([]);
    expect(tty.err).toBe('');
    // JOB_STARTED, the lines, EXIT, JOB_COMPLETED; then rule, node01, rule and the lines again
    expect(printed.length).toBe(1 + lines.length + 2 + 3 + lines.length);
    expect(printed.filter((l) => /^HOSTILE:\d+:OUTPUT:node01:stdout:/.test(l)).length).toBe(lines.length);
    expect(printed.some((l) => l.includes('^[]52;c;'))).toBe(true);

    // the dashboard: the job's gathered and per-node output, its request line, and stats strings
    const job = engine.store.getSnapshot().jobs.find((j: JobView) => j.tag === 'HOSTILE');
    expect(job).toBeDefined();
    const gathered = gatheredJobLines(job!);
    const perNode = perNodeJobLines(job!);
    expect(gathered.length).toBe(1 + lines.length + 1); // header, the lines, "completed: ..."
    expect(perNode.length).toBe(lines.length + 1);
    for (const l of [...gathered, ...perNode]) {
      expect(CONTROL.test(l) || l.includes('\t')).toBe(false);
    }
    const node: NodeView = { name: 'n1', groups: [], vars: {}, state: 'up', stateSince: 0, power: 'on', local: false, loadHistory: [] };
    for (const l of lines) {
      const shown = detailStatLines({ ...node, stats: { os: l, kernel: l } });
      expect(shown).toHaveLength(1);
      expect(CONTROL.test(shown[0])).toBe(false);
      const row = formatJobLine({ ...job!, line: `SSH:EXEC:n1:${l}` }, job!.startedAt, 200);
      expect(CONTROL.test(row)).toBe(false);
    }
    await engine.stop();
  }, 60_000);
});
