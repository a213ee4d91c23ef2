/**
 * The I/O side of SENSORS over IPMI: read a BMC's SDR repository (Reserve SDR Repository, Get SDR
 * in partial reads), cache it per BMC keyed by Get SDR Repository Info (record count, last
 * addition and last erase time), and read every full threshold sensor with Get Sensor Reading.
 * Decoding and conversion are the pure functions of sdr.ts.
 */
import { VacmError } from '../../protocol/errors.js';
import type { BmcTarget, IpmiClient, IpmiSession } from './client.js';
import {
  SDR_HEADER_LEN,
  SDR_LAST_RECORD,
  convertReading,
  decodeGetSdr,
  decodeReservation,
  decodeSdrHeader,
  decodeSdrRepositoryInfo,
  decodeSensorReading,
  formatValue,
  getSdrRepositoryInfoRequest,
  getSdrRequest,
  getSensorReadingRequest,
  parseSdrRecord,
  reserveSdrRepositoryRequest,
  sdrCacheKey,
  thresholdStatus,
  unitName,
  type FullSensor,
  type SensorStatus,
} from './sdr.js';
import { hex2 } from './protocol.js';

/** At most this many records are read from one BMC (a BMC's record count is not trusted). */
export const MAX_SDR_RECORDS = 1024;
/**
 * Bytes asked for per Get SDR: the whole record (0xff) at first, which one read answers where the
 * BMC allows it; on 0xCA ("cannot return that many") 32, then halved down to 8. A BMC that needed
 * smaller reads keeps getting them for the rest of the repository.
 */
const CHUNK = 0xff;
/** The first size tried after a refused whole-record read: an IPMB message's data (ipmi_sim takes 33). */
const FIRST_SMALL_CHUNK = 32;
/** Re-reservations allowed per repository read (another client may keep cancelling ours). */
const MAX_RESERVATIONS = 8;
/** BMCs whose repository is cached; the oldest entry goes when a new BMC comes past this. */
const MAX_CACHED_BMCS = 8192;

const CC_RESERVATION_CANCELLED = 0xc5;
const CC_CANNOT_RETURN = 0xca;
const CC_NOT_PRESENT = 0xcb;

export interface SensorValue {
  name: string;
  type: number;
  value: string;
  unit: string;
  status: SensorStatus;
}

interface CacheEntry {
  key: string;
  sensors: FullSensor[];
}

/** Per BMC, its decoded full sensor records, valid while the repository info says the same. */
export class SdrCache {
  private readonly entries = new Map<string, CacheEntry>();
  /** repository reads (misses), for tests and diagnostics */
  reads = 0;

  get(bmc: string, key: string): FullSensor[] | undefined {
    const e = this.entries.get(bmc);
    return e && e.key === key ? e.sensors : undefined;
  }

  set(bmc: string, key: string, sensors: FullSensor[]): void {
    this.entries.delete(bmc);
    if (this.entries.size >= MAX_CACHED_BMCS) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(bmc, { key, sensors });
  }
}

function bmcKey(t: BmcTarget): string {
  return `${t.host}:${t.port ?? 623}`;
}

function sdrError(s: IpmiSession, what: string): VacmError {
  return new VacmError('ERR_SENSORS', `${s.where}: ${what}`);
}

/** Read the whole repository; full sensor records are decoded, the rest skipped. */
export async function readSdrRepository(s: IpmiSession): Promise<FullSensor[]> {
  let reservation = decodeReservation((await s.command(reserveSdrRepositoryRequest(s.rqSeq()), 'Reserve SDR Repository')).data);
  let reservations = 1;
  let chunk = CHUNK;
  const seen = new Set<number>();
  const sensors: FullSensor[] = [];
  let id = 0x0000; // the first record
  while (id !== SDR_LAST_RECORD) {
    if (seen.size >= MAX_SDR_RECORDS) throw sdrError(s, `the SDR repository has more than ${MAX_SDR_RECORDS} records; vacm reads at most that many`);
    if (seen.has(id)) throw sdrError(s, `the SDR repository loops back to record ${id}`);
    let rec: Buffer | undefined;
    let next = SDR_LAST_RECORD;
    // one record: the header first, then its body in chunks; a cancelled reservation restarts it
    for (;;) {
      const got = await readRecord(s, reservation, id, chunk);
      if (got.kind === 'ok') {
        rec = got.record;
        next = got.next;
        chunk = got.chunk;
        break;
      }
      if (got.kind === 'empty' && id === 0x0000) return sensors; // empty repository
      if (got.kind === 'empty') throw sdrError(s, `SDR record ${id} named as next record is not there`);
      if (++reservations > MAX_RESERVATIONS) throw sdrError(s, `the SDR reservation was cancelled ${MAX_RESERVATIONS} times while reading; retry when the repository is not being changed`);
      reservation = decodeReservation((await s.command(reserveSdrRepositoryRequest(s.rqSeq()), 'Reserve SDR Repository')).data);
    }
    seen.add(id);
    const parsed = parseSdrRecord(rec);
    if (parsed.kind === 'full') sensors.push(parsed.sensor);
    id = next;
  }
  return sensors;
}

