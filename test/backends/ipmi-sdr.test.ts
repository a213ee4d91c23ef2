/** The pure SDR side: record parsing, the M/B/exponent conversion and linearisation, units, status. */
import { describe, expect, it } from 'vitest';
import { VacmError } from '../../src/protocol/errors.js';
import * as S from '../../src/backends/ipmi/sdr.js';

/** A full sensor record written out byte by byte (not through the fixture's builder). */
function cpuTempRecord(): number[] {
  // prettier-ignore
  return [
    0x01, 0x00, 0x51, 0x01, 0x33,             // id 1, SDR 1.5, full sensor, 51 bytes follow
    0x20, 0x00, 0x07, 0x03, 0x01, 0x7f, 0x68, // owner 0x20 LUN 0, sensor 7, entity 3.1
    0x01, 0x01,                               // temperature, threshold
    0x80, 0x0a, 0x80, 0x0a, 0x3f, 0x38,       // masks: all six thresholds readable
    0x00, 0x01, 0x00, 0x00,                   // unsigned, degrees C, linear
    0x02, 0x00, 0x0a, 0x00, 0x00, 0xe1,       // M=2, B=10, R=-2, Bexp=1
    0x00, 0x28, 0x50, 0x0a, 0xff, 0x00,       // nominal etc.
    0x5a, 0x55, 0x50, 0x01, 0x02, 0x03,       // UNR UC UNC LNR LC LNC
    0x00, 0x00, 0x00, 0x00, 0x00,             // hysteresis, reserved, OEM
    0xc8, ...Buffer.from('CPU Temp'),         // 8-bit ASCII, 8 bytes
  ];
}

describe('parseSdrRecord', () => {
  it('decodes a full sensor record', () => {
    const r = S.parseSdrRecord(Buffer.from(cpuTempRecord()));
    expect(r.kind).toBe('full');
    if (r.kind !== 'full') return;
    expect(r.sensor).toMatchObject({ recordId: 1, ownerId: 0x20, ownerLun: 0, number: 7, sensorType: 1, eventReadingType: 1, analog: 'unsigned', baseUnit: 1, m: 2, b: 10, rExp: -2, bExp: 1, name: 'CPU Temp' });
    expect(r.sensor.rawThresholds).toEqual({ unr: 0x5a, uc: 0x55, unc: 0x50, lnr: 1, lc: 2, lnc: 3 });
    // (2*x + 10*10^1) * 10^-2 = 0.02x + 1
    expect(S.formatValue(S.convertReading(r.sensor, 100))).toBe('3.00');
  });

  it('keeps other record types as "other"', () => {
    expect(S.parseSdrRecord(Buffer.from([0x05, 0x00, 0x51, 0x12, 0x02, 0xaa, 0xbb]))).toEqual({ kind: 'other', recordId: 5, type: 0x12 });
  });

  const badCases: [string, number[]][] = [
    ['shorter than its header', [0x01, 0x00, 0x51]],
    ['length byte larger than the bytes', [0x01, 0x00, 0x51, 0x01, 0x33, 0x20]],
    ['length byte smaller than the bytes', cpuTempRecord().map((b, i) => (i === 4 ? 0x20 : b))],
    ['full record without its fixed fields', [0x01, 0x00, 0x51, 0x01, 0x02, 0x20, 0x00]],
    ['name length past the end', [...cpuTempRecord().slice(0, 47), 0xdf, 0x41].map((b, i) => (i === 4 ? 44 : b))],
  ];
  it.each(badCases)('a record %s is ERR_SENSORS, not a crash', (_what, bytes) => {
    let err: unknown;
    try {
      S.parseSdrRecord(Buffer.from(bytes));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VacmError);
    expect((err as VacmError).code).toBe('ERR_SENSORS');
  });
});

describe('convertReading', () => {
  const lin: { analog: S.AnalogFormat; linearization: number; m: number; b: number; rExp: number; bExp: number } = { analog: 'unsigned', linearization: 0, m: 1, b: 0, rExp: 0, bExp: 0 };
  const cases: [string, Partial<typeof lin>, number, string][] = [
    ['identity', {}, 42, '42.00'],
    ['M and R exponent (volts)', { m: 6, rExp: -2 }, 200, '12.00'],
    ['10-bit M', { m: 300 }, 20, '6000.00'],
    ['negative 10-bit M', { m: -2 }, 10, '-20.00'],
    ['B with its exponent', { b: 5, bExp: 1 }, 0, '50.00'],
    ['two\'s complement', { analog: 'twos' }, 0xf6, '-10.00'],
    ['one\'s complement', { analog: 'ones' }, 0xf5, '-10.00'],
    ['no analog reading', { analog: 'none' }, 5, 'na'],
    ['sqr', { linearization: 8 }, 3, '9.00'],
    ['1/x', { linearization: 7, m: 1 }, 4, '0.25'],
    ['1/x of 0 is no value', { linearization: 7 }, 0, 'na'],
    ['ln of 0 is no value', { linearization: 1 }, 0, 'na'],
    ['non-linear (70h) needs reading factors', { linearization: 0x70 }, 5, 'na'],
    ['log10', { linearization: 2 }, 100, '2.00'],
  ];
  it.each(cases)('%s', (_what, over, raw, want) => {
    expect(S.formatValue(S.convertReading({ ...lin, ...over }, raw))).toBe(want);
  });
});

