/**
 * A simulated cluster for `vacm --demo` and tests: loads that drift, nodes that fail and come back,
 * power that switches with realistic delays, exec that answers a few commands. Deterministic for a
 * given seed; time is passed in so tests control it.
 */
import { mulberry32 } from '../../protocol/random.js';
import { abortableSleep } from '../../platform/sleep.js';
import { VacmError } from '../../protocol/errors.js';
import type { StatValue } from '../../protocol/events.js';

export type SimPowerAction = 'on' | 'off' | 'cycle' | 'reset' | 'soft';

export interface SimNode {
  readonly name: string;
  readonly cpus: number;
  readonly memTotalMiB: number;
  power: 'on' | 'off';
  /** booted and answering (false while booting, failed or off) */
  up: boolean;
  load1: number;
  load5: number;
  load15: number;
  cpuPct: number;
  memUsedPct: number;
  bootedAt: number;
  /** until when a failed node stays down */
  failedUntil?: number;
  /** a job pushing its load toward this level */
  target: number;
  /** power transitions in flight resolve at this time */
  bootingUntil?: number;
}

export interface SimOptions {
  seed?: number;
  /** chance per node per second of failing (the default keeps a 64-node demo lively but mostly up) */
  failureRate?: number;
  /** how long a failed node stays down, ms */
  failureMs?: number;
  /** time to boot after power on, ms */
  bootMs?: number;
  now?: () => number;
  /** delays of power actions scale by this (0 in unit tests) */
  delayScale?: number;
}

const prng = mulberry32;
const sleep = abortableSleep;

export class SimCluster {
  private readonly nodes = new Map<string, SimNode>();
  private readonly rand: () => number;
  private readonly now: () => number;
  readonly failureRate: number;
  readonly failureMs: number;
  readonly bootMs: number;
  readonly delayScale: number;
  private lastTick: number;

  constructor(opts: SimOptions = {}) {
    this.rand = prng(opts.seed ?? 42);
    this.now = opts.now ?? Date.now;
    this.failureRate = opts.failureRate ?? 0.0005;
    this.failureMs = opts.failureMs ?? 20_000;
    this.bootMs = opts.bootMs ?? 3_000;
    this.delayScale = opts.delayScale ?? 1;
    this.lastTick = this.now();
  }

  add(name: string, opts: { cpus?: number; memTotalMiB?: number; power?: 'on' | 'off' } = {}): SimNode {
    const cpus = opts.cpus ?? 16;
    const base = this.rand() * cpus * 0.6;
    const n: SimNode = {
      name,
      cpus,
      memTotalMiB: opts.memTotalMiB ?? 65536,
      power: opts.power ?? 'on',
      up: (opts.power ?? 'on') === 'on',
      load1: base,
      load5: base,
      load15: base,
      cpuPct: Math.min(100, (base / cpus) * 100),
      memUsedPct: 20 + this.rand() * 50,
      bootedAt: this.now() - Math.floor(this.rand() * 30 * 86400_000),
      target: base,
    };
    this.nodes.set(name, n);
    return n;
  }

  has(name: string): boolean {
    return this.nodes.has(name);
  }

  names(): string[] {
    return [...this.nodes.keys()];
  }

  get(name: string): Readonly<SimNode> {
    const n = this.nodes.get(name);
    if (!n) throw new VacmError('ERR_NO_SUCH_NODE', `${name} is not a simulated node`);
    return n;
  }

  /** Advance the simulation to now: loads drift, nodes fail and come back, boots finish. */
  tick(): void {
    const t = this.now();
    const dt = Math.max(0, (t - this.lastTick) / 1000);
    this.lastTick = t;
    if (dt === 0) return;
    for (const n of this.nodes.values()) {
      if (n.power === 'off') {
        n.up = false;
        n.load1 = n.load5 = n.load15 = n.cpuPct = 0;
        continue;
      }
      if (n.bootingUntil !== undefined) {
        if (t >= n.bootingUntil) {
          n.bootingUntil = undefined;
          n.up = true;
          n.bootedAt = t;
        } else continue;
      }
      if (n.failedUntil !== undefined) {
        if (t >= n.failedUntil) {
          n.failedUntil = undefined;
          n.up = true;
          n.bootedAt = t;
        } else continue;
      } else if (this.rand() < this.failureRate * dt) {
        n.up = false;
        n.failedUntil = t + this.failureMs * (0.5 + this.rand());
        continue;
      }
      // jobs come and go: the target moves now and then, the load follows it
      if (this.rand() < 0.05 * dt) n.target = this.rand() < 0.3 ? 0.05 * n.cpus : this.rand() * n.cpus * 1.1;
      const a1 = 1 - Math.exp(-dt / 60);
      const a5 = 1 - Math.exp(-dt / 300);
      const a15 = 1 - Math.exp(-dt / 900);
      const noisy = Math.max(0, n.target + (this.rand() - 0.5) * 0.3 * n.cpus * 0.1);
      n.load1 += (noisy - n.load1) * Math.min(1, a1 * 8);
      n.load5 += (n.load1 - n.load5) * a5 * 4;
      n.load15 += (n.load5 - n.load15) * a15 * 4;
      n.cpuPct = Math.min(100, Math.max(0, (n.load1 / n.cpus) * 100 + (this.rand() - 0.5) * 4));
      n.memUsedPct = Math.min(98, Math.max(5, n.memUsedPct + (this.rand() - 0.5) * 1.5));
    }
  }

