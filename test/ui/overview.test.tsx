/** Issue 11 item 9: the big-cluster overview has a legend, one labelled row per rack, n/N to the nodes in trouble, and names the cursor's node. */
import React from 'react';
import { describe, it, expect, afterEach } from 'vitest';
import { render } from 'ink-testing-library';
import { startApp } from './helpers.js';
import { NodesPane } from '../../src/ui/panes/NodesPane.js';
import { cellByLines, groupByFamily, overviewLayout, rowFamily } from '../../src/ui/format.js';
import type { NodeView } from '../../src/protocol/module.js';

let app: Awaited<ReturnType<typeof startApp>> | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

const view = (name: string, groups: string[], state: NodeView['state'] = 'up'): NodeView =>
  ({ name, groups, vars: {}, state, power: 'on', stateSince: 0, loadHistory: [], stats: { load1: 1, cpus: 4 } }) as unknown as NodeView;

describe('overview rows (pure)', () => {
  it('picks the numbered family no node is in twice, covering the most nodes, in natural order', () => {
    const nodes = [view('a1', ['rack2', 'row1', 'gpu']), view('a2', ['rack10', 'row1']), view('a3', ['rack2', 'row1', 'row2']), view('a4', [])];
    // row1/row2 overlap on a3: not a partition; rack2/rack10 is
    expect(rowFamily(nodes)).toEqual({ prefix: 'rack', groups: ['rack2', 'rack10'] });
    expect(rowFamily([view('x', ['gpu']), view('y', ['compute'])])).toBeUndefined();
    const g = groupByFamily(nodes, rowFamily(nodes));
    expect(g.nodes.map((n) => n.name)).toEqual(['a1', 'a3', 'a2', 'a4']);
    expect(g.sections).toEqual([{ label: 'rack2', count: 2 }, { label: 'rack10', count: 1 }, { label: 'other', count: 1 }]);
  });

  it('a section wraps under its label; up/down keep the column, clamped to a short line', () => {
    const lay = overviewLayout(13, [{ label: 'rack1', count: 10 }, { label: 'rack2', count: 3 }], 10);
    expect(lay.labelWidth).toBe(6);
    expect(lay.lines).toEqual([{ label: 'rack1', start: 0, end: 4 }, { label: '', start: 4, end: 8 }, { label: '', start: 8, end: 10 }, { label: 'rack2', start: 10, end: 13 }]);
    expect(cellByLines(lay, 7, 1)).toBe(9); // column 3 of a two-cell line: its last cell
    expect(cellByLines(lay, 9, 1)).toBe(11);
    expect(cellByLines(lay, 11, -3)).toBe(1);
  });
});

describe('the overview in the dashboard (SIM racks of 32)', () => {
  it('shows a legend, one labelled row per rack, and the cursor node on the status line', async () => {
    app = await startApp({ nodes: 600, columns: 80, rows: 24 });
    const f = await app.waitFor('overview');
    const lines = f.split('\n');
    expect(f).toContain('0-9 load/CPU  X down  . off  ? unknown');
    expect(f).toMatch(/NODES 600 · overview · sim001 up · sort/);
    const rackRows = lines.filter((l) => /│rack\d+ +[0-9X.?]{32}│?/.test(l));
    expect(rackRows.length).toBeGreaterThanOrEqual(10);
    expect(rackRows[0]).toMatch(/│rack1 {2}/);
    expect(rackRows[1]).toMatch(/│rack2 {2}/);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
  });

  it('n lands on the next node down, N on the previous one, and j moves down one rack', async () => {
    app = await startApp({ nodes: 600, columns: 80, rows: 24 });
    await app.waitFor('overview');
    await app.engine.submit('SIM:FAIL:sim100,sim300:600').done;
    await app.waitFor((f) => (f.match(/X/g) ?? []).length >= 2);
    // the demo fails a few nodes at random too: n walks every node in trouble, in order, wrapping
    const cursor = async () => {
      const f = await app!.waitFor(/overview · sim\d+ \w+/);
      const m = /overview · sim(\d+) (\w+)/.exec(f)!;
      return { n: Number(m[1]), state: m[2] };
    };
    const walk = async (key: string, to: number) => {
      const seen: number[] = [];
      for (let i = 0; i < 30; i++) {
        const before = (await cursor()).n;
        await app!.press(key);
        await app!.waitFor((f) => !f.includes(`overview · sim${String(before).padStart(3, '0')} `) || f.includes('no node down'));
        const c = await cursor();
        expect(c.state).toMatch(/down|unknown/);
        seen.push(c.n);
        if (c.n === to) return seen;
      }
      throw new Error(`${key} never reached sim${to}: ${seen.join(' ')}`);
    };
    const forward = await walk('n', 100);
    expect(forward).toEqual([...forward].sort((a, b) => a - b));
    const on = await walk('n', 300);
    expect(on).toEqual([...on].sort((a, b) => a - b));
    expect(on[0]).toBeGreaterThan(100);
    const back = await walk('N', 100);
    expect(back).toEqual([...back].sort((a, b) => b - a));
    await walk('n', 300);
    // sim300 is the 12th of rack10 (sim289-sim320): j lands on the 12th of rack11, k k on rack9's
    await app.press('j');
    await app.waitFor(/overview · sim332 \w+/);
    await app.press('k', 'k');
    await app.waitFor(/overview · sim268 \w+/);
  });

  it('with no numbered groups the cells just wrap, unlabelled', async () => {
    app = await startApp({ nodes: 8 });
    const nodes = app.engine.getSnapshot().nodes.map((n) => ({ ...n, groups: ['demo'] }));
    const r = render(<NodesPane nodes={nodes} total={nodes.length} cursor={2} marks={new Set()} sort="name" overview focused width={40} height={6} />);
    const lines = r.lastFrame()!.split('\n');
    expect(lines[0]).toContain('overview · sim003 up');
    expect(lines[1]).toContain('X down');
    expect(lines[2].trim()).toMatch(/^[0-9]{8}$/);
    r.unmount();
  });
});
