/**
 * Hostile BMCs behind SENSORS (and SEL): a repository that loops, never ends, announces lengths it
 * does not send or sends more than asked. Each is an ERR_SENSORS for its node, never a crash or a
 * loop without end. The session is a fake that answers from a table, so no peer is needed.
 */
import { describe, expect, it } from 'vitest';
import { VacmError } from '../../src/protocol/errors.js';
import type { IpmiSession } from '../../src/backends/ipmi/client.js';
import type { IpmiRequest, IpmiResponse } from '../../src/backends/ipmi/protocol.js';
import { MAX_SDR_RECORDS, readSdrRepository } from '../../src/backends/ipmi/sensors.js';
import { fullSensorRecord } from '../fixtures/ipmi-sim.js';

type Answer = (req: IpmiRequest) => { cc?: number; data: number[] };

function fakeSession(answer: Answer): IpmiSession & { requests: number } {
  let rq = 0;
  const s = {
    where: 'BMC evil:623',
    requests: 0,
    rqSeq: () => (rq = (rq + 1) & 0x3f),
    async raw(req: IpmiRequest): Promise<IpmiResponse> {
      s.requests++;
      if (s.requests > 100_000) throw new Error('runaway reader');
      const a = answer(req);
      return { netFn: req.netFn | 1, cmd: req.cmd, rqSeq: req.rqSeq, completionCode: a.cc ?? 0, data: Buffer.from(a.data) };
    },
    async command(req: IpmiRequest, what: string): Promise<IpmiResponse> {
      const r = await s.raw(req);
      if (r.completionCode !== 0) throw new VacmError('ERR_IPMI', `${what} failed`);
      return r;
    },
  };
  return s;
}

/** A repository of records by id; Get SDR answers slices of them. */
function repo(records: Map<number, { next: number; bytes: number[] }>, tweak?: (id: number, off: number, n: number, data: number[]) => { cc?: number; data: number[] }): Answer {
  return (req) => {
    if (req.cmd === 0x22) return { data: [0x34, 0x12] };
    const d = Buffer.from(req.data!);
    const id = d.readUInt16LE(2);
    const off = d[4]!;
    const n = d[5]!;
    const r = records.get(id);
    if (!r) return { cc: 0xcb, data: [] };
    const data = [r.next & 0xff, r.next >> 8, ...r.bytes.slice(off, n === 0xff ? undefined : off + n)];
    return tweak ? tweak(id, off, n, data) : { data };
  };
}

const rec = (n: number) => fullSensorRecord({ number: n, name: `T${n}`, type: 1, unit: 1, raw: 0 });

async function failure(p: Promise<unknown>): Promise<VacmError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(VacmError);
    return e as VacmError;
  }
  throw new Error('expected a failure');
}

describe('SDR repository reader against a hostile BMC', () => {
  it('reads a sane repository in partial reads', async () => {
    const s = fakeSession(repo(new Map([[0, { next: 7, bytes: rec(1) }], [7, { next: 0xffff, bytes: rec(2) }]])));
    const sensors = await readSdrRepository(s);
    expect(sensors.map((x) => x.name)).toEqual(['T1', 'T2']);
    expect(s.requests).toBe(3); // Reserve SDR Repository, then one whole-record Get SDR (0xff) per record
  });

  it('a BMC that refuses whole-record reads is read 32 bytes at a time from then on', async () => {
    const asked: number[] = [];
    const s = fakeSession(repo(new Map([[0, { next: 7, bytes: rec(1) }], [7, { next: 0xffff, bytes: rec(2) }]]), (_id, _off, n, data) => {
      asked.push(n);
      return n === 0xff ? { cc: 0xca, data: [] } : { data };
    }));
    expect((await readSdrRepository(s)).map((x) => x.name)).toEqual(['T1', 'T2']);
    expect(asked).toEqual([0xff, 32, 18, 32, 18]); // refused once, never asked again: two reads a record
  });

  it('a repository that loops back is ERR_SENSORS', async () => {
    const s = fakeSession(repo(new Map([[0, { next: 1, bytes: rec(1) }], [1, { next: 0, bytes: rec(2) }]])));
    const e = await failure(readSdrRepository(s));
    expect(e.code).toBe('ERR_SENSORS');
    expect(e.message).toMatch(/loops back/);
  });

  it('a repository without end stops at the record bound', async () => {
    const s = fakeSession((req) => {
      if (req.cmd === 0x22) return { data: [1, 0] };
      const id = Buffer.from(req.data!).readUInt16LE(2);
      const bytes = rec(1);
      return { data: [(id + 1) & 0xff, (id + 1) >> 8, ...bytes.slice(Buffer.from(req.data!)[4]!, Buffer.from(req.data!)[4]! + Buffer.from(req.data!)[5]!)] };
    });
    const e = await failure(readSdrRepository(s));
    expect(e.code).toBe('ERR_SENSORS');
    expect(e.message).toContain(String(MAX_SDR_RECORDS));
  });

  it('more bytes than asked, a body that never comes, a lying length byte: ERR_SENSORS', async () => {
    const more = fakeSession(repo(new Map([[0, { next: 0xffff, bytes: rec(1) }]]), (_id, _off, n, data) => (n === 0xff ? { cc: 0xca, data: [] } : { data: [...data, 0, 0, 0] })));
    expect((await failure(readSdrRepository(more))).message).toMatch(/where \d+ were asked/);
    const empty = fakeSession(repo(new Map([[0, { next: 0xffff, bytes: rec(1) }]]), (_id, off, _n, data) => ({ data: off === 0 ? data.slice(0, 2 + 5) : data.slice(0, 2) })));
    expect((await failure(readSdrRepository(empty))).message).toMatch(/returned no bytes/);
    const lying = rec(1);
    lying[4] = 0xff; // claims 255 bytes, has 51
    const liar = fakeSession(repo(new Map([[0, { next: 0xffff, bytes: lying }]])));
    expect((await failure(readSdrRepository(liar))).code).toBe('ERR_SENSORS');
  });

  it('a reservation cancelled again and again gives up after a bound', async () => {
    const s = fakeSession(repo(new Map([[0, { next: 0xffff, bytes: rec(1) }]]), () => ({ cc: 0xc5, data: [] })));
    const e = await failure(readSdrRepository(s));
    expect(e.message).toMatch(/reservation was cancelled/);
    expect(s.requests).toBeLessThan(40);
  });

  it('a BMC that cannot return long reads (0xCA) is read in smaller chunks', async () => {
    const asked: number[] = [];
    const s = fakeSession(repo(new Map([[0, { next: 3, bytes: rec(1) }], [3, { next: 0xffff, bytes: rec(2) }]]), (_id, _off, n, data) => {
      asked.push(n);
      return n > 16 ? { cc: 0xca, data: [] } : { data };
    }));
    expect((await readSdrRepository(s)).map((x) => x.name)).toEqual(['T1', 'T2']);
    // the whole record (0xff), 32, 16 refused or taken; once small, it stays small for the next record
    expect(asked).toEqual([0xff, 32, 16, 16, 16, 2, 16, 16, 16, 2]);
  });

  it('an empty repository is no sensors', async () => {
    expect(await readSdrRepository(fakeSession(repo(new Map())))).toEqual([]);
  });
});
