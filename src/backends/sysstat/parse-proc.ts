/**
 * SYSSTAT for remote nodes, pure: the one shell command that prints what a node's /proc says (with
 * section markers), and the parser that turns its output into stats (keys as docs/stats.md).
 * CPU % needs two samples of /proc/stat: the first poll of a node takes both in its one round trip
 * (200 ms apart); later polls take one and diff it against the sample cached from the previous poll.
 */
import type { StatValue } from '../../protocol/events.js';

export const MARK = '@@vacm:';

/** aggregate CPU jiffies from the `cpu ` line of /proc/stat */
export interface CpuSample {
  /** idle + iowait */
  idle: number;
  total: number;
}

/**
 * The POSIX sh command run on a node in one round trip. With `twoSamples`, /proc/stat is read twice
 * 200 ms apart so CPU % can be computed without an earlier sample.
 */
export function procCommand(twoSamples: boolean): string {
  const sec = (name: string) => `echo '${MARK}${name}'`;
  return [
    `${sec('loadavg')}; cat /proc/loadavg`,
    `${sec('stat')}; head -n 1 /proc/stat`,
    ...(twoSamples ? [`sleep 0.2; ${sec('stat2')}; head -n 1 /proc/stat`] : []),
    `${sec('meminfo')}; cat /proc/meminfo`,
    `${sec('uptime')}; cat /proc/uptime`,
    `${sec('os-release')}; cat /etc/os-release 2>/dev/null`,
    `${sec('kernel')}; uname -r`,
    `${sec('thermal')}; for f in /sys/class/thermal/thermal_zone*/temp; do [ -r "$f" ] && cat "$f"; done 2>/dev/null`,
    `${sec('nproc')}; nproc 2>/dev/null || getconf _NPROCESSORS_ONLN`,
    `${sec('df')}; df -Pk / 2>/dev/null`,
    `${sec('end')}`,
  ].join('; ');
}

/** Split the command's output into its sections (lines after each marker). */
export function splitSections(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith(MARK)) {
      cur = [];
      out.set(line.slice(MARK.length).trim(), cur);
    } else if (cur && line.trim() !== '') cur.push(line);
  }
  return out;
}

export function parseCpuLine(line: string | undefined): CpuSample | undefined {
  if (!line) return undefined;
  const m = /^cpu\s+(.+)$/.exec(line.trim());
  if (!m) return undefined;
  const v = m[1].trim().split(/\s+/).map(Number);
  if (v.length < 4 || v.some((x) => !Number.isFinite(x))) return undefined;
  // user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { idle: v[3] + (v[4] ?? 0), total };
}

/** CPU busy % between two samples, or undefined when they are not usable (same, or counters went back). */
export function cpuPct(prev: CpuSample, cur: CpuSample): number | undefined {
  const dt = cur.total - prev.total;
  const di = cur.idle - prev.idle;
  if (dt <= 0 || di < 0 || di > dt) return undefined;
  return round2((100 * (dt - di)) / dt);
}

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function parseMeminfo(lines: string[]): Record<string, number> {
  const kb: Record<string, number> = {};
  for (const l of lines) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)/.exec(l);
    if (m) kb[m[1]] = Number(m[2]);
  }
  return kb;
}

