/**
 * The quiet sensors poller against real OpenIPMI ipmi_sim BMCs with different sensor values and
 * event logs: the store's readings equal FreeIPMI's ipmi-sensors on the same BMCs; a `sel_add`
 * typed into ipmi_sim's console shows up as a job-0 SEL event within one poll and runs a hook with
 * `on: [sel]`; /metrics carries vacm_bmc_sensor, and a real Prometheus parses and stores it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeIpmiSensors, ipmiSimAvailable, selThresholdEvent, simSelAdd, startIpmiSims, type IpmiSims, type SimSensor } from '../fixtures/ipmi-sim.js';
import { Engine } from '../../src/engine/engine.js';
import { parseConfig } from '../../src/engine/config.js';
import type { VacmEvent } from '../../src/protocol/events.js';
import { createSensorsModule } from '../../src/backends/sensors/module.js';
import { createSelModule } from '../../src/backends/sel/module.js';
import { createMetricsModule } from '../../src/backends/metrics/module.js';
import type { SensorsPoller } from '../../src/backends/sensors/poller.js';
import { until } from '../helpers/wait.js';
import { hasBinary } from '../helpers/peers.js';

const have = ipmiSimAvailable() && hasBinary('ipmitool') && hasBinary('ipmi-sensors');
const COUNT = 3;
const PASSWORD = 'pw-poll-53';
const FIRST = 131; // 127.0.21.131-133
const METRICS = '127.0.40.254:26204';
const INTERVAL_MS = 1500;

/** Per BMC a CPU temperature on a different side of its thresholds, a voltage, a fan. */
function sensorsOf(i: number): SimSensor[] {
  return [
    { number: 1, name: 'CPU Temp', type: 1, unit: 1, raw: [45, 83, 93][i]!, upper: [80, 85, 90] },
    { number: 2, name: '12V Rail', type: 2, unit: 4, raw: 198 + i * 5, m: 6, rExp: -2, upper: [210, 220, 230] },
    { number: 3, name: 'Fan 1', type: 4, unit: 18, raw: 21 + i, m: 300, upper: [200, 220, 250] },
  ];
}

const selOf = (i: number): number[][] => (i === 0 ? [] : [selThresholdEvent(1, 1, false, 7, 82, 80)]);

function get(url: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(res.statusCode === 200 ? body : undefined));
    });
    req.on('error', () => resolve(undefined));
    req.setTimeout(3000, () => req.destroy());
  });
}

