import { describe, expect, it } from 'vitest';
import { escapeLabel, renderExposition } from '../../src/backends/metrics/exposition.js';
import type { JobView, NodeView } from '../../src/protocol/module.js';

function node(name: string, over: Partial<NodeView> = {}): NodeView {
  return { name, groups: [], vars: {}, state: 'unknown', stateSince: 0, power: 'unknown', local: false, loadHistory: [], ...over };
}

describe('Prometheus exposition', () => {
  const text = renderExposition({
    cluster: 'lab',
    now: 10_000,
    nodes: [
      node('n1', { state: 'up', power: 'on', stats: { load1: 1.5, load5: 1, cpu: 50, os: 'Debian' }, statsTs: 8000 }),
      node('n2', { state: 'off', power: 'off' }),
      node('we"ird\\name'),
    ],
    jobs: [{ state: 'running' }, { state: 'completed' }, { state: 'completed' }] as unknown as JobView[],
    collector: { active: true, counters: { received: 10, accepted: 7, rejected_hmac: 2, rejected_replay: 1, unknown_node: 0, upgraded: 3 } },
  });
  const lines = text.trim().split('\n');

  it.each([
    'vacm_node_up{node="n1"} 1',
    'vacm_node_up{node="n2"} 0',
    'vacm_node_state{node="n2",state="off"} 1',
    'vacm_node_power_on{node="n1"} 1',
    'vacm_node_power_on{node="n2"} 0',
    'vacm_node_power_on{node="we\\"ird\\\\name"} -1',
    'node_load1{node="n1"} 1.5',
    'node_load5{node="n1"} 1',
    'vacm_node_cpu_percent{node="n1"} 50',
    'vacm_node_stats_age_seconds{node="n1"} 2',
    'vacm_nodes{cluster="lab",state="up"} 1',
    'vacm_jobs{state="completed"} 2',
    'vacm_jobs{state="running"} 1',
    'vacm_collector_datagrams_total{result="received"} 10',
    'vacm_collector_rejected_total{reason="hmac"} 2',
    'vacm_collector_upgraded_total 3',
    '# TYPE node_load1 gauge',
    '# TYPE vacm_collector_rejected_total counter',
  ])('has %s', (line) => {
    expect(lines).toContain(line);
  });

  it('leaves out string stats and metrics no node has', () => {
    expect(text).not.toContain('Debian');
    expect(text).not.toContain('node_load15');
  });

  it('declares each family once, before its samples', () => {
    const types = lines.filter((l) => l.startsWith('# TYPE')).map((l) => l.split(' ')[2]);
    expect(new Set(types).size).toBe(types.length);
    for (const l of lines.filter((x) => !x.startsWith('#'))) {
      const name = l.split(/[{ ]/)[0];
      expect(lines.indexOf(`# TYPE ${name} ${name.endsWith('_total') ? 'counter' : 'gauge'}`)).toBeLessThan(lines.indexOf(l));
    }
  });

  it('escapes label values', () => {
    expect(escapeLabel('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
  });

  it('has no collector families when no collector runs', () => {
    expect(renderExposition({ cluster: 'x', nodes: [], jobs: [], collector: { active: false, counters: {} } })).not.toContain('collector');
  });
});