  /** Make a node fail now (for tests and demos); it comes back after failureMs unless ms is given. */
  fail(name: string, ms?: number): void {
    const n = this.nodes.get(name);
    if (!n || n.power === 'off') return;
    n.up = false;
    n.failedUntil = this.now() + (ms ?? this.failureMs);
  }

  recover(name: string): void {
    const n = this.nodes.get(name);
    if (!n || n.power === 'off') return;
    n.failedUntil = undefined;
    n.bootingUntil = undefined;
    n.up = true;
  }

  /** Switch power like a BMC would, taking a realistic moment; returns the state after. */
  async power(name: string, action: SimPowerAction | 'status', signal?: AbortSignal): Promise<'on' | 'off'> {
    const n = this.nodes.get(name);
    if (!n) throw new VacmError('ERR_POWER_DRIVER', `${name} is not a simulated node`);
    const d = (ms: number) => sleep(ms * this.delayScale * (0.7 + this.rand() * 0.6), signal);
    switch (action) {
      case 'status':
        await d(20);
        break;
      case 'on':
        await d(200);
        if (n.power === 'off') this.boot(n);
        break;
      case 'off':
        await d(150);
        this.down(n);
        break;
      case 'soft':
        await d(800);
        this.down(n);
        break;
      case 'cycle':
        await d(150);
        this.down(n);
        await d(500);
        this.boot(n);
        break;
      case 'reset':
        await d(100);
        if (n.power === 'on') this.boot(n);
        break;
    }
    return n.power;
  }

  private down(n: SimNode): void {
    n.power = 'off';
    n.up = false;
    n.failedUntil = undefined;
    n.bootingUntil = undefined;
    n.load1 = n.load5 = n.load15 = n.cpuPct = 0;
  }

  private boot(n: SimNode): void {
    n.power = 'on';
    n.up = false;
    n.failedUntil = undefined;
    n.bootingUntil = this.now() + this.bootMs * this.delayScale;
    if (this.bootMs * this.delayScale === 0) {
      n.bootingUntil = undefined;
      n.up = true;
      n.bootedAt = this.now();
    }
  }

  /** SYSSTAT-style stats, or undefined when the node does not answer. Keys as docs/stats.md. */
  /** frozen, so that the engine keeps it as the node's stats instead of copying it */
  stats(name: string): Readonly<Record<string, StatValue>> | undefined {
    const n = this.nodes.get(name);
    if (!n || !n.up) return undefined;
    const r2 = (x: number) => Math.round(x * 100) / 100;
    return Object.freeze({
      load1: r2(n.load1),
      load5: r2(n.load5),
      load15: r2(n.load15),
      cpu_pct: r2(n.cpuPct),
      cpus: n.cpus,
      mem_used_pct: r2(n.memUsedPct),
      mem_total_mib: n.memTotalMiB,
      swap_used_pct: 0,
      uptime_s: Math.floor((this.now() - n.bootedAt) / 1000),
      os: 'SimLinux 1.0',
      kernel: '6.1.0-sim',
    });
  }

  /** Round-trip time in ms of a ping, or undefined when the node does not answer. */
  ping(name: string): number | undefined {
    const n = this.nodes.get(name);
    if (!n || !n.up) return undefined;
    return 0.03 + this.rand() * 0.05;
  }

  /**
   * Run a command the way a tiny node would: hostname, uname, uptime, true, false, echo, sleep N,
   * cat /proc/loadavg. Undefined when the node does not answer (like a refused connection).
   */
  async exec(name: string, command: string, signal?: AbortSignal): Promise<{ stdout: string[]; stderr: string[]; code: number } | undefined> {
    const n = this.nodes.get(name);
    if (!n || !n.up) return undefined;
    await sleep(2 * this.delayScale, signal);
    const [cmd, ...args] = command.trim().split(/\s+/);
    const out = (...stdout: string[]) => ({ stdout, stderr: [], code: 0 });
    switch (cmd) {
      case 'hostname':
        return out(n.name);
      case 'uname':
        return out(args.includes('-r') ? '6.1.0-sim' : args.includes('-n') ? n.name : 'Linux');
      case 'uptime':
        return out(` up ${Math.floor((this.now() - n.bootedAt) / 86400_000)} days,  load average: ${n.load1.toFixed(2)}, ${n.load5.toFixed(2)}, ${n.load15.toFixed(2)}`);
      case 'true':
      case '':
        return out();
      case 'false':
        return { stdout: [], stderr: [], code: 1 };
      case 'echo':
        return out(args.join(' '));
      case 'sleep': {
        await sleep(Math.min(3600, Number(args[0]) || 0) * 1000, signal);
        return out();
      }
      case 'cat':
        if (args[0] === '/proc/loadavg') return out(`${n.load1.toFixed(2)} ${n.load5.toFixed(2)} ${n.load15.toFixed(2)} 1/200 1234`);
        return { stdout: [], stderr: [`cat: ${args[0] ?? ''}: No such file or directory`], code: 1 };
      default:
        return { stdout: [], stderr: [`sim: ${cmd}: command not found`], code: 127 };
    }
  }
}

/** The demo cluster's nodes: sim001..simNNN in racks of 32, with power: sim. */
export function demoNodeDefs(count: number): { name: string; groups: string[]; vars: Record<string, string> }[] {
  const width = Math.max(3, String(count).length);
  return Array.from({ length: count }, (_, i) => {
    const name = `sim${String(i + 1).padStart(width, '0')}`;
    const rack = Math.floor(i / 32) + 1;
    return { name, groups: ['demo', `rack${rack}`, i % 8 === 0 ? 'gpu' : 'compute'], vars: { power: 'sim', sim: 'true', host: name } };
  });
}
