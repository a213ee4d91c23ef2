/**
 * SEL:LIST, SEL:INFO and SEL:CLEAR against real OpenIPMI ipmi_sim BMCs, each with its own event
 * log; every record is checked against FreeIPMI's ipmi-sel and the counts against ipmitool.
 */
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipmiSimAvailable, selThresholdEvent, simSelAdd, startIpmiSims, type IpmiSims, type SimSensor } from '../fixtures/ipmi-sim.js';
import { powerEngine, type Harness } from '../backends/power/harness.js';
import { createSensorsModule } from '../../src/backends/sensors/module.js';
import { createSelModule } from '../../src/backends/sel/module.js';
import { hasBinary } from '../helpers/peers.js';

const run = promisify(execFile);
const have = ipmiSimAvailable() && hasBinary('ipmitool') && hasBinary('ipmi-sel');
const COUNT = 3;
const PASSWORD = 'pw-sel-77';
const FIRST = 111; // 127.0.21.111-113

const sensorsOf = (): SimSensor[] => [
  { number: 1, name: 'CPU Temp', type: 1, unit: 1, raw: 42, upper: [80, 85, 90] },
  { number: 2, name: '12V Rail', type: 2, unit: 4, raw: 200, m: 6, rExp: -2, upper: [210, 220, 230] },
];

function selOf(i: number): number[][] {
  const recs = [selThresholdEvent(1, 1, false, 7, 82, 80), selThresholdEvent(2, 2, false, 9, 221, 220)];
  if (i >= 1) recs.push(selThresholdEvent(1, 1, true, 7, 79, 80));
  if (i >= 2) recs.push(selThresholdEvent(1, 1, false, 9, 86, 85), selThresholdEvent(1, 1, false, 0x0b, 91, 90));
  return recs;
}

interface Row {
  id: string;
  postInit: boolean;
  sensor: string;
  event: string;
  direction: string;
}

async function ipmiSel(host: string, cacheDir: string): Promise<Row[]> {
  const { stdout } = await run(
    'ipmi-sel',
    ['-v', '-D', 'LAN_2_0', '-W', 'opensesspriv', '-h', host, '-u', 'admin', '-p', PASSWORD, '--sdr-cache-recreate', '--sdr-cache-directory', cacheDir, '--comma-separated-output', '--no-header-output'],
    { timeout: 20000, env: { ...process.env, TZ: 'UTC' } },
  );
  if (stdout.trim() === '') return [];
  // ID,Date,Time,Name,Type,Event Direction,Event
  return stdout.trim().split('\n').map((l) => {
    const f = l.split(',');
    return { id: f[0]!, postInit: f[1] === 'PostInit', sensor: f[3]!, direction: f[5] === 'Assertion Event' ? 'asserted' : 'deasserted', event: f.slice(6).join(',') };
  });
}

async function ipmitoolEntries(host: string): Promise<number> {
  const { stdout } = await run('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', host, '-U', 'admin', '-P', PASSWORD, 'sel', 'info'], { timeout: 20000 });
  return Number(/Entries\s*:\s*(\d+)/.exec(stdout)?.[1]);
}

function selRows(lines: string[], node: string): Row[] {
  const rows: Row[] = [];
  for (const l of lines) {
    const m = /^SEL:\d+:SEL:([^:]+):(\d+):([^:]+):([^:]+):(.+):(asserted|deasserted)$/.exec(l);
    if (m && m[1] === node) rows.push({ id: m[2]!, postInit: m[3]!.startsWith('postinit+'), sensor: m[4]!, event: m[5]!, direction: m[6]! });
  }
  return rows;
}

