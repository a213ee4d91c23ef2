/**
 * Power control of many ipmi_sim BMCs: vacm's native RMCP+ client (one process, one socket)
 * against FreeIPMI's ipmipower (one process) and one ipmitool per BMC, all started at once.
 * Cases: STATUS, OFF, ON on 32 and 128 BMCs, cold (a session per operation, as every tool does),
 * and STATUS warm (vacm's kept sessions, primed by one sweep; ipmipower and ipmitool have no warm
 * mode and run cold beside it); the tools take turns within each run (interleaved); median and
 * range of 3 runs. Prints a table, never asserts.
 * Also the whole POWER module path: `POWER:<action>:bmc[1-N]` through an in-process engine
 * (planning, guard, audit fsync, events), and `node bin/vacm.js ipc --config ...` as a process
 * (start-up included; needs `npm run build`).
 *
 *   npx tsx bench/ipmi.bench.ts [sizes...]        e.g. npx tsx bench/ipmi.bench.ts 32 128
 *   VACM_BENCH_BMC_NET=127.0.21 npx tsx ...       BMC addresses (default 127.0.20)
 *   VACM_BENCH_ONLY=power|sensors npx tsx ...     one of the two tables
 */
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { IpmiClient, type BmcTarget } from '../src/backends/ipmi/client.js';
import { startIpmiSims, type SimSensor } from '../test/fixtures/ipmi-sim.js';
import { SdrCache, readSensors } from '../src/backends/ipmi/sensors.js';
import { readSel } from '../src/backends/ipmi/sel-log.js';
import { Engine } from '../src/engine/engine.js';
import { parseConfig } from '../src/engine/config.js';
import { createPowerModules } from '../src/backends/power/module.js';
import { cell, ratio, runs as toRuns, section, type Runs } from './measure.js';

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'vacm.js');

const run = promisify(execFile);

export interface IpmiBenchRow {
  case: string;
  bmcs: number;
  vacmS: Runs | null;
  ipmipowerS: Runs | null;
  ipmitoolS: Runs | null;
  /** POWER:<action> through an in-process engine (module, guard, audit, events) */
  powerS: Runs | null;
  /** `node bin/vacm.js ipc --config ... POWER:<action>:...` as a process, start-up included */
  ipcS: Runs | null;
  /** Per tool, how many BMCs gave the expected answer in the median run's batch (all runs must be complete). */
  ok: { vacm: number; ipmipower: number | null; ipmitool: number | null; power: number | null; ipc: number | null };
  /** Seconds to start that many ipmi_sim processes and see every one answer. */
  simStartupS: number;
}

type Action = 'status' | 'off' | 'on';

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

async function timed(fn: () => Promise<number>): Promise<{ s: number; ok: number }> {
  const t0 = performance.now();
  const ok = await fn();
  return { s: (performance.now() - t0) / 1000, ok };
}

async function vacmBatch(client: IpmiClient, targets: BmcTarget[], action: Action): Promise<number> {
  const want = action === 'status' ? undefined : action;
  const results = await Promise.allSettled(
    targets.map((t) => (action === 'status' ? client.powerStatus(t) : client.chassisControl(t, action).then(() => want))),
  );
  return results.filter((r) => r.status === 'fulfilled').length;
}

async function ipmipowerBatch(net: string, first: number, n: number, user: string, password: string, action: Action, expect: string): Promise<number> {
  const flag = action === 'status' ? '--stat' : `--${action}`;
  const hosts = `${net}.[${first}-${first + n - 1}]`;
  const { stdout } = await run('ipmipower', ['-D', 'LAN_2_0', '-W', 'opensesspriv', '-u', user, '-p', password, '-h', hosts, flag], {
    timeout: 120000,
    maxBuffer: 1 << 22,
  }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
  const good = action === 'status' ? `: ${expect}` : ': ok';
  return stdout.split('\n').filter((l) => l.trim().endsWith(good)).length;
}

async function ipmitoolBatch(targets: BmcTarget[], action: Action, expect: string): Promise<number> {
  const results = await Promise.allSettled(
    targets.map((t) =>
      run('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', t.host, '-U', t.user, '-P', t.password, 'chassis', 'power', action], { timeout: 120000 }),
    ),
  );
  return results.filter(
    (r) => r.status === 'fulfilled' && (action === 'status' ? r.value.stdout.includes(`is ${expect}`) : /Chassis Power Control/.test(r.value.stdout)),
  ).length;
}

const PW_ENV = 'VACM_BENCH_BMC_PW';

