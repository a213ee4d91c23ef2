import { describe, it, expect } from 'vitest';
import { sparkline, formatNodeRow, rowColumns, loadChart, gatheredJobLines, perNodeJobLines, formatJobLine, windowStart, sortNodes, overviewRuns } from '../../src/ui/format.js';
import { complete } from '../../src/ui/complete.js';
import { KEYMAPS, activeKeymaps, footerText, keyName } from '../../src/ui/keymaps.js';
import { parseTheme, SLOTS } from '../../src/ui/theme.js';
import { loadThemes } from '../../src/cli/tui.js';
import type { JobView, NodeView } from '../../src/protocol/module.js';
import type { VacmEvent } from '../../src/protocol/events.js';

const node = (name: string, over: Partial<NodeView> = {}): NodeView => ({
  name, groups: [], vars: {}, state: 'up', stateSince: 0, power: 'on', local: false,
  stats: { load1: 4, cpus: 16, cpu_pct: 25, mem_used_pct: 50 }, loadHistory: [0, 4, 8, 16], ...over,
});

const job = (events: Partial<VacmEvent>[], over: Partial<JobView> = {}): JobView => ({
  id: 3, tag: 'SSH', command: 'EXEC', line: 'SSH:EXEC:n[1-4]:uname -r', targets: ['n1', 'n2', 'n3', 'n4'], targetsFolded: 'n[1-4]',
  state: 'completed', dangerous: true, lane: 'bulk', done: 4, ok: 3, failed: 1, startedAt: 1000, endedAt: 1400,
  events: events.map((e) => ({ tag: 'SSH', job: 3, ts: 0, ...e }) as VacmEvent), truncated: 0, quiet: false, ...over,
});

describe('row formatting (pure)', () => {
  it('sparkline scales samples to the maximum with ▁..█ and pads on the left', () => {
    expect(sparkline([0, 4, 8, 16], 6, 16)).toBe('  ▁▃▅█');
    expect(sparkline([1, 2, 3, 4, 5, 6, 7, 8, 9], 4, 8)).toBe('▇███');
    expect(sparkline([], 3)).toBe('   ');
  });

  it('a node row: name, power, sparkline, load, CPU and memory; dashes when the node is not up', () => {
    const cols = rowColumns(60, 8);
    expect(formatNodeRow(node('node01'), cols)).toMatch(/^node01 +on +▁▃▅█ +4\.00 +25% +50%$/);
    expect(formatNodeRow(node('node02', { state: 'down' }), cols)).toMatch(/^node02 +on +▁▃▅█ +- +- +-$/);
    expect(formatNodeRow(node('node03', { power: 'off', state: 'off' }), cols)).toMatch(/^node03 +off/);
    expect(rowColumns(40, 8).cpuMem).toBe(false);
  });

  it('sorts by load (highest first) and by state (trouble first)', () => {
    const ns = [node('a', { stats: { load1: 1 } }), node('b', { state: 'down' }), node('c', { stats: { load1: 9 } })];
    expect(sortNodes(ns, 'load').map((n) => n.name)).toEqual(['c', 'b', 'a']);
    expect(sortNodes(ns, 'state').map((n) => n.name)).toEqual(['b', 'a', 'c']);
  });

  it('overview runs merge neighbours of the same colour', () => {
    const ns = [node('a'), node('b'), node('c', { state: 'down' }), node('d')];
    expect(overviewRuns(ns, (n) => n.state).map((r) => `${r.slot}:${r.text.length}`)).toEqual(['up:2', 'down:1', 'up:1']);
  });

  it('the load chart: a braille line placed by time, Y labels (the scale, the CPU count on its dotted line, 0), the span under it', () => {
    const now = 1_000_000_000;
    const ts = [0, 1, 2, 3, 4].map((i) => now - (4 - i) * 15_000);
    const rows = loadChart({ ts, values: [0, 8, 16, 8, 0] }, { now, spanMs: 60_000, cols: 14, rows: 9, cpus: 16 });
    expect(rows).toHaveLength(9);
    for (const r of rows) expect(r.label.length + r.plot.length).toBe(14);
    expect(rows.slice(0, 8).map((r) => r.plot).join('')).toMatch(/[\u2801-\u28ff]/);
    expect(rows.map((r) => r.label.trim())).toEqual(['20', '16', '', '', '', '', '', '0', '']); // the scale: 16 cpus and a quarter, rounded up
    // the dotted line at 16 reaches across (every third dot: a blank cell now and then)
    const dots = (p: string) => (p.match(/[^ ]/g) ?? []).length;
    expect(dots(rows[1].plot)).toBeGreaterThanOrEqual(7);
    const noCpus = loadChart({ ts, values: [0, 8, 16, 8, 0] }, { now, spanMs: 60_000, cols: 14, rows: 9 });
    expect(dots(noCpus[1].plot)).toBeLessThan(dots(rows[1].plot));
    expect(rows[8].plot).toMatch(/^-60s +now$/);
    const wide = loadChart({ ts, values: [0, 8, 16, 8, 0] }, { now, spanMs: 300_000, cols: 40, rows: 4, cpus: 16 });
    expect(wide[3].plot).toMatch(/^-5m +-2m30s +now$/);
    expect(loadChart({ ts: [], values: [] }, { now, spanMs: 60_000, cols: 14, rows: 1 })).toEqual([]);
  });

  it('windowStart keeps the cursor visible with as little scrolling as possible', () => {
    expect(windowStart(0, 10, 100, 0)).toBe(0);
    expect(windowStart(15, 10, 100, 0)).toBe(6);
    expect(windowStart(12, 10, 100, 6)).toBe(6);
    expect(windowStart(3, 10, 100, 6)).toBe(3);
    expect(windowStart(99, 10, 100, 0)).toBe(90);
  });
});

