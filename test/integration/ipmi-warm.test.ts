/**
 * Warm IPMI sessions against real OpenIPMI ipmi_sim BMCs (127.0.21.161-164): POWER, SENSORS and
 * SEL share one client in the engine, which keeps one session per BMC. The first sweep opens a
 * session per BMC, the next ones open none (counted by the client), and after every ipmi_sim is
 * restarted (its sessions forgotten) the next sweep reopens and every node still answers, as
 * ipmitool agrees.
 */
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipmiSimAvailable, startIpmiSims, type IpmiSims, type SimSensor } from '../fixtures/ipmi-sim.js';
import { powerEngine, results, type Harness } from '../backends/power/harness.js';
import { createSensorsModule } from '../../src/backends/sensors/module.js';
import { createSelModule } from '../../src/backends/sel/module.js';
import { hasBinary } from '../helpers/peers.js';

const run = promisify(execFile);
const have = ipmiSimAvailable() && hasBinary('ipmitool');
const COUNT = 4;
const PASSWORD = 'pw-warm-93';
const FIRST = 161; // 127.0.21.161-164

const sensorsOf = (i: number): SimSensor[] => [{ number: 1, name: 'CPU Temp', type: 1, unit: 1, raw: 40 + i, upper: [80, 85, 90] }];

async function ipmitool(host: string): Promise<string> {
  const { stdout } = await run('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', host, '-U', 'admin', '-P', PASSWORD, 'chassis', 'power', 'status'], { timeout: 15000 });
  const m = /Chassis Power is (on|off)/.exec(stdout);
  if (!m) throw new Error(`unexpected ipmitool output: ${stdout}`);
  return m[1]!;
}

describe.skipIf(!have)('warm IPMI sessions shared by POWER, SENSORS and SEL (needs openipmi and ipmitool)', () => {
  let sims: IpmiSims;
  let h: Harness;
  let dir: string;
  let sensors: ReturnType<typeof createSensorsModule>;
  const nodes = Array.from({ length: COUNT }, (_, i) => `bmc${i + 1}`);
  const stats = () => sensors.client().stats;

  beforeAll(async () => {
    sims = await startIpmiSims({ count: COUNT, firstAddress: `127.0.21.${FIRST}`, user: 'admin', password: PASSWORD, sensors: sensorsOf, sel: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-warm-'));
    const pwFile = path.join(dir, 'bmc.pass');
    fs.writeFileSync(pwFile, PASSWORD + '\n', { mode: 0o600 });
    sensors = createSensorsModule({ ipmi: { bindAddress: '127.0.0.1', retryMs: 500 } });
    h = await powerEngine(
      `
cluster: warmlab
nodes:
${nodes.map((n, i) => `  - names: ${n}\n    vars: { power: ipmi, bmc_host: ${sims.bmcs[i]!.host}, bmc_user: admin, bmc_password_file: ${pwFile} }`).join('\n')}
`,
      { ipmi: { shared: sensors.client }, extra: [sensors, createSelModule({ client: sensors.client, cache: sensors.cache })] },
    );
  }, 60000);

  afterAll(async () => {
    await h?.close();
    await sims?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const allOff = Object.fromEntries(nodes.map((n) => [n, 'off']));

  it('the first sweep opens one session per BMC; the second, SENSORS and SEL open none', async () => {
    const first = await h.run(`POWER:STATUS:bmc[1-${COUNT}]`);
    expect(results(first.lines)).toEqual(allOff);
    expect(stats().sessionsOpened).toBe(COUNT);
    expect(stats().sessionsKept).toBe(COUNT);

    const second = await h.run(`POWER:STATUS:bmc[1-${COUNT}]`);
    expect(results(second.lines)).toEqual(allOff);
    expect(await Promise.all(sims.bmcs.map((b) => ipmitool(b.host)))).toEqual(nodes.map(() => 'off'));

    const temps = await h.run(`SENSORS:GET:bmc[1-${COUNT}]`);
    expect(temps.lines.filter((l) => l.includes(':SENSOR:')).map((l) => l.split(':').slice(3).join(':')).sort()).toEqual(nodes.map((n, i) => `${n}:CPU Temp:${40 + i}.00:C:nominal`));
    const sel = await h.run(`SEL:INFO:bmc[1-${COUNT}]`);
    expect(sel.view.failed).toBe(0);
    expect(stats().sessionsOpened).toBe(COUNT);
    expect(stats().sessionsReused).toBe(3 * COUNT);
  }, 60000);

  it('switching on goes over the kept sessions too (one check, then the command), and ipmitool agrees', async () => {
    const on = await h.run(`POWER:CYCLE:bmc[1-2]`);
    expect(results(on.lines)).toEqual({ bmc1: 'on', bmc2: 'on' });
    const off = await h.run(`POWER:OFF:bmc[1-2]`);
    expect(results(off.lines)).toEqual({ bmc1: 'off', bmc2: 'off' });
    expect(await Promise.all(sims.bmcs.map((b) => ipmitool(b.host)))).toEqual(nodes.map(() => 'off'));
    expect(stats().sessionsOpened).toBe(COUNT);
  }, 60000);

  it('after every ipmi_sim restarts, the next sweep reopens a session per BMC and succeeds; the one after opens none', async () => {
    await sims.restart();
    const opened = stats().sessionsOpened;
    const stale = stats().sessionsStale;
    const after = await h.run(`POWER:STATUS:bmc[1-${COUNT}]`);
    expect(results(after.lines)).toEqual(allOff);
    expect(stats().sessionsOpened - opened).toBe(COUNT);
    expect(stats().sessionsStale - stale).toBe(COUNT);
    const again = await h.run(`SENSORS:GET:bmc[1-${COUNT}]`);
    expect(again.view.failed).toBe(0);
    expect(stats().sessionsOpened - opened).toBe(COUNT);
  }, 90000);
});
