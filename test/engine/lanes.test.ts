import { describe, expect, it } from 'vitest';
import { BulkLane } from '../../src/engine/lanes.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('BulkLane', () => {
  it('never runs more than fanout tasks at once', async () => {
    const lane = new BulkLane(3);
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        lane.submit(i % 2, async () => {
          running++;
          peak = Math.max(peak, running);
          await tick();
          running--;
        }),
      ),
    );
    expect(peak).toBe(3);
  });

  it('serves jobs round-robin: a small job is not starved by a big one queued first', async () => {
    const lane = new BulkLane(2);
    const order: string[] = [];
    const big = Array.from({ length: 50 }, (_, i) => lane.submit(1, async () => { order.push(`big${i}`); await tick(); }));
    const small = Array.from({ length: 3 }, (_, i) => lane.submit(2, async () => { order.push(`small${i}`); await tick(); }));
    await Promise.all([...big, ...small]);
    const lastSmall = order.indexOf('small2');
    expect(lastSmall).toBeGreaterThan(0);
    expect(lastSmall).toBeLessThan(10); // interleaved, not after all 50
  });

  it('honours a job\'s own concurrency within the fanout, and lets other jobs use the rest', async () => {
    const lane = new BulkLane(8);
    const running = new Map<number, number>();
    const peak = new Map<number, number>();
    const task = (job: number) => async () => {
      running.set(job, (running.get(job) ?? 0) + 1);
      peak.set(job, Math.max(peak.get(job) ?? 0, running.get(job)!));
      await tick();
      running.set(job, running.get(job)! - 1);
    };
    const capped = Array.from({ length: 20 }, () => lane.submit(1, task(1), 2));
    const free = Array.from({ length: 20 }, () => lane.submit(2, task(2)));
    await Promise.all([...capped, ...free]);
    expect(peak.get(1)).toBe(2);
    expect(peak.get(2)).toBeGreaterThanOrEqual(6); // at least the fanout less the capped job's two
  });

  it('drop() skips a job\'s queued tasks', async () => {
    const lane = new BulkLane(1);
    const ran: number[] = [];
    const ps = Array.from({ length: 5 }, (_, i) => lane.submit(7, async () => { ran.push(i); await tick(); }));
    lane.drop(7);
    await Promise.all(ps);
    expect(ran).toEqual([0]);
  });
});
