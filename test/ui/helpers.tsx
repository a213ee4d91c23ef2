/** A real engine (NEXXUS + SIM + whatever has landed in createBackends) with a few sim nodes, rendered with ink-testing-library. */
import React from 'react';
import { render } from 'ink-testing-library';
import { afterAll, beforeAll } from 'vitest';
// ink's own chalk (the top-level one is an older major)
import chalk from '../../node_modules/ink/node_modules/chalk/source/index.js';
import { Engine } from '../../src/engine/engine.js';
import { createBackends } from '../../src/backends/index.js';
import { demoNodeDefs } from '../../src/backends/sim/cluster.js';
import { App } from '../../src/ui/App.js';
import { uiEngineOf } from '../../src/ui/ui-engine.js';
import { loadThemes } from '../../src/cli/tui.js';
import { tempDir } from '../helpers/engine.js';
import type { CustomAction } from '../../src/protocol/actions.js';

export const KEY = {
  up: '\u001B[A',
  down: '\u001B[B',
  right: '\u001B[C',
  left: '\u001B[D',
  pageDown: '\u001B[6~',
  pageUp: '\u001B[5~',
  home: '\u001B[H',
  end: '\u001B[F',
  enter: '\r',
  escape: '\u001B',
  tab: '\t',
  backspace: '\u007F',
  ctrlC: '\u0003',
};

/** What a test does with a rendered ink tree: read the last frame, wait for one, type keys. */
export interface Driven {
  frame: () => string;
  /** the first frame that shows `pred`; after `timeoutMs` an error with the screen */
  waitFor: (pred: string | RegExp | ((f: string) => boolean), timeoutMs?: number) => Promise<string>;
  /** type keys one at a time, letting the app render between them */
  press: (...keys: string[]) => Promise<void>;
}

/** The one ink starter: drive a tree from ink-testing-library's `render`. */
export function drive(r: ReturnType<typeof render>, opts: { timeoutMs?: number } = {}): Driven {
  const frame = () => r.lastFrame() ?? '';
  const waitFor = async (pred: string | RegExp | ((f: string) => boolean), timeoutMs = opts.timeoutMs ?? 5000): Promise<string> => {
    const test = typeof pred === 'string' ? (f: string) => f.includes(pred) : pred instanceof RegExp ? (f: string) => pred.test(f) : pred;
    const until = Date.now() + timeoutMs;
    for (let i = 0; i < 1000 && Date.now() < until; i++) {
      if (test(frame())) return frame();
      await new Promise((res) => setTimeout(res, 10));
    }
    throw new Error(`timed out waiting for ${String(pred)}; screen:\n${frame()}`);
  };
  const press = async (...keys: string[]) => {
    for (const k of keys) {
      r.stdin.write(k);
      await new Promise((res) => setTimeout(res, 15));
    }
  };
  return { frame, waitFor, press };
}

/** ink colours through its own chalk, which draws nothing without a colour terminal: force colours for a test file. */
export function forceColours(): void {
  let level: typeof chalk.level;
  beforeAll(() => {
    level = chalk.level;
    chalk.level = 3;
  });
  afterAll(() => {
    chalk.level = level;
  });
}

/** The default theme, as the dashboard loads it without VACM_THEME. */
export const defaultTheme = () => loadThemes({}).find((t) => t.name === 'default')!;

export async function startApp(opts: { nodes?: number; readOnly?: boolean; columns?: number; rows?: number; history?: string[]; env?: NodeJS.ProcessEnv; safe?: string[]; skipStates?: ('down' | 'off' | 'unknown')[]; actions?: CustomAction[] } = {}) {
  const defs = demoNodeDefs(opts.nodes ?? 8);
  const groups: Record<string, string[]> = {};
  for (const d of defs) for (const g of d.groups) (groups[g] ??= []).push(d.name);
  const engine = new Engine({
    config: {
      view: { cluster: 'uitest', fanout: 16, exec: { allow: ['*'], safe: opts.safe ?? [], skipStates: opts.skipStates }, sections: {}, groups, actions: opts.actions },
      nodes: defs.map((d) => ({ name: d.name, groups: d.groups, vars: d.vars })),
    },
    modules: createBackends({ simSeed: 7 }).modules,
    stateDir: tempDir('vacm-ui-'),
    readOnly: opts.readOnly,
    monitor: true,
    localName: 'not-a-sim-node',
  });
  await engine.start();
  let quits = 0;
  const saved: string[] = [];
  const r = render(
    <App
      engine={uiEngineOf(engine)}
      themes={loadThemes(opts.env ?? {})}
      size={{ columns: opts.columns ?? 100, rows: opts.rows ?? 30 }}
      history={opts.history}
      onHistory={(l) => saved.push(l)}
      onQuit={() => quits++}
      maxHz={50}
    />,
  );
  const { frame, waitFor, press } = drive(r);
  const stop = async () => {
    r.unmount();
    r.cleanup();
    await engine.stop();
  };
  return { engine, r, frame, waitFor, press, stop, quits: () => quits, saved };
}
