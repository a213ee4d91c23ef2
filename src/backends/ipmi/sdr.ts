/**
 * Sensor Data Records and sensor readings, pure: bytes in, values out (IPMI v2.0 sections 33-36,
 * 43). No sockets and no timers: the reading side is sensors.ts. Every value comes from a BMC and
 * is hostile: lengths are checked against the bytes actually there, never trusted, and a bad
 * record is a VacmError('ERR_SENSORS', ...), never a RangeError.
 */
import { VacmError } from '../../protocol/errors.js';
import type { IpmiRequest } from './protocol.js';

export const NETFN_SENSOR = 0x04;
export const NETFN_STORAGE = 0x0a;
export const CMD_GET_SENSOR_READING = 0x2d;
export const CMD_GET_SDR_REPOSITORY_INFO = 0x20;
export const CMD_RESERVE_SDR_REPOSITORY = 0x22;
export const CMD_GET_SDR = 0x23;

/** SDR record types (43.x) */
export const SDR_FULL_SENSOR = 0x01;
export const SDR_COMPACT_SENSOR = 0x02;
/** Record ID that ends the repository in "next record ID". */
export const SDR_LAST_RECORD = 0xffff;
export const SDR_HEADER_LEN = 5;
/** Full sensor record: the ID string starts at this offset (48 bytes of fixed fields). */
const FULL_ID_OFFSET = 48;

function bad(what: string): VacmError {
  return new VacmError('ERR_SENSORS', `malformed SDR data from the BMC: ${what}`);
}

// ---------------------------------------------------------------------------------------------
// requests

export function getSdrRepositoryInfoRequest(rqSeq: number): IpmiRequest {
  return { netFn: NETFN_STORAGE, cmd: CMD_GET_SDR_REPOSITORY_INFO, rqSeq };
}

export function reserveSdrRepositoryRequest(rqSeq: number): IpmiRequest {
  return { netFn: NETFN_STORAGE, cmd: CMD_RESERVE_SDR_REPOSITORY, rqSeq };
}

/** Get SDR: reservation (LS first), record ID, offset into the record, bytes to read (0xff: all). */
export function getSdrRequest(rqSeq: number, reservation: number, recordId: number, offset: number, count: number): IpmiRequest {
  const d = Buffer.alloc(6);
  d.writeUInt16LE(reservation & 0xffff, 0);
  d.writeUInt16LE(recordId & 0xffff, 2);
  d[4] = offset & 0xff;
  d[5] = count & 0xff;
  return { netFn: NETFN_STORAGE, cmd: CMD_GET_SDR, rqSeq, data: d };
}

export function getSensorReadingRequest(rqSeq: number, sensorNumber: number): IpmiRequest {
  return { netFn: NETFN_SENSOR, cmd: CMD_GET_SENSOR_READING, rqSeq, data: Buffer.from([sensorNumber & 0xff]) };
}

// ---------------------------------------------------------------------------------------------
// responses

export interface SdrRepositoryInfo {
  version: number;
  records: number;
  /** seconds; 0xffffffff = unspecified. Together with `erased` and `records` the cache key. */
  added: number;
  erased: number;
}

export function decodeSdrRepositoryInfo(data: Uint8Array): SdrRepositoryInfo {
  if (data.length < 13) throw bad(`Get SDR Repository Info answer has ${data.length} bytes, need 13`);
  const b = Buffer.from(data);
  return { version: b[0]!, records: b.readUInt16LE(1), added: b.readUInt32LE(5), erased: b.readUInt32LE(9) };
}

/** The cache key of a BMC's SDR repository: it changes when a record is added or erased. */
export function sdrCacheKey(info: SdrRepositoryInfo): string {
  return `${info.records}/${info.added}/${info.erased}`;
}

export function decodeReservation(data: Uint8Array): number {
  if (data.length < 2) throw bad(`reservation answer has ${data.length} bytes, need 2`);
  return data[0]! | (data[1]! << 8);
}

export interface SdrChunk {
  next: number;
  bytes: Buffer;
}

/** Get SDR answer: next record ID, then at most `asked` bytes of the record (more is refused). */
export function decodeGetSdr(data: Uint8Array, asked: number): SdrChunk {
  if (data.length < 2) throw bad(`Get SDR answer has ${data.length} bytes, need at least 2`);
  const bytes = Buffer.from(data.subarray(2));
  if (asked !== 0xff && bytes.length > asked) throw bad(`Get SDR returned ${bytes.length} bytes where ${asked} were asked`);
  return { next: data[0]! | (data[1]! << 8), bytes };
}

