/**
 * Stats of the machine vacm runs on, through systeminformation. Cheap readings (CPU load, memory,
 * load averages, uptime) are taken on every call; expensive ones (disk, temperature, OS) are cached
 * and refreshed every `slowRefreshMs`.
 *
 * CPU % is the busy share between two readings of /proc/stat's `cpu ` line (read directly, parsed
 * as for remote nodes: systeminformation's currentLoad() runs `cat /proc/stat | grep cpu` through a
 * shell, synchronously, on every call — most of an idle dashboard's polling cost). Off Linux it is
 * currentLoad(), which likewise reports the use since its previous call. Either way the very first
 * reading has no predecessor, so a reading with no recent one (the first, or one after a long
 * pause) is taken twice, 200 ms apart.
 */
import fs from 'node:fs';
import os from 'node:os';
import { sysinfo } from '../../platform/sysinfo.js';
import type { StatValue } from '../../protocol/events.js';
import { cpuPct as busyPct, parseCpuLine, round2, type CpuSample } from './parse-proc.js';

export interface LocalStatsOptions {
  /** refresh of disk, temperature and OS (default 60 s) */
  slowRefreshMs?: number;
  /** a currentLoad() older than this is not a useful baseline (default 30 s) */
  maxBaselineAgeMs?: number;
  now?: () => number;
  /** reads /proc/stat (default: the file); undefined makes CPU % come from systeminformation */
  procStat?: () => Promise<string | undefined>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** /proc/stat's text; undefined where there is none (not Linux) */
async function readProcStat(): Promise<string | undefined> {
  try {
    return await fs.promises.readFile('/proc/stat', 'latin1');
  } catch {
    return undefined;
  }
}

export class LocalStats {
  private lastLoadAt?: number;
  private lastProcCpu?: CpuSample;
  private lastPct?: number;
  private slow?: { at: number; stats: Record<string, StatValue> };
  private slowPending?: Promise<Record<string, StatValue>>;
  private loadPending?: Promise<number>;
  private readonly slowRefreshMs: number;
  private readonly maxBaselineAgeMs: number;
  private readonly now: () => number;
  private readonly procStat: () => Promise<string | undefined>;

  constructor(opts: LocalStatsOptions = {}) {
    this.slowRefreshMs = opts.slowRefreshMs ?? 60_000;
    this.maxBaselineAgeMs = opts.maxBaselineAgeMs ?? 30_000;
    this.now = opts.now ?? Date.now;
    this.procStat = opts.procStat ?? readProcStat;
  }

  /** the aggregate `cpu ` line of /proc/stat, undefined where there is none */
  private async procCpu(): Promise<CpuSample | undefined> {
    const text = await this.procStat();
    if (text === undefined) return undefined;
    const nl = text.indexOf('\n');
    return parseCpuLine(nl < 0 ? text : text.slice(0, nl));
  }

  private async cpuPct(): Promise<number> {
    // concurrent callers share one reading: two overlapping calls would make a 0 ms window
    if (this.loadPending) return this.loadPending;
    this.loadPending = (async () => {
      const si = await sysinfo();
      const fresh = this.lastLoadAt !== undefined && this.now() - this.lastLoadAt <= this.maxBaselineAgeMs;
      let cur = await this.procCpu();
      if (cur) {
        let prev = fresh ? this.lastProcCpu : undefined;
        if (!prev) {
          await sleep(200);
          prev = cur;
          cur = (await this.procCpu()) ?? cur;
        }
        this.lastProcCpu = cur;
        this.lastLoadAt = this.now();
        // two readings within one clock tick say nothing new: keep the last figure
        this.lastPct = busyPct(prev, cur) ?? this.lastPct ?? 0;
        return Math.min(100, Math.max(0, this.lastPct));
      }
      if (!fresh) {
        await si.currentLoad();
        await sleep(200);
      }
      const l = await si.currentLoad();
      this.lastLoadAt = this.now();
      return Math.min(100, Math.max(0, round2(l.currentLoad)));
    })();
    try {
      return await this.loadPending;
    } finally {
      this.loadPending = undefined;
    }
  }

  private async slowStats(): Promise<Record<string, StatValue>> {
    if (this.slow && this.now() - this.slow.at < this.slowRefreshMs) return this.slow.stats;
    if (this.slowPending) return this.slowPending;
    this.slowPending = (async () => {
      const si = await sysinfo();
      const [osInfo, temp, fs] = await Promise.all([si.osInfo(), si.cpuTemperature(), si.fsSize()]);
      const stats: Record<string, StatValue> = {};
      const osName = [osInfo.distro, osInfo.release && !osInfo.distro.includes(osInfo.release) ? osInfo.release : '', osInfo.codename ? `(${osInfo.codename})` : '']
        .filter(Boolean)
        .join(' ');
      if (osName) stats.os = osName;
      stats.kernel = osInfo.kernel || os.release();
      if (typeof temp.main === 'number' && temp.main > 0) stats.temp_cpu = round2(temp.main); // the agents' key (docs/stats.md)
      const root = fs.find((f) => f.mount === '/') ?? fs[0];
      if (root && root.size > 0) {
        stats.disk_total_gib = round2(root.size / 1024 ** 3);
        stats.disk_used_pct = root.used + root.available > 0 ? Math.ceil((100 * root.used) / (root.used + root.available)) : 0;
      }
      this.slow = { at: this.now(), stats };
      return stats;
    })();
    try {
      return await this.slowPending;
    } finally {
      this.slowPending = undefined;
    }
  }

  async read(): Promise<Record<string, StatValue>> {
    const si = await sysinfo();
    const [cpu, mem, slow] = await Promise.all([this.cpuPct(), si.mem(), this.slowStats()]);
    const [l1, l5, l15] = os.loadavg();
    // like free(1): used = total - available
    const used = Math.max(0, mem.total - mem.available);
    return {
      load1: round2(l1),
      load5: round2(l5),
      load15: round2(l15),
      cpu_pct: cpu,
      cpus: os.cpus().length,
      mem_total_mib: Math.round(mem.total / 1024 ** 2),
      mem_used_mib: Math.round(used / 1024 ** 2),
      mem_used_pct: mem.total > 0 ? round2((100 * used) / mem.total) : 0,
      swap_total_mib: Math.round(mem.swaptotal / 1024 ** 2),
      swap_used_pct: mem.swaptotal > 0 ? round2((100 * mem.swapused) / mem.swaptotal) : 0,
      uptime_s: Math.floor(os.uptime()),
      ...slow,
    };
  }
}
