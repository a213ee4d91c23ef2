/** Dialogs in the one overlay: help (scroll, search), at 80x24 the screen shows exactly what was drawn. */
import { describe, it, expect, afterEach } from 'vitest';
import { KEY, startApp } from './helpers.js';
import { activeKeymaps, helpLines } from '../../src/ui/keymaps.js';
import { helpSpec } from '../../src/ui/panes/Dialogs.js';
import { mainRows, overlayMismatches } from './overlay-check.js';
import { OUTCOME_SLOT } from '../../src/ui/panes/JobsPane.js';
import { jobOutcome } from '../../src/ui/format.js';
import { inputOf } from '../../src/ui/text-input.js';

let app: Awaited<ReturnType<typeof startApp>> | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

const maps = activeKeymaps(false);
const BODY = mainRows(80, 24) - 3; // rows of keys the overlay shows at 80x24
const help = (scroll: number, search = '') => helpSpec(maps, { kind: 'help', scroll, search: inputOf(search), searching: false }, mainRows(80, 24));

describe('help (?) at 80x24', () => {
  it('is drawn clean, scrolls with j/k and PgDn/PgUp, and End reaches the last keys', async () => {
    app = await startApp({ columns: 80, rows: 24 });
    await app.waitFor('sim001');
    await app.press('?');
    let f = await app.waitFor('HELP ·');
    expect(overlayMismatches(f, help(0), 80, 24)).toEqual([]);
    const total = helpLines(maps).length;
    expect(f).toContain(`HELP · lines 1-${BODY} of ${total}`);
    expect(f).toMatch(/│ +\? +help +│/);
    expect(f).not.toContain('Power menu (p)');
    await app.press('j', 'j');
    f = await app.waitFor(`lines 3-${BODY + 2} of ${total}`);
    expect(overlayMismatches(f, help(2), 80, 24)).toEqual([]);
    await app.press('k', KEY.pageDown); // a page keeps one line of the last in sight
    f = await app.waitFor(`lines ${BODY + 1}-${2 * BODY} of ${total}`);
    expect(overlayMismatches(f, help(BODY), 80, 24)).toEqual([]);
    await app.press(KEY.pageUp);
    await app.waitFor(`lines 2-${BODY + 1} of ${total}`);
    await app.press('G');
    f = await app.waitFor(`lines ${total - BODY + 1}-${total} of ${total}`);
    expect(f).toContain('Enter/Esc      run / close');
    expect(overlayMismatches(f, help(total), 80, 24)).toEqual([]);
    await app.press(KEY.escape);
    f = await app.waitFor((x) => !x.includes('HELP ·'));
    expect(f).toContain('? help  q quit');
  });

  it('/ searches the help live; Esc clears the search, then closes', async () => {
    app = await startApp({ columns: 80, rows: 24 });
    await app.waitFor('sim001');
    await app.press('?', '/', ...'power');
    let f = await app.waitFor('search help: power');
    expect(f).toContain('HELP · search "power"');
    await app.press(KEY.enter);
    f = await app.waitFor((x) => !x.includes('search help:'));
    expect(overlayMismatches(f, help(0, 'power'), 80, 24)).toEqual([]);
    expect(f).toContain('Power menu (p)');
    expect(f).toContain('power off  (asks first)');
    expect(f).toContain('Nodes pane');
    expect(f).toMatch(/p +power menu/);
    expect(f).not.toContain('cursor down');
    await app.press(KEY.escape);
    f = await app.waitFor(`lines 1-${BODY} of ${helpLines(maps).length}`);
    await app.press(KEY.escape);
    await app.waitFor((x) => !x.includes('HELP ·'));
  });

  it('the help is drawn over the dashboard, which stays in sight', async () => {
    app = await startApp({ columns: 120, rows: 40 });
    await app.waitFor('sim001');
    await app.press('?');
    const f = await app.waitFor('HELP ·');
    expect(f).toContain('vacm · uitest'); // header
    expect(f).toMatch(/│[ *]● sim001 /); // the nodes pane's left column is not covered
    expect(overlayMismatches(f, helpSpec(maps, { kind: 'help', scroll: 0, search: inputOf(), searching: false }, mainRows(120, 40)), 120, 40)).toEqual([]);
  });
});

