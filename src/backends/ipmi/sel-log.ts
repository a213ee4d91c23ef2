/**
 * The I/O side of SEL over IPMI: Get SEL Info, the records one Get SEL Entry at a time (named
 * through the BMC's cached SDR), and Clear SEL under a reservation. Decoding is sel.ts.
 */
import { VacmError } from '../../protocol/errors.js';
import type { BmcTarget, IpmiClient, IpmiSession } from './client.js';
import { hex2 } from './protocol.js';
import { cachedSdr, type SdrCache } from './sensors.js';
import {
  SEL_LAST_RECORD,
  clearSelRequest,
  decodeClearSel,
  decodeGetSelEntry,
  decodeSelInfo,
  decodeSelRecord,
  getSelEntryRequest,
  getSelInfoRequest,
  reserveSelRequest,
  selEventText,
  selSensorName,
  selTime,
  type SelInfo,
  type SelRecord,
} from './sel.js';
import type { FullSensor } from './sdr.js';
import { decodeReservation } from './sdr.js';

/** At most this many records are read from one BMC (a 64 KiB SEL holds 4096). */
export const MAX_SEL_RECORDS = 4096;
const CC_NOT_PRESENT = 0xcb;
/** Clear SEL: how often to ask whether erasing finished, and how long between. */
const CLEAR_POLLS = 50;
const CLEAR_POLL_MS = 100;

export interface SelEntry {
  id: number;
  time: string;
  sensor: string;
  event: string;
  direction: 'asserted' | 'deasserted';
}

export interface SelInfoView extends SelInfo {
  addedText: string;
  erasedText: string;
}

function view(info: SelInfo): SelInfoView {
  return { ...info, addedText: selTime(info.added), erasedText: selTime(info.erased) };
}

async function info(s: IpmiSession): Promise<SelInfo> {
  return decodeSelInfo((await s.command(getSelInfoRequest(s.rqSeq()), 'Get SEL Info')).data);
}

/** The last `count` records (all when undefined), oldest first. */
export async function readSel(client: IpmiClient, t: BmcTarget, opts: { cache: SdrCache; count?: number; signal?: AbortSignal }): Promise<SelEntry[]> {
  return client.session(t, opts.signal, async (s) => {
    const sdr = await cachedSdr(s, t, opts.cache);
    const i = await info(s);
    if (i.entries === 0) return [];
    return (await walkSel(s, sdr, 0x0000, opts.count)).entries;
  }, { idempotent: true });
}

/** Follow the SEL from record `start` to its end: the last `keep` records (all when undefined), and the last record's id. */
async function walkSel(s: IpmiSession, sdr: readonly FullSensor[], start: number, keep: number | undefined): Promise<{ entries: SelEntry[]; lastId?: number; walked: number }> {
  const out: SelEntry[] = [];
  const seen = new Set<number>();
  let lastId: number | undefined;
  let id = start;
  while (id !== SEL_LAST_RECORD) {
    if (seen.size >= MAX_SEL_RECORDS) throw new VacmError('ERR_IPMI', `${s.where}: the SEL has more than ${MAX_SEL_RECORDS} records; vacm reads at most that many`);
    if (seen.has(id)) throw new VacmError('ERR_IPMI', `${s.where}: the SEL loops back to record ${id}`);
    seen.add(id);
    const rsp = await s.raw(getSelEntryRequest(s.rqSeq(), id), `Get SEL Entry ${id}`);
    if (rsp.completionCode === CC_NOT_PRESENT && id === 0) break; // emptied meanwhile
    if (rsp.completionCode !== 0) throw new VacmError('ERR_IPMI', `${s.where}: Get SEL Entry ${id} failed with completion code ${hex2(rsp.completionCode)}`);
    const a = decodeGetSelEntry(rsp.data);
    const rec = decodeSelRecord(a.record);
    out.push(entryOf(rec, sdr));
    lastId = rec.id;
    if (keep !== undefined && out.length > keep) out.shift();
    id = a.next;
  }
  return { entries: out, lastId, walked: seen.size };
}

function entryOf(rec: SelRecord, sdr: readonly FullSensor[]): SelEntry {
  return {
    id: rec.id,
    time: selTime(rec.timestamp),
    sensor: rec.kind === 'system' ? selSensorName(rec, sdr) : 'oem',
    event: selEventText(rec, sdr),
    direction: rec.kind === 'system' && rec.deassertion ? 'deasserted' : 'asserted',
  };
}

