import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cpuPct, parseCpuLine, parseProcReport, procCommand, splitSections, MARK } from '../../src/backends/sysstat/parse-proc.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name: string) => fs.readFileSync(path.join(here, '..', 'fixtures', 'proc', name), 'utf8');

describe('parseProcReport on text captured from this Debian 12 machine', () => {
  it('two /proc/stat samples in one round trip: every key, CPU % from the pair', () => {
    const { stats, cpu } = parseProcReport(fixture('debian12-two-samples.txt'));
    expect(stats).toEqual({
      load1: 6.31,
      load5: 10.23,
      load15: 5.99,
      procs_running: 8,
      procs_total: 223,
      cpu_pct: 100, // 41 jiffies, none idle: the machine was busy building
      cpus: 2,
      mem_total_mib: 24106,
      mem_used_mib: 910,
      mem_used_pct: 3.78,
      swap_total_mib: 0,
      swap_used_pct: 0,
      uptime_s: 7864,
      os: 'Debian GNU/Linux 12 (bookworm)',
      kernel: '6.18.44-fc-v657',
      disk_total_gib: 251.97,
      disk_used_pct: 23, // what df printed as Capacity
    });
    expect(cpu).toEqual({ idle: 1477725 + 932, total: 1574403 });
  });

  it('one sample: CPU % against the previous poll, none without one', () => {
    const text = fixture('debian12-one-sample.txt');
    expect(parseProcReport(text).stats.cpu_pct).toBeUndefined();
    const prev = { idle: 1477725 + 932 - 30, total: 1574409 - 60 };
    expect(parseProcReport(text, prev).stats.cpu_pct).toBe(50);
    expect(parseProcReport(text).stats.load1).toBe(6.31);
  });
});

describe('parse-proc pieces', () => {
  it.each([
    ['cpu  100 0 50 800 50 0 0 0 0 0', { idle: 850, total: 1000 }],
    ['cpu 1 2 3 4', { idle: 4, total: 10 }],
    ['cpu0 1 2 3 4', undefined],
    ['intr 1 2 3', undefined],
    ['cpu  a b c d', undefined],
    [undefined, undefined],
  ])('parseCpuLine(%j)', (line, want) => {
    expect(parseCpuLine(line)).toEqual(want);
  });

  it.each([
    [{ idle: 100, total: 200 }, { idle: 150, total: 300 }, 50],
    [{ idle: 100, total: 200 }, { idle: 200, total: 300 }, 0],
    [{ idle: 100, total: 200 }, { idle: 100, total: 300 }, 100],
    [{ idle: 100, total: 200 }, { idle: 100, total: 200 }, undefined], // no time passed
    [{ idle: 100, total: 300 }, { idle: 100, total: 200 }, undefined], // counters went back (reboot)
  ])('cpuPct(%j, %j) = %j', (a, b, want) => {
    expect(cpuPct(a, b)).toBe(want);
  });

  it('splits sections at the markers and ignores text before the first', () => {
    const s = splitSections(`motd line\n${MARK}a\n1\n\n2\n${MARK}b\n${MARK}c\nx\r\n`);
    expect([...s]).toEqual([['a', ['1', '2']], ['b', []], ['c', ['x']]]);
  });

  it('older kernels without MemAvailable: used = total - free - buffers - cached', () => {
    const text = [`${MARK}loadavg`, '0.10 0.20 0.30 1/50 99', `${MARK}meminfo`, 'MemTotal: 1048576 kB', 'MemFree: 262144 kB', 'Buffers: 0 kB', 'Cached: 262144 kB', 'SwapTotal: 1024 kB', 'SwapFree: 256 kB'].join('\n');
    const { stats } = parseProcReport(text);
    expect(stats).toMatchObject({ mem_total_mib: 1024, mem_used_mib: 512, mem_used_pct: 50, swap_total_mib: 1, swap_used_pct: 75 });
  });

  it('thermal zones in millidegrees: the hottest one; os-release without PRETTY_NAME', () => {
    const text = [`${MARK}loadavg`, '1 2 3', `${MARK}thermal`, '45000', '61500', '-1', `${MARK}os-release`, 'NAME=Alpine Linux', 'VERSION=3.19'].join('\n');
    expect(parseProcReport(text).stats).toMatchObject({ temp_cpu: 61.5, os: 'Alpine Linux 3.19', load15: 3 });
  });

  it('a df line wrapped after a long device name still gives the root filesystem', () => {
    const text = [`${MARK}loadavg`, '1 2 3', `${MARK}df`, 'Filesystem 1024-blocks Used Available Capacity Mounted on', '/dev/mapper/very-long-volume-group-name-root', '  1048576 524288 524288 50% /'].join('\n');
    const rows = parseProcReport(text).stats;
    // the wrapped form splits into two rows; the one ending in "/" is used
    expect(rows).toMatchObject({ disk_used_pct: 50, disk_total_gib: 1 });
  });

  it('output that is not the command\'s (a shell without /proc) is an error that says so', () => {
    expect(() => parseProcReport('sh: cat: not found\n')).toThrow(/did not answer with \/proc\/loadavg/);
  });

  it('the command reads /proc/stat twice only when asked', () => {
    expect(procCommand(true)).toContain('sleep 0.2');
    expect(procCommand(false)).not.toContain('sleep');
    expect(procCommand(false)).toContain(`${MARK}end`);
  });
});
