/**
 * The local machine's stats (LocalStats), with systeminformation replaced by counters so the tests
 * see exactly which calls are made:
 * - CPU %: from two readings of /proc/stat's cpu line (no shell, unlike systeminformation's
 *   currentLoad()), with systeminformation only where there is no /proc/stat;
 * - cadence: cheap readings (load, CPU, memory) on every call, the expensive ones (disk through df,
 *   temperatures, OS) only every slowRefreshMs.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';

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

beforeEach(() => {
  for (const k of Object.keys(calls)) delete calls[k];
});

/** /proc/stat text whose cpu line has `busy` and `idle` jiffies (user, nice, system, idle, iowait, irq, softirq, steal) */
const stat = (busy: number, idle: number) => `cpu  ${busy} 0 0 ${idle} 0 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\nintr 1\n`;

describe('LocalStats CPU %', () => {
  it('diffs /proc/stat against the last reading; the first reading takes two, 200 ms apart', async () => {
    const texts = [stat(100, 900), stat(150, 1000), stat(450, 1100), stat(450, 1100)];
    let now = 1_000_000;
    const local = new LocalStats({ now: () => now, procStat: async () => texts.shift() });
    expect((await local.read()).cpu_pct).toBeCloseTo(33.33, 2); // 50 busy of 150
    now += 2000;
    expect((await local.read()).cpu_pct).toBe(75); // 300 busy of 400
    now += 2000;
    expect((await local.read()).cpu_pct).toBe(75); // no tick between two readings: the last figure stays
    expect(calls.currentLoad).toBeUndefined();
  });

  it('asks systeminformation where there is no /proc/stat', async () => {
    const local = new LocalStats({ procStat: async () => undefined });
    expect((await local.read()).cpu_pct).toBe(37.5);
    expect(calls.currentLoad).toBe(2); // a baseline, then the reading
  });
});

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
    expect(last).toMatchObject({ cpu_pct: 37.5, mem_total_mib: 8192, mem_used_mib: 2048, mem_used_pct: 25, disk_used_pct: 25, temp_cpu: 41.5, kernel: '6.1.0-test', os: 'Debian GNU/Linux 12 (bookworm)' });
    now += 60_000;
    await local.read();
    expect(calls.fsSize).toBe(2);
    expect(calls.mem).toBe(11);
  });
});
