/**
 * SYSSTAT for real: the local machine through systeminformation; "remote" nodes through a
 * RemoteExecutor that runs the command here with `sh -c`, so this machine's real /proc goes through
 * the real parser; simulated nodes; and the dashboard's poller.
 */
import { execFile } from 'node:child_process';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { createSysstatModule } from '../../src/backends/sysstat/module.js';
import type { SysstatPoller } from '../../src/backends/sysstat/poller.js';
import { RemoteHealth } from '../../src/backends/sysstat/health.js';
import { VacmError } from '../../src/protocol/errors.js';
import type { ExecResult, RemoteExecutor } from '../../src/backends/capabilities.js';
import { SimCluster } from '../../src/backends/sim/cluster.js';
import { createSimModule } from '../../src/backends/sim/module.js';
import type { VacmEvent } from '../../src/protocol/events.js';
import { makeEngine, run } from '../helpers/engine.js';
import { createProviders } from '../../src/backends/providers.js';

const MiB = 1024 * 1024;

/** runs the command on this machine, as an SSH executor would on a node */
class LocalShell implements RemoteExecutor {
  readonly commands: { node: string; command: string }[] = [];
  active = 0;
  peak = 0;
  constructor(private readonly delayMs = 0) {}
  async run(node: string, _vars: Readonly<Record<string, string>>, command: string, opts: { signal?: AbortSignal } = {}): Promise<ExecResult> {
    this.commands.push({ node, command });
    this.active++;
    this.peak = Math.max(this.peak, this.active);
    try {
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      return await new Promise((resolve, reject) => {
        execFile('sh', ['-c', command], { signal: opts.signal, timeout: 10_000 }, (err, stdout, stderr) => {
          if (err && typeof (err as { code?: unknown }).code !== 'number') return reject(err);
          resolve({ stdout, stderr, code: err ? Number((err as { code?: number }).code) : 0 });
        });
      });
    } finally {
      this.active--;
    }
  }
}

const yaml = `
cluster: stats
sysstat: { interval_ms: 200 }
nodes:
  - names: here
  - names: far[1-2]
    vars: { host: "127.0.34.{n}" }
  - names: simst[1-2]
    vars: { sim: true }
`;

type Stats = Readonly<Record<string, string | number>>;
const statOf = (events: VacmEvent[], node: string): Stats | undefined => {
  const e = events.filter((x) => x.type === 'STAT' && x.node === node).at(-1);
  return e && e.type === 'STAT' ? e.stats : undefined;
};

async function setup(opts: { remote?: RemoteExecutor; monitor?: boolean; onPoller?: (p: SysstatPoller) => void } = {}) {
  const sim = new SimCluster({ seed: 5, failureRate: 0 });
  const ctx = await makeEngine({
    yaml,
    modules: [createSimModule(sim), createSysstatModule({ providers: createProviders(sim), remote: opts.remote, onPoller: opts.onPoller })],
    engine: { localName: 'here', monitor: opts.monitor ?? false },
  });
  return { ...ctx, sim };
}

