import { describe, expect, it } from 'vitest';
import { fpingSweepArgs, parseFpingLoopLine, parseFpingSummary } from '../../src/backends/icmp/fping.js';
import { parsePingLoopLine } from '../../src/backends/icmp/heartbeat.js';
import { parsePingConfig, PING_DEFAULTS } from '../../src/backends/icmp/config.js';
import { parseSysstatConfig, SYSSTAT_DEFAULTS } from '../../src/backends/sysstat/config.js';
import { pingAddress } from '../../src/backends/icmp/module.js';

describe('fping output (captured from fping 5.1 on this machine)', () => {
  it('summary lines: up with the average RTT, down with the count and timeout', () => {
    const text = [
      '127.0.33.250 : xmt/rcv/%loss = 2/0/100%',
      '127.0.30.1   : xmt/rcv/%loss = 2/2/0%, min/avg/max = 0.018/0.020/0.021',
      '127.0.30.3 : xmt/rcv/%loss = 3/1/66%, min/avg/max = 0.041/0.041/0.041',
      'nosuch.invalid: Name or service not known',
      '',
    ].join('\n');
    const r = parseFpingSummary(text, 200);
    expect(r.get('127.0.30.1')).toEqual({ state: 'up', rttMs: 0.02 });
    expect(r.get('127.0.30.3')).toEqual({ state: 'up', rttMs: 0.041 });
    expect(r.get('127.0.33.250')).toEqual({ state: 'down', reason: 'no reply to 2 pings within 200 ms' });
    expect(r.get('nosuch.invalid')).toEqual({ state: 'down', reason: 'Name or service not known', error: true });
  });

  it.each([
    ['127.0.30.7   : [2], 64 bytes, 0.016 ms (0.548 avg, 0% loss)', { target: '127.0.30.7', kind: 'reply', seq: 2, rttMs: 0.016 }],
    ['127.0.30.5 : [0], 64 bytes, 1.61 ms (1.61 avg, 0% loss)', { target: '127.0.30.5', kind: 'reply', seq: 0, rttMs: 1.61 }],
    ['127.0.33.250 : [4], timed out (NaN avg, 100% loss)', { target: '127.0.33.250', kind: 'timeout', seq: 4 }],
    ['ICMP Host Unreachable from 10.0.0.1 for ICMP Echo sent to 10.0.0.9', undefined],
    ['', undefined],
  ])('loop line %j', (line, want) => {
    expect(parseFpingLoopLine(line)).toEqual(want);
  });

  it.each([
    [{ count: 1, timeoutMs: 200 }, ['-c1', '-t200', '-i0', '-q']],
    [{ count: 3, timeoutMs: 500, periodMs: 100 }, ['-c3', '-t500', '-i0', '-q', '-p100']],
  ])('sweep arguments for %j never use the slow default -i', (o, want) => {
    expect(fpingSweepArgs(o)).toEqual(want);
  });
});

describe('iputils ping loop lines (heartbeat without fping)', () => {
  it.each([
    ['64 bytes from 127.0.30.1: icmp_seq=3 ttl=64 time=0.040 ms', { kind: 'reply', rttMs: 0.04 }],
    ['64 bytes from 127.0.30.1: icmp_seq=12 ttl=64 time=1.23 ms', { kind: 'reply', rttMs: 1.23 }],
    ['no answer yet for icmp_seq=4', { kind: 'miss' }],
    ['From 10.0.0.1 icmp_seq=5 Destination Host Unreachable', { kind: 'miss' }],
    ['PING 127.0.33.250 (127.0.33.250) 56(84) bytes of data.', undefined],
  ])('%j', (line, want) => {
    expect(parsePingLoopLine(line)).toEqual(want);
  });
});

describe('ping: and sysstat: config sections', () => {
  it('defaults when absent', () => {
    expect(parsePingConfig(undefined)).toEqual(PING_DEFAULTS);
    expect(parseSysstatConfig(undefined)).toEqual(SYSSTAT_DEFAULTS);
    expect(PING_DEFAULTS).toMatchObject({ interval_ms: 1000, misses: 3, enabled: true });
    expect(SYSSTAT_DEFAULTS.interval_ms).toBe(2000);
    expect(SYSSTAT_DEFAULTS.local_interval_ms).toBe(5000);
  });

  it('takes valid values', () => {
    expect(parsePingConfig({ interval_ms: 250, misses: 2, enabled: false, method: 'ping' })).toMatchObject({ interval_ms: 250, misses: 2, enabled: false, method: 'ping' });
    expect(parseSysstatConfig({ interval_ms: 5000, enabled: false })).toMatchObject({ interval_ms: 5000, enabled: false });
  });

  it.each([
    [() => parsePingConfig({ interval_ms: 5 }), /ping\.interval_ms: must be a whole number from 100/],
    [() => parsePingConfig({ misses: 1.5 }), /ping\.misses/],
    [() => parsePingConfig({ method: 'icmp' }), /ping\.method: must be auto, fping or ping/],
    [() => parsePingConfig({ enabled: 'yes' }), /ping\.enabled: must be true or false/],
    [() => parsePingConfig({ intervall: 1 }), /ping\.intervall: unknown key; ping takes enabled, interval_ms/],
    [() => parsePingConfig([1]), /ping: must be a mapping/],
    [() => parseSysstatConfig({ interval_ms: '2s' }), /sysstat\.interval_ms: must be a whole number of milliseconds/],
    [() => parseSysstatConfig({ every: 1 }), /sysstat\.every: unknown key/],
  ])('refuses bad values with ERR_CONFIG and what to write (%#)', (f, msg) => {
    expect(f).toThrow(msg);
    try {
      f();
    } catch (err) {
      expect((err as { code: string }).code).toBe('ERR_CONFIG');
    }
  });
});

describe('pingAddress', () => {
  it('the host variable, else the node name', () => {
    expect(pingAddress('node01', { host: '127.0.30.1' })).toBe('127.0.30.1');
    expect(pingAddress('node01', { host: '  ' })).toBe('node01');
    expect(pingAddress('node01', {})).toBe('node01');
  });
});
