/**
 * The System Event Log, pure (IPMI v2.0 section 31, 32; event tables 42.x): requests, the 16-byte
 * records, their time, and the event text as FreeIPMI's ipmi-sel writes it. Hostile bytes are a
 * VacmError('ERR_IPMI', 'malformed SEL ...'), never a RangeError.
 */
import { VacmError } from '../../protocol/errors.js';
import type { IpmiRequest } from './protocol.js';
import { NETFN_STORAGE, convertReading, formatValue, sensorTypeName, unitName, type FullSensor } from './sdr.js';

export const CMD_GET_SEL_INFO = 0x40;
export const CMD_RESERVE_SEL = 0x42;
export const CMD_GET_SEL_ENTRY = 0x43;
export const CMD_CLEAR_SEL = 0x47;
export const SEL_RECORD_LEN = 16;
export const SEL_LAST_RECORD = 0xffff;
/** Timestamps up to this are seconds since the BMC started, not since 1970 (IPMI 37.1). */
const PRE_INIT_MAX = 0x20000000;
const UNSPECIFIED = 0xffffffff;

function bad(what: string): VacmError {
  return new VacmError('ERR_IPMI', `malformed SEL data from the BMC: ${what}`);
}

export function getSelInfoRequest(rqSeq: number): IpmiRequest {
  return { netFn: NETFN_STORAGE, cmd: CMD_GET_SEL_INFO, rqSeq };
}

export function reserveSelRequest(rqSeq: number): IpmiRequest {
  return { netFn: NETFN_STORAGE, cmd: CMD_RESERVE_SEL, rqSeq };
}

/** Get SEL Entry of the whole record (reservation 0 is allowed for whole-record reads). */
export function getSelEntryRequest(rqSeq: number, recordId: number, reservation = 0): IpmiRequest {
  const d = Buffer.alloc(6);
  d.writeUInt16LE(reservation & 0xffff, 0);
  d.writeUInt16LE(recordId & 0xffff, 2);
  d[4] = 0;
  d[5] = 0xff;
  return { netFn: NETFN_STORAGE, cmd: CMD_GET_SEL_ENTRY, rqSeq, data: d };
}

/** Clear SEL: reservation, 'CLR', then 0xAA to start erasing or 0x00 to ask how far it got. */
export function clearSelRequest(rqSeq: number, reservation: number, start: boolean): IpmiRequest {
  const d = Buffer.from([reservation & 0xff, (reservation >> 8) & 0xff, 0x43, 0x4c, 0x52, start ? 0xaa : 0x00]);
  return { netFn: NETFN_STORAGE, cmd: CMD_CLEAR_SEL, rqSeq, data: d };
}

/** Clear SEL answer: true when erasure completed. */
export function decodeClearSel(data: Uint8Array): boolean {
  if (data.length < 1) throw bad('Clear SEL answer is empty');
  return (data[0]! & 0x0f) === 0x01;
}

export interface SelInfo {
  version: number;
  entries: number;
  freeBytes: number;
  added: number;
  erased: number;
  overflow: boolean;
}

export function decodeSelInfo(data: Uint8Array): SelInfo {
  if (data.length < 14) throw bad(`Get SEL Info answer has ${data.length} bytes, need 14`);
  const b = Buffer.from(data);
  return { version: b[0]!, entries: b.readUInt16LE(1), freeBytes: b.readUInt16LE(3), added: b.readUInt32LE(5), erased: b.readUInt32LE(9), overflow: (b[13]! & 0x80) !== 0 };
}

export interface SelEntryAnswer {
  next: number;
  record: Buffer;
}

export function decodeGetSelEntry(data: Uint8Array): SelEntryAnswer {
  if (data.length !== 2 + SEL_RECORD_LEN) throw bad(`Get SEL Entry answer has ${data.length} bytes, expected ${2 + SEL_RECORD_LEN}`);
  return { next: data[0]! | (data[1]! << 8), record: Buffer.from(data.subarray(2)) };
}

