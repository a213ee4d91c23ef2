/**
 * Where warm POWER:STATUS time goes: N ipmi_sim BMCs on kept sessions, one Get Chassis Status each
 * against one Get Device ID each, interleaved, median of the rounds. Both are one request and one
 * reply in the same session, with the same crypto on both sides; only the BMC's work differs:
 * ipmi_sim answers Get Chassis Status by running its chassis_control script ("get power": a shell,
 * a cat, test/fixtures/ipmi-sim.ts) and Get Device ID from memory. The difference is ipmi_sim's.
 *   npx tsx bench/ipmi-warm-floor.ts [N] [rounds]
 */
import { IpmiClient, type BmcTarget } from '../src/backends/ipmi/client.js';
import { startIpmiSims } from '../test/fixtures/ipmi-sim.js';
import { chassisStatusRequest, getDeviceIdRequest } from '../src/backends/ipmi/protocol.js';

const n = Number(process.argv[2] ?? 128);
const rounds = Number(process.argv[3] ?? 5);
const sims = await startIpmiSims({ count: n, firstAddress: '127.0.20.1', readyTimeoutMs: 120000 });
const targets: BmcTarget[] = sims.bmcs.map((b) => ({ host: b.host, port: b.port, user: sims.user, password: sims.password }));
const client = new IpmiClient({ retries: 3, retryMs: 1000, timeoutMs: 30000, keepSessions: 1024 });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  await Promise.all(targets.map((t) => client.powerStatus(t))); // open and keep a session per BMC
  const t = { status: [] as number[], deviceId: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    let t0 = performance.now();
    await Promise.all(targets.map((x) => client.powerStatus(x)));
    t.status.push((performance.now() - t0) / 1000);
    t0 = performance.now();
    await Promise.all(targets.map((x) => client.session(x, undefined, (s) => s.command(getDeviceIdRequest(s.rqSeq()), 'Get Device ID'), { idempotent: true })));
    t.deviceId.push((performance.now() - t0) / 1000);
  }
  // one BMC alone, many times: the per-request cost without 128 processes competing for 2 cores
  const one = targets[0]!;
  const single = { status: [] as number[], deviceId: [] as number[] };
  for (let r = 0; r < 20; r++) {
    let t0 = performance.now();
    await client.session(one, undefined, (s) => s.command(chassisStatusRequest(s.rqSeq()), 'Get Chassis Status'), { idempotent: true });
    single.status.push((performance.now() - t0) * 1000);
    t0 = performance.now();
    await client.session(one, undefined, (s) => s.command(getDeviceIdRequest(s.rqSeq()), 'Get Device ID'), { idempotent: true });
    single.deviceId.push((performance.now() - t0) * 1000);
  }
  console.log(`| ${n} BMCs, kept sessions | Get Chassis Status (POWER:STATUS) | Get Device ID |`);
  console.log('| --- | --- | --- |');
  console.log(`| all at once, median of ${rounds} | ${median(t.status).toFixed(3)} s (${Math.min(...t.status).toFixed(3)}-${Math.max(...t.status).toFixed(3)}) | ${median(t.deviceId).toFixed(3)} s (${Math.min(...t.deviceId).toFixed(3)}-${Math.max(...t.deviceId).toFixed(3)}) |`);
  console.log(`| one BMC, median of 20 | ${median(single.status).toFixed(0)} µs | ${median(single.deviceId).toFixed(0)} µs |`);
  console.log(`client: ${JSON.stringify(client.stats)}`);
} finally {
  await client.close();
  await sims.stop();
}
