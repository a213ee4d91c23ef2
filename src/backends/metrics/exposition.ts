/**
 * The Prometheus text exposition format (version 0.0.4) for what vacm knows: node stats with
 * node_exporter-style names and a `node` label, node state and power, job counts, and the
 * collector's counters. Pure: views in, text out.
 */
import type { JobView, NodeView } from '../../protocol/module.js';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** stat key → metric name, help. node_load1/5/15 as node_exporter names them. */
export const STAT_METRICS: readonly [string, string, string][] = [
  ['load1', 'node_load1', '1-minute load average'],
  ['load5', 'node_load5', '5-minute load average'],
  ['load15', 'node_load15', '15-minute load average'],
  ['cpu', 'vacm_node_cpu_percent', 'CPU busy, percent'],
  ['mem_used_pct', 'vacm_node_memory_used_percent', 'memory used (total minus available), percent'],
  ['mem_total', 'vacm_node_memory_total_bytes', 'memory size in bytes'],
  ['mem_used', 'vacm_node_memory_used_bytes', 'memory used in bytes'],
  ['swap_used_pct', 'vacm_node_swap_used_percent', 'swap used, percent'],
  ['disk_used_pct', 'vacm_node_disk_used_percent', 'root file system used, percent'],
  ['uptime', 'vacm_node_uptime_seconds', 'seconds since the node booted'],
  ['net_rx_bps', 'vacm_node_network_receive_bytes_per_second', 'bytes received per second, all interfaces but lo'],
  ['net_tx_bps', 'vacm_node_network_transmit_bytes_per_second', 'bytes sent per second, all interfaces but lo'],
  ['temp_cpu', 'vacm_node_temperature_celsius', 'CPU temperature'],
];

const NODE_STATES = ['up', 'down', 'off', 'unknown'] as const;

const SENSOR_STATUS_VALUE: Record<string, number> = { nominal: 0, warning: 1, critical: 2, na: -1 };

const NEEDS_ESCAPE = /[\\"\n]/;

export function escapeLabel(v: string): string {
  // (most values, node names above all, need nothing: one scan instead of three replaces)
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

class Out {
  readonly lines: string[] = [];
  family(name: string, type: 'gauge' | 'counter', help: string): void {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
  }
  sample(name: string, labels: Record<string, string>, v: number): void {
    // (no array per sample: at 10 000 nodes a scrape is ~190 000 samples, and it holds the event loop)
    let l = '';
    for (const k in labels) l += `${l === '' ? '' : ','}${k}="${escapeLabel(labels[k])}"`;
    this.lines.push(l === '' ? `${name} ${num(v)}` : `${name}{${l}} ${num(v)}`);
  }
}

export interface ExpositionInput {
  cluster: string;
  nodes: readonly NodeView[];
  jobs: readonly JobView[];
  collector?: { active: boolean; counters: Record<string, number> };
  now?: number;
}

export function renderExposition(x: ExpositionInput): string {
  const o = new Out();
  const now = x.now ?? Date.now();
  const cl = { cluster: x.cluster };

  // each node's label, escaped once for all its samples (what sample() writes for { node })
  const nodeLabel = new Map<NodeView, string>();
  for (const n of x.nodes) nodeLabel.set(n, `node="${escapeLabel(n.name)}"`);
  const perNode = (name: string, n: NodeView, v: number, more = '') => o.lines.push(`${name}{${nodeLabel.get(n)!}${more}} ${num(v)}`);

  o.family('vacm_node_up', 'gauge', '1 when the node is up, else 0 (state from all membership evidence)');
  for (const n of x.nodes) perNode('vacm_node_up', n, n.state === 'up' ? 1 : 0);
  o.family('vacm_node_state', 'gauge', 'the node state: 1 for the current one of up, down, off, unknown');
  for (const n of x.nodes) for (const s of NODE_STATES) perNode('vacm_node_state', n, n.state === s ? 1 : 0, `,state="${s}"`);
  o.family('vacm_node_power_on', 'gauge', 'power state: 1 on, 0 off, -1 unknown');
  for (const n of x.nodes) perNode('vacm_node_power_on', n, n.power === 'on' ? 1 : n.power === 'off' ? 0 : -1);

  for (const [key, name, help] of STAT_METRICS) {
    const have = x.nodes.filter((n) => typeof n.stats?.[key] === 'number');
    if (have.length === 0) continue;
    o.family(name, 'gauge', help);
    for (const n of have) perNode(name, n, n.stats![key] as number);
  }
  // sensors: names come from BMCs (made safe by the engine, escaped again as label values here)
  const sensed = x.nodes.filter((n) => n.sensors?.readings.some((r) => r.num !== undefined));
  if (sensed.length) {
    o.family('vacm_bmc_sensor', 'gauge', 'the latest reading of each sensor in its unit (SENSORS:GET and the sensors poller)');
    for (const n of sensed) for (const r of n.sensors!.readings) if (r.num !== undefined) o.sample('vacm_bmc_sensor', { node: n.name, sensor: r.name, unit: r.unit }, r.num);
    o.family('vacm_bmc_sensor_status', 'gauge', 'threshold status of each sensor: 0 nominal, 1 warning, 2 critical, -1 no thresholds or no reading');
    for (const n of sensed) for (const r of n.sensors!.readings) o.sample('vacm_bmc_sensor_status', { node: n.name, sensor: r.name }, SENSOR_STATUS_VALUE[r.status]);
  }
  const fresh = x.nodes.filter((n) => n.statsTs !== undefined);
  if (fresh.length) {
    o.family('vacm_node_stats_age_seconds', 'gauge', 'seconds since the node\'s last stats');
    for (const n of fresh) perNode('vacm_node_stats_age_seconds', n, Math.max(0, (now - n.statsTs!) / 1000));
  }

  o.family('vacm_nodes', 'gauge', 'nodes by state');
  const counts: Record<string, number> = { up: 0, down: 0, off: 0, unknown: 0 };
  for (const n of x.nodes) counts[n.state]++;
  for (const [s, c] of Object.entries(counts)) o.sample('vacm_nodes', { ...cl, state: s }, c);

  o.family('vacm_jobs', 'gauge', 'jobs the engine remembers, by state (internal poller jobs left out)');
  const jobs: Record<string, number> = { queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
  for (const j of x.jobs) jobs[j.state]++;
  for (const [s, c] of Object.entries(jobs)) o.sample('vacm_jobs', { state: s }, c);

  if (x.collector?.active) {
    const c = x.collector.counters;
    o.family('vacm_collector_datagrams_total', 'counter', 'agent datagrams the collector received, by result');
    o.sample('vacm_collector_datagrams_total', { result: 'received' }, c.received ?? 0);
    o.sample('vacm_collector_datagrams_total', { result: 'accepted' }, c.accepted ?? 0);
    o.family('vacm_collector_rejected_total', 'counter', 'agent datagrams dropped, by reason');
    for (const [k, v] of Object.entries(c)) if (k.startsWith('rejected_')) o.sample('vacm_collector_rejected_total', { reason: k.slice(9) }, v);
    o.family('vacm_collector_unknown_node_total', 'counter', 'valid status datagrams from hosts outside the nodelist');
    o.sample('vacm_collector_unknown_node_total', {}, c.unknown_node ?? 0);
    o.family('vacm_collector_upgraded_total', 'counter', 'datagrams of an older schema version, transformed to the current one');
    o.sample('vacm_collector_upgraded_total', {}, c.upgraded ?? 0);
  }
  return o.lines.join('\n') + '\n';
}
