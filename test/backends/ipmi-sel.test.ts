/** The pure SEL side: records, times, event texts as ipmi-sel writes them, and hostile answers. */
import { describe, expect, it } from 'vitest';
import { VacmError } from '../../src/protocol/errors.js';
import * as L from '../../src/backends/ipmi/sel.js';
import { parseSdrRecord, type FullSensor } from '../../src/backends/ipmi/sdr.js';
import { fullSensorRecord } from '../fixtures/ipmi-sim.js';

const cpu = (parseSdrRecord(Buffer.from(fullSensorRecord({ number: 1, name: 'CPU Temp', type: 1, unit: 1, raw: 0 }))) as { sensor: FullSensor }).sensor;

// id 0x0102, system event, time 2026-12-01T09:00:00Z, generator 0x20, EvM 4, temperature #1, assertion threshold, UNC going high, reading 82, threshold 80
const ts = Date.UTC(2026, 11, 1, 9) / 1000;
const rec = Buffer.from([0x02, 0x01, 0x02, ts & 0xff, (ts >> 8) & 0xff, (ts >> 16) & 0xff, ts >>> 24, 0x20, 0x00, 0x04, 0x01, 0x01, 0x01, 0x57, 82, 80]);

describe('SEL records', () => {
  it('decodes a system event record and writes it as ipmi-sel does', () => {
    const r = L.decodeSelRecord(rec);
    expect(r).toMatchObject({ kind: 'system', id: 0x0102, generator: 0x20, sensorType: 1, sensorNumber: 1, deassertion: false, eventType: 1, data: [0x57, 82, 80] });
    if (r.kind !== 'system') return;
    expect(L.selTime(r.timestamp)).toBe('2026-12-01T09:00:00Z');
    expect(L.selSensorName(r, [cpu])).toBe('CPU Temp');
    expect(L.selEventText(r, [cpu])).toBe('Upper Non-critical - going high ; Sensor Reading = 82.00 C ; Threshold = 80.00 C');
    // without the SDR: the sensor by type and number, the event without values
    expect(L.selSensorName(r, [])).toBe('temperature #0x01');
    expect(L.selEventText(r, [])).toBe('Upper Non-critical - going high');
  });

  it('times: seconds since BMC start, unspecified, real', () => {
    expect(L.selTime(5616)).toBe('postinit+5616s');
    expect(L.selTime(0xffffffff)).toBe('unknown');
    expect(L.selTime(undefined)).toBe('unknown');
  });

  it('deassertions, other event types and OEM records', () => {
    const de = Buffer.from(rec);
    de[12] = 0x81;
    expect(L.decodeSelRecord(de)).toMatchObject({ deassertion: true, eventType: 1 });
    const spec = Buffer.from(rec);
    spec[12] = 0x6f;
    spec[13] = 0x02;
    expect(L.selEventText(L.decodeSelRecord(spec), [])).toBe('sensor-specific event type 0x6f offset 0x2');
    const oem = Buffer.from(rec);
    oem[2] = 0xe1;
    expect(L.decodeSelRecord(oem)).toMatchObject({ kind: 'oem', type: 0xe1 });
    expect(L.selTime((L.decodeSelRecord(oem) as { timestamp?: number }).timestamp)).toBe('unknown');
  });

  it('hostile answers are ERR_IPMI, not crashes', () => {
    for (const f of [
      () => L.decodeSelRecord(rec.subarray(0, 15)),
      () => L.decodeGetSelEntry(Buffer.alloc(17)),
      () => L.decodeGetSelEntry(Buffer.alloc(40)),
      () => L.decodeSelInfo(Buffer.alloc(3)),
      () => L.decodeClearSel(Buffer.alloc(0)),
    ]) {
      expect(f).toThrow(VacmError);
    }
    expect(L.decodeSelInfo(Buffer.from([0x51, 3, 0, 0x20, 0x06, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x8a]))).toEqual({ version: 0x51, entries: 3, freeBytes: 0x620, added: 1, erased: 0xffffffff, overflow: true });
  });

  it('Clear SEL carries the reservation and CLR', () => {
    expect([...L.clearSelRequest(1, 0x1234, true).data!]).toEqual([0x34, 0x12, 0x43, 0x4c, 0x52, 0xaa]);
    expect([...L.clearSelRequest(1, 0x1234, false).data!].at(-1)).toBe(0);
    expect(L.decodeClearSel(Buffer.from([0x01]))).toBe(true);
    expect(L.decodeClearSel(Buffer.from([0x00]))).toBe(false);
  });
});