export interface SdrHeader {
  recordId: number;
  version: number;
  type: number;
  /** bytes after the 5-byte header, as the record claims (checked against what arrives) */
  length: number;
}

export function decodeSdrHeader(b: Uint8Array): SdrHeader {
  if (b.length < SDR_HEADER_LEN) throw bad(`record header has ${b.length} bytes, need 5`);
  return { recordId: b[0]! | (b[1]! << 8), version: b[2]!, type: b[3]!, length: b[4]! };
}

// ---------------------------------------------------------------------------------------------
// full sensor records

export type AnalogFormat = 'unsigned' | 'ones' | 'twos' | 'none';

export interface Thresholds {
  lnc?: number;
  lc?: number;
  lnr?: number;
  unc?: number;
  uc?: number;
  unr?: number;
}

export interface FullSensor {
  recordId: number;
  ownerId: number;
  ownerLun: number;
  number: number;
  entityId: number;
  entityInstance: number;
  sensorType: number;
  eventReadingType: number;
  analog: AnalogFormat;
  percentage: boolean;
  baseUnit: number;
  modifierUnit: number;
  /** 0: none, 1: base/modifier, 2: base*modifier */
  modifierUse: number;
  rateUnit: number;
  linearization: number;
  m: number;
  b: number;
  rExp: number;
  bExp: number;
  /** raw threshold bytes from the record, only the ones its readable mask names */
  rawThresholds: Readonly<Record<keyof Thresholds, number | undefined>>;
  name: string;
}

export type SdrRecord = { kind: 'full'; sensor: FullSensor } | { kind: 'other'; recordId: number; type: number };

function signed(value: number, bits: number): number {
  const top = 1 << (bits - 1);
  return value & top ? value - (1 << bits) : value;
}

const BCD_PLUS = '0123456789 -.:,_';

/** The ID string of a record from its type/length byte (43.15). Control characters are dropped. */
export function decodeIdString(typeLen: number, bytes: Uint8Array): string {
  const type = typeLen >> 6;
  const len = typeLen & 0x1f;
  const raw = bytes.subarray(0, Math.min(len, bytes.length));
  let s = '';
  if (type === 3) {
    s = Buffer.from(raw).toString('latin1');
  } else if (type === 2) {
    // 6-bit packed ASCII: four characters in three bytes, least significant bits first
    let acc = 0;
    let nbits = 0;
    for (const byte of raw) {
      acc |= byte << nbits;
      nbits += 8;
      while (nbits >= 6) {
        s += String.fromCharCode(0x20 + (acc & 0x3f));
        acc >>= 6;
        nbits -= 6;
      }
    }
  } else if (type === 1) {
    for (const byte of raw) s += BCD_PLUS[byte & 0x0f]! + BCD_PLUS[byte >> 4]!;
  } else {
    // unicode: not in FreeIPMI either; show the bytes
    s = Buffer.from(raw).toString('hex');
  }
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim();
}

/**
 * Parse one SDR record. Full sensor records (type 01h) are decoded; every other type comes back
 * as `other`. The length byte must match the bytes read, and a full record must hold its fixed
 * fields and the ID string it announces.
 */
