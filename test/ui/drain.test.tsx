/**
 * Drains and the events timeline on the dashboard (issue 16 items 2 and 3), with ink-testing-library:
 * the glyph in the nodes pane, who/when/why and the last events in the detail pane, the header's
 * count, and the `e` overlay (filter by node set, follow mode).
 */
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { KEY, startApp } from './helpers.js';
import { eventsSpec } from '../../src/ui/panes/EventsView.js';
import { overlayText, overlayRect } from '../../src/ui/panes/Overlay.js';
import type { TimelineEntry } from '../../src/protocol/timeline.js';

let app: Awaited<ReturnType<typeof startApp>> | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

const me = os.userInfo().username;
const rowOf = (f: string, name: string) => f.split('\n').find((l) => l.includes(` ${name} `) || l.includes(`⊘${name}`)) ?? '';

describe('a drained node on the dashboard', () => {
  it('drained through the : prompt: ⊘ on its row, "1 drained" in the header, who/when/why and the event in the detail pane', async () => {
    app = await startApp({ columns: 160, rows: 30 });
    await app.waitFor('sim003');
    let f = app.frame();
    expect(f).not.toContain('drained');
    await app.press(':', ...'NEXXUS:DRAIN:sim003:disk swap', KEY.enter);
    await app.waitFor('CONFIRM');
    await app.press('y');
    f = await app.waitFor('1 drained');
    expect(rowOf(f, 'sim003')).toMatch(/[●✖○?]⊘sim003/);
    expect(rowOf(f, 'sim002')).not.toContain('⊘');
    // the state counts no longer hold it: 8 nodes, 7 in the states, 1 drained
    const counts = /(\d+) up · (\d+) down · (\d+) off · (\d+) unknown · 1 drained/.exec(f)!;
    expect(counts.slice(1).map(Number).reduce((a, b) => a + b)).toBe(7);
    await app.press('j', 'j');
    f = await app.waitFor(new RegExp(`⊘ drained: disk swap — by ${me}, \\d+ s ago \\(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d\\)`));
    expect(f).toMatch(/\d\d-\d\d \d\d:\d\d:\d\d drain +drained by .*: disk swap/);
    // @drained in the / filter and in Tab completion
    await app.press('/', ...'@drained', KEY.enter);
    f = await app.waitFor('NODES 1 of 8');
    expect(f).toContain('filter @drained');
    await app.press(KEY.escape);
    await app.waitFor('NODES 8 ·');
    await app.press(':', ...'NEXXUS:DRAINED:@dra', KEY.tab);
    await app.waitFor(':NEXXUS:DRAINED:@drained');
    await app.press(KEY.escape);
    await app.waitFor((x) => !x.includes(':NEXXUS:DRAINED'));
    await app.press('j', 'j'); // the filter put the cursor back on the first node
    await app.waitFor('● sim003 up');
    // undrained: the glyph and the count go
    await app.press(':', ...'NEXXUS:UNDRAIN:@drained', KEY.enter);
    await app.waitFor('CONFIRM');
    await app.press('y');
    f = await app.waitFor((x) => !x.includes('1 drained'));
    expect(rowOf(f, 'sim003')).not.toContain('⊘');
    expect(f).toMatch(/drain +undrained by/);
  });

  it('a reason with escape sequences is shown visibly, never raw', async () => {
    app = await startApp({ columns: 160, rows: 30 });
    await app.waitFor('sim001');
    app.engine.drain(['sim001'], 'e\x1b]0;t\x07\x1b[2J', 'm\x1b[31m');
    const f = await app.waitFor('1 drained');
    expect(f).toContain('⊘ drained: e\\x1b]0;t\\x07\\x1b[2J — by m\\x1b[31m');
    expect(f).not.toMatch(/\x1b\]0;|\x1b\[2J/);
  });
});

describe('the events timeline (e)', () => {
  it('opens following the newest, filters by node set, Esc clears the filter then closes', async () => {
    app = await startApp({ columns: 120, rows: 30 });
    await app.waitFor('sim003');
    app.engine.submit('NEXXUS:DRAIN:sim003:disk swap');
    app.engine.submit('POWER:OFF:sim005');
    await app.waitFor('1 drained');
    await app.press('e');
    // the drain, the power job, and the node going off (the membership change)
    let f = await app.waitFor('EVENTS · 1-3 of 3 · following');
    expect(f).toMatch(/drain +sim003 +drained by .*: disk swap/);
    expect(f).toMatch(/power +sim005 +.*POWER:OFF:sim005 → ok=1 failed=0/);
    expect(f).toMatch(/membership +sim005 +off: powered off \(was up\)/);
    // a new event arrives at the bottom while following
    app.engine.submit('NEXXUS:DRAIN:sim006:psu');
    f = await app.waitFor('1-4 of 4 · following');
    expect(f).toMatch(/drain +sim006 +drained by/);
    await app.press('/', ...'sim00[3-4]', KEY.enter);
    f = await app.waitFor('EVENTS of sim00[3-4] · 1-1 of 1');
    expect(f).not.toContain('sim005 ');
    await app.press(KEY.escape);
    f = await app.waitFor('EVENTS · 1-4 of 4 · following');
    await app.press('f');
    f = await app.waitFor((x) => x.includes('EVENTS · 1-4 of 4') && !x.includes('following'));
    await app.press(KEY.escape);
    f = await app.waitFor((x) => !x.includes('EVENTS'));
    expect(f).toContain('2 drained');
  });

  it('the overlay is drawn from data: a long feed shows its newest rows, and scrolling up leaves follow mode', () => {
    const entries: TimelineEntry[] = Array.from({ length: 50 }, (_, i) => ({ at: Date.UTC(2026, 11, 1, 10, i), seq: i + 1, kind: 'exec', node: `n${i}`, text: `entry ${i}`, fields: {} }));
    const following = eventsSpec(entries, { kind: 'events', scroll: 0, follow: true }, 20);
    const rect = overlayRect(following, 100, 20);
    const text = overlayText(following, rect).join('\n');
    expect(text).toContain('entry 49');
    expect(text).not.toContain('entry 10 ');
    expect(following.title).toBe('EVENTS · 34-50 of 50 · following');
    const scrolled = eventsSpec(entries, { kind: 'events', scroll: 5, follow: false }, 20);
    expect(scrolled.title).toBe('EVENTS · 6-22 of 50');
  });
});
