/**
 * Bad input never crashes the engine: 20 000 seeded random and mutated request lines, each either
 * refused with a VacmError carrying an ERR_* code or run to exactly one terminal event; the engine
 * keeps answering afterwards.
 */
import { describe, expect, it } from 'vitest';
import { makeEngine } from '../helpers/engine.js';
import { VacmError, isErrorCode } from '../../src/protocol/errors.js';
import { createBackends } from '../../src/backends/index.js';

function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CORPUS = [
  'NEXXUS:NODE_LIST', 'nexxus:node_list:node[01-04]', 'NEXXUS:GET_VAR:@rack1:host', 'NEXXUS:SET_VAR:node01:k:v\\:w',
  'NEXXUS:UNSET_VAR:node0[1-3]:k', 'NEXXUS:HELP::nexxus', 'NEXXUS:JOBS', 'NEXXUS:CANCEL::1', 'NEXXUS:GROUPS', 'NEXXUS:MODULES',
  'SIM:FAIL:node01:1', 'SIM:RECOVER:node[01-08]', 'NEXXUS:NODE_LIST:node[01-08]!node0[2-3]&@compute^node01', 'NEXXUS:NODE_LIST:*',
];
const ALPHABET = ':\\[]-,!&^@*?{}/ \t\n\u0000\u00e9\ufffdnode0123456789ABCDEFXYZ_';

describe('fuzz', () => {
  it('20 000 random and mutated lines: an ERR_* refusal or one terminal event each, never a crash', async () => {
    const { engine, events } = await makeEngine({ modules: createBackends().modules.filter((m) => m.tag !== 'NEXXUS') });
    const rand = prng(20261123);
    const pick = (s: string) => s[Math.floor(rand() * s.length)];
    let refused = 0;
    let ran = 0;
    const handles: Promise<unknown>[] = [];
    for (let i = 0; i < 20_000; i++) {
      let line: string;
      const r = rand();
      if (r < 0.3) {
        line = Array.from({ length: Math.floor(rand() * 40) }, () => pick(ALPHABET)).join('');
      } else if (r < 0.35) {
        line = Array.from({ length: Math.floor(rand() * 64) }, () => String.fromCharCode(Math.floor(rand() * 0xffff))).join('');
      } else if (r < 0.351) {
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
        handles.push(h.done);
      } catch (err) {
        expect(err).toBeInstanceOf(VacmError);
        expect(isErrorCode((err as VacmError).code)).toBe(true);
        refused++;
      }
      if (handles.length >= 500) await Promise.all(handles.splice(0));
    }
    await Promise.all(handles);
    expect(refused + ran).toBe(20_000);
    expect(refused).toBeGreaterThan(1000);
    expect(ran).toBeGreaterThan(300);
    // every job that ran has exactly one terminal event, and it came last for that job
    const terminal = new Map<number, number>();
    for (const e of events) if (e.job && (e.type === 'JOB_COMPLETED' || e.type === 'JOB_FAILED' || e.type === 'JOB_CANCELLED')) terminal.set(e.job, (terminal.get(e.job) ?? 0) + 1);
    expect([...terminal.values()].every((n) => n === 1)).toBe(true);
    expect(terminal.size).toBe(ran);
    // every refusal was an unsolicited ERROR with a code
    const errs = events.filter((e) => e.job === 0 && e.type === 'ERROR');
    expect(errs.length).toBe(refused);
    // and the engine keeps answering
    const v = await engine.submit('NEXXUS:NODE_LIST:node01').done;
    expect(v.state).toBe('completed');
    await engine.stop();
  }, 120_000);
});
