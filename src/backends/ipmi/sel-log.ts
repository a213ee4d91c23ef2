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
} from './sel.js';
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
    const out: SelEntry[] = [];
    const seen = new Set<number>();
    let id = 0x0000;
    while (id !== SEL_LAST_RECORD) {
      if (seen.size >= MAX_SEL_RECORDS) throw new VacmError('ERR_IPMI', `${s.where}: the SEL has more than ${MAX_SEL_RECORDS} records; vacm reads at most that many`);
      if (seen.has(id)) throw new VacmError('ERR_IPMI', `${s.where}: the SEL loops back to record ${id}`);
      seen.add(id);
      const rsp = await s.raw(getSelEntryRequest(s.rqSeq(), id), `Get SEL Entry ${id}`);
      if (rsp.completionCode === CC_NOT_PRESENT && id === 0) break; // emptied meanwhile
      if (rsp.completionCode !== 0) throw new VacmError('ERR_IPMI', `${s.where}: Get SEL Entry ${id} failed with completion code ${hex2(rsp.completionCode)}`);
      const a = decodeGetSelEntry(rsp.data);
      const rec = decodeSelRecord(a.record);
      out.push({
        id: rec.id,
        time: selTime(rec.timestamp),
        sensor: rec.kind === 'system' ? selSensorName(rec, sdr) : 'oem',
        event: selEventText(rec, sdr),
        direction: rec.kind === 'system' && rec.deassertion ? 'deasserted' : 'asserted',
      });
      if (opts.count !== undefined && out.length > opts.count) out.shift();
      id = a.next;
    }
    return out;
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
