/** Issue 11 item 11: load is coloured by a gradient of load per CPU (theme slots load.low/mid/high/full), in the list and in the overview. */
import React from 'react';
import { describe, it, expect } from 'vitest';
import { defaultTheme, forceColours } from './helpers.js';
import { render } from 'ink-testing-library';
import { NodesPane } from '../../src/ui/panes/NodesPane.js';
import { ThemeProvider, SLOTS } from '../../src/ui/theme.js';
import { loadThemes } from '../../src/cli/tui.js';
import { loadLevelOf } from '../../src/ui/format.js';
import type { NodeView } from '../../src/protocol/module.js';

forceColours();

const node = (name: string, load1: number, cpus: number, state: NodeView['state'] = 'up'): NodeView =>
  ({ name, groups: [], vars: {}, state, power: 'on', stateSince: 0, loadHistory: [load1, load1, load1], stats: { load1, cpus, cpu_pct: 10, mem_used_pct: 20 } }) as unknown as NodeView;

const theme = defaultTheme;
const GREEN = '\x1b[32m';
const YELLOW = '\x1b[33m';
const ORANGE = '\x1b[38;2;255;135;0m';
const RED = '\x1b[31m';

describe('load gradient', () => {
  it('the slots by load per CPU, and every theme defines them', () => {
    expect([0, 0.49, 0.5, 0.79, 0.8, 0.89, 0.9, 3].map(loadLevelOf)).toEqual(['load.low', 'load.low', 'load.mid', 'load.mid', 'load.high', 'load.high', 'load.full', 'load.full']);
    expect(SLOTS).toEqual(expect.arrayContaining(['load.low', 'load.mid', 'load.high', 'load.full']));
    for (const t of loadThemes({})) if (t.name !== 'mono') for (const s of ['load.low', 'load.mid', 'load.high', 'load.full'] as const) expect(t.slots[s], `${t.name} ${s}`).not.toBe('');
  });

  it('the overview colours each up node\'s digit by its load per CPU, not by its CPU count alone', () => {
    // 8 of 16 cpus is 0.5 (mid), 15 of 16 is saturated, 1 of 2 is mid too
    const nodes = [node('a1', 1, 16), node('a2', 8, 16), node('a3', 13, 16), node('a4', 15, 16), node('a5', 1, 2), node('a6', 0, 4, 'down')];
    const r = render(<ThemeProvider theme={theme()}><NodesPane nodes={nodes} total={nodes.length} cursor={5} marks={new Set()} sort="name" overview focused width={40} height={4} /></ThemeProvider>);
    const cells = r.lastFrame()!.split('\n')[2];
    expect(cells).toContain(`${GREEN}0`);
    expect(cells).toContain(`${YELLOW}5`);
    expect(cells).toContain(`${ORANGE}8`);
    expect(cells).toContain(`${RED}9`);
    expect(cells).toContain(`${YELLOW}5`);
    r.unmount();
  });

  it('the list colours the sparkline and the load number; a down node\'s stay dim', () => {
    const nodes = [node('a1', 15, 16), node('a2', 1, 16), node('a3', 15, 16, 'down')];
    const r = render(<ThemeProvider theme={theme()}><NodesPane nodes={nodes} total={nodes.length} cursor={0} marks={new Set()} sort="name" overview={false} focused={false} width={60} height={6} /></ThemeProvider>);
    const lines = r.lastFrame()!.split('\n');
    // sparkline and load in one colour run (ink merges equal neighbours)
    expect(lines[2]).toMatch(/\x1b\[31m *[▁▂▃▄▅▆▇█]+ +15\.00\x1b\[39m +10%/);
    expect(lines[3]).toMatch(/\x1b\[32m *[▁▂▃▄▅▆▇█]+ +1\.00\x1b\[39m +10%/);
    expect(lines[4]).not.toContain(RED);
    r.unmount();
  });
});
