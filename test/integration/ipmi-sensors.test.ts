/**
 * SENSORS:GET against real OpenIPMI ipmi_sim BMCs whose SDRs hold full sensor records with
 * different values and thresholds per BMC; every value, unit and status is checked against
 * FreeIPMI's ipmi-sensors and ipmitool's `sdr list` on the same BMCs.
 */
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeIpmiSensors, ipmiSimAvailable, startIpmiSims, typeIntoSim, type IpmiSims, type SensorRow, type SimSensor } from '../fixtures/ipmi-sim.js';
import { messages, powerEngine, type Harness } from '../backends/power/harness.js';
import { createSensorsModule } from '../../src/backends/sensors/module.js';
import { hasBinary } from '../helpers/peers.js';

const run = promisify(execFile);
const have = ipmiSimAvailable() && hasBinary('ipmitool') && hasBinary('ipmi-sensors');
const COUNT = 4;
const PASSWORD = 'pw-sens-41';
const FIRST = 101; // 127.0.21.101-104

/** Per BMC: a CPU temperature across its thresholds, a scaled voltage, a fan with a 10-bit M, a signed inlet temperature. */
function sensorsOf(i: number): SimSensor[] {
  return [
    { number: 1, name: 'CPU Temp', type: 1, unit: 1, raw: [42, 82, 86, 95][i]!, upper: [80, 85, 90] },
    { number: 2, name: '12V Rail', type: 2, unit: 4, raw: 195 + i * 3, m: 6, rExp: -2, upper: [210, 220, 230] },
    { number: 3, name: 'Fan 1', type: 4, unit: 18, raw: 20 + i, m: 300, upper: [200, 220, 250] },
    { number: 4, name: 'Inlet Temp', type: 1, unit: 1, raw: 0xf6 + i, signed: true, b: 5, bExp: 0 },
  ];
}

async function ipmitoolSdr(host: string): Promise<Record<string, number>> {
  const { stdout } = await run('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', host, '-U', 'admin', '-P', PASSWORD, 'sdr', 'list'], { timeout: 20000 });
  const out: Record<string, number> = {};
  for (const l of stdout.trim().split('\n')) {
    const [name, reading] = l.split('|').map((s) => s.trim());
    out[name!] = Number(/^(-?[\d.]+)/.exec(reading!)?.[1]);
  }
  return out;
}

function sensorRows(lines: string[], node: string): SensorRow[] {
  const rows: SensorRow[] = [];
  for (const l of lines) {
    const m = /^SENSORS:\d+:SENSOR:([^:]+):([^:]+):([^:]+):([^:]+):([a-z]+)$/.exec(l);
    if (m && m[1] === node) rows.push({ name: m[2]!, value: m[3]!, unit: m[4]!, status: m[5]! });
  }
  return rows;
}

describe.skipIf(!have)('SENSORS:GET against ipmi_sim (needs openipmi, ipmitool, freeipmi-tools)', () => {
  let sims: IpmiSims;
  let h: Harness;
  let dir: string;
  let sensors: ReturnType<typeof createSensorsModule>;

  const nodes = Array.from({ length: COUNT }, (_, i) => `bmc${i + 1}`);

  beforeAll(async () => {
    sims = await startIpmiSims({ count: COUNT, firstAddress: `127.0.21.${FIRST}`, user: 'admin', password: PASSWORD, sensors: sensorsOf, console: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-sensors-'));
    const pwFile = path.join(dir, 'bmc.pass');
    fs.writeFileSync(pwFile, PASSWORD + '\n', { mode: 0o600 });
    sensors = createSensorsModule({ ipmi: { bindAddress: '127.0.0.1', retryMs: 500 } });
    h = await powerEngine(
      `
cluster: sensorlab
nodes:
${nodes.map((n, i) => `  - names: ${n}\n    vars: { bmc_host: ${sims.bmcs[i]!.host}, bmc_user: admin, bmc_password_file: ${pwFile} }`).join('\n')}
  - names: plain
    vars: {}
`,
      { extra: [sensors] },
    );
  }, 60000);

  afterAll(async () => {
    await h?.close();
    await sims?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('every value, unit and status equals ipmi-sensors, and every value equals ipmitool sdr', async () => {
    const { lines, view } = await h.run(`SENSORS:GET:bmc[1-${COUNT}]`);
    expect(view.state).toBe('completed');
    expect(view.failed).toBe(0);
    const statuses: string[] = [];
    for (const [i, node] of nodes.entries()) {
      const host = sims.bmcs[i]!.host;
      const cache = fs.mkdtempSync(path.join(dir, 'fcache-'));
      const ours = sensorRows(lines, node);
      expect(ours).toEqual(await freeIpmiSensors(host, PASSWORD, cache));
      const tool = await ipmitoolSdr(host);
      expect(Object.fromEntries(ours.map((r) => [r.name, Number(r.value)]))).toEqual(tool);
      statuses.push(ours[0]!.status);
    }
    // the CPU sensor crosses its thresholds from BMC to BMC (FreeIPMI: non-critical is still nominal)
    expect(statuses).toEqual(['nominal', 'nominal', 'critical', 'critical']);
    expect(sensorRows(lines, 'bmc1')).toEqual([
      { name: 'CPU Temp', value: '42.00', unit: 'C', status: 'nominal' },
      { name: '12V Rail', value: '11.70', unit: 'V', status: 'nominal' },
      { name: 'Fan 1', value: '6000.00', unit: 'RPM', status: 'nominal' },
      { name: 'Inlet Temp', value: '-5.00', unit: 'C', status: 'nominal' },
    ]);
  }, 60000);

  it('reads the SDR once per BMC while its add/erase times stay, and sees a changed value; types filter; a node without a BMC is unsupported', async () => {
    await h.run(`SENSORS:GET:bmc[1-${COUNT}]`);
    const reads = sensors.cache.reads;
    await typeIntoSim(sims.bmcs[1]!, 'sensor_set_value 0x20 0 1 87 0');
    const { lines } = await h.run(`SENSORS:GET:bmc[1-${COUNT}]:temperature`);
    expect(sensors.cache.reads).toBe(reads); // the repository did not change: no SDR re-read
    expect(sensorRows(lines, 'bmc2')).toEqual([
      { name: 'CPU Temp', value: '87.00', unit: 'C', status: 'critical' },
      { name: 'Inlet Temp', value: '-4.00', unit: 'C', status: 'nominal' },
    ]);
    const fan = await h.run('SENSORS:GET:bmc1:fan');
    expect(sensorRows(fan.lines, 'bmc1').map((r) => r.name)).toEqual(['Fan 1']);

    const none = await h.run('SENSORS:GET:plain');
    expect(none.view.failed).toBe(1);
    expect(none.lines.some((l) => l.includes(':ERROR:plain:ERR_UNSUPPORTED:'))).toBe(true);
    expect(messages(none.events).plain).toMatch(/bmc_host/);

    const bad = await h.run('SENSORS:GET:bmc1:warp_coils');
    expect(bad.view.state).toBe('failed');
    expect(bad.view.error?.code).toBe('ERR_BAD_ARGS');
  }, 60000);
});