function parseOsRelease(lines: string[]): string | undefined {
  const kv: Record<string, string> = {};
  for (const l of lines) {
    const m = /^([A-Z_]+)=(.*)$/.exec(l.trim());
    if (m) kv[m[1]] = m[2].replace(/^(["'])(.*)\1$/, '$2');
  }
  return kv.PRETTY_NAME || (kv.NAME ? `${kv.NAME}${kv.VERSION ? ` ${kv.VERSION}` : ''}` : undefined);
}

export interface ProcReport {
  stats: Record<string, StatValue>;
  /** the last /proc/stat sample, to diff the next poll against */
  cpu?: CpuSample;
}

/**
 * Parse the output of `procCommand`. `prevCpu` is the sample from this node's previous poll (used
 * when the output holds one /proc/stat sample). Missing sections leave their keys out; an output
 * without the loadavg section throws (it is not what the command prints).
 */
export function parseProcReport(text: string, prevCpu?: CpuSample): ProcReport {
  const s = splitSections(text);
  const load = s.get('loadavg')?.[0]?.trim().split(/\s+/);
  if (!load || load.length < 3 || !load.slice(0, 3).every((x) => Number.isFinite(Number(x)))) {
    throw new Error('the node did not answer with /proc/loadavg (is it Linux with a POSIX shell?)');
  }
  const stats: Record<string, StatValue> = {
    load1: Number(load[0]),
    load5: Number(load[1]),
    load15: Number(load[2]),
  };
  const procs = /^(\d+)\/(\d+)$/.exec(load[3] ?? '');
  if (procs) {
    stats.procs_running = Number(procs[1]);
    stats.procs_total = Number(procs[2]);
  }
  const first = parseCpuLine(s.get('stat')?.[0]);
  const second = parseCpuLine(s.get('stat2')?.[0]);
  const cpu = second ?? first;
  const base = second ? first : prevCpu;
  if (cpu && base) {
    const pct = cpuPct(base, cpu);
    if (pct !== undefined) stats.cpu_pct = pct;
  }
  const nproc = Number(s.get('nproc')?.[0]?.trim());
  if (Number.isInteger(nproc) && nproc > 0) stats.cpus = nproc;

  const mem = parseMeminfo(s.get('meminfo') ?? []);
  if (mem.MemTotal > 0) {
    const total = mem.MemTotal;
    // like free(1): used = total - available (older kernels without MemAvailable: free + buffers + cache)
    const avail = mem.MemAvailable ?? (mem.MemFree ?? 0) + (mem.Buffers ?? 0) + (mem.Cached ?? 0);
    const used = Math.max(0, total - avail);
    stats.mem_total_mib = Math.round(total / 1024);
    stats.mem_used_mib = Math.round(used / 1024);
    stats.mem_used_pct = round2((100 * used) / total);
  }
  if (mem.SwapTotal !== undefined) {
    stats.swap_total_mib = Math.round(mem.SwapTotal / 1024);
    stats.swap_used_pct = mem.SwapTotal > 0 ? round2((100 * (mem.SwapTotal - (mem.SwapFree ?? 0))) / mem.SwapTotal) : 0;
  }
  const up = Number(s.get('uptime')?.[0]?.trim().split(/\s+/)[0]);
  if (Number.isFinite(up) && up >= 0) stats.uptime_s = Math.floor(up);
  const os = parseOsRelease(s.get('os-release') ?? []);
  if (os) stats.os = os;
  const kernel = s.get('kernel')?.[0]?.trim();
  if (kernel) stats.kernel = kernel;
  const temps = (s.get('thermal') ?? []).map((l) => Number(l.trim())).filter((t) => Number.isFinite(t) && t > 0);
  // millidegrees; the hottest zone is the one an operator worries about
  if (temps.length) stats.temp_cpu = round2(Math.max(...temps) / 1000); // the agents' key (docs/stats.md)
  const df = (s.get('df') ?? []).slice(1).map((l) => l.trim().split(/\s+/));
  // Filesystem 1024-blocks Used Available Capacity Mounted-on (a long device name may wrap: take the last 5 fields)
  const row = df.find((f) => f[f.length - 1] === '/') ?? df[0];
  if (row && row.length >= 5) {
    const [blocks, used, avail] = row.slice(-5, -2).map(Number);
    if (blocks > 0 && Number.isFinite(used) && Number.isFinite(avail)) {
      stats.disk_total_gib = round2(blocks / 1024 / 1024);
      // as df's Capacity: used / (used + available), rounded up
      stats.disk_used_pct = used + avail > 0 ? Math.ceil((100 * used) / (used + avail)) : 0;
    }
  }
  return { stats, cpu };
}