describe('job output (pure)', () => {
  const j = job([
    { type: 'OUTPUT', node: 'n1', stream: 'stdout', line: '6.1.0' },
    { type: 'OUTPUT', node: 'n2', stream: 'stdout', line: '6.1.0' },
    { type: 'OUTPUT', node: 'n3', stream: 'stdout', line: '6.1.0' },
    { type: 'ERROR', node: 'n4', code: 'ERR_TIMEOUT', message: 'no answer within 10000 ms' },
    { type: 'EXIT', node: 'n1', code: 0 },
    { type: 'JOB_COMPLETED', ok: 3, failed: 1 },
  ]);

  it('gathers identical per-node outputs under a folded node set with the count, the failed nodes\' groups first (issue 11 item 2), then in node order', () => {
    expect(gatheredJobLines(j)).toEqual(['n4 (1)', '  ERR_TIMEOUT: no answer within 10000 ms', 'n[1-3] (3)', '  6.1.0', 'completed: ok=3 failed=1']);
  });

  it('the full output lists every node\'s lines', () => {
    expect(perNodeJobLines(j)).toEqual(['n1: 6.1.0', 'n2: 6.1.0', 'n3: 6.1.0', 'n4: ERR_TIMEOUT: no answer within 10000 ms', 'completed: ok=3 failed=1']);
  });

  it('a job line shows id, state glyph, progress and state, then the request, then the duration', () => {
    expect(formatJobLine(j, 0, 80)).toBe('#3 ⚠ 4/4 completed, 1 failed  SSH:EXEC:n[1-4]:uname -r  400ms'); // some failed: ⚠ (issue 11 item 2)
    expect(formatJobLine(job([], { state: 'running', done: 1, endedAt: undefined }), 3500, 80)).toBe('#3 ▶ 1/4 running  SSH:EXEC:n[1-4]:uname -r  2.5s');
  });

  it('on a narrow jobs pane (80x24: 34 columns) the request is cut, never the state, the progress or the duration (issue 11 item 14)', () => {
    const long = job([], { line: 'SSH:EXEC:n[1-4]:systemctl restart slurmd && journalctl -u slurmd -n 20' });
    const l = formatJobLine(long, 0, 34);
    // the glyph says completed: a narrow pane keeps the count of failures and drops the word
    expect(l).toBe('#3 ⚠ 4/4 1 failed  SSH:EXE…  400ms');
    expect(l.length).toBe(34);
    expect(formatJobLine(job([], { state: 'running', done: 1, endedAt: undefined, line: long.line }), 3500, 34)).toBe('#3 ▶ 1/4 running  SSH:EXEC:…  2.5s');
    expect(formatJobLine(long, 0, 80)).toBe('#3 ⚠ 4/4 completed, 1 failed  SSH:EXEC:n[1-4]:systemctl restart slurmd &…  400ms');
  });

  it('a job where every node failed shows ✖, some failed ⚠, none failed ✔ (issue 11 item 2)', () => {
    expect(formatJobLine(job([], { ok: 0, failed: 4 }), 0, 80)).toBe('#3 ✖ 4/4 completed, 4 failed  SSH:EXEC:n[1-4]:uname -r  400ms');
    expect(formatJobLine(job([], { ok: 4, failed: 0 }), 0, 80)).toMatch(/^#3 ✔ /);
    expect(formatJobLine(job([], { state: 'failed', ok: 0, failed: 0, error: { code: 'ERR_TIMEOUT', message: 'x' } }), 0, 80)).toMatch(/^#3 ✖ 4\/4 failed: ERR_TIMEOUT  /);
    expect(formatJobLine(job([], { state: 'cancelled' }), 0, 80)).toMatch(/^#3 ■ /);
  });
});

describe('prompt completion (pure)', () => {
  const src = { modules: [{ tag: 'NEXXUS', commands: [{ name: 'NODE_LIST' }, { name: 'GROUPS' }] }, { tag: 'POWER', commands: [{ name: 'OFF' }, { name: 'ON' }] }], nodes: ['sim001', 'sim002', 'sim010'], groups: ['rack1', 'rack2'] };
  it.each([
    ['ne', 'NEXXUS:', []],
    ['NEXXUS:n', 'NEXXUS:NODE_LIST:', []],
    ['power:o', 'power:o', ['OFF', 'ON']],
    ['POWER:OFF:sim0', 'POWER:OFF:sim0', ['sim001', 'sim002', 'sim010']],
    ['POWER:OFF:sim00', 'POWER:OFF:sim00', ['sim001', 'sim002']],
    ['POWER:OFF:sim01', 'POWER:OFF:sim010', []],
    ['POWER:OFF:@ra', 'POWER:OFF:@rack', ['@rack1', '@rack2']],
    ['POWER:OFF:@rack1!sim01', 'POWER:OFF:@rack1!sim010', []],
    ['POWER:OFF:sim001:x', 'POWER:OFF:sim001:x', []],
  ])('%s → %s', (line, out, cands) => {
    const c = complete(line, src);
    expect(c.line).toBe(out);
    if ((cands as string[]).length) expect(c.candidates).toEqual(cands);
  });
});

describe('keymaps and themes (data)', () => {
  it('read-only mode removes every dangerous binding, in every keymap', () => {
    const ro = activeKeymaps(true);
    for (const list of Object.values(ro)) for (const b of list) expect(b.dangerous).toBe(false);
    // x stays: read-only runs the commands exec.safe lists, and refuses the rest before any job starts
    expect(ro.nodes.some((b) => b.action === 'exec')).toBe(true);
    expect(ro.powerMenu.map((b) => b.action)).toEqual(['powerStatus', 'powerIdentify']); // IDENTIFY lights a LED, not dangerous
    expect(activeKeymaps(false)).toBe(KEYMAPS);
  });

  it('no key is bound twice in one pane (with the global keys)', () => {
    for (const pane of ['nodes', 'jobs'] as const) {
      const keys = [...KEYMAPS.global, ...KEYMAPS[pane]].flatMap((b) => b.keys);
      expect(new Set(keys).size).toBe(keys.length);
    }
  });

  it('the footer is generated from the focused pane\'s keymap', () => {
    expect(footerText(KEYMAPS, 'nodes')).toContain('p power');
    expect(footerText(KEYMAPS, 'jobs')).toContain('Enter output');
    expect(footerText(activeKeymaps(true), 'nodes')).toContain('x exec');
  });

  it('key names', () => {
    expect(keyName('', { upArrow: true })).toBe('up');
    expect(keyName('c', { ctrl: true })).toBe('ctrl+c');
    expect(keyName(' ', {})).toBe('space');
    expect(keyName('', { tab: true, shift: true })).toBe('shift+tab');
  });

  it('themes: the four files load with every slot; NO_COLOR gives mono only; a bad theme is ERR_CONFIG', () => {
    const themes = loadThemes({});
    expect(themes.map((t) => t.name)).toEqual(['default', 'light', 'high-contrast', 'mono']);
    for (const t of themes.slice(0, 3)) for (const s of SLOTS) if (s !== 'header.text') expect(t.slots[s], `${t.name} ${s}`).not.toBe('');
    expect(loadThemes({ NO_COLOR: '1' }).map((t) => t.name)).toEqual(['mono']);
    expect(() => parseTheme({ name: 'x', slots: { 'node.upp': 'red' } }, 'x.json')).toThrow(/unknown slot node.upp/);
  });
});
