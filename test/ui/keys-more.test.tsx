/** More of the dashboard's keys: x (a command on marked nodes), sorting, paging. */
import { describe, it, expect, afterEach } from 'vitest';
import { KEY, startApp } from './helpers.js';

let app: Awaited<ReturnType<typeof startApp>> | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

/** the node under the cursor, as the detail pane names it */
const cursorNode = (f: string) => /│[●✖○?] (sim\d{3}) \S+ for/.exec(f)?.[1];

describe('dashboard keys, continued (real engine, SIM nodes)', () => {
  it('x on two marked nodes: type a command, confirm, and the jobs pane shows the output gathered', async () => {
    app = await startApp({ columns: 160 });
    await app.waitFor('sim001');
    await app.press(' ', ' ', 'x');
    let f = await app.waitFor('run on sim[001-002] (2):');
    await app.press(...'uname -r', KEY.enter);
    f = await app.waitFor('CONFIRM');
    expect(f).toContain('Run `uname -r` on 2 nodes: sim[001-002]'); // issue 11 item 5 changed the wording
    await app.press('y');
    f = await app.waitFor(/#1 ✔ 2\/2 completed  SSH:EXEC:sim\[001-002\]:uname -r/, 10_000);
    // gathered under the folded node set, in the jobs pane (right of the nodes)
    const jobsPane = f.split('\n').map((l) => l.slice(l.lastIndexOf('││') + 2));
    const at = jobsPane.findIndex((l) => l.startsWith('sim[001-002] (2)'));
    expect(at).toBeGreaterThan(0);
    expect(jobsPane.slice(at + 1, at + 3).join('\n')).toContain('6.1.0-sim');
    expect(app.engine.getSnapshot().jobs[0]).toMatchObject({ line: 'SSH:EXEC:sim[001-002]:uname -r', state: 'completed', ok: 2, failed: 0 });
  });

  it('x then Esc (or an empty command) runs nothing', async () => {
    app = await startApp();
    await app.waitFor('sim001');
    await app.press('x');
    await app.waitFor('run on sim001 (1):');
    await app.press(...'reboot', KEY.escape);
    await app.waitFor((f) => !f.includes('run on sim001'));
    await app.press('x', KEY.enter);
    await app.waitFor((f) => !f.includes('run on sim001'));
    expect(app.engine.getSnapshot().jobs).toHaveLength(0);
  });

  it('s picks the sort (issue 11 item 10): load is highest first; state, then name again', async () => {
    app = await startApp({ nodes: 12 });
    await app.waitFor('sort name');
    await app.press('s', 'j', 'j', KEY.enter); // name, state, load
    const f = await app.waitFor('sort load ▼');
    // the first row is a node with the highest load1 the screen was drawn from (loads drift: compare with the row's own number)
    const loads = f.split('\n').map((l) => /│[ *][●✖○?] sim\d{3} +\S+ +\S* *(\d+\.\d\d)/.exec(l)?.[1]).filter((x): x is string => x !== undefined).map(Number);
    expect(loads.length).toBeGreaterThan(3);
    expect(loads).toEqual([...loads].sort((a, b) => b - a));
    await app.press('s', 'k', KEY.enter);
    await app.waitFor('sort state');
    await app.press('s', 'k', KEY.enter);
    await app.waitFor('sort name ▲');
  });

  it('PgDn/PgUp move the cursor a page, End/Home to the ends', async () => {
    app = await startApp({ nodes: 60, rows: 30 });
    // a cluster this small opens in the list (the overview is for more than 512 nodes)
    let f = await app.waitFor((x) => !x.includes('overview') && cursorNode(x) === 'sim001');
    await app.press(KEY.pageDown);
    f = await app.waitFor((x) => cursorNode(x) !== 'sim001');
    const afterPage = Number(cursorNode(f)!.slice(3));
    expect(afterPage).toBeGreaterThan(5);
    await app.press(KEY.pageDown);
    f = await app.waitFor((x) => Number(cursorNode(x)?.slice(3)) > afterPage);
    await app.press(KEY.pageUp);
    await app.waitFor((x) => cursorNode(x) === `sim${String(afterPage).padStart(3, '0')}`);
    await app.press(KEY.end);
    await app.waitFor((x) => cursorNode(x) === 'sim060');
    await app.press(KEY.home);
    await app.waitFor((x) => cursorNode(x) === 'sim001');
  });
});