type RecordRead = { kind: 'ok'; record: Buffer; next: number; chunk: number } | { kind: 'cancelled' } | { kind: 'empty' };

async function readRecord(s: IpmiSession, reservation: number, id: number, chunkIn: number): Promise<RecordRead> {
  let chunk = chunkIn;
  // from offset 0: the header and as much of the body as the BMC returns at once
  let head;
  for (;;) {
    head = await s.raw(getSdrRequest(s.rqSeq(), reservation, id, 0, chunk), `Get SDR ${id}`);
    if (head.completionCode === CC_CANNOT_RETURN && chunk > 8) {
      chunk = chunk === CHUNK ? FIRST_SMALL_CHUNK : Math.max(8, chunk >> 1);
      continue;
    }
    break;
  }
  if (head.completionCode === CC_RESERVATION_CANCELLED) return { kind: 'cancelled' };
  if (head.completionCode === CC_NOT_PRESENT) return { kind: 'empty' };
  if (head.completionCode !== 0) throw sdrError(s, `Get SDR ${id} failed with completion code ${hex2(head.completionCode)}`);
  const first = decodeGetSdr(head.data, chunk);
  const h = decodeSdrHeader(first.bytes);
  const total = SDR_HEADER_LEN + h.length; // at most 260: the length is one byte
  // bytes past the record's own length (a BMC may pad a read that runs over its end) are not part of it
  const parts: Buffer[] = [first.bytes.subarray(0, total)];
  let have = parts[0]!.length;
  while (have < total) {
    const want = Math.min(chunk, total - have);
    const rsp = await s.raw(getSdrRequest(s.rqSeq(), reservation, id, have, want), `Get SDR ${id} at ${have}`);
    if (rsp.completionCode === CC_RESERVATION_CANCELLED) return { kind: 'cancelled' };
    if (rsp.completionCode === CC_CANNOT_RETURN && want > 8) {
      chunk = Math.max(8, want >> 1);
      continue;
    }
    if (rsp.completionCode !== 0) throw sdrError(s, `Get SDR ${id} at offset ${have} failed with completion code ${hex2(rsp.completionCode)}`);
    const part = decodeGetSdr(rsp.data, want);
    if (part.bytes.length === 0) throw sdrError(s, `Get SDR ${id} at offset ${have} returned no bytes`);
    parts.push(part.bytes);
    have += part.bytes.length;
  }
  return { kind: 'ok', record: Buffer.concat(parts), next: first.next, chunk };
}

/** The BMC's full sensor records: from the cache while Get SDR Repository Info says the same. */
export async function cachedSdr(s: IpmiSession, t: BmcTarget, cache: SdrCache): Promise<FullSensor[]> {
  const info = decodeSdrRepositoryInfo((await s.command(getSdrRepositoryInfoRequest(s.rqSeq()), 'Get SDR Repository Info')).data);
  const key = sdrCacheKey(info);
  let sensors = cache.get(bmcKey(t), key);
  if (!sensors) {
    sensors = await readSdrRepository(s);
    cache.reads++;
    cache.set(bmcKey(t), key, sensors);
  }
  return sensors;
}

export interface ReadSensorsOptions {
  cache: SdrCache;
  /** only these sensor types (undefined: all) */
  types?: ReadonlySet<number>;
  signal?: AbortSignal;
}

/**
 * Every full threshold sensor of a BMC with its value, unit and status, in repository order.
 * One session: repository info (and the repository when it changed), then one Get Sensor
 * Reading per sensor. Sensors owned by another controller or LUN, or with no reading, are `na`.
 */
export async function readSensors(client: IpmiClient, t: BmcTarget, opts: ReadSensorsOptions): Promise<SensorValue[]> {
  return client.session(t, opts.signal, async (s) => {
    const sensors = await cachedSdr(s, t, opts.cache);
    const out: SensorValue[] = [];
    for (const sn of sensors) {
      if (sn.eventReadingType !== 0x01) continue; // threshold sensors only
      if (opts.types && !opts.types.has(sn.sensorType)) continue;
      const unit = unitName(sn);
      if (sn.ownerId !== 0x20 || sn.ownerLun !== 0) {
        out.push({ name: sn.name, type: sn.sensorType, value: 'na', unit, status: 'na' });
        continue;
      }
      const rsp = await s.raw(getSensorReadingRequest(s.rqSeq(), sn.number), `Get Sensor Reading ${sn.number}`);
      if (rsp.completionCode !== 0) {
        out.push({ name: sn.name, type: sn.sensorType, value: 'na', unit, status: 'na' });
        continue;
      }
      const reading = decodeSensorReading(rsp.data);
      const value = reading.unavailable ? undefined : convertReading(sn, reading.raw);
      out.push({ name: sn.name, type: sn.sensorType, value: formatValue(value), unit, status: value === undefined ? 'na' : thresholdStatus(reading) });
    }
    return out;
  }, { idempotent: true });
}
