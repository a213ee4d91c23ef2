/** Issue 11 item 17: each module states how its results gather; PING gathers by up/down with RTT min/avg/max, EXEC by output and exit code, POWER by state. */
import { describe, it, expect } from 'vitest';
import { createBackends } from '../../src/backends/index.js';
import { gatheredJobLines, perNodeJobLines } from '../../src/ui/format.js';
import { statSummary } from '../../src/protocol/gather.js';
import type { JobView } from '../../src/protocol/module.js';
import type { VacmEvent } from '../../src/protocol/events.js';

const mods = createBackends({ simSeed: 7 }).modules;
const rules = (tag: string) => mods.find((m) => m.tag === tag)?.gather;

const job = (tag: string, events: Partial<VacmEvent>[], targets: string[]): JobView => ({
  id: 1, tag, command: 'X', line: `${tag}:X`, targets, targetsFolded: '', state: 'completed', dangerous: false, lane: 'bulk',
  done: targets.length, ok: targets.length, failed: 0, startedAt: 0, endedAt: 1,
  events: [...events.map((e) => ({ tag, job: 1, ts: 0, ...e }) as VacmEvent), { tag, job: 1, ts: 0, type: 'JOB_COMPLETED', ok: targets.length, failed: 0 } as VacmEvent],
  truncated: 0, quiet: false,
});

const names = Array.from({ length: 32 }, (_, i) => `n${String(i + 1).padStart(2, '0')}`);

describe('gathering declared by the modules', () => {
  it('PING: 30 nodes up are one group with their RTT as min/avg/max, the down ones by reason', () => {
    const rtt = (i: number) => 0.04 + i * 0.001;
    const events: Partial<VacmEvent>[] = names.map((node, i) =>
      i < 30 ? { type: 'PING', node, state: 'up', rttMs: rtt(i) } : { type: 'PING', node, state: 'down', reason: 'no reply' },
    );
    const j = job('ICMP_ECHO', events, names);
    expect(rules('ICMP_ECHO')).toEqual({ PING: { stat: { field: 'rttMs', label: 'rtt', unit: 'ms' } } });
    expect(gatheredJobLines(j, rules('ICMP_ECHO'))).toEqual([
      'n[01-30] (30)', '  up', '  rtt min/avg/max 0.040/0.055/0.069 ms',
      'n[31-32] (2)', '  down no reply',
      'completed: ok=32 failed=0',
    ]);
    // without the module's rule: 30 groups of one (what the dashboard showed before)
    expect(gatheredJobLines(j).filter((l) => /^n\d+ \(1\)$/.test(l)).length).toBe(30);
    // the full per-node view keeps each node's RTT
    expect(perNodeJobLines(j)).toContain('n01: up 0.040ms');
  });

  it('EXEC by output and exit code; POWER by state', () => {
    expect(rules('SSH')).toEqual({ OUTPUT: {}, EXIT: {} });
    const exec = job('SSH', [
      { type: 'OUTPUT', node: 'n01', stream: 'stdout', line: 'ok' }, { type: 'EXIT', node: 'n01', code: 0 },
      { type: 'OUTPUT', node: 'n02', stream: 'stdout', line: 'ok' }, { type: 'EXIT', node: 'n02', code: 3 },
      { type: 'OUTPUT', node: 'n03', stream: 'stdout', line: 'ok' }, { type: 'EXIT', node: 'n03', code: 0 },
    ], ['n01', 'n02', 'n03']);
    expect(gatheredJobLines(exec, rules('SSH'))).toEqual(['n02 (1)', '  ok', '  [exit 3]', 'n[01,03] (2)', '  ok', 'completed: ok=3 failed=0']);
    const power = mods.find((m) => m.tag === 'POWER')!;
    expect(power.gather).toEqual({ POWER: {} });
    const p = job('POWER', names.map((node, i) => ({ type: 'POWER', node, state: i < 29 ? 'off' : 'on' }) as Partial<VacmEvent>), names);
    expect(gatheredJobLines(p, power.gather)).toEqual(['n[01-29] (29)', '  power off', 'n[30-32] (3)', '  power on', 'completed: ok=32 failed=0']);
  });

  it('statSummary skips what is not a number', () => {
    expect(statSummary([1, NaN, 3], 'rtt', 'ms')).toBe('rtt min/avg/max 1.000/2.000/3.000 ms');
    expect(statSummary([NaN], 'rtt')).toBeUndefined();
  });
});
