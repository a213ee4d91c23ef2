import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { parseConfig, shortHostname } from '../../src/engine/config.js';
import { nexxusModule } from '../../src/backends/nexxus.js';
import { saveState } from '../../src/cli/serve.js';
import { runSnapshot } from '../../src/cli/snapshot.js';
import { renderSnapshotHtml } from '../../src/cli/snapshot-html.js';

let dir: string;
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function io() {
  const o = { out: '', err: '' };
  return { o, io: { out: (s: string) => void (o.out += s), err: (s: string) => void (o.err += s), stdin: Readable.from([]), stdinIsTTY: false } };
}

describe('vacm snapshot --html', () => {
  it('renders serve\'s saved state: summary, groups, every node with stats and an SVG load chart', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-snap-'));
    const engine = new Engine({
      config: parseConfig('cluster: rack-lab\nnodes:\n  - names: cn[01-03]\n    groups: [compute]\n  - names: gw01\n    groups: [infra]\n'),
      modules: [nexxusModule],
      stateDir: dir,
    });
    await engine.start();
    const t0 = Date.now() - 20 * 60_000;
    for (let i = 0; i < 240; i++) {
      engine.recordStats('cn01', { load1: 1 + (i % 10) / 10, cpu: 25, mem_used_pct: 40, uptime: 90_000 }, t0 + i * 5000);
      engine.recordStats('cn02', { load1: 3, cpu: 75 }, t0 + i * 5000);
    }
    engine.setNodeState('cn01', 'up');
    engine.setNodeState('cn02', 'up');
    engine.setNodeState('cn03', 'down', 'no ping reply');
    engine.setPower('gw01', 'off');
    await saveState(engine);
    await engine.stop();

    const out = path.join(dir, 'cluster.html');
    const { o, io: fake } = io();
    expect(await runSnapshot({ html: out, stateDir: dir }, fake)).toBe(0);
    expect(o.out).toMatch(/^wrote .*cluster.html: 4 nodes \(2 up, 1 down, 1 off, 0 unknown\) from vacm serve's state, saved /);
    const html = fs.readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain('<h1>rack-lab</h1>');
    expect(html).toContain('<span>4 nodes</span><span class="st-up">2 up</span><span class="st-down">1 down</span><span class="st-off">1 off</span>');
    expect(html).toMatch(/<tr id="node-cn03"><td class="name">cn03<\/td><td class="st st-down">down<\/td><td class="reason">no ping reply<\/td>/);
    expect(html).toMatch(/<tr id="node-gw01"><td class="name">gw01<\/td><td class="st st-off">off<\/td>/);
    expect(html).toMatch(/<tr id="node-cn02">.*<td>3<\/td>.*<td>75%<\/td>.*<polyline points="[\d., ]+"\/>/);
    expect(html).toMatch(/<tr id="node-cn01">.*<td>1d 1h<\/td>/);
    expect(html).toContain('<tr><td class="name">compute</td><td>3</td><td>2</td>');
    expect((html.match(/<svg /g) ?? []).length).toBe(5); // the cluster chart and one per node
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\//);
  });

  it('sweeps once when no serve state is fresh, with this machine\'s own stats', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-snap-'));
    const cfg = path.join(dir, 'vacm.yaml');
    fs.writeFileSync(cfg, `cluster: solo\nnodes:\n  - names: ${shortHostname()}\n  - names: other01\n`);
    const out = path.join(dir, 'o.html');
    const { o, io: fake } = io();
    expect(await runSnapshot({ html: out, config: cfg, stateDir: dir }, fake)).toBe(0);
    expect(o.out).toContain('from one-shot sweep');
    const html = fs.readFileSync(out, 'utf8');
    expect(html).toMatch(new RegExp(`<tr id="node-${shortHostname()}">.*<td class="st st-up">up</td>.*<td>\\d+(\\.\\d+)?%</td>`));
    expect(html).toMatch(/<tr id="node-other01"><td class="name">other01<\/td><td class="st st-unknown">unknown<\/td>/);
    expect(html).toContain('no history');
  });

  it('escapes names and reasons', () => {
    const html = renderSnapshotHtml({
      cluster: '<b>x</b>', generatedAt: 0, source: 's', counts: { up: 0, down: 1, off: 0, unknown: 0 }, history: new Map(), groups: [],
      nodes: [{ name: 'n1', groups: [], vars: {}, state: 'down', stateReason: '<script>alert(1)</script>', stateSince: 0, power: 'on', local: false, loadHistory: [] }],
    });
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('<h1>&lt;b&gt;x&lt;/b&gt;</h1>');
  });
});