describe.skipIf(!have)('the sensors poller against ipmi_sim (needs openipmi, ipmitool, freeipmi-tools)', () => {
  let sims: IpmiSims;
  let dir: string;
  let engine: Engine;
  let poller: SensorsPoller | undefined;
  const events: VacmEvent[] = [];
  const children: ChildProcess[] = [];
  const nodes = Array.from({ length: COUNT }, (_, i) => `bmc${i + 1}`);

  beforeAll(async () => {
    sims = await startIpmiSims({ count: COUNT, firstAddress: `127.0.21.${FIRST}`, user: 'admin', password: PASSWORD, sensors: sensorsOf, selRecords: selOf, console: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-spoll-'));
    const pwFile = path.join(dir, 'bmc.pass');
    fs.writeFileSync(pwFile, PASSWORD + '\n', { mode: 0o600 });
    const hookOut = path.join(dir, 'hooks');
    fs.mkdirSync(hookOut);
    const sensors = createSensorsModule({ ipmi: { bindAddress: '127.0.0.1', retryMs: 500 }, onPoller: (p) => (poller = p) });
    engine = new Engine({
      config: parseConfig(`
cluster: sensorlab
sensors: { interval_ms: ${INTERVAL_MS} }
metrics: { listen: "${METRICS}" }
hooks:
  - command: 'env | grep ^VACM_ | sort > "${hookOut}/$VACM_NODE-$VACM_SEL_ID"'
    on: [sel]
nodes:
${nodes.map((n, i) => `  - names: ${n}\n    vars: { bmc_host: ${sims.bmcs[i]!.host}, bmc_user: admin, bmc_password_file: ${pwFile} }`).join('\n')}
  - names: plain
`),
      modules: [sensors, createSelModule({ client: sensors.client, cache: sensors.cache }), createMetricsModule()],
      monitor: true,
      stateDir: path.join(dir, 'state'),
      localName: 'head01',
    });
    engine.subscribe((e) => events.push(e));
    await engine.start();
  }, 60000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await engine?.stop();
    await sims?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const readingsOf = (node: string) => engine.node(node)?.sensors?.readings.map((r) => ({ name: r.name, value: r.value, unit: r.unit, status: r.status })) ?? [];

  it('keeps every BMC node\'s readings, equal to ipmi-sensors on the same BMC; the node without a BMC is left alone', async () => {
    expect(poller).toBeDefined();
    for (const n of nodes) await until(`${n}'s readings`, () => (readingsOf(n).length === 3 ? true : undefined), 20000);
    for (const [i, node] of nodes.entries()) {
      const cache = fs.mkdtempSync(path.join(dir, 'fcache-'));
      expect(readingsOf(node)).toEqual(await freeIpmiSensors(sims.bmcs[i]!.host, PASSWORD, cache));
    }
    expect(engine.node('bmc3')!.sensors!.hottest).toMatchObject({ name: 'CPU Temp', value: '93.00', status: 'critical' });
    expect(engine.node('plain')!.sensors).toBeUndefined();
    // the poller's jobs are quiet: no job in the list, nothing at job 0 for what was already in the logs
    expect(engine.jobs()).toEqual([]);
    expect(events.filter((e) => e.job === 0 && e.type === 'SEL')).toEqual([]);
    // the recent SEL of the detail pane holds what the logs had (bmc2 and bmc3 one record each)
    await until('bmc2 recent SEL', () => (engine.node('bmc2')?.sensors?.sel.length === 1 ? true : undefined), 20000);
    expect(engine.node('bmc2')!.sensors!.sel[0]).toMatchObject({ sensor: 'CPU Temp', direction: 'asserted' });
    expect(engine.temperatures.query('bmc3', 0, Date.now() + 60_000).map(([, c]) => c)).toEqual([93]);
  }, 60000);

  it('a sel_add typed into ipmi_sim\'s console is a job-0 SEL event within one poll, in the timeline, and runs the hook with on: [sel]', async () => {
    // wait until a first SEL:POLL has marked where bmc1's empty log ends
    await until('two sweeps', () => (poller && poller.sweeps >= 2 ? true : undefined), 20000);
    const b = sims.bmcs[0]!;
    const sweepsBefore = poller!.sweeps;
    await simSelAdd(b, selThresholdEvent(1, 1, false, 9, 86, 85));
    const ev = await until('job-0 SEL event', () => events.find((e) => e.job === 0 && e.type === 'SEL' && e.node === 'bmc1'), 20000);
    // within one poll: at most one sweep started after the record was added, plus the one running then
    expect(poller!.sweeps - sweepsBefore).toBeLessThanOrEqual(2);
    expect(ev).toMatchObject({ tag: 'SEL', sensor: 'CPU Temp', event: 'Upper Critical - going high ; Sensor Reading = 86.00 C ; Threshold = 85.00 C', direction: 'asserted' });
    const id = (ev as Extract<VacmEvent, { type: 'SEL' }>).id;
    // exactly once, however many polls follow
    await until('more sweeps', () => (poller!.sweeps >= sweepsBefore + 3 ? true : undefined), 20000);
    expect(events.filter((e) => e.job === 0 && e.type === 'SEL')).toHaveLength(1);
    const file = path.join(dir, 'hooks', `bmc1-${id}`);
    const env = await until('the hook\'s file', () => (fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes('VACM_SEL_SENSOR') ? fs.readFileSync(file, 'utf8') : undefined), 15000);
    expect(env).toContain('VACM_EVENT=sel\n');
    expect(env).toContain('VACM_NODE=bmc1\n');
    expect(env).toContain('VACM_SEL_SENSOR=CPU Temp\n');
    expect(env).toContain('VACM_SEL_DIRECTION=asserted\n');
    expect(env).toContain('VACM_SEL_EVENT=Upper Critical - going high ; Sensor Reading = 86.00 C ; Threshold = 85.00 C\n');
    expect(engine.timeline({ nodes: ['bmc1'] }).filter((t) => t.kind === 'sel').map((t) => t.text)).toEqual([expect.stringMatching(/^SEL \d+: CPU Temp: Upper Critical - going high/)]);
    // no hook ran for the records already in the logs at start
    expect(fs.readdirSync(path.join(dir, 'hooks'))).toEqual([`bmc1-${id}`]);
  }, 60000);

  it('/metrics has vacm_bmc_sensor per node, sensor and unit', async () => {
    const body = (await get(`http://${METRICS}/metrics`))!;
    expect(body).toContain('# TYPE vacm_bmc_sensor gauge');
    expect(body).toContain('vacm_bmc_sensor{node="bmc1",sensor="CPU Temp",unit="C"} 45');
    expect(body).toContain('vacm_bmc_sensor{node="bmc3",sensor="CPU Temp",unit="C"} 93');
    expect(body).toContain('vacm_bmc_sensor{node="bmc2",sensor="Fan 1",unit="RPM"} 6600');
    expect(body).toContain('vacm_bmc_sensor_status{node="bmc3",sensor="CPU Temp"} 2');
    expect(body).not.toContain('node="plain",sensor');
  });

  it.skipIf(!hasBinary('prometheus'))('a real Prometheus parses the sensor lines and stores them', async () => {
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: vacm\n    static_configs:\n      - targets: ['${METRICS}']\n`);
    const child = spawn('prometheus', [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'tsdb')}`, '--web.listen-address=127.0.0.1:26902'], { stdio: 'ignore' });
    children.push(child);
    const q = encodeURIComponent('vacm_bmc_sensor{node="bmc2",sensor="12V Rail"}');
    const r = await until('prometheus query', async () => {
      const body = await get(`http://127.0.0.1:26902/api/v1/query?query=${q}`);
      if (!body) return undefined;
      return (JSON.parse(body) as { data?: { result?: { metric: Record<string, string>; value: [number, string] }[] } }).data?.result?.[0];
    }, 30000);
    expect(r.metric).toMatchObject({ __name__: 'vacm_bmc_sensor', node: 'bmc2', sensor: '12V Rail', unit: 'V', job: 'vacm' });
    expect(r.value[1]).toBe(readingsOf('bmc2').find((x) => x.name === '12V Rail')!.value.replace(/0+$/, '').replace(/\.$/, ''));
    const up = JSON.parse((await get(`http://127.0.0.1:26902/api/v1/query?query=${encodeURIComponent('up{job="vacm"}')}`))!);
    expect(up.data.result[0].value[1]).toBe('1');
  }, 60000);
});
