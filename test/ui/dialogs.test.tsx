/** Dialogs in the one overlay: help (scroll, search), at 80x24 the screen shows exactly what was drawn. */
import { describe, it, expect, afterEach } from 'vitest';
import { KEY, startApp } from './helpers.js';
import { activeKeymaps, helpLines } from '../../src/ui/keymaps.js';
import { helpSpec } from '../../src/ui/panes/Dialogs.js';
import { mainRows, overlayMismatches } from './overlay-check.js';

let app: Awaited<ReturnType<typeof startApp>> | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

const maps = activeKeymaps(false);
const BODY = mainRows(80, 24) - 3; // rows of keys the overlay shows at 80x24
const help = (scroll: number, search = '') => helpSpec(maps, { kind: 'help', scroll, search, searching: false }, mainRows(80, 24));

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
    expect(overlayMismatches(f, helpSpec(maps, { kind: 'help', scroll: 0, search: '', searching: false }, mainRows(120, 40)), 120, 40)).toEqual([]);
  });
});
