/**
 * The heartbeat behind the dashboard's up/down colours: long-lived pinger processes whose output is
 * read continuously, instead of a process per probe per second. With fping, one `fping -l` loops over
 * every address; without it, one `ping -O -i` per address. A reply marks the node up; `misses`
 * timeouts in a row mark it down (the engine then emits NODE_UP / NODE_DOWN). A pinger that dies is
 * restarted after a bounded, growing pause; while it is dead its nodes keep their last state (a dead
 * pinger is no evidence about the nodes).
 *
 * Covered: nodes with a `host` variable that neither report themselves (simulated ones: the SIM
 * module reports those; src/backends/providers.ts says which) nor are the machine vacm runs on
 * (always up while vacm runs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import type { ModuleHost } from '../../protocol/module.js';
import { REAL_PROVIDERS, type Providers } from '../capabilities.js';
import { findBinary, parseFpingLoopLine } from './fping.js';
import { checkAddress } from './address.js';

export interface HeartbeatOptions {
  /** which nodes report themselves (default: none) */
  providers?: Providers;
  intervalMs: number;
  misses: number;
  method: 'fping' | 'ping';
  fpingBin?: string;
  pingBin?: string;
  /** first restart pause; doubles per quick death up to maxBackoffMs */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

type Reply = { kind: 'reply'; rttMs: number } | { kind: 'miss' };

// iputils ping: "64 bytes from 127.0.30.1: icmp_seq=3 ttl=64 time=0.040 ms"; "no answer yet for icmp_seq=4";
// "From 10.0.0.1 icmp_seq=5 Destination Host Unreachable"
export function parsePingLoopLine(line: string): Reply | undefined {
  const m = /icmp_seq=\d+ .*time[=<]([\d.]+) ms/.exec(line);
  if (m) return { kind: 'reply', rttMs: Number(m[1]) };
  if (/^no answer yet for icmp_seq=/.test(line) || /icmp_seq=\d+ .*(Unreachable|Time to live exceeded)/i.test(line)) return { kind: 'miss' };
  return undefined;
}

interface Target {
  address: string;
  nodes: string[];
  misses: number;
  state: 'up' | 'down' | 'unknown';
}

class Pinger {
  child?: ChildProcess;
  startedAt = 0;
  backoffMs: number;
  restartTimer?: NodeJS.Timeout;
  restarts = 0;
  constructor(readonly addresses: string[], minBackoff: number) {
    this.backoffMs = minBackoff;
  }
}

export class Heartbeat {
  private readonly targets = new Map<string, Target>();
  private readonly pingers: Pinger[] = [];
  private stopped = false;
  private unsubscribe?: () => void;
  private reconcileTimer?: NodeJS.Timeout;
  private readonly minBackoff: number;
  private readonly maxBackoff: number;

  constructor(private readonly host: ModuleHost, private readonly opts: HeartbeatOptions) {
    this.minBackoff = opts.minBackoffMs ?? 500;
    this.maxBackoff = opts.maxBackoffMs ?? 30_000;
  }

  /** address → nodes, for the nodes the heartbeat covers */
  private wanted(): Map<string, string[]> {
    const want = new Map<string, string[]>();
    const providers = this.opts.providers ?? REAL_PROVIDERS;
    for (const n of this.host.nodes()) {
      const addr = n.vars.host?.trim();
      if (!addr || n.local || providers.of(n.name, n.vars).selfReporting || checkAddress(addr)) continue;
      const list = want.get(addr) ?? [];
      list.push(n.name);
      want.set(addr, list);
    }
    return want;
  }

  start(): void {
    this.stopped = false;
    this.launch();
    // a changed host (SET_VAR) or sim flag changes what to ping: rebuild, debounced
    this.unsubscribe = this.host.onVarChange((_node, key) => {
      if (key !== 'host' && key !== 'sim') return;
      if (this.reconcileTimer) clearTimeout(this.reconcileTimer);
      this.reconcileTimer = setTimeout(() => void this.reconcile(), 200);
      this.reconcileTimer.unref();
    });
  }

  /** pids of the running pinger processes (for tests and diagnostics) */
  pids(): number[] {
    return this.pingers.map((p) => p.child?.pid).filter((x): x is number => x !== undefined && x > 0);
  }

  /** how often pingers have been restarted after dying */
  restarts(): number {
    return this.pingers.reduce((s, p) => s + p.restarts, 0);
  }

  private launch(): void {
    this.targets.clear();
    for (const [address, nodes] of this.wanted()) this.targets.set(address, { address, nodes, misses: 0, state: 'unknown' });
    const addresses = [...this.targets.keys()];
    if (addresses.length === 0) return;
    if (this.opts.method === 'fping') this.pingers.push(new Pinger(addresses, this.minBackoff));
    else for (const a of addresses) this.pingers.push(new Pinger([a], this.minBackoff));
    for (const p of this.pingers) this.spawnPinger(p);
  }

