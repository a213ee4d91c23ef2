/**
 * The events timeline (issue 16 item 3): bounded in memory and on disk (N files of M bytes, rotated),
 * ordered, filtered by node set and time, read back after a restart; what the engine records (jobs
 * with who and outcome, drains, membership, discovery); NEXXUS:EVENTS and its time bounds.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimCluster } from '../../src/backends/sim/cluster.js';
import { createSimModule } from '../../src/backends/sim/module.js';
import { createPowerModules } from '../../src/backends/power/module.js';
import { createSshModule } from '../../src/backends/ssh/module.js';
import { SshPool } from '../../src/backends/ssh/pool.js';
import { Engine } from '../../src/engine/engine.js';
import { parseConfig } from '../../src/engine/config.js';
import { nexxusModule } from '../../src/backends/nexxus.js';
import { Timeline, filterEntries, parseEventsSection, eventsFileName } from '../../src/engine/timeline.js';
import { parseTimeBound } from '../../src/protocol/timeline.js';
import { run, tempDir } from '../helpers/engine.js';
import { createProviders } from '../../src/backends/providers.js';

const me = os.userInfo().username;
const strip = (lines: string[]) => lines.map((l) => l.replace(/^(\w+):\d+:/, '$1:J:'));

describe('Timeline: bounds, rotation, order', () => {
  it('memory keeps the newest memory_entries, oldest first', () => {
    const t = new Timeline({ settings: { memoryEntries: 10 } });
    for (let i = 0; i < 100; i++) t.record('job', `n${i}`, `entry ${i}`);
    const r = t.recent();
    expect(r.map((e) => e.text)).toEqual(Array.from({ length: 10 }, (_, i) => `entry ${90 + i}`));
  });

  it('disk: files of at most max_file_bytes, at most `files` of them; the oldest are dropped, the rest read back in order', () => {
    const dir = tempDir();
    const t = new Timeline({ stateDir: dir, settings: { memoryEntries: 10, maxFileBytes: 4096, files: 3 } });
    for (let i = 0; i < 400; i++) {
      t.record('exec', `n${i % 7}`, `entry ${i}`, { i });
      if (i % 50 === 0) t.flush();
    }
    t.close();
    const files = fs.readdirSync(dir).filter((f) => f.startsWith('events')).sort();
    expect(files).toEqual(['events.1.jsonl', 'events.2.jsonl', 'events.jsonl']);
    for (const f of files) {
      const st = fs.statSync(path.join(dir, f));
      expect(st.size).toBeLessThanOrEqual(4096);
      expect(st.mode & 0o777).toBe(0o600);
    }
    // a new timeline on the same dir (a restart): every kept entry, in order, the newest last
    const again = new Timeline({ stateDir: dir, settings: { memoryEntries: 10, maxFileBytes: 4096, files: 3 } });
    const all = again.query();
    const nums = all.map((e) => Number(e.text.split(' ')[1]));
    expect(nums.at(-1)).toBe(399);
    expect(nums).toEqual([...nums].sort((a, b) => a - b));
    expect(nums.length).toBeGreaterThan(50);
    expect(nums.length).toBeLessThan(400); // the oldest were rotated away
    expect(nums).toEqual(Array.from({ length: nums.length }, (_, i) => 400 - nums.length + i)); // no gap
    expect(all.at(-1)!.fields).toEqual({ i: 399 });
    again.load();
    expect(again.recent().map((e) => e.text)).toEqual(all.slice(-10).map((e) => e.text));
  });

  it('entries with the same time keep the order they were recorded in', () => {
    const t = new Timeline({ now: () => 1_000 });
    for (const x of ['a', 'b', 'c']) t.record('job', undefined, x);
    expect(t.recent().map((e) => e.text)).toEqual(['a', 'b', 'c']);
  });

  it('filters by node set (names and folded sets) and by time', () => {
    let now = 1_000;
    const t = new Timeline({ now: () => now });
    t.record('membership', 'n03', 'down');
    now = 2_000;
    t.record('power', 'n[01-04]', 'off');
    now = 3_000;
    t.record('drain', 'n07', 'drained');
    t.record('discovery', undefined, 'about no node');
    const texts = (q: Parameters<typeof filterEntries>[1]) => filterEntries(t.recent(), q).map((e) => e.text);
    expect(texts({ nodes: ['n03'] })).toEqual(['down', 'off']);
    expect(texts({ nodes: ['n07', 'n02'] })).toEqual(['off', 'drained']);
    expect(texts({ nodes: ['n09'] })).toEqual([]);
    expect(texts({ since: 2_000 })).toEqual(['off', 'drained', 'about no node']);
    expect(texts({ since: 1_500, until: 2_500 })).toEqual(['off']);
    expect(texts({ nodes: ['n03'], until: 1_000 })).toEqual(['down']);
  });

  it('the events: section has defaults and says what is wrong', () => {
    expect(parseEventsSection(undefined)).toEqual({ memoryEntries: 10_000, maxFileBytes: 1024 * 1024, files: 4 });
    expect(parseEventsSection({ files: 8, max_file_bytes: 65536 })).toMatchObject({ files: 8, maxFileBytes: 65536 });
    expect(() => parseEventsSection({ files: 1 })).toThrow(/events\.files: must be a whole number from 2 to 100/);
    expect(() => parseEventsSection({ size: 1 })).toThrow(/events\.size: unknown key; events takes memory_entries, max_file_bytes, files/);
    expect(() => parseConfig('events: { files: many }\nnodes: [{names: n1}]\n', 'v.yaml') && new Engine({ config: parseConfig('events: { files: many }\nnodes: [{names: n1}]\n', 'v.yaml'), modules: [nexxusModule], stateDir: tempDir() })).toThrow(/events\.files/);
  });
});

describe('time bounds of NEXXUS:EVENTS', () => {
  const now = Date.UTC(2026, 11, 1, 12, 0, 0);
  it.each([
    ['now', now],
    ['-90s', now - 90_000],
    ['-30m', now - 1_800_000],
    ['-1h', now - 3_600_000],
    ['-2d', now - 2 * 86_400_000],
    ['-1w', now - 604_800_000],
    ['2026-12-01T10:00Z', Date.UTC(2026, 11, 1, 10, 0)],
    ['2026-12-01T1000Z', Date.UTC(2026, 11, 1, 10, 0)],
    ['2026-12-01T10:00:30.5+01:00', Date.UTC(2026, 11, 1, 9, 0, 30, 500)],
    ['2026-12-01T10:00', new Date(2026, 11, 1, 10, 0).getTime()],
    ['2026-12-01', new Date(2026, 11, 1).getTime()],
  ])('%s', (text, want) => {
    expect(parseTimeBound(text, now)).toBe(want);
  });
  it.each(['yesterday', '-1y', '1h', '2026-02-30', '2026-12-01T25:00', '2026-13-01', ''])('%j is ERR_BAD_ARGS saying what works', (text) => {
    expect(() => parseTimeBound(text, now, 'since')).toThrow(/bad since .*give now, a time back from now \(-90s, -30m, -1h, -2d, -1w\) or an ISO time/);
  });
});

const YAML = `
cluster: tl
nodes:
  - names: s[01-04]
    vars: { sim: true, power: sim }
`;

const engines: Engine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop();
});

async function start(stateDir = tempDir(), monitor = false) {
  const sim = new SimCluster({ delayScale: 0, failureRate: 0 });
  const e = new Engine({
    config: parseConfig(YAML, 'tl.yaml'),
    modules: [nexxusModule, createSimModule(sim, { intervalMs: 3_600_000 }), ...createPowerModules({ providers: createProviders(sim) }), createSshModule({ pool: new SshPool(), providers: createProviders(sim) })],
    stateDir,
    localName: 'vacm-test-host',
    monitor,
  });
  engines.push(e);
  await e.start();
  return { e, stateDir };
}

describe('what the engine records', () => {
  it('power and exec jobs with who ran them and the outcome; drains; read-only requests are not news', async () => {
    const { e } = await start();
    await run(e, 'POWER:OFF:s[01-02]');
    await run(e, 'SSH:EXEC:s03:true');
    await run(e, 'NEXXUS:DRAIN:s04:disk swap');
    await run(e, 'NEXXUS:UNDRAIN:s04');
    await run(e, 'POWER:STATUS:*');
    await run(e, 'NEXXUS:NODE_LIST');
    const r = e.recentEvents();
    expect(r.map((x) => [x.kind, x.node, x.text])).toEqual([
      ['power', 's[01-02]', `${me}: POWER:OFF:s[01-02] → ok=2 failed=0`],
      ['exec', 's03', `${me}: SSH:EXEC:s03:true → ok=1 failed=0`],
      ['drain', 's04', `drained by ${me}: disk swap`],
      ['drain', 's04', `undrained by ${me}`],
    ]);
    expect(r[0].fields).toMatchObject({ user: me, state: 'completed', ok: 2, failed: 0 });
  });

  it('a monitoring engine records node up/down with the reason (not the first sweep from unknown)', async () => {
    const { e } = await start(tempDir(), true);
    await run(e, 'POWER:STATUS:*'); // unknown -> on/up: not news
    expect(e.recentEvents().filter((x) => x.kind === 'membership')).toEqual([]);
    await run(e, 'SIM:FAIL:s02');
    await run(e, 'SIM:RECOVER:s02');
    const m = e.recentEvents().filter((x) => x.kind === 'membership');
    expect(m.map((x) => [x.node, x.text])).toEqual([
      ['s02', expect.stringMatching(/^down: .+ \(was up\)$/)],
      ['s02', 'up (was down)'],
    ]);
  });

  it('a discovered host is recorded, its text escaped', () => {
    const t = new Timeline();
    t.record('discovery', 'evil\x1b]0;x\x07', 'discovered');
    expect(t.recent()[0].node).toBe('evil\\x1b]0;x\\x07');
  });

  it('NEXXUS:EVENTS: node set, since and until; a restart reads it back', async () => {
    const { e, stateDir } = await start();
    await run(e, 'POWER:OFF:s01');
    await run(e, 'NEXXUS:DRAIN:s0[2-3]:rack move');
    const all = strip(await run(e, 'NEXXUS:EVENTS'));
    expect(all.filter((l) => l.includes(':EVENT:'))).toEqual([
      expect.stringMatching(new RegExp(`^NEXXUS:J:EVENT:\\d{4}-\\d\\d-\\d\\dT\\d\\d\\\\:\\d\\d\\\\:\\d\\d\\.\\d{3}Z:power:s01:${me}\\\\: POWER\\\\:OFF\\\\:s01 → ok=1 failed=0$`)),
      expect.stringMatching(new RegExp(`:drain:s\\[02-03\\]:drained by ${me}\\\\: rack move$`)),
    ]);
    expect(all.at(-1)).toBe('NEXXUS:J:JOB_COMPLETED:ok=2:failed=0');
    expect(strip(await run(e, 'NEXXUS:EVENTS:s03')).filter((l) => l.includes(':EVENT:'))).toEqual([expect.stringContaining(':drain:')]);
    expect(strip(await run(e, 'NEXXUS:EVENTS:s04')).filter((l) => l.includes(':EVENT:'))).toEqual([]);
    expect(strip(await run(e, 'NEXXUS:EVENTS::-1h')).filter((l) => l.includes(':EVENT:'))).toHaveLength(2);
    expect(strip(await run(e, 'NEXXUS:EVENTS:*:-1h:-30m')).filter((l) => l.includes(':EVENT:'))).toHaveLength(0);
    expect(strip(await run(e, 'NEXXUS:EVENTS:*:soon')).at(-1)).toMatch(/JOB_FAILED:ERR_BAD_ARGS:bad since "soon"/);
    await e.stop();
    const { e: again } = await start(stateDir, true);
    expect(again.recentEvents().map((x) => x.kind)).toEqual(['power', 'drain']);
    expect(strip(await run(again, 'NEXXUS:EVENTS:@drained')).filter((l) => l.includes(':EVENT:'))).toEqual([expect.stringContaining(':drain:s[02-03]:')]);
    expect(fs.existsSync(path.join(stateDir, eventsFileName(0)))).toBe(true);
  });
});