function powerYaml(net: string, n: number, user: string): string {
  return `cluster: bench\nnodes:\n  - names: bmc[1-${n}]\n    vars: { power: ipmi, bmc_host: "${net}.{n}", bmc_user: ${user}, bmc_password_env: ${PW_ENV} }\n`;
}

const POWER_CMD: Record<Action, string> = { status: 'STATUS', off: 'OFF', on: 'ON' };

/** POWER:<action> on every BMC through the engine; the number of nodes that ended in the expected state. */
async function powerBatch(engine: Engine, n: number, action: Action, expect: string): Promise<number> {
  let good = 0;
  const h = engine.submit(`POWER:${POWER_CMD[action]}:bmc[1-${n}]`);
  const off = engine.subscribe((e) => {
    if (e.job === h.id && e.type === 'POWER' && e.state === expect) good++;
  });
  await h.done;
  off();
  return good;
}

/** The same through the real binary, as an operator's script would run it. */
async function ipcBatch(configFile: string, stateDir: string, password: string, n: number, action: Action, expect: string): Promise<number> {
  const { stdout } = await run(process.execPath, [BIN, 'ipc', '--config', configFile, `POWER:${POWER_CMD[action]}:bmc[1-${n}]`], {
    timeout: 120000,
    maxBuffer: 1 << 22,
    env: { ...process.env, [PW_ENV]: password, VACM_STATE_DIR: stateDir },
  }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
  return stdout.split('\n').filter((l) => new RegExp(`^POWER:\\d+:POWER:bmc\\d+:${expect}$`).test(l.trim())).length;
}

export async function benchIpmi(opts: { sizes?: number[]; runs?: number; net?: string; log?: (s: string) => void } = {}): Promise<IpmiBenchRow[]> {
  const sizes = opts.sizes ?? [32, 128];
  const net = opts.net ?? process.env.VACM_BENCH_BMC_NET ?? '127.0.20';
  const haveBin = fs.existsSync(path.join(path.dirname(BIN), '..', 'dist'));
  const runs = opts.runs ?? 3;
  const log = opts.log ?? (() => undefined);
  const rows: IpmiBenchRow[] = [];
  if (!have('ipmi_sim')) {
    log('ipmi bench: ipmi_sim (OpenIPMI) is not installed; nothing to measure');
    return rows;
  }
  const haveIpmipower = have('ipmipower');
  const haveIpmitool = have('ipmitool');
  for (const n of sizes) {
    log(`starting ${n} ipmi_sim BMCs ...`);
    const sims = await startIpmiSims({ count: n, firstAddress: `${net}.1`, readyTimeoutMs: 120000 });
    const simStartupS = sims.startupMs / 1000;
    log(`  ${n} BMCs answering after ${simStartupS.toFixed(2)} s`);
    const targets: BmcTarget[] = sims.bmcs.map((b) => ({ host: b.host, port: b.port, user: sims.user, password: sims.password }));
    const client = new IpmiClient({ retries: 3, retryMs: 1000, timeoutMs: 30000 });
    const warmClient = new IpmiClient({ retries: 3, retryMs: 1000, timeoutMs: 30000, keepSessions: 1024 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-bench-power-'));
    const configFile = path.join(dir, 'vacm.yaml');
    fs.writeFileSync(configFile, powerYaml(net, n, sims.user));
    process.env[PW_ENV] = sims.password;
    // cold: a session per operation; warm: the engine's default, sessions kept
    const engine = new Engine({ config: parseConfig(powerYaml(net, n, sims.user)), modules: createPowerModules({ ipmi: { client: { keepSessions: 0 } } }), stateDir: path.join(dir, 'engine-state') });
    const warmEngine = new Engine({ config: parseConfig(powerYaml(net, n, sims.user)), modules: createPowerModules(), stateDir: path.join(dir, 'warm-state') });
    await engine.start();
    await warmEngine.start();
    try {
      // STATUS runs with every BMC off; then OFF (from on) and ON (from off) alternate per run.
      const cases: { name: string; action: Action; before: 'on' | 'off'; expect: 'on' | 'off'; warm?: boolean }[] = [
        { name: 'STATUS', action: 'status', before: 'off', expect: 'off' },
        { name: 'STATUS warm', action: 'status', before: 'off', expect: 'off', warm: true },
        { name: 'OFF', action: 'off', before: 'on', expect: 'off' },
        { name: 'ON', action: 'on', before: 'off', expect: 'on' },
      ];
      for (const c of cases) {
        const times = { vacm: [] as number[], ipmipower: [] as number[], ipmitool: [] as number[], power: [] as number[], ipc: [] as number[] };
        const withIpc = haveBin && !c.warm; // a new process has no kept sessions
        const ok = { vacm: n, ipmipower: haveIpmipower ? n : null, ipmitool: haveIpmitool ? n : null, power: n, ipc: withIpc ? n : null } as IpmiBenchRow['ok'];
        if (c.warm) {
          await vacmBatch(warmClient, targets, 'status'); // prime: one session per BMC
          await powerBatch(warmEngine, n, 'status', c.expect);
        }
        for (let r = 0; r < runs; r++) {
          const tools: ('vacm' | 'ipmipower' | 'ipmitool' | 'power' | 'ipc')[] = ['vacm', 'power'];
          if (withIpc) tools.push('ipc');
          if (haveIpmipower) tools.push('ipmipower');
          if (haveIpmitool) tools.push('ipmitool');
          for (const tool of tools) {
            if (c.action !== 'status') await vacmBatch(client, targets, c.before); // reset the starting state
            const res = await timed(() =>
              tool === 'vacm'
                ? vacmBatch(c.warm ? warmClient : client, targets, c.action)
                : tool === 'power'
                  ? powerBatch(c.warm ? warmEngine : engine, n, c.action, c.expect)
                  : tool === 'ipc'
                    ? ipcBatch(configFile, path.join(dir, 'ipc-state'), sims.password, n, c.action, c.expect)
                    : tool === 'ipmipower'
                      ? ipmipowerBatch(net, 1, n, sims.user, sims.password, c.action, c.expect)
                      : ipmitoolBatch(targets, c.action, c.expect),
            );
            times[tool].push(res.s);
            ok[tool] = Math.min(ok[tool] ?? n, res.ok);
          }
        }
        const row: IpmiBenchRow = {
          case: `${c.name} ${n}`,
          bmcs: n,
          vacmS: toRuns(times.vacm),
          ipmipowerS: haveIpmipower ? toRuns(times.ipmipower) : null,
          ipmitoolS: haveIpmitool ? toRuns(times.ipmitool) : null,
          powerS: toRuns(times.power),
          ipcS: withIpc ? toRuns(times.ipc) : null,
          ok,
          simStartupS,
        };
        rows.push(row);
        log(`  ${row.case}: vacm ${fmt(row.vacmS)} s, POWER ${fmt(row.powerS)} s, vacm ipc ${fmt(row.ipcS)} s, ipmipower ${fmt(row.ipmipowerS)} s, ipmitool ${fmt(row.ipmitoolS)} s`);
      }
      log(`  vacm client stats: cold ${JSON.stringify(client.stats)}, warm ${JSON.stringify(warmClient.stats)}`);
    } finally {
      await engine.stop();
      await warmEngine.stop();
      await client.close();
      await warmClient.close();
      await sims.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

function fmt(x: Runs | null): string {
  return x === null ? 'n/a' : x.median.toFixed(3);
}

export function formatIpmiTable(rows: IpmiBenchRow[]): string {
  const head = ['case', 'vacm s', 'ipmipower s', 'ipmitool s', 'ok (vacm/ipmipower/ipmitool)', 'sim startup s'];
  const body = rows.map((r) => [
    r.case,
    fmt(r.vacmS),
    fmt(r.ipmipowerS),
    fmt(r.ipmitoolS),
    `${r.ok.vacm}/${r.ok.ipmipower ?? '-'}/${r.ok.ipmitool ?? '-'} of ${r.bmcs}`,
    r.simStartupS.toFixed(2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/** The markdown table for `npm run bench`: vacm's client, the POWER path and the binary, beside ipmipower and ipmitool. */
export function formatIpmiRows(rows: IpmiBenchRow[]): string[][] {
  const c = (x: Runs | null) => cell(x ?? undefined);
  return rows.map((r) => [
    r.case, c(r.vacmS), c(r.powerS), c(r.ipcS), c(r.ipmipowerS), c(r.ipmitoolS), ratio(r.ipmipowerS ?? undefined, r.powerS ?? undefined),
    `${r.ok.vacm}/${r.ok.power ?? '-'}/${r.ok.ipc ?? '-'}/${r.ok.ipmipower ?? '-'}/${r.ok.ipmitool ?? '-'} of ${r.bmcs}`,
  ]);
}

const HEAD = ['case', 'vacm client s', 'vacm POWER s', 'vacm ipc s', 'ipmipower s', 'ipmitool s', 'ipmipower / POWER', 'ok client/POWER/ipc/ipmipower/ipmitool'];

export interface SensorsBenchRow {
  case: string;
  bmcs: number;
  vacmS: Runs;
  /** the FreeIPMI tool of the case: ipmi-sensors or ipmi-sel */
  ipmiSensorsS: Runs | null;
  /** sensors (or SEL records) read per tool in the median run */
  ok: { vacm: number; ipmiSensors: number | null };
  /** what a complete read gives */
  expected: number;
}

const BENCH_SENSORS = (i: number): SimSensor[] => [
  { number: 1, name: 'CPU Temp', type: 1, unit: 1, raw: 40 + (i % 50), upper: [80, 85, 90] },
  { number: 2, name: '12V Rail', type: 2, unit: 4, raw: 200, m: 6, rExp: -2, upper: [210, 220, 230] },
  { number: 3, name: 'Fan 1', type: 4, unit: 18, raw: 20, m: 300, upper: [200, 220, 250] },
  { number: 4, name: 'Inlet Temp', type: 1, unit: 1, raw: 0xf6, signed: true, b: 5 },
];

/** sel_add bytes: a threshold event (type 0x02, timestamp set by ipmi_sim) of sensor 1 or 2. */
const selEvent = (sensorType: number, sensor: number, offset: number, reading: number, threshold: number) => [
  0x02, 0, 0, 0, 0, 0x20, 0x00, 0x04, sensorType, sensor, 0x01, 0x50 | offset, reading, threshold,
];
const BENCH_SEL = (): number[][] => [selEvent(1, 1, 7, 82, 80), selEvent(2, 2, 9, 221, 220), selEvent(1, 1, 9, 86, 85)];

/**
 * SENSORS and SEL of N ipmi_sim BMCs (4 full sensor records and 3 SEL records each): vacm's reader
 * (one socket, all BMCs at once) against one ipmi-sensors / ipmi-sel over the same host range with
 * the same fanout (-F N). Cold: no SDR cache on either side (FreeIPMI: an empty cache directory per
 * run; --sdr-cache-recreate is not enough, it keeps a cache it finds) and a session
 * per BMC; warm SDR: both cached, still a session per BMC; warm SDR + sessions: vacm's kept
 * sessions too (FreeIPMI has none, so it runs as in warm SDR).
 */
export async function benchSensors(opts: { n?: number; runs?: number; net?: string; log?: (s: string) => void } = {}): Promise<SensorsBenchRow[]> {
  const n = opts.n ?? 32;
  const runs = opts.runs ?? 3;
  const net = opts.net ?? process.env.VACM_BENCH_BMC_NET ?? '127.0.20';
  const log = opts.log ?? (() => undefined);
  if (!have('ipmi_sim')) return [];
  const haveTool = have('ipmi-sensors');
  const haveSel = have('ipmi-sel');
  log(`starting ${n} ipmi_sim BMCs with sensors and SEL ...`);
  const sims = await startIpmiSims({ count: n, firstAddress: `${net}.1`, readyTimeoutMs: 120000, sensors: BENCH_SENSORS, selRecords: BENCH_SEL });
  const targets: BmcTarget[] = sims.bmcs.map((b) => ({ host: b.host, port: b.port, user: sims.user, password: sims.password }));
  const cold = new IpmiClient({ retries: 3, retryMs: 1000, timeoutMs: 30000 });
  const warm = new IpmiClient({ retries: 3, retryMs: 1000, timeoutMs: 30000, keepSessions: 1024 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-bench-sensors-'));
  const rows: SensorsBenchRow[] = [];
  // Cold = an empty SDR cache directory of its own: --sdr-cache-recreate alone does not re-read a
  // repository FreeIPMI finds already cached (strace: 12 datagrams per BMC, as with the cache).
  const freeipmi = (bin: string, cold: boolean) => {
    const cacheDir = cold ? fs.mkdtempSync(path.join(dir, 'cold-')) : dir;
    const args = ['-D', 'LAN_2_0', '-W', 'opensesspriv', '-u', sims.user, '-p', sims.password, '-h', `${net}.[1-${n}]`, '-F', String(n), '--sdr-cache-directory', cacheDir, '--comma-separated-output', '--no-header-output', '--quiet-cache'];
    return run(bin, args, { timeout: 120000, maxBuffer: 1 << 22 }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
  };
  try {
    const kinds = [
      {
        name: 'SENSORS',
        expected: n * 4,
        haveTool,
        vacm: async (client: IpmiClient, cache: SdrCache) =>
          (await Promise.allSettled(targets.map((t) => readSensors(client, t, { cache })))).reduce((k, r) => k + (r.status === 'fulfilled' ? r.value.filter((v) => v.value !== 'na').length : 0), 0),
        tool: async (cold: boolean) => (await freeipmi('ipmi-sensors', cold)).stdout.split('\n').filter((l) => /,\s*-?[\d.]+,/.test(l)).length,
      },
      {
        name: 'SEL',
        expected: n * 3,
        haveTool: haveSel,
        vacm: async (client: IpmiClient, cache: SdrCache) =>
          (await Promise.allSettled(targets.map((t) => readSel(client, t, { cache })))).reduce((k, r) => k + (r.status === 'fulfilled' ? r.value.length : 0), 0),
        // "<host>: <id>,<date>,..." one a line
        tool: async (cold: boolean) => (await freeipmi('ipmi-sel', cold)).stdout.split('\n').filter((l) => /^\S+: \d+,/.test(l.trim())).length,
      },
    ];
    for (const kind of kinds) {
      for (const mode of ['cold SDR', 'warm SDR', 'warm SDR + sessions'] as const) {
        const t = { vacm: [] as number[], tool: [] as number[] };
        const ok = { vacm: kind.expected, ipmiSensors: kind.haveTool ? kind.expected : null } as SensorsBenchRow['ok'];
        const shared = new SdrCache();
        const client = mode === 'warm SDR + sessions' ? warm : cold;
        if (mode !== 'cold SDR') {
          await kind.vacm(client, shared); // prime the SDR cache (and, warm, the sessions)
          if (kind.haveTool) await kind.tool(false);
        }
        for (let r = 0; r < runs; r++) {
          const a = await timed(() => kind.vacm(client, mode === 'cold SDR' ? new SdrCache() : shared));
          t.vacm.push(a.s);
          ok.vacm = Math.min(ok.vacm, a.ok);
          if (kind.haveTool) {
            const b = await timed(() => kind.tool(mode === 'cold SDR'));
            t.tool.push(b.s);
            ok.ipmiSensors = Math.min(ok.ipmiSensors ?? kind.expected, b.ok);
          }
        }
        const row: SensorsBenchRow = { case: `${kind.name} ${n} ${mode}`, bmcs: n, vacmS: toRuns(t.vacm), ipmiSensorsS: kind.haveTool ? toRuns(t.tool) : null, ok, expected: kind.expected };
        rows.push(row);
        log(`  ${row.case}: vacm ${cell(row.vacmS)} s, FreeIPMI ${cell(row.ipmiSensorsS ?? undefined)} s`);
      }
    }
  } finally {
    await cold.close();
    await warm.close();
    await sims.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

const SENSORS_HEAD = ['case', 'vacm s', 'ipmi-sensors / ipmi-sel s', 'FreeIPMI / vacm', 'read vacm/FreeIPMI'];

export function formatSensorsRows(rows: SensorsBenchRow[]): string[][] {
  return rows.map((r) => [r.case, cell(r.vacmS), cell(r.ipmiSensorsS ?? undefined), ratio(r.ipmiSensorsS ?? undefined, r.vacmS), `${r.ok.vacm}/${r.ok.ipmiSensors ?? '-'} of ${r.expected}`]);
}

export async function bench(sizes?: number[]): Promise<void> {
  const out = section('IPMI power: vacm vs ipmipower vs ipmitool (seconds, tools interleaved within each of 3 runs)');
  const rows = await benchIpmi({ sizes, log: (s) => console.error(s) });
  out.print(HEAD, formatIpmiRows(rows));
  const sensors = await benchSensors({ n: Math.max(...(sizes ?? [128])), log: (s) => console.error(s) });
  section('IPMI sensors and SEL: vacm vs ipmi-sensors / ipmi-sel, same fanout (seconds, interleaved within each of 3 runs)').print(SENSORS_HEAD, formatSensorsRows(sensors));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const sizes = process.argv.slice(2).map(Number).filter((x) => x > 0 && x <= 200);
  if (process.env.VACM_BENCH_ONLY === 'power') {
    section('IPMI power: vacm vs ipmipower vs ipmitool (seconds, tools interleaved within each of 3 runs)').print(HEAD, formatIpmiRows(await benchIpmi({ sizes: sizes.length ? sizes : undefined, log: (s) => console.error(s) })));
  } else if (process.env.VACM_BENCH_ONLY === 'sensors') {
    section('IPMI sensors: vacm vs ipmi-sensors, same fanout').print(SENSORS_HEAD, formatSensorsRows(await benchSensors({ n: sizes[0], log: (s) => console.error(s) })));
  } else {
    await bench(sizes.length ? sizes : undefined);
  }
}
