/**
 * The agent spelling's reader alone (issue 18 row 3): µs of CPU per datagram of `readAgentSpelling`
 * and of `JSON.parse` over the same N agents' datagrams (as the bench's agents send them, and with
 * the stats a real agent sends: decimals, negative numbers, longer strings), this tree's reader
 * beside another build's (`VACM_BENCH_BEFORE=/old/dist`), interleaved rounds. Prints; never asserts.
 *
 *   npx tsx bench/collector-reader.ts [agents]
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { deriveNodeKey, encodeAgentMsg, readAgentSpelling } from '../src/protocol/agent-msg.js';
import { cell, interleave, ratio, section } from './measure.js';

type Reader = typeof readAgentSpelling;
const stats = (i: number) => ({ load1: (i % 97) / 10, load5: 1.25, load15: 0.98, cpu: (i % 1000) / 10, mem_used_pct: 40.7, mem_total: 68719476736, mem_used: 27487790694, swap_used_pct: 0, disk_used_pct: 31.5, uptime: 123456 + i, net_rx_bps: 1000.5, net_tx_bps: 2000, temp_cpu: 47.25, os: 'Debian GNU/Linux 12 (bookworm)', kernel: '6.1.0-18-amd64' });

function perDatagram(texts: string[], f: (t: string) => unknown): number {
  let sink = 0;
  const c0 = process.cpuUsage();
  for (const t of texts) if (f(t) !== undefined) sink++;
  const c = process.cpuUsage(c0);
  if (sink !== texts.length) throw new Error('a datagram was not read: the bench is wrong');
  return (c.user + c.system) / texts.length;
}

export async function bench(): Promise<void> {
  const agents = Number(process.argv[2]) || 10_000;
  const rounds = Math.max(1, Number(process.env.VACM_BENCH_RUNS ?? 10) || 10);
  const texts = Array.from({ length: agents }, (_, i) => {
    const node = `a${String(i + 1).padStart(5, '0')}`;
    return encodeAgentMsg({ v: 2, kind: 'status', node, boot: 'f3a9c2d1', seq: 1000 + i, ts: 1_800_000_000_000 + i, iv: 1, stats: stats(i) }, deriveNodeKey('bench', node)).bytes.toString('latin1');
  });
  const cases: Record<string, () => number> = {
    'JSON.parse alone': () => perDatagram(texts, (t) => JSON.parse(t)),
    'readAgentSpelling (now)': () => perDatagram(texts, readAgentSpelling),
  };
  if (process.env.VACM_BENCH_BEFORE) {
    const old = ((await import(pathToFileURL(path.resolve(process.env.VACM_BENCH_BEFORE, 'protocol', 'agent-wire.js')).href)) as { readAgentSpelling: Reader }).readAgentSpelling;
    cases['readAgentSpelling (before)'] = () => perDatagram(texts, old);
  }
  for (const f of Object.values(cases)) f(); // the JIT's warm-up
  const out = section(`the agent spelling's reader: ${agents} datagrams (15 stats, ~${texts[0].length} bytes), ${rounds} interleaved rounds; µs of CPU per datagram`);
  const r = await interleave(cases, rounds);
  const notes = [];
  if (r['readAgentSpelling (before)']) notes.push(`now / before: ${ratio(r['readAgentSpelling (now)'], r['readAgentSpelling (before)'])}`);
  out.print(['case', 'µs CPU per datagram'], Object.keys(cases).map((k) => [k, cell(r[k], 2)]), notes);
}

if (import.meta.url === `file://${process.argv[1]}`) await bench();
