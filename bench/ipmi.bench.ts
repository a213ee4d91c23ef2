/**
 * Power control of many ipmi_sim BMCs: vacm's native RMCP+ client (one process, one socket)
 * against FreeIPMI's ipmipower (one process) and one ipmitool per BMC, all started at once.
 * Cases: STATUS, OFF, ON on 32 and 128 BMCs; median of 3 runs. Prints a table, never asserts.
 *
 *   npx tsx bench/ipmi.bench.ts [sizes...]        e.g. npx tsx bench/ipmi.bench.ts 32 128
 */
import { execFile, spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { IpmiClient, type BmcTarget } from '../src/backends/power/ipmi/client.js';
import { startIpmiSims } from '../test/fixtures/ipmi-sim.js';

const run = promisify(execFile);

export interface IpmiBenchRow {
  case: string;
  bmcs: number;
  vacmS: number | null;
  ipmipowerS: number | null;
  ipmitoolS: number | null;
  /** Per tool, how many BMCs gave the expected answer in the median run's batch (all runs must be complete). */
  ok: { vacm: number; ipmipower: number | null; ipmitool: number | null };
  /** Seconds to start that many ipmi_sim processes and see every one answer. */
  simStartupS: number;
}

type Action = 'status' | 'off' | 'on';

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
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

async function ipmipowerBatch(first: number, n: number, user: string, password: string, action: Action, expect: string): Promise<number> {
  const flag = action === 'status' ? '--stat' : `--${action}`;
  const hosts = `127.0.20.[${first}-${first + n - 1}]`;
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

export async function benchIpmi(opts: { sizes?: number[]; runs?: number; log?: (s: string) => void } = {}): Promise<IpmiBenchRow[]> {
  const sizes = opts.sizes ?? [32, 128];
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
    const sims = await startIpmiSims({ count: n, firstAddress: '127.0.20.1', readyTimeoutMs: 120000 });
    const simStartupS = sims.startupMs / 1000;
    log(`  ${n} BMCs answering after ${simStartupS.toFixed(2)} s`);
    const targets: BmcTarget[] = sims.bmcs.map((b) => ({ host: b.host, port: b.port, user: sims.user, password: sims.password }));
    const client = new IpmiClient({ retries: 3, retryMs: 1000, timeoutMs: 30000 });
    try {
      // STATUS runs with every BMC off; then OFF (from on) and ON (from off) alternate per run.
      const cases: { name: string; action: Action; before: 'on' | 'off'; expect: 'on' | 'off' }[] = [
        { name: 'STATUS', action: 'status', before: 'off', expect: 'off' },
        { name: 'OFF', action: 'off', before: 'on', expect: 'off' },
        { name: 'ON', action: 'on', before: 'off', expect: 'on' },
      ];
      for (const c of cases) {
        const times = { vacm: [] as number[], ipmipower: [] as number[], ipmitool: [] as number[] };
        const ok = { vacm: n, ipmipower: haveIpmipower ? n : null, ipmitool: haveIpmitool ? n : null } as IpmiBenchRow['ok'];
        for (let r = 0; r < runs; r++) {
          const tools: ('vacm' | 'ipmipower' | 'ipmitool')[] = ['vacm'];
          if (haveIpmipower) tools.push('ipmipower');
          if (haveIpmitool) tools.push('ipmitool');
          for (const tool of tools) {
            if (c.action !== 'status') await vacmBatch(client, targets, c.before); // reset the starting state
            const res = await timed(() =>
              tool === 'vacm'
                ? vacmBatch(client, targets, c.action)
                : tool === 'ipmipower'
                  ? ipmipowerBatch(1, n, sims.user, sims.password, c.action, c.expect)
                  : ipmitoolBatch(targets, c.action, c.expect),
            );
            times[tool].push(res.s);
            ok[tool] = Math.min(ok[tool] ?? n, res.ok);
          }
        }
        const row: IpmiBenchRow = {
          case: `${c.name} ${n}`,
          bmcs: n,
          vacmS: median(times.vacm),
          ipmipowerS: haveIpmipower ? median(times.ipmipower) : null,
          ipmitoolS: haveIpmitool ? median(times.ipmitool) : null,
          ok,
          simStartupS,
        };
        rows.push(row);
        log(`  ${row.case}: vacm ${fmt(row.vacmS)} s, ipmipower ${fmt(row.ipmipowerS)} s, ipmitool ${fmt(row.ipmitoolS)} s`);
      }
      log(`  vacm client stats: ${JSON.stringify(client.stats)}`);
    } finally {
      await client.close();
      await sims.stop();
    }
  }
  return rows;
}

function fmt(x: number | null): string {
  return x === null ? 'n/a' : x.toFixed(3);
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

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const sizes = process.argv.slice(2).map(Number).filter((x) => x > 0 && x <= 200);
  const rows = await benchIpmi({ sizes: sizes.length ? sizes : undefined, log: (s) => console.error(s) });
  console.log(formatIpmiTable(rows));
}
