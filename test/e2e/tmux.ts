/** Driving the real `vacm` binary in a private tmux server (its own -L socket: other sessions are never touched). */
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { onPath, peerAvailable } from '../helpers/peers.js';

/** the one program check (test/helpers/peers.ts), here for the tmux tests that import it from this file */
export { hasBinary } from '../helpers/peers.js';

/** tmux is there (else the suite skips, naming the package; under CI=true it fails: test/helpers/peers.ts) */
export function tmuxAvailable(): boolean {
  return peerAvailable(onPath('tmux'), 'tmux (apt-get install tmux)');
}

/** Compile src/ into dist/ once per file, so the binary under test is the code under test. */
export function buildDist(): void {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' });
}

/**
 * The scaffolding every tmux test file shares; call it inside `describe`: dist/ is built before the
 * file's tests, and every session made by the returned function is killed after them.
 * `before` runs once after the build (fixtures a file's sessions need), `after` before the kill.
 */
export function tmuxSuite(opts: { before?: () => unknown; after?: () => unknown; timeoutMs?: number } = {}): (name: string) => Tmux {
  const sessions: Tmux[] = [];
  beforeAll(async () => {
    buildDist();
    await opts.before?.();
  }, opts.timeoutMs ?? 180_000);
  afterAll(async () => {
    try {
      await opts.after?.();
    } finally {
      for (const t of sessions) t.kill();
    }
  }, 60_000);
  return (name: string) => {
    const t = new Tmux(name);
    sessions.push(t);
    return t;
  };
}

export class Tmux {
  readonly socket: string;
  constructor(readonly name: string) {
    this.socket = `vacm-${name}-${process.pid}`;
  }

  private tmux(args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
  }

  /** Start `command` (run by sh) in a detached session of the given size, with `env` added and CI removed; `conf` is the server's tmux.conf. */
  start(command: string, opts: { columns?: number; rows?: number; env?: Record<string, string>; cwd?: string; conf?: string } = {}): void {
    const env = Object.entries(opts.env ?? {}).map(([k, v]) => `${k}='${v.replace(/'/g, "'\\''")}'`).join(' ');
    this.tmux(['-f', opts.conf ?? '/dev/null', 'new-session', '-d', '-s', this.name, '-x', String(opts.columns ?? 200), '-y', String(opts.rows ?? 60), ...(opts.cwd ? ['-c', opts.cwd] : []),
      `unset CI; env ${env} ${command}; echo VACM_EXITED $?; sleep 120`]);
  }

  capture(): string {
    return this.tmux(['capture-pane', '-p', '-t', this.name]);
  }

  /** the screen with its colours (SGR escapes), as tmux holds it */
  captureColours(): string {
    return this.tmux(['capture-pane', '-p', '-e', '-t', this.name]);
  }

  /** named keys (Enter, Space, Escape, Tab, Up, ...) */
  keys(...keys: string[]): void {
    this.tmux(['send-keys', '-t', this.name, ...keys]);
  }

  /** literal text */
  type(text: string): void {
    this.tmux(['send-keys', '-t', this.name, '-l', text]);
  }

  /** resize the window, as a terminal emulator (or an SSH client) does when its window changes */
  resize(columns: number, rows: number): void {
    this.tmux(['resize-window', '-t', this.name, '-x', String(columns), '-y', String(rows)]);
  }

  alternateScreenOn(): boolean {
    return this.tmux(['display-message', '-p', '-t', this.name, '#{alternate_on}']).trim() === '1';
  }

  /** the pane's title (what OSC 0/2 would set) */
  paneTitle(): string {
    return this.tmux(['display-message', '-p', '-t', this.name, '#{pane_title}']).trim();
  }

  /** the server's paste buffers (what OSC 52 would add to, with set-clipboard on) */
  buffers(): string {
    return this.tmux(['list-buffers', '-F', '#{buffer_name}: #{buffer_sample}']);
  }

  panePid(): number {
    return Number(this.tmux(['display-message', '-p', '-t', this.name, '#{pane_pid}']).trim());
  }

  /** Poll the screen until `pred` holds (bounded in count and time). */
  async waitFor(pred: string | RegExp | ((s: string) => boolean), timeoutMs = 15_000): Promise<string> {
    const test = typeof pred === 'string' ? (s: string) => s.includes(pred) : pred instanceof RegExp ? (s: string) => pred.test(s) : pred;
    const until = Date.now() + timeoutMs;
    let screen = '';
    for (let i = 0; i < 2000 && Date.now() < until; i++) {
      screen = this.capture();
      if (test(screen)) return screen;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${String(pred)}; screen:\n${screen}`);
  }

  kill(): void {
    try {
      this.tmux(['kill-server']);
    } catch {
      /* already gone */
    }
  }
}
