/** Hostile input on the dashboard's new surfaces (issue 11 items 9, 17; issue 15 item 7): group labels, gathered stats, the users count. */
import React from 'react';
import { describe, it, expect } from 'vitest';
import { render } from 'ink-testing-library';
import { NodesPane } from '../../src/ui/panes/NodesPane.js';
import { gatheredJobLines } from '../../src/ui/format.js';
import type { JobView, NodeView } from '../../src/protocol/module.js';
import type { VacmEvent } from '../../src/protocol/events.js';

const view = (name: string, groups: string[]): NodeView =>
  ({ name, groups, vars: {}, state: 'up', power: 'on', stateSince: 0, loadHistory: [], stats: { load1: 1, cpus: 4 } }) as unknown as NodeView;

describe('hostile strings on the overview and in gathered results', () => {
  it('a group name with escapes labels its overview row in caret notation, never raw', () => {
    const evil = '\x1b]52;c;aGk=\x07rack';
    const nodes = [view('a1', [`${evil}1`]), view('a2', [`${evil}2`])];
    const r = render(<NodesPane nodes={nodes} total={2} cursor={0} marks={new Set()} sort="name" overview sections={[{ label: `${evil}1`, count: 1 }, { label: `${evil}2`, count: 1 }]} focused width={40} height={6} />);
    const f = r.lastFrame()!;
    expect(f).not.toContain('\x1b]');
    expect(f).not.toContain('\x07');
    expect(f).toContain('^[]52;c;');
    r.unmount();
  });

  it('a PING with a non-number RTT gathers with no stat rather than NaN', () => {
    const ev = (node: string, rttMs: unknown) => ({ tag: 'ICMP_ECHO', job: 1, ts: 0, type: 'PING', node, state: 'up', rttMs }) as unknown as VacmEvent;
    const j = { id: 1, tag: 'ICMP_ECHO', command: 'PING', line: 'x', targets: ['a', 'b'], targetsFolded: '', state: 'completed', dangerous: false, lane: 'bulk', done: 2, ok: 2, failed: 0, startedAt: 0, events: [ev('a', 'Infinity'), ev('b', '\x1b[2J')], truncated: 0, quiet: false } as unknown as JobView;
    const lines = gatheredJobLines(j, { PING: { stat: { field: 'rttMs', label: 'rtt', unit: 'ms' } } });
    expect(lines).toEqual(['a,b (2)', '  up']);
    expect(lines.join('')).not.toContain('NaN');
  });
});