export type SelRecord =
  | {
      kind: 'system';
      id: number;
      timestamp: number;
      /** generator ID: byte 1 bit 0 = 0 means an IPMB slave address in bits 7:1 */
      generator: number;
      sensorType: number;
      sensorNumber: number;
      deassertion: boolean;
      eventType: number;
      data: [number, number, number];
    }
  | { kind: 'oem'; id: number; type: number; timestamp?: number; bytes: Buffer };

export function decodeSelRecord(r: Uint8Array): SelRecord {
  if (r.length !== SEL_RECORD_LEN) throw bad(`a SEL record has ${r.length} bytes, not 16`);
  const b = Buffer.from(r);
  const id = b.readUInt16LE(0);
  const type = b[2]!;
  if (type === 0x02) {
    return {
      kind: 'system',
      id,
      timestamp: b.readUInt32LE(3),
      generator: b.readUInt16LE(7),
      sensorType: b[10]!,
      sensorNumber: b[11]!,
      deassertion: (b[12]! & 0x80) !== 0,
      eventType: b[12]! & 0x7f,
      data: [b[13]!, b[14]!, b[15]!],
    };
  }
  if (type >= 0xc0 && type <= 0xdf) return { kind: 'oem', id, type, timestamp: b.readUInt32LE(3), bytes: b.subarray(7) };
  return { kind: 'oem', id, type, bytes: b.subarray(3) };
}

/** ISO time for real timestamps; `postinit+Ns` for seconds since the BMC started; `unknown`. */
export function selTime(ts: number | undefined): string {
  if (ts === undefined || ts === UNSPECIFIED) return 'unknown';
  if (ts <= PRE_INIT_MAX) return `postinit+${ts}s`;
  return new Date(ts * 1000).toISOString().replace('.000Z', 'Z');
}

const THRESHOLD_EVENTS = [
  'Lower Non-critical - going low',
  'Lower Non-critical - going high',
  'Lower Critical - going low',
  'Lower Critical - going high',
  'Lower Non-recoverable - going low',
  'Lower Non-recoverable - going high',
  'Upper Non-critical - going low',
  'Upper Non-critical - going high',
  'Upper Critical - going low',
  'Upper Critical - going high',
  'Upper Non-recoverable - going low',
  'Upper Non-recoverable - going high',
];

/** The sensor's name: from its SDR record (same owner and number), else `type #0xNN`. */
export function selSensorName(rec: Extract<SelRecord, { kind: 'system' }>, sdr: readonly FullSensor[]): string {
  const owner = rec.generator & 0xff;
  const s = sdr.find((x) => x.number === rec.sensorNumber && x.ownerId === owner);
  return s?.name ?? `${sensorTypeName(rec.sensorType)} #0x${rec.sensorNumber.toString(16).padStart(2, '0')}`;
}

/**
 * The event as ipmi-sel's Event column says it. Threshold events (type 01h) get the offset's
 * name and, when event data 2/3 carry them and the sensor's record is known, the trigger reading
 * and threshold in its units; other events are named by type and offset.
 */
export function selEventText(rec: SelRecord, sdr: readonly FullSensor[]): string {
  if (rec.kind === 'oem') return `OEM record type 0x${rec.type.toString(16)}: ${rec.bytes.toString('hex')}`;
  const offset = rec.data[0] & 0x0f;
  if (rec.eventType === 0x01) {
    let text = THRESHOLD_EVENTS[offset] ?? `threshold event offset 0x${offset.toString(16)}`;
    const s = sdr.find((x) => x.number === rec.sensorNumber && x.ownerId === (rec.generator & 0xff));
    if (s) {
      const unit = unitName(s);
      if (rec.data[0] >> 6 === 0x01) text += ` ; Sensor Reading = ${formatValue(convertReading(s, rec.data[1]))} ${unit}`;
      if (((rec.data[0] >> 4) & 0x03) === 0x01) text += ` ; Threshold = ${formatValue(convertReading(s, rec.data[2]))} ${unit}`;
    }
    return text;
  }
  const kind = rec.eventType === 0x6f ? 'sensor-specific' : rec.eventType >= 0x02 && rec.eventType <= 0x0c ? 'generic' : 'OEM';
  return `${kind} event type 0x${rec.eventType.toString(16).padStart(2, '0')} offset 0x${offset.toString(16)}`;
}
