/**
 * What `vacm agent` reports about its node, read with systeminformation. The cheap readings
 * (/proc/loadavg, /proc/stat, /proc/meminfo, /sys/class/net) every interval; the ones that spawn or
 * walk the filesystem (df, temperatures) at most every `slowEveryMs`; OS and kernel once.
 */
import os from 'node:os';
import si from 'systeminformation';
import type { StatValue } from '../../protocol/events.js';

export type StatsSource = () => Promise<Record<string, StatValue>>;

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

export function createLocalStatsSource(opts: { slowEveryMs?: number } = {}): StatsSource {
  const slowEvery = opts.slowEveryMs ?? 30_000;
  let slowAt = -Infinity;
  let slow: Record<string, StatValue> = {};
  let staticInfo: Record<string, StatValue> | undefined;
  let lastNet: { rx: number; tx: number; at: number } | undefined;

  const readSlow = async (): Promise<Record<string, StatValue>> => {
    const out: Record<string, StatValue> = {};
    const [fsz, temp] = await Promise.all([si.fsSize().catch(() => []), si.cpuTemperature().catch(() => undefined)]);
    const root = fsz.find((f) => f.mount === '/') ?? fsz[0];
    if (root && root.size > 0) {
      out.disk_used_pct = round((root.used / root.size) * 100, 1);
      out.disk_total = root.size;
    }
    if (temp && typeof temp.main === 'number' && Number.isFinite(temp.main)) out.temp_cpu = round(temp.main, 1);
    return out;
  };

  return async () => {
    const now = Date.now();
    if (!staticInfo) {
      const o = await si.osInfo().catch(() => undefined);
      staticInfo = { cpus: os.cpus().length, ...(o ? { os: `${o.distro} ${o.release}`.trim().slice(0, 100), kernel: o.kernel.slice(0, 100) } : {}) };
    }
    if (now - slowAt >= slowEvery) {
      slowAt = now;
      slow = await readSlow();
    }
    const [load, mem, net] = await Promise.all([si.currentLoad(), si.mem(), si.networkStats('*').catch(() => [])]);
    const [l1, l5, l15] = os.loadavg();
    const stats: Record<string, StatValue> = {
      load1: round(l1),
      load5: round(l5),
      load15: round(l15),
      cpu: round(load.currentLoad, 1),
      mem_used_pct: mem.total > 0 ? round(((mem.total - mem.available) / mem.total) * 100, 1) : 0,
      mem_total: mem.total,
      mem_used: mem.total - mem.available,
      swap_used_pct: mem.swaptotal > 0 ? round((mem.swapused / mem.swaptotal) * 100, 1) : 0,
      swap_total: mem.swaptotal,
      uptime: Math.round(os.uptime()),
    };
    let rx = 0;
    let tx = 0;
    for (const n of net) if (n.iface !== 'lo') {
      rx += n.rx_bytes;
      tx += n.tx_bytes;
    }
    if (lastNet && now > lastNet.at) {
      stats.net_rx_bps = Math.max(0, Math.round(((rx - lastNet.rx) * 1000) / (now - lastNet.at)));
      stats.net_tx_bps = Math.max(0, Math.round(((tx - lastNet.tx) * 1000) / (now - lastNet.at)));
    }
    lastNet = { rx, tx, at: now };
    return { ...stats, ...slow, ...staticInfo };
  };
}
