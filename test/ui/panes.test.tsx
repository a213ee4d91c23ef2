import React from 'react';
import { describe, it, expect, afterEach } from 'vitest';
import { render } from 'ink-testing-library';
import { startApp } from './helpers.js';
import { HeaderPane } from '../../src/ui/panes/HeaderPane.js';
import { DetailPane, detailStatLines } from '../../src/ui/panes/DetailPane.js';
import { JobsPane } from '../../src/ui/panes/JobsPane.js';
import { NodesPane } from '../../src/ui/panes/NodesPane.js';
import { PromptPane } from '../../src/ui/panes/PromptPane.js';
import { Footer } from '../../src/ui/panes/Footer.js';
import { activeKeymaps } from '../../src/ui/keymaps.js';
import { formatAgo } from '../../src/ui/format.js';
import { inputOf } from '../../src/ui/text-input.js';

let app: Awaited<ReturnType<typeof startApp>> | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

describe('panes with a real engine (SIM nodes)', () => {
  it('HeaderPane shows the cluster, the counts by state and running jobs', async () => {
    app = await startApp();
    const snap = app.engine.getSnapshot();
    const r = render(<HeaderPane cluster={snap.cluster} counts={snap.counts} total={snap.nodes.length} runningJobs={0} readOnly themeName="mono" width={120} />);
    expect(r.lastFrame()).toContain('vacm · uitest');
    expect(r.lastFrame()).toContain('8 nodes: 8 up · 0 down · 0 off · 0 unknown');
    expect(r.lastFrame()).toContain('0 running');
    expect(r.lastFrame()).toContain('READ-ONLY');
    r.unmount();
  });

  it('NodesPane lists every node with power, sparkline and load, and only the rows that fit', async () => {
    app = await startApp({ nodes: 40 });
    const nodes = app.engine.getSnapshot().nodes;
    const r = render(<NodesPane nodes={nodes} total={nodes.length} cursor={0} marks={new Set(['sim002'])} sort="name" overview={false} focused width={60} height={12} />);
    const f = r.lastFrame()!;
    expect(f).toContain('NODES 40');
    expect(f).toContain('1 marked');
    expect(f).toMatch(/● sim001 on .*[▁▂▃▄▅▆▇█] +\d+\.\d\d/);
    expect(f).toMatch(/\*● sim002/);
    expect(f).not.toContain('sim011'); // 10 rows fit: virtualised
    expect(f.split('\n')).toHaveLength(12);
    r.unmount();
  });

  it('NodesPane overview puts one cell per node on a line', async () => {
    app = await startApp({ nodes: 40 });
    // without numbered groups (racks have rows of their own: test/ui/overview.test.tsx)
    const nodes = app.engine.getSnapshot().nodes.map((n) => ({ ...n, groups: ['demo'] }));
    const r = render(<NodesPane nodes={nodes} total={nodes.length} cursor={0} marks={new Set()} sort="name" overview focused width={30} height={5} />);
    const lines = r.lastFrame()!.split('\n');
    expect(lines[0]).toContain('overview');
    expect(lines[1]).toContain('load/CPU'); // the legend
    expect(lines.slice(2).map((l) => l.trim().length)).toEqual([30, 10, 0]);
    r.unmount();
  });

  it('DetailPane shows the node under the cursor: state, stats, a braille chart and its variables', async () => {
    app = await startApp();
    const n = app.engine.node('sim003')!;
    const now = Date.now();
    const series = { ts: [1, 3, 5, 7, 9, 7, 5, 3].map((_, i) => now - (7 - i) * 5000), values: [1, 3, 5, 7, 9, 7, 5, 3] };
    const r = render(<DetailPane node={n} focused width={40} height={14} now={now} series={series} />);
    const f = r.lastFrame()!;
    expect(f).toContain('sim003 up');
    expect(f).toContain('power on');
    expect(f).toMatch(/load [\d.]+ [\d.]+ [\d.]+ on 16 cpus/);
    expect(f).toMatch(/[\u2801-\u28ff]/); // braille
    expect(f).toContain('power=sim');
    expect(detailStatLines(n).join('\n')).toContain('SimLinux');
    r.unmount();
  });

  it('JobsPane lists jobs newest first with progress and state, and the output gathered', async () => {
    app = await startApp();
    await app.engine.submit('NEXXUS:GET_VAR:sim[001-004]:power').done;
    await app.engine.submit('NEXXUS:NODE_LIST:sim[001-002]').done;
    const jobs = app.engine.getSnapshot().jobs;
    const r = render(<JobsPane jobs={jobs} selected={1} focused width={70} height={12} />);
    const f = r.lastFrame()!;
    const lines = f.split('\n');
    expect(lines[1]).toMatch(/#2 ✔ 2\/2 completed  NEXXUS:NODE_LIST:sim\[001-002\]  \d+ms/);
    expect(lines[2]).toMatch(/#1 ✔ 4\/4 completed  NEXXUS:GET_VAR/);
    expect(f).toContain('sim[001-004] (4)');
    expect(f).toContain('  power=sim');
    expect(f).toContain('completed: ok=4 failed=0');
    r.unmount();
  });

  it('PromptPane shows the prompt with an inline error, and Footer the focused pane\'s keys', () => {
    const r = render(<PromptPane modal={{ kind: 'prompt', input: inputOf('NEXXUS:NOPE'), error: 'ERR_UNKNOWN_COMMAND: no command NOPE' }} width={80} />);
    expect(r.lastFrame()).toContain(':NEXXUS:NOPE');
    expect(r.lastFrame()).toContain('ERR_UNKNOWN_COMMAND: no command NOPE');
    r.unmount();
    const f = render(<Footer maps={activeKeymaps(false)} pane="nodes" modal={{ kind: 'none' }} width={200} />);
    expect(f.lastFrame()).toContain('Space mark');
    expect(f.lastFrame()).toContain('x exec');
    f.unmount();
    // read-only drops the dangerous keys; x stays, for the commands exec.safe lists (issue 11 item 6)
    const ro = render(<Footer maps={activeKeymaps(true)} pane="nodes" modal={{ kind: 'power', targets: ['sim001'], offers: [] }} width={200} />);
    expect(ro.lastFrame()).toContain('t power status');
    expect(ro.lastFrame()).not.toContain('power off');
    ro.unmount();
  });

  it('the whole app fits 80x24 and shows nodes, detail, jobs and the footer', async () => {
    app = await startApp({ columns: 80, rows: 24 });
    const f = await app.waitFor('sim008');
    const lines = f.split('\n');
    expect(lines.length).toBeLessThanOrEqual(24);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    expect(f).toContain('vacm · uitest');
    expect(f).toContain('JOBS');
    expect(f).toContain('? help');
  });
});

describe('stale numbers (issue 11 item 3)', () => {
  it('a down node shows when it was last seen; its row shows no live numbers', async () => {
    app = await startApp({ columns: 120, rows: 30 });
    await app.waitFor((f) => /sim003 on .* \d+\.\d\d/.test(f));
    const before = app.engine.node('sim003')!;
    expect(before.statsTs).toBeDefined();
    const r = render(<DetailPane node={{ ...before, state: 'down' }} focused width={50} height={14} now={before.statsTs! + 13_400} />);
    const f = r.lastFrame()!;
    expect(f).toContain('sim003 down');
    expect(f).toContain('last seen 13 s ago');
    expect(f).toMatch(/load [\d.]+ [\d.]+ [\d.]+ on 16 cpus/); // still there, as history
    r.unmount();
    const up = render(<DetailPane node={before} focused width={50} height={14} now={before.statsTs! + 13_400} />);
    expect(up.lastFrame()).not.toContain('last seen');
    up.unmount();
    expect(detailStatLines(before).length).toBeGreaterThan(0);
    const never = render(<DetailPane node={{ ...before, state: 'off', statsTs: undefined }} focused width={50} height={14} now={Date.now()} />);
    expect(never.lastFrame()).toContain('never seen');
    never.unmount();
  });

  it('in the dashboard a node that goes down keeps its sparkline but no load, and the detail pane counts its age', async () => {
    app = await startApp({ columns: 120, rows: 30 });
    await app.waitFor((f) => /sim001 on .* \d+\.\d\d/.test(f));
    await app.engine.submit('SIM:FAIL:sim001').done;
    const f = await app.waitFor(/last seen \d+ s ago/, 10_000);
    expect(f).toMatch(/✖ sim001 on +[▁▂▃▄▅▆▇█]+ +- +- +-/);
    expect(formatAgo(61_000)).toBe('1 min ago');
    expect(formatAgo(7_300_000)).toBe('2 h ago');
  });
});
