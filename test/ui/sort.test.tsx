/** Issue 11 item 10: the sort picker (one overlay), load per CPU, invert, the sorted column marked, one sort per snapshot. */
import { describe, it, expect, afterEach } from 'vitest';
import { startApp, KEY } from './helpers.js';
import { sortNodes, sortArrow, SORTS } from '../../src/ui/sort.js';
import { INITIAL_STATE, deriveView, newViewCache } from '../../src/ui/dashboard-state.js';
import { KEYMAPS } from '../../src/ui/keymaps.js';
import { overlayText, overlayRect } from '../../src/ui/panes/Overlay.js';
import { sortSpec } from '../../src/ui/panes/Dialogs.js';
import type { NodeView } from '../../src/protocol/module.js';
import type { Snapshot } from '../../src/ui/ui-engine.js';

let app: Awaited<ReturnType<typeof startApp>> | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

const node = (name: string, stats?: Record<string, number>, state: NodeView['state'] = 'up'): NodeView =>
  ({ name, groups: [], vars: {}, state, stateSince: 0, power: 'on', local: false, loadHistory: [], stats }) as NodeView;

describe('sorting (pure)', () => {
  // mixed hardware: 8 on 64 CPUs is idle, 6 on 8 CPUs is busy
  const ns = [node('big', { load1: 8, cpus: 64, cpu_pct: 12, mem_used_pct: 80, uptime_s: 10 }), node('small', { load1: 6, cpus: 8, cpu_pct: 75, mem_used_pct: 20, uptime_s: 500 }), node('gone', undefined, 'down'), node('mid', { load1: 4, cpus: 16, cpu_pct: 25, mem_used_pct: 50, uptime_s: 99 })];
  const names = (l: readonly NodeView[]) => l.map((n) => n.name);

  it('load per CPU is load1 / cpus: what matters on mixed hardware', () => {
    expect(names(sortNodes(ns, 'load'))).toEqual(['big', 'small', 'mid', 'gone']);
    expect(names(sortNodes(ns, 'loadPerCpu'))).toEqual(['small', 'mid', 'big', 'gone']);
    expect(names(sortNodes(ns, 'cpu'))).toEqual(['small', 'mid', 'big', 'gone']);
    expect(names(sortNodes(ns, 'mem'))).toEqual(['big', 'mid', 'small', 'gone']);
    expect(names(sortNodes(ns, 'uptime'))).toEqual(['small', 'mid', 'big', 'gone']);
    expect(names(sortNodes(ns, 'state'))).toEqual(['gone', 'big', 'small', 'mid']);
  });

  it('inverted, the idlest come first and a node without readings still comes last; name inverts the nodelist', () => {
    expect(names(sortNodes(ns, 'loadPerCpu', true))).toEqual(['big', 'mid', 'small', 'gone']);
    expect(names(sortNodes(ns, 'name', true))).toEqual(['mid', 'gone', 'small', 'big']);
    expect(sortArrow('load', false)).toBe('▼');
    expect(sortArrow('load', true)).toBe('▲');
    expect(sortArrow('name', false)).toBe('▲');
  });

  it('sorts once per snapshot: frames of the same snapshot reuse the sorted list (4096 nodes)', () => {
    const nodes = Array.from({ length: 4096 }, (_, i) => node(`n${i}`, { load1: (i * 7919) % 97, cpus: 1 + (i % 64) }));
    const snap = { nodes, jobs: [], counts: {}, cluster: 'x', runningJobs: 0 } as unknown as Snapshot;
    const cache = newViewCache();
    const s = { ...INITIAL_STATE, sort: 'loadPerCpu' as const, overview: false };
    const a = deriveView(s, snap, cache, KEYMAPS, []);
    const b = deriveView({ ...s, cursorName: 'n5' }, snap, cache, KEYMAPS, []);
    expect(b.shown).toBe(a.shown);
    const ratio = (n: NodeView) => Number(n.stats!.load1) / Number(n.stats!.cpus);
    for (let i = 1; i < a.shown.length; i++) expect(ratio(a.shown[i - 1])).toBeGreaterThanOrEqual(ratio(a.shown[i]));
    // a new snapshot (new node list) sorts again
    const c = deriveView(s, { ...snap, nodes: nodes.slice() } as Snapshot, cache, KEYMAPS, []);
    expect(c.shown).not.toBe(a.shown);
  });

  it('the overview finds its rack rows again only when a node\'s groups change, not with every snapshot', () => {
    const racks = [Object.freeze(['rack1']), Object.freeze(['rack2'])];
    const nodes = Array.from({ length: 8 }, (_, i) => ({ ...node(`n${i}`, { load1: i }), groups: racks[i % 2] }) as NodeView);
    const snap = { nodes, jobs: [], counts: {}, cluster: 'x', runningJobs: 0 } as unknown as Snapshot;
    const cache = newViewCache();
    const s = { ...INITIAL_STATE, overview: true };
    const labels = (v: ReturnType<typeof deriveView>) => v.sections?.map((x) => `${x.label}:${x.count}`);
    expect(labels(deriveView(s, snap, cache, KEYMAPS, []))).toEqual(['rack1:4', 'rack2:4']);
    const family = cache.family.family;
    // new stats, same groups: the same family, the rows as before
    const next = nodes.map((n) => ({ ...n, stats: { load1: 1 } }) as NodeView);
    expect(labels(deriveView(s, { ...snap, nodes: next } as Snapshot, cache, KEYMAPS, []))).toEqual(['rack1:4', 'rack2:4']);
    expect(cache.family.family).toBe(family);
    // one node moves to a new rack: a row of its own
    const moved = next.map((n, i) => (i === 0 ? ({ ...n, groups: Object.freeze(['rack3']) } as NodeView) : n));
    expect(labels(deriveView(s, { ...snap, nodes: moved } as Snapshot, cache, KEYMAPS, []))).toEqual(['rack1:3', 'rack2:4', 'rack3:1']);
  });
});

