/**
 * `vacm` with no command: the dashboard. Builds the engine with monitoring on, reads themes and the
 * prompt history (the UI does no I/O), renders the ink app on the alternate screen, and restores the
 * terminal on every way out. VACM_PERF_LOG=<file> appends cpu/rss samples and key-to-frame times
 * (one JSON object a line) for bench/ui.bench.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import React from 'react';
import { render } from 'ink';
import { App } from '../ui/App.js';
import { uiEngineOf, type UiEngine } from '../ui/ui-engine.js';
import { defaultStateDir } from '../engine/audit.js';
import { customActionProblem } from '../ui/keymaps.js';
import { thisMachine } from '../platform/this-machine.js';
import { boundHeapGrowth } from '../platform/heap-growth.js';
import { MONO, parseTheme, type Theme } from '../ui/theme.js';
import { openEngine, type EngineArgs } from './setup.js';
import type { Io } from './io.js';
import { escapeControls } from '../protocol/visible.js';
import { toVacmError } from '../protocol/errors.js';
import { appendStateFile, readStateFile } from '../platform/state-files.js';
import { setsSecret } from '../protocol/vars.js';
import { BUNDLED } from './bundled.js';
import { consoleOpener } from './console-attach.js';
import { shellRunner, type TerminalHandover } from './shell.js';

export const THEME_ORDER = ['default', 'light', 'high-contrast', 'mono'];

export function themesDir(): string {
  // dist/cli/tui.js or src/cli/tui.ts → <package>/themes
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'themes');
}

/** The themes in cycling order; with NO_COLOR set only mono (https://no-color.org). vacm.mjs carries them inside. */
export function loadThemes(env: NodeJS.ProcessEnv = process.env, dir: string | undefined = BUNDLED ? undefined : themesDir()): Theme[] {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return [MONO];
  let found: Array<[name: string, read: () => unknown, file: string]>;
  if (dir === undefined) {
    found = Object.entries(BUNDLED?.themes ?? {}).map(([name, json]) => [name, () => json, `vacm.mjs:themes/${name}.json`]);
  } else {
    try {
      found = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => {
        const file = path.join(dir, f);
        return [f.replace(/\.json$/, ''), () => JSON.parse(fs.readFileSync(file, 'utf8')) as unknown, file];
      });
    } catch {
      return [MONO];
    }
  }
  const rank = (name: string) => {
    const i = THEME_ORDER.indexOf(name);
    return i < 0 ? THEME_ORDER.length : i;
  };
  found.sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
  const out = found.map(([, read, file]) => parseTheme(read(), file));
  return out.length ? out : [MONO];
}

const HISTORY_FILE = 'prompt_history';
const HISTORY_MAX = 500;

export function readHistory(stateDir: string): string[] {
  try {
    return (readStateFile(stateDir, HISTORY_FILE)?.toString('utf8') ?? '').split('\n').filter((l) => l.trim() !== '' && !setsSecret(l)).slice(-HISTORY_MAX);
  } catch {
    return [];
  }
}

export function appendHistory(stateDir: string, line: string): void {
  if (setsSecret(line)) return; // a secret is never stored (the dashboard does not offer it either)
  try {
    appendStateFile(stateDir, HISTORY_FILE, line.replace(/\n/g, ' ') + '\n');
  } catch {
    /* history is a convenience: never fail the dashboard over it */
  }
}

function perfLogger(file: string | undefined, stdin: NodeJS.ReadStream) {
  if (!file) return { onRender: undefined, stop: () => {} };
  const fd = fs.openSync(file, 'a');
  const write = (o: object) => fs.writeSync(fd, JSON.stringify({ ts: Date.now(), ...o }) + '\n');
  let lastCpu = process.cpuUsage();
  let lastT = performance.now();
  let renders = 0;
  let renderMs = 0;
  const timer = setInterval(() => {
    const cpu = process.cpuUsage(lastCpu);
    const t = performance.now();
    write({ type: 'sample', cpuPct: ((cpu.user + cpu.system) / 1000 / (t - lastT)) * 100, rssMiB: process.memoryUsage().rss / 1048576, renders, renderMs });
    lastCpu = process.cpuUsage();
    lastT = t;
    renders = 0;
    renderMs = 0;
  }, 1000);
  timer.unref();
  let keyAt: number | undefined;
  const onData = () => {
    keyAt ??= performance.now();
  };
  stdin.on('data', onData);
  return {
    onRender: (m: { renderTime: number }) => {
      renders++;
      renderMs += m.renderTime;
      if (keyAt !== undefined) {
        write({ type: 'key', ms: performance.now() - keyAt });
        keyAt = undefined;
      }
    },
    stop: () => {
      clearInterval(timer);
      stdin.off('data', onData);
      fs.closeSync(fd);
    },
  };
}

/**
 * The terminal as ink draws on it, with a gate: while a shell (`S`) has the terminal, ink's frames
 * are dropped (it keeps rendering into its own state), the alternate screen and raw mode are left
 * and this process stops reading the keyboard. On the way back the alternate screen is cleared and
 * the next frame is drawn whole (the UI's frame changes when the shell ends).
 */
