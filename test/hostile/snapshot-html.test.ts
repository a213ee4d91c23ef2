/**
 * A hostile saved snapshot (issue 10, item 13): serve-snapshot.json is a file in the state dir, and
 * what is in it reaches a web page. Enums are checked on read (a forged state or power refuses the
 * whole file: the page says so and sweeps instead) and every field is escaped when rendered.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { parseSavedState, runSnapshot } from '../../src/cli/snapshot.js';
import { renderSnapshotHtml } from '../../src/cli/snapshot-html.js';
import { SNAPSHOT_FILE } from '../../src/cli/serve.js';
import type { NodeView } from '../../src/protocol/module.js';
import { tempDir } from '../helpers/engine.js';

const XSS = '<script>alert(1)</script>';
const IMG = '"><img src=x onerror=alert(2)>';

let dir: string;
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function node(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'n1', groups: ['g'], vars: {}, state: 'up', stateSince: 0, power: 'on', local: false, loadHistory: [], ...over };
}

function saved(nodes: unknown[], over: Record<string, unknown> = {}): string {
  return JSON.stringify({ version: 1, savedAt: Date.now(), cluster: 'lab', counts: { up: 1, down: 0, off: 0, unknown: 0 }, nodes, groups: { g: ['n1'] }, ...over });
}

async function snapshotOf(text: string): Promise<{ html: string; err: string; code: number }> {
  dir = tempDir('vacm-hostile-snap-');
  fs.writeFileSync(path.join(dir, SNAPSHOT_FILE), text);
  const config = path.join(dir, 'vacm.yaml');
  // one node nobody answers for: the fallback sweep ends quickly
  fs.writeFileSync(config, 'cluster: fallback\nnodes:\n  - names: n1\n    vars: { host: 127.0.11.250, power: none }\n');
  let html = '';
  let err = '';
  const io = { out: (s: string) => void (html += s), err: (s: string) => void (err += s), stdin: Readable.from([]), stdinIsTTY: false };
  const code = await runSnapshot({ html: '-', stateDir: dir, config, sweepTimeoutMs: 3000 }, io);
  return { html, err, code };
}

describe('vacm snapshot with a hostile saved state', () => {
  it.each([
    ['a forged state', [node({ state: XSS })], /nodes\[0\]\.state is not one of up, down, off, unknown/],
    ['a forged power', [node({ power: IMG })], /nodes\[0\]\.power is not one of on, off, unknown/],
    ['a name that is not text', [node({ name: { toString: XSS } })], /nodes\[0\]\.name is not a node name/],
    ['stats that are not numbers or text', [node({ stats: { load1: [XSS] } })], /nodes\[0\]\.stats is not a mapping/],
    ['a reason that is not text', [node({ state: 'down', stateReason: [XSS] })], /nodes\[0\]\.stateReason is not text/],
  ])('%s: the file is refused, the page says why and shows none of it', async (_what, nodes, why) => {
    const r = await snapshotOf(saved(nodes));
    expect(r.code).toBe(0);
    expect(r.html).toMatch(why);
    expect(r.html).toMatch(/was refused: .*; one-shot sweep/);
    expect(r.html).toContain('<h1>fallback</h1>');
    expect(r.html).not.toContain('<script');
    expect(r.html).not.toContain('<img');
    expect(r.html).not.toContain('alert(');
  });

  it('forged counts and groups are not believed: counts come from the nodes', async () => {
    const r = await snapshotOf(saved([node(), node({ name: 'n2', state: 'down', stateReason: XSS })], { counts: { up: XSS, down: 1e9, off: '<b>', unknown: -1 }, groups: { g: ['n1'], [XSS]: ['n2'] } }));
    expect(r.html).toContain('<h1>lab</h1>');
    expect(r.html).toContain('<span class="st-up">1 up</span><span class="st-down">1 down</span><span class="st-off">0 off</span><span class="st-unknown">0 unknown</span>');
    expect(r.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;'); // the reason and the group name, escaped
    expect(r.html).not.toContain('<script');
    expect(r.html).not.toContain('<b>');
  });

  it('a group naming nodes that are not saved, or a file that is not JSON, is refused', () => {
    expect(parseSavedState(saved([node()], { groups: { g: ['n1', 'ghost'] } }))).toMatch(/groups\.g is not a list of the saved nodes/);
    expect(parseSavedState(saved([node()], { groups: { g: 'n1' } }))).toMatch(/groups\.g is not a list/);
    expect(parseSavedState('{"version": 1, ')).toMatch(/^not JSON/);
    expect(parseSavedState(saved([node()], { version: 2 }))).toBe('not a version 1 snapshot');
    expect(parseSavedState(saved([node()], { savedAt: 'now' }))).toBe('savedAt is not a time');
    expect(parseSavedState(saved([node({ statsTs: 'x' })]))).toMatch(/statsTs is not a time/);
  });

  it('a good file passes, rebuilt field by field (nothing else passes through)', () => {
    const s = parseSavedState(saved([node({ extra: XSS, vars: { bmc_password: 'hunter2' }, stats: { load1: 1.5, os: 'Linux' }, statsTs: 5 })]));
    expect(typeof s).toBe('object');
    if (typeof s === 'object') {
      expect(s.nodes[0]).toEqual({ name: 'n1', groups: ['g'], vars: {}, state: 'up', stateSince: 0, power: 'on', local: false, stats: { load1: 1.5, os: 'Linux' }, statsTs: 5, loadHistory: [] });
      expect(s.counts).toEqual({ up: 1, down: 0, off: 0, unknown: 0, drained: 0 });
    }
  });

  it('the renderer escapes every field, enums included, whatever it is handed', () => {
    const n = { name: 'n1', groups: [], vars: {}, state: XSS, stateSince: 0, power: IMG, local: false, loadHistory: [] } as unknown as NodeView;
    const html = renderSnapshotHtml({
      cluster: XSS,
      generatedAt: Date.now(),
      source: IMG,
      nodes: [n],
      counts: { up: XSS, down: 0, off: 0, unknown: 0 } as unknown as { up: number; down: number; off: number; unknown: number },
      history: new Map(),
      groups: [{ group: XSS, nodes: XSS as unknown as number, reporting: 0, samples: 0, mean: NaN, min: NaN, max: NaN }],
    });
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).toContain('class="st st-&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(html).toContain('<td>&quot;&gt;&lt;img src=x onerror=alert(2)&gt;</td>');
  });
});