describe('a failed job (issue 11 item 2)', () => {
  it('every node failed: ✖ in the failed colour, the error group first in the error colour; some failed: ⚠', async () => {
    app = await startApp({ columns: 160, rows: 30 });
    await app.waitFor('sim001');
    await app.engine.submit('SSH:EXEC:sim[001-004]:false').done;
    await app.engine.submit('SSH:EXEC:sim[001-004]:uname -r').done;
    let f = await app.waitFor('#2 ✔ 4/4 completed  SSH:EXEC:sim[001-004]:uname -r');
    expect(f).toMatch(/#1 ✖ 4\/4 completed, 4 failed  SSH:EXEC:sim\[001-004\]:false/);
    await app.press('\t', 'j'); // the jobs pane, the older job
    f = await app.waitFor('completed: ok=0 failed=4');
    const plain = f.replace(/\x1b\[[0-9;]*m/g, '');
    expect(plain).toMatch(/sim\[001-004\] \(4\)[^\n]*\n[^\n]*\[exit 1\]/);
    // the colours: OUTCOME_SLOT maps the outcome to the theme's slot (the tmux test reads them off the screen)
    expect(OUTCOME_SLOT[jobOutcome(app.engine.getSnapshot().jobs[1])]).toBe('job.failed');
    expect(OUTCOME_SLOT[jobOutcome(app.engine.getSnapshot().jobs[0])]).toBe('job.completed');
  });

  it('some nodes failed: ⚠ and the failed nodes\' group before the others', async () => {
    app = await startApp({ columns: 200, rows: 30 });
    await app.waitFor('sim001');
    await app.engine.submit('SIM:FAIL:sim002').done;
    await app.waitFor('1 down');
    // named one by one, the down node is run, not skipped (exec.skip_states), and fails
    await app.engine.submit('SSH:EXEC:sim001,sim002,sim003:uname -r').done;
    await app.press('\t');
    const f = await app.waitFor(/#2 ⚠ 3\/3 completed, 1 failed  SSH:EXEC:sim001,sim002,sim003:uname -r/);
    const out = f.split('\n').map((l) => l.slice(l.lastIndexOf('││') + 2));
    const errAt = out.findIndex((l) => l.startsWith('sim002 (1)'));
    const okAt = out.findIndex((l) => l.startsWith('sim[001,003] (2)'));
    expect(errAt).toBeGreaterThan(0);
    expect(okAt).toBeGreaterThan(errAt);
  });
});

describe('the power menu offers what the drivers can (issue 11 item 4)', () => {
  it('counts the marked nodes each action applies to, greys what none can with the reason, and sends only the ones that can', async () => {
    app = await startApp({ columns: 120, rows: 30 });
    await app.waitFor('sim001');
    app.engine.setVar('sim003', 'power', 'ssh');
    app.engine.setVar('sim004', 'power', 'none');
    await app.press(' ', ' ', ' ', ' ', 'p');
    let f = await app.waitFor('POWER · sim[001-004] (4)');
    expect(f).toMatch(/o +power on +2 of 4 +\(asks first\)/);
    expect(f).toMatch(/s +soft off \(ACPI\) +3 of 4/);
    expect(f).toMatch(/t +power status +3 of 4/);
    await app.press('o');
    f = await app.waitFor('CONFIRM');
    expect(f).toContain('Power on 2 nodes: sim[001-002]');
    expect(f).toContain('left out, their driver cannot on: sim003 (power: ssh), sim004 (no power driver)');
    await app.press(KEY.escape);
    await app.waitFor('cancelled: nothing was done');

    // only the ssh node and the one without a driver: power on is greyed, with the reason
    await app.press(KEY.escape, KEY.home, 'j', 'j', ' ', ' ', 'p');
    f = await app.waitFor('POWER · sim[003-004] (2)');
    expect(f).toContain('power on  — not possible with power: ssh, no power driver');
    expect(f).toMatch(/r +hard reset +1 of 2/);
    await app.press('o');
    f = await app.waitFor('power on: not possible with power: ssh, no power driver');
    expect(f).toContain('POWER · sim[003-004] (2)'); // the menu stays open
    expect(app.engine.getSnapshot().jobs).toHaveLength(0);
  });
});

describe('the power menu: boot, next boot device and identify where the driver can (issue 14)', () => {
  it('greys BOOTDEV and IDENTIFY for sim nodes with the reason, counts them per marked node where the driver can', async () => {
    app = await startApp({ columns: 120, rows: 30 });
    await app.waitFor('sim001');
    await app.press(' ', ' ', ' ', 'p');
    let f = await app.waitFor('POWER · sim[001-003] (3)');
    expect(f).toMatch(/b +boot \(on if off, else reset\) +all 3 +\(asks first\)/);
    expect(f).toContain('next boot device…  — not possible with power: sim');
    expect(f).toContain('identify LED / beacon…  — not possible with power: sim');
    await app.press('d');
    f = await app.waitFor('next boot device…: not possible with power: sim');
    await app.press(KEY.escape);
    app.engine.setVar('sim001', 'power', 'ipmi');
    app.engine.setVar('sim002', 'power', 'powerman');
    await app.press('p');
    f = await app.waitFor('POWER · sim[001-003] (3)');
    expect(f).toMatch(/d +next boot device… +1 of 3 +\(asks first\)/);
    expect(f).toMatch(/i +identify LED \/ beacon… +2 of 3/);
  });

  it('BOOTDEV asks for the device (t: persistent) in the same overlay, then confirms; IDENTIFY takes on, off or seconds', async () => {
    app = await startApp({ columns: 120, rows: 30 });
    await app.waitFor('sim001');
    app.engine.setVar('sim001', 'power', 'ipmi');
    await app.press(' ', ' ', 'p', 'd');
    let f = await app.waitFor('NEXT BOOT DEVICE · 1 of 2');
    expect(f).toContain('p  pxe');
    expect(f).toContain('t  once (next boot only) — t switches');
    expect(f).toContain('left out, their driver cannot bootdev: sim002 (power: sim)');
    await app.press('t');
    f = await app.waitFor('t  persistent (every boot) — t switches');
    await app.press('p');
    f = await app.waitFor('CONFIRM');
    expect(f).toContain('Set the next boot device of 1 node: sim001 to pxe (persistent)');
    expect(f).toContain('request: POWER:BOOTDEV:sim001:pxe:persistent');
    expect(f).toContain('left out, their driver cannot bootdev: sim002 (power: sim)');
    await app.press(KEY.escape);
    await app.waitFor('cancelled: nothing was done');
    expect(app.engine.getSnapshot().jobs).toHaveLength(0);

    // IDENTIFY: Esc goes back to the menu; digits and Enter send that many seconds (no confirmation: a LED)
    await app.press('p', 'i');
    f = await app.waitFor('IDENTIFY · 1 of 2');
    await app.press(KEY.escape);
    await app.waitFor((x) => x.includes('POWER · sim[001-002] (2)') && !x.includes('IDENTIFY ·'));
    await app.press('i', '4', '0');
    await app.waitFor('for 40 s — Enter sends');
    await app.press(KEY.enter);
    await app.waitFor(() => app!.engine.getSnapshot().jobs.length === 1);
    expect(app.engine.getSnapshot().jobs[0]!.line).toBe('POWER:IDENTIFY:sim001:40');
  });
});

describe('confirmations name the action and warn per target (issue 11 item 5)', () => {
  it('refused without FORCE, already off, down: each with its nodes', async () => {
    app = await startApp({ columns: 120, rows: 30 });
    await app.waitFor('sim001');
    await app.engine.submit('POWER:OFF:sim001').done;
    await app.engine.submit('SIM:FAIL:sim003').done;
    app.engine.setVar('sim002', 'controller', 'true');
    await app.waitFor('1 down');
    await app.press(':', ...'POWER:OFF:sim[001-004]', KEY.enter);
    let f = await app.waitFor('CONFIRM');
    expect(f).toContain('Power off 4 nodes: sim[001-004]');
    expect(f).toContain('✖ refused without FORCE: sim002 (a controller)');
    expect(f).toContain('⚠ already off: sim001 (1)');
    expect(f).toContain('⚠ down, not answering: sim003 (1)');
    await app.press('n');
    await app.press(':', ...'POWER:CYCLE:sim[002-004]:FORCE', KEY.enter);
    f = await app.waitFor('CONFIRM');
    expect(f).toContain('Power-cycle 3 nodes: sim[002-004] (FORCE: the guard is off)');
    expect(f).not.toContain('refused without FORCE');
    await app.press('n');
  });
});
