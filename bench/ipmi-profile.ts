/**
 * Where the cold SENSORS time goes: N ipmi_sim BMCs, one cold read each, with the client's
 * packet counters and the wall time split into session setup, SDR read and readings. A profile, not a
 * comparison (bench/ipmi.bench.ts sets vacm beside ipmi-sensors): it prints each round, then a table
 * of the rounds' median (lowest–highest) with the load average at start and end (bench/measure.ts).
 *   npx tsx bench/ipmi-profile.ts [N]   (VACM_BENCH_RUNS rounds, default 3)
 */
import { IpmiClient, type BmcTarget } from '../src/backends/ipmi/client.js';
import { SdrCache, readSensors, cachedSdr } from '../src/backends/ipmi/sensors.js';
import { startIpmiSims, type SimSensor } from '../test/fixtures/ipmi-sim.js';
import { chassisStatusRequest } from '../src/backends/ipmi/protocol.js';
import { cell, runs, section } from './measure.js';

const SENSORS = (i: number): SimSensor[] => [
  { number: 1, name: 'CPU Temp', type: 1, unit: 1, raw: 40 + (i % 50), upper: [80, 85, 90] },
  { number: 2, name: '12V Rail', type: 2, unit: 4, raw: 200, m: 6, rExp: -2, upper: [210, 220, 230] },
  { number: 3, name: 'Fan 1', type: 4, unit: 18, raw: 20, m: 300, upper: [200, 220, 250] },
  { number: 4, name: 'Inlet Temp', type: 1, unit: 1, raw: 0xf6, signed: true, b: 5 },
];

const n = Number(process.argv[2] ?? 32);
const sims = await startIpmiSims({ count: n, firstAddress: '127.0.20.1', readyTimeoutMs: 120000, sensors: SENSORS });
const targets: BmcTarget[] = sims.bmcs.map((b) => ({ host: b.host, port: b.port, user: sims.user, password: sims.password }));
const ms = (t0: number) => (performance.now() - t0).toFixed(1);
const ROUNDS = Math.max(1, Number(process.env.VACM_BENCH_RUNS ?? 3) || 3);
const out = section(`where the cold SENSORS time goes: ${n} ipmi_sim BMCs, ${ROUNDS} rounds (ms)`);
const parts = { 'cold SENSORS, whole': [] as number[], 'warm: session setup + one status': [] as number[], 'warm: SDR read': [] as number[], 'warm: info + 4 readings': [] as number[], 'warm: one status': [] as number[], 'cold: packets sent': [] as number[], 'cold: retransmits': [] as number[] };
try {
  for (let round = 0; round < ROUNDS; round++) {
    const cold = new IpmiClient({ retries: 3, retryMs: 1000, timeoutMs: 30000 });
    let t0 = performance.now();
    await Promise.all(targets.map((t) => readSensors(cold, t, { cache: new SdrCache() })));
    const whole = ms(t0);
    const sent = cold.stats.packetsSent;
    // the same in parts, on kept sessions: setup, SDR, readings
    const warm = new IpmiClient({ retries: 3, retryMs: 1000, timeoutMs: 30000, keepSessions: 1024 });
    t0 = performance.now();
    await Promise.all(targets.map((t) => warm.session(t, undefined, async (s) => s.command(chassisStatusRequest(s.rqSeq()), 'status'), { idempotent: true })));
    const setup = ms(t0);
    t0 = performance.now();
    const cache = new SdrCache();
    await Promise.all(targets.map((t) => warm.session(t, undefined, (s) => cachedSdr(s, t, cache), { idempotent: true })));
    const sdr = ms(t0);
    t0 = performance.now();
    await Promise.all(targets.map((t) => readSensors(warm, t, { cache })));
    const readings = ms(t0);
    t0 = performance.now();
    await Promise.all(targets.map((t) => warm.session(t, undefined, async (s) => s.command(chassisStatusRequest(s.rqSeq()), 'status'), { idempotent: true })));
    const status = ms(t0);
    for (const [k, v] of [['cold SENSORS, whole', whole], ['warm: session setup + one status', setup], ['warm: SDR read', sdr], ['warm: info + 4 readings', readings], ['warm: one status', status], ['cold: packets sent', sent], ['cold: retransmits', cold.stats.retransmits]] as const) parts[k].push(Number(v));
    console.log(`round ${round}: cold SENSORS ${whole} ms (${sent} packets, ${cold.stats.retransmits} retransmits) | warm parts: session setup+status ${setup} ms, SDR read ${sdr} ms, info+4 readings ${readings} ms, one status ${status} ms`);
    await cold.close();
    await warm.close();
  }
  out.print(['part', 'median (lowest–highest)'], Object.entries(parts).map(([k, v]) => [k, cell(runs(v), k.startsWith('cold: ') ? 0 : 1)]));
} finally {
  await sims.stop();
}
