/**
 * The local machine's stats: cheap readings (load, CPU, memory) on every call, the expensive ones
 * (disk through df, temperatures, OS) only every slowRefreshMs. systeminformation is replaced by
 * counters so the test sees exactly which calls a 1 Hz poller makes.
 */
import { describe, expect, it, vi } from 'vitest';

const calls: Record<string, number> = {};
const count = (name: string, value: unknown) => async () => {
  calls[name] = (calls[name] ?? 0) + 1;
  return value;
};
vi.mock('systeminformation', () => ({
  default: {
    currentLoad: count('currentLoad', { currentLoad: 37.5 }),
    mem: count('mem', { total: 8 * 1024 ** 3, available: 6 * 1024 ** 3, swaptotal: 0, swapused: 0 }),
    osInfo: count('osInfo', { distro: 'Debian GNU/Linux', release: '12', codename: 'bookworm', kernel: '6.1.0-test' }),
    cpuTemperature: count('cpuTemperature', { main: 41.5 }),
    fsSize: count('fsSize', [{ mount: '/', size: 100 * 1024 ** 3, used: 25 * 1024 ** 3, available: 75 * 1024 ** 3 }]),
  },
}));

const { LocalStats } = await import('../../src/backends/sysstat/local.js');

describe('LocalStats at 1 Hz', () => {
  it('reads load, CPU and memory every time, disk/temperature/OS once per slowRefreshMs', async () => {
    let now = 1_000_000;
    // no /proc/stat: the systeminformation path (the one other platforms take)
    const local = new LocalStats({ slowRefreshMs: 60_000, now: () => now, procStat: async () => undefined });
    let last: Record<string, unknown> = {};
    for (let i = 0; i < 10; i++) {
      last = await local.read();
      now += 1000;
    }
    expect(calls.mem).toBe(10);
    // the first reading takes a baseline and a second sample; later ones reuse the last as baseline
    expect(calls.currentLoad).toBe(11);
    expect(calls.fsSize).toBe(1);
    expect(calls.cpuTemperature).toBe(1);
    expect(calls.osInfo).toBe(1);
    expect(last).toMatchObject({ cpu_pct: 37.5, mem_total_mib: 8192, mem_used_mib: 2048, mem_used_pct: 25, disk_used_pct: 25, temp_c: 41.5, kernel: '6.1.0-test', os: 'Debian GNU/Linux 12 (bookworm)' });
    now += 60_000;
    await local.read();
    expect(calls.fsSize).toBe(2);
    expect(calls.mem).toBe(11);
  });
});
