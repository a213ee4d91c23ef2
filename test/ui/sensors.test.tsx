/**
 * Issue 14, the dashboard's sensors: a temperature column (hottest sensor, °C) in the nodes pane,
 * coloured by its status through theme slots, `–` when a node has none, hidden when it does not fit;
 * the detail pane lists sensors out of nominal, the recent SEL, and a down node's "last words".
 */
import React from 'react';
import { describe, it, expect } from 'vitest';
import { defaultTheme, forceColours } from './helpers.js';
import { render } from 'ink-testing-library';
import { NodesPane } from '../../src/ui/panes/NodesPane.js';
import { DetailPane, lastWordsLines, sensorDetailLines } from '../../src/ui/panes/DetailPane.js';
import { ThemeProvider } from '../../src/ui/theme.js';
import { loadThemes } from '../../src/cli/tui.js';
import { rowColumns } from '../../src/ui/format.js';
import type { NodeView } from '../../src/protocol/module.js';
import { safeReading, safeSel, withReading, withSel, type NodeSensors } from '../../src/protocol/sensors.js';
import type { TimelineEntry } from '../../src/protocol/timeline.js';

forceColours();

const theme = defaultTheme;
const YELLOW = '\x1b[33m';
const GREEN = '\x1b[32m';
const RED_BRIGHT = '\x1b[91m';

function sensors(readings: [string, string, string, string][], sel: { id: number; sensor: string; event: string }[] = []): NodeSensors {
  let s: NodeSensors | undefined;
  for (const [name, value, unit, status] of readings) s = withReading(s, safeReading({ name, value, unit, status }, 1000));
  for (const x of sel) s = withSel(s, safeSel({ ...x, time: '2026-12-01T14:00:00Z', direction: 'asserted' }, 1000));
  return s!;
}

const node = (name: string, extra: Partial<NodeView> = {}): NodeView =>
  ({ name, groups: [], vars: {}, state: 'up', power: 'on', stateSince: 0, loadHistory: [1, 1, 1], stats: { load1: 1, cpus: 4, cpu_pct: 10, mem_used_pct: 20 }, ...extra }) as unknown as NodeView;

const hot = node('n1', { sensors: sensors([['CPU Temp', '93.00', 'C', 'critical'], ['Inlet', '24.00', 'C', 'nominal'], ['Fan 1', '6600.00', 'RPM', 'nominal']]) });
const warm = node('n2', { sensors: sensors([['CPU Temp', '83.00', 'C', 'warning']]) });
const cool = node('n3', { sensors: sensors([['CPU Temp', '45.00', 'C', 'nominal']]) });
const none = node('n4');
const agent = node('n5', { stats: { load1: 1, temp_cpu: 51.4 } });