describe('SYSSTAT:GET', () => {
  it('the local machine: sane numbers from systeminformation', async () => {
    const { engine, events } = await setup();
    try {
      const lines = await run(engine, 'SYSSTAT:GET:here');
      expect(lines.at(-1)).toBe('SYSSTAT:1:JOB_COMPLETED:ok=1:failed=0');
      expect(lines[1]).toMatch(/^SYSSTAT:1:STAT:here:load1=[\d.]+:load5=[\d.]+:load15=[\d.]+:cpu_pct=[\d.]+:cpus=\d+:/);
      const s = statOf(events, 'here')!;
      expect(s.cpus).toBe(os.cpus().length);
      expect(s.cpu_pct).toBeGreaterThanOrEqual(0);
      expect(s.cpu_pct).toBeLessThanOrEqual(100);
      expect(Math.abs(Number(s.mem_total_mib) - os.totalmem() / MiB)).toBeLessThanOrEqual(1);
      expect(Number(s.mem_used_mib)).toBeLessThanOrEqual(Number(s.mem_total_mib));
      expect(s.mem_used_pct).toBeGreaterThan(0);
      expect(s.mem_used_pct).toBeLessThan(100);
      expect(Math.abs(Number(s.uptime_s) - os.uptime())).toBeLessThan(10);
      expect(s.kernel).toBe(os.release());
      expect(String(s.os)).not.toBe('');
      expect(s.disk_used_pct).toBeGreaterThanOrEqual(0);
      expect(s.disk_used_pct).toBeLessThanOrEqual(100);
      // the engine keeps them for the screen
      expect(engine.node('here')?.stats?.cpus).toBe(os.cpus().length);
    } finally {
      await engine.stop();
    }
  });

  it('a remote node: this machine\'s real /proc through one sh -c round trip and the real parser', async () => {
    const shell = new LocalShell();
    const { engine, events } = await setup({ remote: shell });
    try {
      const lines = await run(engine, 'SYSSTAT:GET:far1');
      const [l1] = os.loadavg();
      expect(lines.at(-1)).toBe('SYSSTAT:1:JOB_COMPLETED:ok=1:failed=0');
      expect(shell.commands).toHaveLength(1); // one round trip
      expect(shell.commands[0].command).toContain('sleep 0.2'); // first poll: two /proc/stat samples
      const s = statOf(events, 'far1')!;
      expect(s.mem_total_mib).toBe(Math.round(os.totalmem() / MiB));
      expect(s.cpus).toBe(os.cpus().length);
      expect(Math.abs(Number(s.load1) - l1)).toBeLessThan(2); // read a moment apart on a busy machine
      expect(s.cpu_pct).toBeGreaterThanOrEqual(0);
      expect(s.cpu_pct).toBeLessThanOrEqual(100);
      expect(Math.abs(Number(s.uptime_s) - os.uptime())).toBeLessThan(10);
      expect(s.kernel).toBe(os.release());
      expect(s.os).toMatch(/\S/);
      expect(Number(s.procs_total)).toBeGreaterThan(0);

      // the next poll reads /proc/stat once and diffs against the cached sample
      await run(engine, 'SYSSTAT:GET:far1');
      expect(shell.commands[1].command).not.toContain('sleep');
      const again = statOf(events, 'far1')!;
      expect(again.cpu_pct).toBeGreaterThanOrEqual(0);
      expect(again.cpu_pct).toBeLessThanOrEqual(100);
    } finally {
      await engine.stop();
    }
  });

  it('a node whose shell cannot read /proc: ERR_STAT with what it said', async () => {
    const broken: RemoteExecutor = { run: async () => ({ stdout: '', stderr: 'sh: 1: cat: not found\n', code: 127 }) };
    const { engine } = await setup({ remote: broken });
    try {
      const lines = await run(engine, 'SYSSTAT:GET:far2');
      expect(lines).toContain('SYSSTAT:1:ERROR:far2:ERR_STAT:far2\\: the node did not answer with /proc/loadavg (is it Linux with a POSIX shell?) (exit 127\\: sh\\: 1\\: cat\\: not found)');
      expect(lines.at(-1)).toBe('SYSSTAT:1:JOB_COMPLETED:ok=0:failed=1');
    } finally {
      await engine.stop();
    }
  });

  it('remote nodes without an SSH executor: a clear ERR_UNSUPPORTED, the others still answer', async () => {
    const { engine } = await setup();
    try {
      const lines = await run(engine, 'SYSSTAT:GET:here,far1,simst1');
      expect(lines).toContainEqual(expect.stringMatching(/^SYSSTAT:1:ERROR:far1:ERR_UNSUPPORTED:no SSH executor\\: cannot read stats of remote node far1/));
      expect(lines).toContainEqual(expect.stringMatching(/^SYSSTAT:1:STAT:here:/));
      expect(lines).toContainEqual(expect.stringMatching(/^SYSSTAT:1:STAT:simst1:/));
      expect(lines.at(-1)).toBe('SYSSTAT:1:JOB_COMPLETED:ok=2:failed=1');
    } finally {
      await engine.stop();
    }
  });

  it('simulated nodes: their stats; one that is down is ERR_STAT (not answering)', async () => {
    const { engine, events, sim } = await setup();
    try {
      sim.fail('simst2', 600_000);
      const lines = await run(engine, 'SYSSTAT:GET:simst[1-2]');
      const s = statOf(events, 'simst1')!;
      for (const k of ['load1', 'load5', 'load15', 'cpu_pct', 'cpus', 'mem_used_pct', 'mem_total_mib', 'uptime_s', 'os', 'kernel']) expect(s).toHaveProperty(k);
      expect(lines).toContain('SYSSTAT:1:ERROR:simst2:ERR_STAT:simst2 is not answering (simulated node down or off)');
      expect(lines.at(-1)).toBe('SYSSTAT:1:JOB_COMPLETED:ok=1:failed=1');
    } finally {
      await engine.stop();
    }
  });
});