describe.skipIf(!have)('SEL against ipmi_sim (needs openipmi, ipmitool, freeipmi-tools)', () => {
  let sims: IpmiSims;
  let h: Harness;
  let dir: string;
  const nodes = Array.from({ length: COUNT }, (_, i) => `bmc${i + 1}`);

  beforeAll(async () => {
    sims = await startIpmiSims({ count: COUNT, firstAddress: `127.0.21.${FIRST}`, user: 'admin', password: PASSWORD, sensors: sensorsOf, selRecords: selOf, console: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-sel-'));
    const pwFile = path.join(dir, 'bmc.pass');
    fs.writeFileSync(pwFile, PASSWORD + '\n', { mode: 0o600 });
    const sensors = createSensorsModule({ ipmi: { bindAddress: '127.0.0.1', retryMs: 500 } });
    h = await powerEngine(
      `
cluster: sellab
nodes:
${nodes.map((n, i) => `  - names: ${n}\n    vars: { bmc_host: ${sims.bmcs[i]!.host}, bmc_user: admin, bmc_password_file: ${pwFile} }`).join('\n')}
`,
      { extra: [sensors, createSelModule({ client: sensors.client, cache: sensors.cache })] },
    );
  }, 60000);

  afterAll(async () => {
    await h?.close();
    await sims?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const fcache = () => fs.mkdtempSync(path.join(dir, 'fcache-'));

  it('lists every record as ipmi-sel does, per BMC, and the last COUNT', async () => {
    const { lines, view } = await h.run(`SEL:LIST:bmc[1-${COUNT}]`);
    expect(view.failed).toBe(0);
    for (const [i, node] of nodes.entries()) {
      const ours = selRows(lines, node);
      expect(ours).toHaveLength(selOf(i).length);
      expect(ours).toEqual(await ipmiSel(sims.bmcs[i]!.host, fcache()));
    }
    expect(selRows(lines, 'bmc1')[0]).toEqual({ id: '1', postInit: true, sensor: 'CPU Temp', event: 'Upper Non-critical - going high ; Sensor Reading = 82.00 C ; Threshold = 80.00 C', direction: 'asserted' });
    expect(selRows(lines, 'bmc2')[2]!.direction).toBe('deasserted');
    const last = await h.run('SEL:LIST:bmc3:2');
    expect(selRows(last.lines, 'bmc3').map((r) => r.event)).toEqual([
      'Upper Critical - going high ; Sensor Reading = 86.00 C ; Threshold = 85.00 C',
      'Upper Non-recoverable - going high ; Sensor Reading = 91.00 C ; Threshold = 90.00 C',
    ]);
    const bad = await h.run('SEL:LIST:bmc1:lots');
    expect(bad.view.error?.code).toBe('ERR_BAD_ARGS');
  }, 60000);

  it('a sel_add typed into the ipmi_sim console shows up in the next SEL:LIST; SEL:INFO counts as ipmitool does', async () => {
    const b = sims.bmcs[0]!;
    await simSelAdd(b, selThresholdEvent(2, 2, true, 9, 219, 220));
    const { lines } = await h.run('SEL:LIST:bmc1');
    const rows = selRows(lines, 'bmc1');
    expect(rows.at(-1)).toEqual({ id: String(rows.length), postInit: true, sensor: '12V Rail', event: 'Upper Critical - going high ; Sensor Reading = 13.14 V ; Threshold = 13.20 V', direction: 'deasserted' });
    expect(rows).toEqual(await ipmiSel(b.host, fcache()));
    const info = await h.run(`SEL:INFO:bmc[1-${COUNT}]`);
    for (const [i, node] of nodes.entries()) {
      const m = new RegExp(`^SEL:\\d+:SEL_INFO:${node}:entries=(\\d+):free=(\\d+):added=postinit\\+\\d+s:erased=`).exec(info.lines.find((l) => l.includes(`:SEL_INFO:${node}:`)) ?? '');
      expect(Number(m?.[1])).toBe(await ipmitoolEntries(sims.bmcs[i]!.host));
    }
  }, 60000);

  it('SEL:CLEAR empties the log under a reservation, audited; ipmi-sel and ipmitool see it empty', async () => {
    const before = await ipmitoolEntries(sims.bmcs[1]!.host);
    expect(before).toBeGreaterThan(0);
    const { lines, view } = await h.run('SEL:CLEAR:bmc2');
    expect(view.dangerous).toBe(true);
    expect(view.ok).toBe(1);
    expect(lines.some((l) => /^SEL:\d+:SEL_INFO:bmc2:entries=0:/.test(l))).toBe(true);
    expect(await ipmitoolEntries(sims.bmcs[1]!.host)).toBe(0);
    expect(await ipmiSel(sims.bmcs[1]!.host, fcache())).toEqual([]);
    const again = await h.run('SEL:LIST:bmc2');
    expect(selRows(again.lines, 'bmc2')).toEqual([]);
    expect(again.view.failed).toBe(0);
    // the other BMCs keep their logs
    expect(await ipmitoolEntries(sims.bmcs[2]!.host)).toBe(selOf(2).length);
    const audit = h.audit().filter((r) => JSON.stringify(r).includes('SEL:CLEAR:bmc2'));
    expect(audit.length).toBeGreaterThanOrEqual(2); // the attempt, then the outcome
  }, 60000);
});