/** Where a poll left a BMC's SEL: its add and erase times then, and the id of its last record. */
export interface SelMark {
  readonly added: number;
  readonly erased: number;
  readonly lastId?: number;
}

export interface SelSince {
  mark: SelMark;
  /** the first poll: the last `baseline` records (not news); later polls: the records added since */
  entries: SelEntry[];
  /** entries are records added since `since` */
  fresh: boolean;
  /** records added since, beyond the `maxNew` returned */
  dropped: number;
}

/**
 * The records added since the last poll. Get SEL Info first: the same add and erase times mean
 * nothing new (one round trip). Else, with the log not erased meanwhile, from the record after the
 * last one seen (Get SEL Entry of it names the next); after an erase, or when that record is gone,
 * every record is new. The first poll (no `since`) only marks the end and hands the last
 * `baseline` records back as what is already there.
 */
export async function readSelSince(client: IpmiClient, t: BmcTarget, opts: { cache: SdrCache; since?: SelMark; baseline: number; maxNew: number; signal?: AbortSignal }): Promise<SelSince> {
  return client.session(t, opts.signal, async (s) => {
    const i = await info(s);
    const since = opts.since;
    if (since && since.added === i.added && since.erased === i.erased) return { mark: since, entries: [], fresh: true, dropped: 0 };
    const sdr = await cachedSdr(s, t, opts.cache);
    if (!since) {
      const w = i.entries === 0 ? { entries: [], lastId: undefined } : await walkSel(s, sdr, 0x0000, opts.baseline);
      return { mark: { added: i.added, erased: i.erased, lastId: w.lastId }, entries: w.entries, fresh: false, dropped: 0 };
    }
    let start = 0x0000;
    if (since.erased === i.erased && since.lastId !== undefined) {
      const rsp = await s.raw(getSelEntryRequest(s.rqSeq(), since.lastId), `Get SEL Entry ${since.lastId}`);
      if (rsp.completionCode === 0) start = decodeGetSelEntry(rsp.data).next;
      else if (rsp.completionCode !== CC_NOT_PRESENT) throw new VacmError('ERR_IPMI', `${s.where}: Get SEL Entry ${since.lastId} failed with completion code ${hex2(rsp.completionCode)}`);
    }
    if (start === SEL_LAST_RECORD || i.entries === 0) return { mark: { added: i.added, erased: i.erased, lastId: i.entries === 0 ? undefined : since.lastId }, entries: [], fresh: true, dropped: 0 };
    const w = await walkSel(s, sdr, start, opts.maxNew);
    return { mark: { added: i.added, erased: i.erased, lastId: w.lastId ?? since.lastId }, entries: w.entries, fresh: true, dropped: Math.max(0, w.walked - w.entries.length) };
  }, { idempotent: true });
}

export async function readSelInfo(client: IpmiClient, t: BmcTarget, signal?: AbortSignal): Promise<SelInfoView> {
  return client.session(t, signal, async (s) => view(await info(s)), { idempotent: true });
}

/** Reserve the SEL, start erasing, wait (bounded) until the BMC says it is done; then its info. */
export async function clearSel(client: IpmiClient, t: BmcTarget, signal?: AbortSignal): Promise<SelInfoView> {
  return client.session(t, signal, async (s) => {
    const reservation = decodeReservation((await s.command(reserveSelRequest(s.rqSeq()), 'Reserve SEL')).data);
    let done = decodeClearSel((await s.command(clearSelRequest(s.rqSeq(), reservation, true), 'Clear SEL')).data);
    for (let i = 0; !done && i < CLEAR_POLLS; i++) {
      await new Promise((r) => setTimeout(r, CLEAR_POLL_MS));
      done = decodeClearSel((await s.command(clearSelRequest(s.rqSeq(), reservation, false), 'Clear SEL (status)')).data);
    }
    if (!done) throw new VacmError('ERR_TIMEOUT', `${s.where}: the BMC did not finish erasing its SEL within ${(CLEAR_POLLS * CLEAR_POLL_MS) / 1000} s; check SEL:INFO later`);
    return view(await info(s));
  });
}
