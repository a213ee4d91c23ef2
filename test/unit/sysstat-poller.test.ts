import { afterEach, describe, expect, it, vi } from 'vitest';
import { SysstatPoller } from '../../src/backends/sysstat/poller.js';
import type { ModuleHost, NodeView } from '../../src/protocol/module.js';

const node = (name: string, local: boolean): NodeView =>
  ({ name, local, vars: {}, groups: [], state: 'up', power: 'on', stateSince: 0, loadHistory: [] }) as unknown as NodeView;

/** a host whose sweeps end at once, recording what was submitted */
function fakeHost(nodes: NodeView[]) {
  const lines: string[] = [];
  const host = {
    nodes: () => nodes,
    submit(line: string) {
      lines.push(line);
      return { id: lines.length, done: Promise.resolve(), cancel: () => {} };
    },
    log: () => {},
  } as unknown as ModuleHost;
  return { host, lines };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('SYSSTAT poller cadence', () => {
  it('reads this machine alone at most every localIntervalMs (each reading is a frame on an idle dashboard)', async () => {
    vi.useFakeTimers();
    const { host, lines } = fakeHost([node('here', true)]);
    const p = new SysstatPoller(host, { intervalMs: 2000, localIntervalMs: 5000, includeRemote: false });
    p.start();
    for (let i = 0; i < 30; i++) await vi.advanceTimersByTimeAsync(1000);
    await p.stop();
    // 30 s: at 0 s, then on the first 2 s tick at least 5 s later (6, 12, 18, 24, 30 s)
    expect(lines).toEqual(Array(6).fill('SYSSTAT:GET:*'));
  });

  it('with remote nodes in the sweep, reads the local machine every time (that frame is drawn anyway)', async () => {
    vi.useFakeTimers();
    const { host, lines } = fakeHost([node('here', true), node('far1', false)]);
    const p = new SysstatPoller(host, { intervalMs: 2000, localIntervalMs: 5000, includeRemote: true });
    p.start();
    for (let i = 0; i < 10; i++) await vi.advanceTimersByTimeAsync(1000);
    await p.stop();
    expect(lines).toEqual(Array(6).fill('SYSSTAT:GET:*'));
  });
});