describe('the sort picker at 80x24', () => {
  it('s opens it over the dashboard; Enter sorts by the chosen key, marked in the column header; r inverts, in the picker and in the pane', async () => {
    app = await startApp({ columns: 80, rows: 24 });
    let f = await app.waitFor('sort name ▲');
    expect(f).toContain('NODE▲');
    await app.press('s');
    f = await app.waitFor('SORT · now name ▲');
    // the overlay as drawn, word for word
    const spec = sortSpec({ kind: 'sort', cursor: 0 }, 'name', false);
    const rect = overlayRect(spec, 80, 23 - 3);
    for (const row of overlayText(spec, rect)) expect(f).toContain(row);
    for (const s of SORTS) expect(f).toContain(s.label);
    await app.press('j', 'j', 'j', KEY.enter);
    f = await app.waitFor('sort loadPerCpu ▼');
    expect(f).toContain('LOAD▼');
    expect(f).not.toContain('SORT ·');
    const loads = () => [...app!.frame().matchAll(/[●✖○?] sim\d+ +on +\S* +(\d+\.\d\d)/g)].map((x) => Number(x[1]));
    let l = loads();
    expect(l.length).toBeGreaterThan(3);
    expect([...l].sort((a, b) => b - a)).toEqual(l);
    await app.press('r');
    f = await app.waitFor('sort loadPerCpu ▲');
    expect(f).toContain('LOAD▲');
    l = loads();
    expect([...l].sort((a, b) => a - b)).toEqual(l);
    await app.press('s', 'r');
    f = await app.waitFor('sort loadPerCpu ▼');
    expect(f).toContain('SORT · now loadPerCpu ▼');
    await app.press(KEY.escape);
    await app.waitFor((x) => !x.includes('SORT ·'));
  });
});