describe('the temperature column', () => {
  it('shows the hottest sensor in °C, – for a node without one, coloured by status through the theme', () => {
    const nodes = [hot, warm, cool, none, agent];
    const r = render(<ThemeProvider theme={theme()}><NodesPane nodes={nodes} total={nodes.length} cursor={0} marks={new Set()} sort="name" overview={false} focused={false} width={60} height={8} /></ThemeProvider>);
    const lines = r.lastFrame()!.split('\n');
    const plain = lines.map((l) => l.replace(/\x1b\[[0-9;]*m/g, ''));
    expect(plain[1]).toMatch(/TEMP$/);
    expect(lines[2]).toContain(`${RED_BRIGHT}  93°C`);
    expect(lines[3]).toContain(`${YELLOW}  83°C`);
    expect(lines[4]).toContain(`${GREEN}  45°C`);
    expect(plain[5]).toMatch(/ +–$/);
    // an agent's CPU temperature (no status) when there is no sensor
    expect(plain[6]).toMatch(/ 51°C$/);
    r.unmount();
  });

  it('fits at 80 columns; a pane too narrow for it and a 10-column sparkline hides it, and no temperature anywhere hides it', () => {
    const nodes = [hot, none];
    expect(rowColumns(80, nodes).temp).toBe(true);
    // a narrow pane (the nodes pane of an 80x24 terminal is about half of it)
    expect(rowColumns(40, nodes)).toMatchObject({ temp: true, cpuMem: false });
    expect(rowColumns(30, nodes).temp).toBeUndefined();
    expect(rowColumns(80, [none]).temp).toBeUndefined();
    const r = render(<NodesPane nodes={nodes} total={2} cursor={0} marks={new Set()} sort="name" overview={false} focused={false} width={30} height={5} />);
    expect(r.lastFrame()).not.toContain('TEMP');
    expect(r.lastFrame()).not.toContain('°C');
    r.unmount();
  });

  it('every theme but mono colours nominal, warning and critical', () => {
    for (const t of loadThemes({})) if (t.name !== 'mono') for (const s of ['sensor.nominal', 'sensor.warning', 'sensor.critical'] as const) expect(t.slots[s], `${t.name} ${s}`).not.toBe('');
  });
});

describe('the detail pane', () => {
  it('lists the sensors out of nominal (critical first) and the recent SEL', () => {
    const n = node('n1', { sensors: sensors([['12V', '12.60', 'V', 'warning'], ['CPU Temp', '93.00', 'C', 'critical'], ['Fan', '6600.00', 'RPM', 'nominal']], [{ id: 1, sensor: 'CPU Temp', event: 'Upper Critical - going high' }, { id: 2, sensor: '12V', event: 'Upper Non-critical - going high' }, { id: 3, sensor: 'CPU Temp', event: 'Upper Non-recoverable - going high' }]) });
    expect(sensorDetailLines(n).map((l) => l.text)).toEqual([
      'sensors CPU Temp 93.00 C critical · 12V 12.60 V warning',
      'SEL 2026-12-01T14:00:00Z 12V: Upper Non-critical - going high (asserted)',
      'SEL 2026-12-01T14:00:00Z CPU Temp: Upper Non-recoverable - going high (asserted)',
    ]);
    expect(sensorDetailLines(cool).map((l) => l.text)).toEqual(['sensors 1 nominal · hottest CPU Temp 45.00 C']);
    expect(sensorDetailLines(none)).toEqual([]);
    const r = render(<DetailPane node={n} focused={false} width={70} height={12} now={Date.now()} />);
    expect(r.lastFrame()).toContain('sensors CPU Temp 93.00 C critical · 12V 12.60 V warning');
    expect(r.lastFrame()).toContain('Upper Non-recoverable - going high');
    r.unmount();
  });

  it('a hostile BMC name cannot reach the terminal raw, nor grow the row', () => {
    const evil = node('n1', { sensors: sensors([['\x1b]52;c;cGF5bG9hZA==\x07CPU' + 'x'.repeat(500), '99', 'C\x1b[2J', 'critical']], [{ id: 7, sensor: '\x9b31mX', event: 'boom\r\nfake: line' }]) });
    for (const l of sensorDetailLines(evil)) expect(l.text).not.toMatch(/[\x00-\x08\x0a-\x1f\x7f-\x9f]/);
    expect(sensorDetailLines(evil)[0]!.text.length).toBeLessThan(120);
    const r = render(<DetailPane node={evil} focused={false} width={70} height={10} now={Date.now()} />);
    expect(r.lastFrame()).not.toContain('\x1b]52');
    expect(r.lastFrame()).not.toContain('\x1b[2J');
    r.unmount();
  });

  it('a down node shows the last words of its NODE_DOWN record: SEL, stats, the console\'s last lines', () => {
    const entry: TimelineEntry = {
      at: new Date(2026, 11, 1, 14, 2, 3).getTime(),
      seq: 1,
      kind: 'membership',
      node: 'n1',
      text: 'down: no ping reply (was up)',
      fields: {},
      blackBox: { console: Array.from({ length: 20 }, (_, i) => `console line ${i + 1}`), sel: ['2026-12-01T14:01:00Z CPU Temp: Upper Critical - going high (asserted)'], stats: { load1: 31.5, mem_used_pct: 99 } },
    };
    const down = node('n1', { state: 'down' });
    const lines = lastWordsLines(down, entry, 6);
    expect(lines).toEqual([
      'last words at 14:02:03 (20 console lines kept):',
      '  SEL 2026-12-01T14:01:00Z CPU Temp: Upper Critical - going high (asserted)',
      '  stats load1=31.5 mem_used_pct=99',
      '  console line 18',
      '  console line 19',
      '  console line 20',
    ]);
    // an up node has no last words to show
    expect(lastWordsLines(node('n1'), entry, 6)).toEqual([]);
    const r = render(<DetailPane node={down} lastWords={entry} focused={false} width={80} height={16} now={Date.now()} />);
    expect(r.lastFrame()).toContain('last words at 14:02:03');
    expect(r.lastFrame()).toContain('console line 20');
    r.unmount();
  });
});