export function parseSdrRecord(rec: Uint8Array): SdrRecord {
  const h = decodeSdrHeader(rec);
  if (rec.length !== SDR_HEADER_LEN + h.length) throw bad(`record ${h.recordId} says ${h.length} bytes after its header but has ${rec.length - SDR_HEADER_LEN}`);
  if (h.type !== SDR_FULL_SENSOR) return { kind: 'other', recordId: h.recordId, type: h.type };
  if (rec.length < FULL_ID_OFFSET) throw bad(`full sensor record ${h.recordId} has ${rec.length} bytes, need at least ${FULL_ID_OFFSET}`);
  const r = rec;
  const units1 = r[20]!;
  const analog: AnalogFormat = (['unsigned', 'ones', 'twos', 'none'] as const)[units1 >> 6]!;
  const readable = r[18]! & 0x3f; // readable threshold mask (threshold sensors)
  const thr = (bit: number, off: number): number | undefined => (readable & (1 << bit) ? r[off]! : undefined);
  const typeLen = r[47]!;
  const idLen = typeLen & 0x1f;
  if (rec.length < FULL_ID_OFFSET + idLen) throw bad(`full sensor record ${h.recordId} announces a ${idLen}-byte name but has ${rec.length - FULL_ID_OFFSET}`);
  const name = decodeIdString(typeLen, r.subarray(FULL_ID_OFFSET, FULL_ID_OFFSET + idLen)) || `sensor${r[7]!}`;
  return {
    kind: 'full',
    sensor: {
      recordId: h.recordId,
      ownerId: r[5]!,
      ownerLun: r[6]! & 0x03,
      number: r[7]!,
      entityId: r[8]!,
      entityInstance: r[9]!,
      sensorType: r[12]!,
      eventReadingType: r[13]!,
      analog,
      percentage: (units1 & 0x01) !== 0,
      modifierUse: (units1 >> 1) & 0x03,
      rateUnit: (units1 >> 3) & 0x07,
      baseUnit: r[21]!,
      modifierUnit: r[22]!,
      linearization: r[23]! & 0x7f,
      m: signed(r[24]! | ((r[25]! >> 6) << 8), 10),
      b: signed(r[26]! | ((r[27]! >> 6) << 8), 10),
      rExp: signed(r[29]! >> 4, 4),
      bExp: signed(r[29]! & 0x0f, 4),
      rawThresholds: { lnc: thr(0, 41), lc: thr(1, 40), lnr: thr(2, 39), unc: thr(3, 38), uc: thr(4, 37), unr: thr(5, 36) },
      name,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// conversion (36.3): y = L[(M*x + B*10^Bexp) * 10^Rexp]

const LINEAR: Record<number, (x: number) => number> = {
  0: (x) => x,
  1: Math.log,
  2: Math.log10,
  3: Math.log2,
  4: Math.exp,
  5: (x) => 10 ** x,
  6: (x) => 2 ** x,
  7: (x) => 1 / x,
  8: (x) => x * x,
  9: (x) => x * x * x,
  10: Math.sqrt,
  11: Math.cbrt,
};

/** The raw byte as the record's analog format reads it. */
export function rawValue(format: AnalogFormat, raw: number): number | undefined {
  const x = raw & 0xff;
  switch (format) {
    case 'unsigned':
      return x;
    case 'ones':
      return x & 0x80 ? -(0xff - x) : x;
    case 'twos':
      return x & 0x80 ? x - 0x100 : x;
    case 'none':
      return undefined;
  }
}

/** A raw reading (or threshold) in the sensor's units; undefined when it has no analog value. */
export function convertReading(s: Pick<FullSensor, 'analog' | 'linearization' | 'm' | 'b' | 'rExp' | 'bExp'>, raw: number): number | undefined {
  const x = rawValue(s.analog, raw);
  if (x === undefined) return undefined;
  const f = LINEAR[s.linearization];
  if (!f) return undefined; // 70h-7Fh non-linear (needs Get Sensor Reading Factors), or reserved
  const y = f((s.m * x + s.b * 10 ** s.bExp) * 10 ** s.rExp);
  return Number.isFinite(y) ? y : undefined;
}

/** The number as ipmi-sensors prints it: two decimals. */
export function formatValue(v: number | undefined): string {
  if (v === undefined) return 'na';
  const s = v.toFixed(2);
  return s === '-0.00' ? '0.00' : s;
}

// ---------------------------------------------------------------------------------------------
// Get Sensor Reading and FreeIPMI's interpretation

export interface SensorReading {
  raw: number;
  /** reading/state unavailable, or scanning disabled */
  unavailable: boolean;
  /** threshold comparison status bits: 0 LNC, 1 LC, 2 LNR, 3 UNC, 4 UC, 5 UNR */
  thresholdBits: number;
}

export function decodeSensorReading(data: Uint8Array): SensorReading {
  if (data.length < 2) throw bad(`Get Sensor Reading answer has ${data.length} bytes, need at least 2`);
  const flags = data[1]!;
  return { raw: data[0]!, unavailable: (flags & 0x20) !== 0 || (flags & 0x40) === 0, thresholdBits: data.length >= 3 ? data[2]! & 0x3f : 0 };
}

export type SensorStatus = 'nominal' | 'warning' | 'critical' | 'na';

/**
 * FreeIPMI's default interpretation of a threshold sensor (freeipmi_interpret_sensor.conf,
 * IPMI_Threshold_Sensor): at or past a critical or non-recoverable threshold is Critical, the
 * non-critical thresholds count as Nominal, and no reading is N/A.
 */
export function thresholdStatus(r: SensorReading | undefined): SensorStatus {
  if (!r || r.unavailable) return 'na';
  if (r.thresholdBits & 0b110110) return 'critical';
  return 'nominal';
}

// ---------------------------------------------------------------------------------------------
// units and sensor types (names as FreeIPMI prints them)

const UNITS = [
  'unspecified', 'C', 'F', 'K', 'V', 'A', 'W', 'J', 'C', 'VA', 'nits', 'lm', 'lx', 'cd', 'kPa', 'PSI', 'N', 'CFM', 'RPM', 'Hz',
  'us', 'ms', 's', 'min', 'hr', 'd', 'wk', 'mil', 'in', 'ft', 'cu in', 'cu feet', 'mm', 'cm', 'm', 'cu cm', 'cu m', 'L', 'fl. oz', 'radians',
  'steradians', 'revolutions', 'cycles', 'gravities', 'oz', 'lb', 'ft-lb', 'oz-in', 'gauss', 'gilberts', 'henry', 'millihenry', 'farad', 'microfarad', 'ohms', 'siemens', 'mole', 'becquerel', 'PPM', 'reserved',
  'Decibels', 'DbA', 'DbC', 'gray', 'sievert', 'color temp deg K', 'bit', 'kilobit', 'megabit', 'gigabit', 'byte', 'kilobyte', 'megabyte', 'gigabyte', 'word', 'dword', 'qword', 'line', 'hit', 'miss',
  'retry', 'reset', 'overflow', 'underrun', 'collision', 'packets', 'messages', 'characters', 'error', 'correctable error', 'uncorrectable error', 'fatal error', 'grams',
];
const RATES = ['', '/us', '/ms', '/s', '/min', '/hr', '/d', ''];

export function unitName(s: Pick<FullSensor, 'percentage' | 'baseUnit' | 'modifierUnit' | 'modifierUse' | 'rateUnit'>): string {
  if (s.percentage) return '%';
  const base = UNITS[s.baseUnit] ?? `unit${s.baseUnit}`;
  const mod = UNITS[s.modifierUnit] ?? `unit${s.modifierUnit}`;
  let u = s.modifierUse === 1 ? `${base}/${mod}` : s.modifierUse === 2 ? `${base}*${mod}` : base;
  u += RATES[s.rateUnit] ?? '';
  return u === 'unspecified' ? 'na' : u;
}

/** Sensor types 01h-2Ch, FreeIPMI's names in lower case with underscores. */
export const SENSOR_TYPES: readonly string[] = [
  'reserved', 'temperature', 'voltage', 'current', 'fan', 'physical_security', 'platform_security', 'processor', 'power_supply', 'power_unit',
  'cooling_device', 'other_units_based_sensor', 'memory', 'drive_slot', 'post_memory_resize', 'system_firmware_progress', 'event_logging_disabled', 'watchdog1', 'system_event', 'critical_interrupt',
  'button_switch', 'module_board', 'microcontroller_coprocessor', 'add_in_card', 'chassis', 'chip_set', 'other_fru', 'cable_interconnect', 'terminator', 'system_boot_initiated',
  'boot_error', 'os_boot', 'os_critical_stop', 'slot_connector', 'system_acpi_power_state', 'watchdog2', 'platform_alert', 'entity_presence', 'monitor_asic_ic', 'lan',
  'management_subsystem_health', 'battery', 'session_audit', 'version_change', 'fru_state',
];

export function sensorTypeName(t: number): string {
  return SENSOR_TYPES[t] ?? (t >= 0xc0 ? 'oem' : `type_0x${t.toString(16).padStart(2, '0')}`);
}

const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/** `temperature,fan` or `0x01,4` → the sensor type numbers; ERR_BAD_ARGS names an unknown one. */
export function parseSensorTypes(list: string): Set<number> {
  const out = new Set<number>();
  for (const word of list.split(',').map((w) => w.trim()).filter((w) => w !== '')) {
    let t: number | undefined;
    if (/^(0x[0-9a-f]{1,2}|\d{1,3})$/i.test(word)) t = Number(word);
    else {
      const i = SENSOR_TYPES.findIndex((n, k) => k > 0 && norm(n) === norm(word));
      if (i > 0) t = i;
    }
    if (t === undefined || t < 1 || t > 0xff) {
      throw new VacmError('ERR_BAD_ARGS', `unknown sensor type '${word.slice(0, 40)}'; use names like temperature, voltage, current, fan, power_supply (FreeIPMI's), or numbers like 0x01`);
    }
    out.add(t);
  }
  if (out.size === 0) throw new VacmError('ERR_BAD_ARGS', 'the sensor type list is empty; give e.g. temperature,fan or leave the field out');
  return out;
}