describe('the SYSSTAT poller', () => {
  it('sweeps the non-sim nodes as quiet jobs, never overlapping, and stops on dispose', async () => {
    const shell = new LocalShell(450); // each sweep outlasts two 200 ms ticks
    let poller: SysstatPoller | undefined;
    const { engine, events } = await setup({ remote: shell, monitor: true, onPoller: (p) => (poller = p) });
    try {
      expect(poller!.request()).toBe('SYSSTAT:GET:far[1-2],here');
      const end = Date.now() + 10_000;
      while (poller!.sweeps < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      expect(poller!.sweeps).toBeGreaterThanOrEqual(3);
      expect(poller!.skipped).toBeGreaterThan(0); // ticks skipped while a sweep ran
      expect(shell.peak).toBeLessThanOrEqual(2); // one sweep at a time: at most its two remote nodes
      // quiet: not in the jobs list, but the stats reach the nodes
      expect(engine.jobs()).toEqual([]);
      expect(engine.node('far1')?.stats?.load1).toBeTypeOf('number');
      expect(engine.node('here')?.stats?.cpus).toBe(os.cpus().length);
      // simulated nodes are not polled (SIM reports them itself)
      expect(events.some((e) => e.type === 'STAT' && e.node.startsWith('simst') && e.job !== 0)).toBe(false);
      expect(shell.commands.every((c) => c.node.startsWith('far'))).toBe(true);
    } finally {
      await engine.stop();
    }
    const calls = shell.commands.length;
    await new Promise((r) => setTimeout(r, 700));
    expect(shell.commands.length).toBe(calls);
  });

  it('without an executor it polls only the local machine; without monitor it does not run', async () => {
    let poller: SysstatPoller | undefined;
    const a = await setup({ monitor: true, onPoller: (p) => (poller = p) });
    expect(poller!.request()).toBe('SYSSTAT:GET:here');
    await a.engine.stop();
    poller = undefined;
    const b = await setup({ monitor: false, onPoller: (p) => (poller = p) });
    await b.engine.stop();
    expect(poller).toBeUndefined();
  });

  it('a node whose reading fails is asked again after a doubling pause; a node fed by its agent is not polled', async () => {
    const shell = new LocalShell();
    const failing = new Set(['far2']);
    let far2Asked = 0;
    const flaky: RemoteExecutor = {
      run: (node, vars, command, o) => {
        if (!failing.has(node)) return shell.run(node, vars, command, o);
        far2Asked++;
        return Promise.reject(new VacmError('ERR_SSH_AUTH', `${node}: permission denied`));
      },
    };
    let poller: SysstatPoller | undefined;
    const { engine } = await setup({ remote: flaky, monitor: true, onPoller: (p) => (poller = p) });
    try {
      const asked = (n: string) => shell.commands.filter((c) => c.node === n).length;
      const end = Date.now() + 10_000;
      while (poller!.sweeps < 6 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      // 6 sweeps at 200 ms: far1 every time; far2 failed, and its pause (200, 400, 800 ms...) keeps it out of some
      expect(asked('far1')).toBeGreaterThanOrEqual(6);
      expect(far2Asked).toBeGreaterThanOrEqual(2); // asked again after its pause
      expect(far2Asked).toBeLessThan(asked('far1'));
      // far1 now reports through an agent (stats newer than the poller's own): left to the agent
      engine.recordStats('far1', { load1: 0.5 });
      expect(poller!.request()).not.toContain('far1');
      expect(poller!.request()).toMatch(/^SYSSTAT:GET:(far2,)?here$/);
    } finally {
      await engine.stop();
    }
  });
});

describe('RemoteHealth (the poller\'s memory of remote nodes)', () => {
  it('doubles the pause with each failure up to the cap, and one success clears it', () => {
    let now = 1000;
    const h = new RemoteHealth(2000, 60_000, () => now);
    expect(h.due('n1')).toBe(true);
    const pauses: number[] = [];
    for (let i = 0; i < 7; i++) {
      h.failed('n1');
      let wait = 0;
      while (!h.due('n1')) {
        now += 1000;
        wait += 1000;
      }
      pauses.push(wait);
    }
    expect(pauses).toEqual([2000, 4000, 8000, 16000, 32000, 60000, 60000]);
    expect(h.failures('n1')).toBe(7);
    h.ok('n1');
    expect(h.failures('n1')).toBe(0);
    expect(h.due('n1')).toBe(true);
    expect(h.lastPolled('n1')).toBe(now);
  });
});

