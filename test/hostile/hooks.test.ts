/**
 * Hooks under a flood of transitions (issue 10, item 11): at most membership.max_concurrent_hooks
 * run at once across all nodes, at most max_queued_hooks transitions wait, and past that a
 * transition's hooks are dropped, counted and logged — a rack going down forks a bounded number
 * of shells and holds a bounded amount of memory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeEngine, tempDir } from '../helpers/engine.js';
import { parseMembershipSection } from '../../src/engine/membership.js';
import type { Engine } from '../../src/engine/engine.js';

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

const yaml = (top = '') => `
cluster: t
nodes:
  - names: n[1-40]
${top}`;

describe('hooks concurrency cap', () => {
  it('runs at most max_concurrent_hooks at once across nodes, and every transition\'s hooks in the end', async () => {
    ({ engine } = await makeEngine({ yaml: yaml('membership: { max_concurrent_hooks: 3 }') }));
    let running = 0;
    let most = 0;
    const ran: string[] = [];
    engine.membership.subscribe(async (t) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 20));
      ran.push(t.node);
      running--;
    });
    for (let i = 1; i <= 40; i++) engine.setNodeState(`n${i}`, 'up');
    await engine.membership.idle();
    expect(most).toBe(3);
    expect(ran.sort()).toEqual(Array.from({ length: 40 }, (_, i) => `n${i + 1}`).sort());
    expect(engine.membership.dropped).toBe(0);
  });

  it('shell hooks from the config: never more processes than the cap', async () => {
    const dir = tempDir();
    const cmd = `mkdir ${dir}/run.$VACM_NODE; ls -d ${dir}/run.* | wc -l >> ${dir}/counts; sleep 0.2; rmdir ${dir}/run.$VACM_NODE`;
    ({ engine } = await makeEngine({ yaml: yaml(`membership: { max_concurrent_hooks: 2 }\nhooks:\n  - command: '${cmd}'`), engine: { monitor: true } }));
    for (let i = 1; i <= 8; i++) engine.setNodeState(`n${i}`, 'up');
    await engine.membership.idle();
    const counts = fs.readFileSync(path.join(dir, 'counts'), 'utf8').trim().split('\n').map(Number);
    expect(counts).toHaveLength(8);
    expect(Math.max(...counts)).toBeLessThanOrEqual(2);
  });

  it('past the queue bound a transition\'s hooks are dropped, counted and logged once, and the engine goes on', async () => {
    const logs: string[] = [];
    ({ engine } = await makeEngine({ yaml: yaml('membership: { max_concurrent_hooks: 1, max_queued_hooks: 2 }'), engine: { log: (l, m) => logs.push(`${l} ${m}`) } }));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const ran: string[] = [];
    engine.membership.subscribe(async (t) => {
      ran.push(t.node);
      await gate;
    }, { timeoutMs: 60_000 });
    for (let i = 1; i <= 10; i++) engine.setNodeState(`n${i}`, 'up');
    expect(engine.membership.dropped).toBe(7);
    expect(engine.node('n10')!.state).toBe('up'); // the state and NODE_UP are not dropped, only the hooks
    const warns = logs.filter((l) => l.includes('hooks queue full'));
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatch(/^warn hooks queue full \(3 transitions waiting, membership.max_queued_hooks 2\): dropped the hooks of 1 transition\(s\), the last n4 unknown -> up; 1 dropped in all. Raise membership.max_concurrent_hooks/);
    release();
    await engine.membership.idle();
    expect(ran).toEqual(['n1', 'n2', 'n3']);
    // room again: the next transition's hooks run
    engine.setNodeState('n9', 'down', 'no ping reply');
    await engine.membership.idle();
    expect(ran).toEqual(['n1', 'n2', 'n3', 'n9']);
  });

  it('refuses bad limits with the key and the range', () => {
    expect(parseMembershipSection(undefined)).toEqual({ maxConcurrentHooks: 8, maxQueuedHooks: 1024, hookEnv: [] });
    expect(() => parseMembershipSection({ max_concurrent_hooks: 0 })).toThrow(/membership.max_concurrent_hooks: must be a whole number from 1 to 1024, not 0/);
    expect(() => parseMembershipSection({ max_queued_hooks: 'lots' })).toThrow(/membership.max_queued_hooks: must be a whole number from 0 to 1000000/);
    expect(() => parseMembershipSection({ hooks: 3 })).toThrow(/membership.hooks: unknown key; membership takes max_concurrent_hooks, max_queued_hooks, hook_env/);
    expect(() => parseMembershipSection({ hook_env: ['A B'] })).toThrow(/membership.hook_env: must be a list of environment variable names/);
  });
});