  private async reconcile(): Promise<void> {
    if (this.stopped) return;
    const want = this.wanted();
    const same = want.size === this.targets.size && [...want].every(([a, nodes]) => this.targets.get(a)?.nodes.join(',') === nodes.join(','));
    if (same) return;
    await this.killAll();
    if (this.stopped) return;
    this.launch();
  }

  private argv(p: Pinger): [string, string[]] {
    const interval = this.opts.intervalMs;
    // wait for a reply a little less than the interval, so each ping is settled before the next
    const timeout = Math.max(50, Math.min(Math.floor(interval * 0.8), 5000));
    if (this.opts.method === 'fping') {
      // spread one round over at most half the interval: -i 0 for big node sets
      const spacing = Math.max(0, Math.min(10, Math.floor(interval / 2 / p.addresses.length)));
      return [this.opts.fpingBin ?? findBinary('fping') ?? 'fping', ['-l', `-p${interval}`, `-t${timeout}`, `-i${spacing}`, '-f', '-']];
    }
    return [this.opts.pingBin ?? findBinary('ping') ?? 'ping', ['-n', '-O', '-i', String(interval / 1000), '-W', String(timeout / 1000), p.addresses[0]]];
  }

  private spawnPinger(p: Pinger): void {
    if (this.stopped) return;
    const [bin, args] = this.argv(p);
    let child: ChildProcess;
    try {
      child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LANG: 'C', LC_ALL: 'C' } });
    } catch (err) {
      this.host.log('warn', `heartbeat: cannot start ${bin}: ${(err as Error).message}`);
      this.scheduleRestart(p);
      return;
    }
    p.child = child;
    p.startedAt = Date.now();
    let failure = '';
    child.on('error', (err) => (failure = err.message));
    child.stdin?.on('error', () => {});
    if (this.opts.method === 'fping') child.stdin?.end(p.addresses.join('\n') + '\n');
    else child.stdin?.end();
    const onLine = (line: string) => this.onLine(p, line);
    readline.createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', onLine);
    readline.createInterface({ input: child.stderr!, crlfDelay: Infinity }).on('line', onLine);
    // 'close' also comes when the program could not be started at all (ENOENT: no 'exit' then)
    child.once('close', (code, signal) => {
      if (p.child !== child) return;
      p.child = undefined;
      if (this.stopped) return;
      const what = child.pid === undefined ? `could not start (${failure})` : `exited (${signal ?? `code ${code}`})`;
      this.host.log('warn', `heartbeat: ${bin} ${what}; restarting in ${p.backoffMs} ms`);
      this.scheduleRestart(p);
    });
  }

  private scheduleRestart(p: Pinger): void {
    if (this.stopped) return;
    // a pinger that ran a good while before dying starts over with a short pause
    if (p.startedAt && Date.now() - p.startedAt > 60_000) p.backoffMs = this.minBackoff;
    const wait = p.backoffMs;
    p.backoffMs = Math.min(this.maxBackoff, p.backoffMs * 2);
    p.restartTimer = setTimeout(() => {
      p.restartTimer = undefined;
      p.restarts++;
      this.spawnPinger(p);
    }, wait);
    p.restartTimer.unref();
  }

  private onLine(p: Pinger, line: string): void {
    if (this.stopped) return;
    let address: string;
    let r: Reply | undefined;
    if (this.opts.method === 'fping') {
      const l = parseFpingLoopLine(line);
      if (!l) return;
      address = l.target;
      r = l.kind === 'reply' ? { kind: 'reply', rttMs: l.rttMs } : { kind: 'miss' };
    } else {
      address = p.addresses[0];
      r = parsePingLoopLine(line);
    }
    const t = this.targets.get(address);
    if (!t || !r) return;
    if (r.kind === 'reply') {
      t.misses = 0;
      if (t.state !== 'up') {
        t.state = 'up';
        for (const n of t.nodes) this.host.setNodeState(n, 'up');
      }
      return;
    }
    t.misses++;
    if (t.misses >= this.opts.misses && t.state !== 'down') {
      t.state = 'down';
      const reason = `no reply to ${this.opts.misses} heartbeat ping${this.opts.misses === 1 ? '' : 's'} in a row`;
      for (const n of t.nodes) this.host.setNodeState(n, 'down', reason);
    }
  }

  private async killAll(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const p of this.pingers) {
      if (p.restartTimer) clearTimeout(p.restartTimer);
      p.restartTimer = undefined;
      const child = p.child;
      p.child = undefined;
      if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) continue;
      const pid = child.pid;
      waits.push(
        new Promise<void>((resolve) => {
          const hard = setTimeout(() => {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              // already gone
            }
          }, 1000);
          const done = setTimeout(resolve, 2000); // never wait forever
          child.once('close', () => {
            clearTimeout(hard);
            clearTimeout(done);
            resolve();
          });
          try {
            process.kill(pid, 'SIGTERM');
          } catch {
            clearTimeout(hard);
            clearTimeout(done);
            resolve();
          }
        }),
      );
    }
    this.pingers.length = 0;
    await Promise.all(waits);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.reconcileTimer) clearTimeout(this.reconcileTimer);
    await this.killAll();
  }
}
