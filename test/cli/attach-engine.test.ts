/**
 * The attached dashboard's engine against a scripted serve (a fake channel speaking the subsystem's
 * JSON lines): what the dashboard would draw after each message, and how often it is told to draw.
 */
import { EventEmitter } from 'node:events';
import type { Client } from 'ssh2';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RemoteEngine } from '../../src/cli/attach-engine.js';
import { builtinModules } from '../../src/backends/index.js';

class FakeChannel extends EventEmitter {
  destroyed = false;
  stderr = new EventEmitter();
  sent: Record<string, unknown>[] = [];
  write(s: string): boolean {
    for (const l of s.split('\n')) if (l) this.sent.push(JSON.parse(l) as Record<string, unknown>);
    return true;
  }
  /** the serve sends one message */
  say(o: object): void {
    this.emit('data', Buffer.from(JSON.stringify(o) + '\n'));
  }
}

function fakeServe(): { ch: FakeChannel; dial: () => Promise<Client> } {
  const ch = new FakeChannel();
  const client = Object.assign(new EventEmitter(), {
    subsys: (_name: string, cb: (err: Error | undefined, c: FakeChannel) => void) => setImmediate(() => {
      cb(undefined, ch);
      ch.say({ type: 'hello', v: 1, host: 'head01', user: 'alice', role: 'operator', execSafe: [] });
    }),
    end: () => {},
  });
  return { ch, dial: async () => client as unknown as Client };
}

const node = (i: number, extra: object = {}) => ({ name: `sim${String(i).padStart(4, '0')}`, state: 'up', power: 'on', since: 0, groups: ['rack1'], vars: {}, ...extra });
const job = (id: number, done: number) => ({ id, line: 'SSH:EXEC:sim[0001-4096]:true', state: 'running', done, total: 4096, ok: done, failed: 0, targets: 'sim[0001-4096]', user: 'alice', door: 'ssh', startedAt: 1 });
const tick = () => new Promise((r) => setImmediate(r));

describe('RemoteEngine: the attached dashboard over the vacm subsystem', () => {
  let remote: RemoteEngine | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    await remote?.stop();
  });

  async function attached(nodes = 4096): Promise<{ ch: FakeChannel; remote: RemoteEngine }> {
    const f = fakeServe();
    remote = new RemoteEngine({ dial: f.dial, modules: builtinModules() });
    const started = remote.start();
    await tick();
    await tick();
    expect(f.ch.sent.map((m) => m.op)).toContain('subscribe');
    f.ch.say({ type: 'snapshot', cluster: 'c', counts: { up: nodes, down: 0, off: 0, unknown: 0, drained: 0 }, running: 1, nodes: Array.from({ length: nodes }, (_, i) => node(i + 1)), jobs: [job(7, 0)] });
    await started;
    return { ch: f.ch, remote };
  }

  it('keeps the same node list while only jobs change, and a new one when a node changes', async () => {
    const { ch, remote: r } = await attached();
    const before = r.getSnapshot();
    expect(before.nodes).toHaveLength(4096);
    expect(before.jobs[0]).toMatchObject({ id: 7, done: 0, user: 'alice' });
    ch.say({ type: 'jobs', jobs: [job(7, 100)], gone: [], running: 1 });
    await new Promise((res) => setTimeout(res, 150));
    const after = r.getSnapshot();
    expect(after.jobs[0].done).toBe(100);
    expect(after.nodes).toBe(before.nodes); // the dashboard's filter and sort of 4096 nodes are kept
    ch.say({ type: 'nodes', nodes: [node(2, { power: 'off', state: 'off' })], counts: { up: 4095, down: 0, off: 1, unknown: 0, drained: 0 } });
    await tick();
    const off = r.getSnapshot();
    expect(off.nodes).not.toBe(before.nodes);
    expect(off.nodes.find((n) => n.name === 'sim0002')).toMatchObject({ power: 'off', state: 'off' });
    expect(off.counts.off).toBe(1);
  });

  it("draws an own job's stream of events at most every 100 ms, not once per event", async () => {
    const { ch, remote: r } = await attached();
    let draws = 0;
    r.subscribe(() => draws++);
    ch.say({ type: 'submitted', job: 7, ref: 1 });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    for (let i = 1; i <= 500; i++) ch.say({ type: 'event', tag: 'SSH', job: 7, ts: new Date().toISOString(), body: { type: 'EXIT', node: node(i).name, code: 0 } });
    await Promise.resolve();
    expect(draws).toBe(0);
    vi.advanceTimersByTime(100);
    await Promise.resolve();
    expect(draws).toBe(1);
    const outcomes = r.jobOutcomes(7)!;
    expect(outcomes.size).toBe(500);
    expect(outcomes.get('sim0500')).toBe('ok');
    expect(r.getSnapshot().jobs[0].events).toHaveLength(500);
  });
});
