import { describe, it, expect, afterEach } from 'vitest';
import { KEY, startApp } from './helpers.js';
import { until } from '../helpers/wait.js';

let app: Awaited<ReturnType<typeof startApp>> | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

/** the row of a node in the nodes pane */
const row = (f: string, node: string) => f.split('\n').find((l) => new RegExp(`^│[ *][●✖○?] ${node} `).test(l)) ?? '';

describe('dashboard keys (real engine, SIM nodes)', () => {
  it('moves the cursor with j/k and arrows, and the detail pane follows', async () => {
    app = await startApp();
    await app.waitFor('sim001 up for');
    await app.press('j', 'j');
    await app.waitFor(/│● sim003 up for/);
    await app.press(KEY.up);
    await app.waitFor(/│● sim002 up for/);
    await app.press(KEY.end);
    await app.waitFor(/│● sim008 up for/);
    await app.press(KEY.home);
    await app.waitFor(/│● sim001 up for/);
  });

  it('Tab moves the focus between nodes and jobs (the detail pane has no keys: not a stop); the footer follows the focused pane', async () => {
    app = await startApp();
    await app.waitFor('Space mark');
    await app.press(KEY.tab);
    await app.waitFor('Enter output');
    await app.press(KEY.tab);
    await app.waitFor('Space mark');
    await app.press('\u001B[Z'); // shift+tab
    await app.waitFor('Enter output');
  });

  it('space marks nodes (and moves on); Esc clears the marks', async () => {
    app = await startApp();
    await app.waitFor('sim001');
    await app.press(' ', ' ');
    const f = await app.waitFor('2 marked');
    expect(row(f, 'sim001')).toMatch(/^│\*●/);
    expect(row(f, 'sim002')).toMatch(/^│\*●/);
    expect(row(f, 'sim003')).toMatch(/^│ ●/);
    await app.press(KEY.escape);
    await app.waitFor((x) => !x.includes('marked'));
  });

  it('/ filters by node set (groups and operators) or by text', async () => {
    app = await startApp({ nodes: 40 });
    await app.waitFor('sim001');
    await app.press('/', ...'@rack2!sim03[4-9]', KEY.enter);
    let f = await app.waitFor('filter @rack2!sim03[4-9]');
    expect(f).toContain('NODES 2 of 40');
    expect(row(f, 'sim033')).not.toBe('');
    expect(row(f, 'sim040')).not.toBe('');
    expect(row(f, 'sim034')).toBe('');
    await app.press('/', ...Array(20).fill(KEY.backspace), ...'m01', KEY.enter);
    f = await app.waitFor('filter m01 (text)');
    expect(f).toContain('NODES 10 of 40'); // sim010-sim019
    await app.press(KEY.escape);
    await app.waitFor('NODES 40 ·');
  });

  it('a dangerous prompt request asks for confirmation naming action, targets and count; n cancels, y runs', async () => {
    app = await startApp();
    await app.waitFor('sim001');
    await app.press(':', ...'SIM:FAIL:sim[001-002]', KEY.enter);
    let f = await app.waitFor('CONFIRM');
    // the action in words, its count and targets (issue 11 item 5 changed the wording)
    expect(f).toContain('SIM:FAIL on 2 nodes: sim[001-002]');
    await app.press('n');
    f = await app.waitFor('cancelled: nothing was done');
    expect(app.engine.getSnapshot().jobs).toHaveLength(0);
    await app.press(':', KEY.up, KEY.enter); // history brings the line back
    await app.waitFor('CONFIRM');
    await app.press('y');
    f = await app.waitFor('· 2 down ·');
    expect(f).toMatch(/#1 ✔ 2\/2 (completed|done)  SIM:FAIL:s/);
    expect(app.saved).toEqual(['SIM:FAIL:sim[001-002]']);
  });

  it('p on two marked nodes: the power menu, then a confirmation, then they show off', async () => {
    app = await startApp();
    await app.waitFor('sim001');
    await app.press('j', ' ', ' ', 'p');
    let f = await app.waitFor('POWER · sim[002-003] (2)');
    expect(f).toContain('power off');
    await app.press('f');
    f = await app.waitFor('CONFIRM');
    expect(f).toContain('Power off 2 nodes: sim[002-003]'); // issue 11 item 5 changed the wording
    await app.press('y');
    f = await app.waitFor('· 2 off ·', 10_000);
    expect(row(f, 'sim002')).toMatch(/○ sim002 off/);
    expect(row(f, 'sim003')).toMatch(/○ sim003 off/);
    expect(row(f, 'sim004')).toMatch(/● sim004 on/);
  });

  it('more than 16 targets: the confirmation asks to type the count', async () => {
    app = await startApp({ nodes: 20 });
    await app.waitFor('sim001');
    await app.press(':', ...'SIM:FAIL:*', KEY.enter);
    let f = await app.waitFor('Type 20 and press Enter');
    expect(f).toContain('SIM:FAIL on 20 nodes: sim[001-020]'); // issue 11 item 5 changed the wording
    await app.press('y', KEY.enter); // not the count: still asking
    f = await app.waitFor('count: ');
    expect(f).toContain('CONFIRM');
    await app.press('2', '0', KEY.enter);
    await app.waitFor('· 20 down ·');
  });

  it('parse errors stay inline in the prompt; Tab completes modules, commands and nodes', async () => {
    app = await startApp();
    await app.waitFor('sim001');
    await app.press(':', ...'NEXXUS:NOPE', KEY.enter);
    let f = await app.waitFor('ERR_UNKNOWN_COMMAND');
    expect(f).toContain(':NEXXUS:NOPE');
    await app.press(...Array(11).fill(KEY.backspace), 'n', 'e', 'x', KEY.tab);
    await app.waitFor(':NEXXUS:');
    await app.press('n', 'o', 'd', KEY.tab, 's', 'i', 'm', '0', '0', KEY.tab);
    f = await app.waitFor(/sim001 +sim002/);
    expect(f).toContain(':NEXXUS:NODE_LIST:sim00');
    await app.press('3', KEY.enter);
    f = await app.waitFor(/#1 ✔ 1\/1 (completed|done)  NEXXUS:N/);
    expect(f).toContain('job #1: NEXXUS:NODE_LIST:sim003');
  });

  it('Enter on a job opens its full per-node output; g switches to gathered', async () => {
    app = await startApp();
    await app.waitFor('sim001');
    await app.press(':', ...'NEXXUS:GET_VAR:sim[001-003]:power', KEY.enter);
    await app.waitFor('#1 ✔');
    await app.press(KEY.tab, KEY.enter);
    let f = await app.waitFor('· per node ·');
    expect(f).toContain('sim001: power=sim');
    expect(f).toContain('sim003: power=sim');
    await app.press('g');
    f = await app.waitFor('· gathered ·');
    expect(f).toContain('sim[001-003] (3)');
    await app.press(KEY.escape);
    await app.waitFor('JOBS 1');
  });

  it('q quits at once when nothing runs', async () => {
    app = await startApp();
    await app.waitFor('sim001');
    await app.press('q');
    await until('the quit', () => app!.quits() > 0);
    expect(app.quits()).toBe(1);
  });

  it('q asks while a job runs; Ctrl-C cancels the selected running job', async () => {
    app = await startApp();
    await app.waitFor('sim001');
    // a sleep on the simulated nodes: time enough to look at it running, ask to quit, and cancel it
    // (a soft power-off, under a second, could end first on a loaded machine)
    await app.press(':', ...'SSH:EXEC:sim[001-004]:sleep 20', KEY.enter);
    await app.waitFor('CONFIRM');
    await app.press('y');
    await app.waitFor(/#1 ▶ \d\/4 running  SSH:EX/);
    await app.press('q');
    let f = await app.waitFor('1 job is still running.');
    expect(f).toContain('Quit and cancel it? y quits, n stays.');
    await app.press('n');
    await app.waitFor((x) => !x.includes('still running'));
    expect(app.quits()).toBe(0);
    await app.press(KEY.ctrlC);
    f = await app.waitFor(/#1 ■ \d\/4 cancelled  SSH:/);
    expect(f).toContain('cancelling job #1');
  });

  it('read-only: the dangerous power actions are gone, x runs only exec.safe commands, and dangerous prompt requests are refused inline', async () => {
    app = await startApp({ readOnly: true });
    let f = await app.waitFor('READ-ONLY');
    // x stays (exec.safe commands run read-only, issue 11 item 6); a command exec.safe does not list is refused before any job
    await app.press('x');
    await app.waitFor('run on sim001 (1):');
    await app.press(...'reboot', KEY.enter);
    f = await app.waitFor('ERR_READ_ONLY: read-only runs only the commands exec.safe lists');
    expect(f).not.toContain('CONFIRM');
    expect(app.engine.getSnapshot().jobs).toHaveLength(0);
    await app.press('p');
    f = await app.waitFor('POWER · sim001 (1)');
    expect(f).toContain('power status');
    expect(f).not.toContain('power off');
    // power off's key does nothing here: Esc after it closes the menu (had f asked, Esc would answer
    // the question instead, and say so), so the menu gone shows that f was read and did nothing
    await app.press('f', KEY.escape);
    f = await app.waitFor((x) => !x.includes('POWER · sim001 (1)'));
    expect(f).not.toContain('CONFIRM');
    expect(f).not.toContain('nothing was done');
    await app.press(':', ...'SIM:FAIL:sim001', KEY.enter);
    f = await app.waitFor('ERR_READ_ONLY');
    expect(app.engine.getSnapshot().jobs).toHaveLength(0);
  });

  it('? shows help generated from the keymaps; t cycles the theme', async () => {
    app = await startApp({ rows: 46 });
    await app.waitFor('default');
    await app.press('?');
    const first = await app.waitFor('HELP');
    expect(first).toContain('run a command (SSH:EXEC; asks unless exec.safe)');
    await app.press(KEY.pageDown); // help scrolls now (issue 11 item 1); the power menu's keys are on its second page
    const f = await app.waitFor('Power menu (p)');
    expect(f).toContain('Power menu (p)');
    expect(f).toContain('power off  (asks first)');
    await app.press(KEY.escape, 't');
    await app.waitFor(/light +\d\d:\d\d/);
  });
});