export function terminalGate(stdout: NodeJS.WriteStream, stdin: NodeJS.ReadStream, screen: { on: string; off: string }): { stdout: NodeJS.WriteStream; handover: TerminalHandover } {
  let held = false;
  const write = (...a: Parameters<NodeJS.WriteStream['write']>): boolean => (held ? true : stdout.write(...a));
  const gated = new Proxy(stdout, {
    get(target, key) {
      if (key === 'write') return write;
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(target) : v;
    },
  });
  const handover: TerminalHandover = {
    release() {
      held = true;
      stdout.write(screen.off);
      try {
        stdin.setRawMode?.(false);
      } catch {
        /* no terminal */
      }
      // process.stdin stops reading the tty on 'pause' (Node's own handler, a tick later): a key
      // read here would be lost to ssh. The dashboard's input is already off (its hooks inactive).
      stdin.emit('pause');
    },
    reclaim() {
      stdout.write(`${screen.on}\x1b[2J\x1b[H\x1b[?25l`);
      held = false;
    },
    say(text) {
      stdout.write(`${text}\r\n`);
    },
  };
  return { stdout: gated, handover };
}

export async function runTui(args: EngineArgs, io: Io, attach?: { target: string; explicit: boolean }): Promise<number> {
  let themes: Theme[];
  try {
    themes = loadThemes();
  } catch (err) {
    const ve = toVacmError(err, 'ERR_CONFIG');
    io.err(`${ve.code}: ${escapeControls(ve.message)}\n`);
    return 2;
  }
  if (attach) {
    // attached to a vacm serve (issue 13): its engine, over the vacm subsystem; a stale default socket embeds one
    const { openAttached } = await import('./attach-open.js');
    const remote = await openAttached(attach);
    if (remote) return showDashboard(() => remote, themes, defaultStateDir(), () => remote.stop(), io);
  }
  const engine = await openEngine({ ...args, monitor: true });
  // custom actions: a key a built-in key has, or a template naming no valid request, is a config error at start
  const bad = customActionProblem(engine.config.actions ?? [], (l) => uiEngineOf(engine).check(l), engine.store.getSnapshot().nodes[0]?.name ?? 'node');
  if (bad) {
    await engine.stop();
    io.err(`ERR_CONFIG: ${escapeControls(bad)}\n`);
    return 2;
  }
  const ui = (handover: TerminalHandover) => uiEngineOf(engine, { thisMachine, consoles: consoleOpener(engine), shell: shellRunner(engine, handover) });
  return showDashboard(ui, themes, engine.stateDir, () => engine.stop(), io);
}

/** The ink app on the alternate screen, over an engine of this process or an attached serve's; `stop` ends it. */
async function showDashboard(uiFor: (handover: TerminalHandover) => UiEngine, themes: Theme[], stateDir: string, stop: () => Promise<void>, io: Io): Promise<number> {
  const stdout = process.stdout;
  const stdin = process.stdin;
  if (!stdin.isTTY || !stdout.isTTY) {
    await stop();
    io.err('ERR_USAGE: the dashboard needs a terminal; for scripts use vacm ipc (see vacm ipc --help)\n');
    return 2;
  }
  // the old generation's growth between full collections is the dashboard's peak memory (docs/ui.md)
  let heap: ReturnType<typeof boundHeapGrowth>;
  try {
    heap = boundHeapGrowth();
  } catch (err) {
    await stop();
    io.err(`${toVacmError(err).code}: ${toVacmError(err).message}\n`);
    return 2;
  }
  const perf = perfLogger(process.env.VACM_PERF_LOG, stdin);
  const ALT_ON = '\x1b[?1049h\x1b[H';
  const ALT_OFF = '\x1b[?1049l\x1b[?25h';
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    stdout.write(ALT_OFF);
  };
  process.once('exit', restore);
  stdout.write(ALT_ON);
  let quit!: () => void;
  const quitting = new Promise<void>((r) => (quit = r));
  const gate = terminalGate(stdout, stdin, { on: ALT_ON, off: ALT_OFF });
  const ui = uiFor(gate.handover);
  const instance = render(
    React.createElement(App, {
      engine: ui,
      themes,
      history: readHistory(stateDir),
      onHistory: (line: string) => appendHistory(stateDir, line),
      onQuit: () => quit(),
    }),
    { stdout: gate.stdout, exitOnCtrlC: false, patchConsole: true, maxFps: 60, incrementalRendering: process.env.VACM_INCREMENTAL === "1", onRender: perf.onRender },
  );
  const onSignal = () => quit();
  process.once('SIGTERM', onSignal);
  process.once('SIGHUP', onSignal);
  try {
    await Promise.race([quitting, instance.waitUntilExit()]);
  } finally {
    instance.unmount();
    instance.cleanup();
    perf.stop();
    heap.stop();
    restore();
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    await stop();
  }
  return 0;
}
