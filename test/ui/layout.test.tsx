/**
 * Issue 11 items 14 and 15: the header at 80 columns drops words before numbers, the jobs pane keeps
 * state and progress before the request, z zooms the focused pane; Tab skips the detail pane and
 * 1/2/3 go straight to the nodes, the jobs and the selected job's output.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { startApp, KEY } from './helpers.js';
import { headerSpans } from '../../src/ui/panes/HeaderPane.js';
import type { Counts } from '../../src/protocol/module.js';

let app: Awaited<ReturnType<typeof startApp>> | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

const counts = (over: Partial<Counts> = {}): Counts => ({ up: 16000, down: 12, off: 300, unknown: 72, drained: 0, ...over }) as Counts;
const header = (over: Partial<Parameters<typeof headerSpans>[0]>, cols: number) =>
  headerSpans({ cluster: 'demo', counts: counts(), total: 16384, runningJobs: 123, readOnly: false, themeName: 'high-contrast', clock: '03:12', ...over }, cols).map((s) => s.text).join('');

describe('the header at 80 columns (issue 11 item 14)', () => {
  it('is the full sentence when it fits, the theme name going first', () => {
    const wide = header({}, 200);
    expect(wide).toMatch(/^vacm · demo  16384 nodes: 16000 up · 12 down · 300 off · 72 unknown   jobs: 123 running +high-contrast  03:12$/);
    expect(wide).toHaveLength(200);
    const mid = header({}, 100);
    expect(mid).toMatch(/^vacm · demo  16384 nodes: 16000 up · 12 down · 300 off · 72 unknown   jobs: 123 running +03:12$/);
  });

  it('at 80 columns drops words, never a number: every count, the job count and the clock survive', () => {
    for (const over of [{}, { readOnly: true }, { counts: counts({ drained: 5 }) }, { readOnly: true, counts: counts({ drained: 4096 }) }]) {
      const h = header(over, 80);
      expect(h).toHaveLength(80);
      for (const n of ['16384', '16000', '12', '300', '72', '123']) expect(h).toContain(n);
      expect(h).toMatch(/03:12$/);
      if (over.readOnly) expect(h).toContain('RO');
    }
    expect(header({}, 80)).toMatch(/^vacm · demo  16384: 16000 up 12 down 300 off 72 unk  jobs 123 +03:12$/);
  });

  it('a long (or hostile) cluster name gives way to the numbers', () => {
    const h = header({ cluster: 'x'.repeat(120) + '\u001b[2J', readOnly: true, counts: counts({ drained: 9 }) }, 80);
    expect(h).toHaveLength(80);
    expect(h).not.toContain('\u001b');
    for (const n of ['16384', '16000', '12', '300', '72', '9', '123']) expect(h).toContain(n);
    expect(h).toMatch(/^vacm · x+… RO/);
    expect(h).toMatch(/03:12$/);
  });
});

describe('the dashboard at 80x24 (issue 11 items 14, 15)', () => {
  it('the header keeps the job count and the clock; the jobs pane shows state and progress before a long request', async () => {
    app = await startApp({ columns: 80, rows: 24 });
    await app.waitFor('sim001');
    // a request too long for the 34 columns of the jobs pane (every node fails it: no such variable)
    await app.press(':', ...'NEXXUS:GET_VAR:sim[001-003]:a_rather_long_variable_name_that_will_not_fit', KEY.enter);
    const f = await app.waitFor('#1 ✖ 3/3 3 failed  NEXXUS:');
    const lines = f.split('\n');
    // the words went, the numbers stayed: every count, the running jobs and the clock
    expect(lines[0]).toMatch(/^vacm · uitest  8: 8 up 0 down 0 off 0 unk  jobs 0 +\d\d:\d\d$/);
    const jobLine = lines.find((l) => l.includes('#1 ✖'))!;
    expect(jobLine).toMatch(/│#1 ✖ 3\/3 3 failed  NEXXUS:[^ ]*…  \d+(ms|\.\ds) *│$/);
  });

  it('Tab never stops on the detail pane; 1, 2 and 3: the nodes, the jobs, the selected job\'s output; help lists them', async () => {
    app = await startApp({ columns: 80, rows: 24 });
    await app.waitFor('Space mark');
    await app.press('2');
    await app.waitFor('Enter output');
    await app.press('1');
    await app.waitFor('Space mark');
    await app.press('3');
    await app.waitFor('no job yet: p power, x exec, : prompt');
    await app.press(':', ...'NEXXUS:GET_VAR:sim[001-002]:power', KEY.enter);
    await app.waitFor('#1 ✔');
    await app.press('3');
    let f = await app.waitFor('· per node ·');
    expect(f).toContain('sim001: power=sim');
    await app.press(KEY.escape, '?', '/', ...'pane');
    f = await app.waitFor('search "pane"');
    for (const l of ['Tab            next pane (nodes, jobs)', '1              the nodes pane', '2              the jobs pane', 'z              zoom: the focused pane full screen (z again: back)']) expect(f).toContain(l);
  });

  it('z zooms the focused pane to the whole screen and back; the zoomed nodes list has the whole width', async () => {
    app = await startApp({ columns: 80, rows: 24 });
    let f = await app.waitFor('groups demo');
    expect(f).toContain('LOAD (1 mi…');
    await app.press('z');
    // the whole width: the sparkline's full title, and no detail pane
    f = await app.waitFor((x) => !x.includes('groups demo') && x.includes('LOAD (1 min)'));
    expect(f).toContain('nodes pane full screen · z goes back');
    expect(f).not.toContain('JOBS');
    await app.press('2');
    f = await app.waitFor((x) => x.includes('JOBS') && !x.includes('NODES'));
    expect(f.split('\n')[2]).toMatch(/^│JOBS +│$/);
    expect(f.split('\n')[2]).toHaveLength(80);
    await app.press('z');
    await app.waitFor((x) => x.includes('JOBS') && x.includes('NODES') && x.includes('groups demo'));
  });
});