describe('readings, status, units, names, types', () => {
  it('decodes Get Sensor Reading and interprets it as FreeIPMI does', () => {
    const st = (bytes: number[]) => S.thresholdStatus(S.decodeSensorReading(Buffer.from(bytes)));
    expect(st([0x2a, 0xc0, 0x00])).toBe('nominal');
    expect(st([0x52, 0xc0, 0x08])).toBe('nominal'); // at or above upper non-critical
    expect(st([0x56, 0xc0, 0x18])).toBe('critical'); // upper critical
    expect(st([0x5c, 0xc0, 0x38])).toBe('critical'); // upper non-recoverable
    expect(st([0x01, 0xc0, 0x02])).toBe('critical'); // lower critical
    expect(st([0x01, 0xe0, 0x00])).toBe('na'); // reading unavailable
    expect(st([0x01, 0x80, 0x00])).toBe('na'); // scanning disabled
    expect(() => S.decodeSensorReading(Buffer.from([0x01]))).toThrow(VacmError);
  });

  it('names units as ipmi-sensors does', () => {
    const u = (baseUnit: number, more: Partial<{ percentage: boolean; modifierUnit: number; modifierUse: number; rateUnit: number }> = {}) =>
      S.unitName({ percentage: false, baseUnit, modifierUnit: 0, modifierUse: 0, rateUnit: 0, ...more });
    expect([u(1), u(4), u(5), u(6), u(18), u(0), u(250)]).toEqual(['C', 'V', 'A', 'W', 'RPM', 'na', 'unit250']);
    expect(u(4, { percentage: true })).toBe('%');
    expect(u(7, { modifierUse: 1, modifierUnit: 24 })).toBe('J/hr');
  });

  it('decodes ID strings of every type and drops control characters', () => {
    expect(S.decodeIdString(0xc0 | 6, Buffer.from('Fan\x1b[2'))).toBe('Fan[2');
    expect(S.decodeIdString(0xc0 | 4, Buffer.from('P1 \x00'))).toBe('P1');
    // 6-bit packed "ABCD": A=0x21 B=0x22 C=0x23 D=0x24
    const packed = (0x21 | (0x22 << 6) | (0x23 << 12) | (0x24 << 18)) >>> 0;
    expect(S.decodeIdString(0x80 | 3, Buffer.from([packed & 0xff, (packed >> 8) & 0xff, (packed >> 16) & 0xff]))).toBe('ABCD');
    expect(S.decodeIdString(0x40 | 2, Buffer.from([0x21, 0xc3]))).toBe('123.'); // BCD plus, low digit first; Ch is a period
  });

  it('parses sensor type lists by FreeIPMI name or number', () => {
    expect([...S.parseSensorTypes('temperature,Fan,power supply,0x02')]).toEqual([1, 4, 8, 2]);
    expect(() => S.parseSensorTypes('warp_coils')).toThrow(/unknown sensor type/);
    expect(() => S.parseSensorTypes(',')).toThrow(/empty/);
    expect(S.sensorTypeName(4)).toBe('fan');
  });

  it('Get SDR answers never give more than was asked, and the repository info is the cache key', () => {
    expect(() => S.decodeGetSdr(Buffer.from([0xff, 0xff, 1, 2, 3, 4, 5, 6]), 5)).toThrow(/6 bytes where 5/);
    expect(S.decodeGetSdr(Buffer.from([0x02, 0x00, 1, 2]), 5)).toEqual({ next: 2, bytes: Buffer.from([1, 2]) });
    const info = S.decodeSdrRepositoryInfo(Buffer.from([0x51, 0x01, 0x00, 0xfe, 0xff, 0x55, 0x13, 0, 0, 0, 0, 0, 0, 0x02]));
    expect(info).toEqual({ version: 0x51, records: 1, added: 0x1355, erased: 0 });
    expect(S.sdrCacheKey(info)).toBe('1/4949/0');
    expect(() => S.decodeSdrRepositoryInfo(Buffer.from([0x51]))).toThrow(VacmError);
  });
});
