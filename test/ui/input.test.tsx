/** The one text input in the dashboard (issue 11 item 7) and Esc/undo/any-pane actions (item 8), on a real engine with SIM nodes. */
import { describe, it, expect, afterEach } from 'vitest';
import { KEY, startApp } from './helpers.js';

let app: Awaited<ReturnType<typeof startApp>> | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

const CTRL = { a: '\u0001', e: '\u0005', k: '\u000b', r: '\u0012', u: '\u0015', w: '\u0017' };
const ALT = { b: '\u001bb', f: '\u001bf' };
const promptLine = (f: string) => f.split('\n').find((l) => l.startsWith('filter (node set or text): ') || l.startsWith(':') || l.startsWith('run on ') || l.startsWith('(reverse-i-search)')) ?? '';

describe('the text input (issue 11 item 7)', () => {
  it('the filter narrows live as you type; Enter keeps it; Esc goes back to the filter it started from', async () => {
    app = await startApp({ nodes: 40 });
    await app.waitFor('NODES 40');
    await app.press('/', ...'sim00');
    // no Enter yet: the nodes pane already shows the matches
    let f = await app.waitFor('NODES 9 of 40');
    expect(f).toContain('filter sim00 (text)');
    await app.press('3');
    await app.waitFor('NODES 1 of 40');
    await app.press(KEY.escape);
    f = await app.waitFor('NODES 40 ·');
    expect(f).not.toContain('filter sim');
    // a node set: half of it keeps the last result instead of "no node matches"
    await app.press('/', ...'sim0[01-');
    f = await app.waitFor('not a node set yet');
    expect(f).toContain('NODES 40');
    await app.press(...'12]');
    f = await app.waitFor('NODES 12 of 40');
    await app.press(KEY.enter);
    f = await app.waitFor('filter sim0[01-12]');
    expect(f).not.toContain('filter (node set or text):');
  });

  it('the old filter is selected when the prompt opens: the first key replaces it (no more sim[0001-0008]sim[0001-0010])', async () => {
    app = await startApp({ nodes: 40 });
    await app.waitFor('NODES 40');
    await app.press('/', ...'sim00[1-8]', KEY.enter);
    await app.waitFor('NODES 8 of 40');
    await app.press('/');
    let f = await app.waitFor('filter (node set or text): sim00[1-8]');
    await app.press(...'sim0[01-10]', KEY.enter);
    f = await app.waitFor('NODES 10 of 40');
    expect(f).toContain('filter sim0[01-10]');
    expect(f).not.toContain('sim00[1-8]sim');
    // a movement keeps the old text to edit: End, then Backspace edits its end
    await app.press('/', KEY.end, KEY.backspace, KEY.backspace, KEY.backspace, ...'20]', KEY.enter);
    f = await app.waitFor('NODES 20 of 40');
    expect(f).toContain('filter sim0[01-20]');
  });

  it('readline keys: Ctrl-A, Alt-F, Ctrl-K, Ctrl-W, Ctrl-U and Ctrl-E edit the line where the cursor is', async () => {
    app = await startApp({ nodes: 8 });
    await app.waitFor('sim001');
    await app.press(':', ...'EXEC:sim001:uname -r');
    await app.press(CTRL.a, ...'SSH:');
    let f = await app.waitFor(':SSH:EXEC:sim001:uname -r');
    await app.press(CTRL.e, CTRL.w);
    f = await app.waitFor((x) => /^:SSH:EXEC:sim001:uname\s*$/.test(promptLine(x)));
    await app.press(ALT.b, ALT.b, CTRL.k);
    f = await app.waitFor((x) => promptLine(x).trimEnd() === ':SSH:EXEC:');
    await app.press(...'sim002', CTRL.u);
    f = await app.waitFor((x) => promptLine(x).trim() === ':');
    expect(f).toContain('Enter run');
    await app.press(ALT.f, ...'NEXXUS:JOBS', KEY.enter);
    await app.waitFor('NEXXUS:JOBS');
  });

  it('↑ recalls the last request and Ctrl-R finds an older one by what it contains', async () => {
    app = await startApp({ nodes: 8, history: ['NEXXUS:GET_VAR:sim001:power', 'NEXXUS:NODE_LIST:sim00[1-3]', 'NEXXUS:JOBS'] });
    await app.waitFor('sim001');
    await app.press(':', KEY.up);
    await app.waitFor(':NEXXUS:JOBS');
    await app.press(KEY.up);
    await app.waitFor(':NEXXUS:NODE_LIST:sim00[1-3]');
    await app.press(KEY.escape, ':', CTRL.r, ...'GET');
    let f = await app.waitFor("(reverse-i-search)'GET': NEXXUS:GET_VAR:sim001:power");
    expect(f).toContain('C-r older');
    await app.press(KEY.enter); // keeps the line to edit, does not run it
    f = await app.waitFor((x) => promptLine(x).startsWith(':NEXXUS:GET_VAR:sim001:power'));
    expect(f).not.toMatch(/#\d+ .*GET_VAR/);
    await app.press(KEY.enter);
    await app.waitFor(/#1 ✔ 1\/1 done  NEXXUS:GET_VA/);
  });

  it('Tab completes @groups and names in the filter, and in the prompt at the cursor', async () => {
    app = await startApp({ nodes: 40 });
    await app.waitFor('NODES 40');
    await app.press('/', ...'@ra', KEY.tab);
    let f = await app.waitFor('@rack1  @rack2');
    expect(promptLine(f)).toContain('@rack');
    await app.press('2');
    f = await app.waitFor('NODES 8 of 40');
    await app.press(KEY.escape, ':', ...'NEXXUS:GET_VAR:sim03', KEY.tab);
    f = await app.waitFor('sim030  sim031');
    await app.press('9', ':power', KEY.enter);
    await app.waitFor(/NEXXUS:GET_VAR:sim039:power/);
  });

  it('x keeps its own history (↑) and runs what was typed', async () => {
    app = await startApp({ nodes: 4 });
    await app.waitFor('sim001');
    await app.press('x', ...'uptime', KEY.enter);
    await app.waitFor('CONFIRM');
    await app.press('n', 'x', KEY.up);
    const f = await app.waitFor((x) => promptLine(x).startsWith('run on sim001 (1): uptime'));
    expect(f).toContain('↑/↓ history');
  });
});

describe('Esc, undo and node actions from any pane (issue 11 item 8)', () => {
  it('Esc clears the filter first, the marks second; u brings each back', async () => {
    app = await startApp({ nodes: 40 });
    await app.waitFor('NODES 40');
    await app.press('/', ...'sim00', KEY.enter);
    await app.waitFor('NODES 9 of 40');
    await app.press(' ', ' ', ' ');
    await app.waitFor('3 marked');
    await app.press(KEY.escape);
    let f = await app.waitFor('filter sim00 cleared (3 still marked; Esc again clears them) · u undoes');
    expect(f).toContain('NODES 40 · 3 marked');
    await app.press(KEY.escape);
    f = await app.waitFor('3 marks cleared · u undoes');
    expect(f).not.toContain('marked ·');
    await app.press('u');
    f = await app.waitFor('NODES 40 · 3 marked');
    await app.press('u');
    f = await app.waitFor('NODES 9 of 40 · 3 marked · filter sim00');
    await app.press('u');
    await app.waitFor('nothing to undo');
  });

  it('/, p and x work from the jobs pane; Space says where it works', async () => {
    app = await startApp({ nodes: 8 });
    await app.waitFor('sim001');
    await app.press(KEY.tab);
    await app.waitFor('Enter output');
    await app.press(' ');
    await app.waitFor('Space (mark / unmark) works in the nodes pane: Tab goes there');
    await app.press('p');
    await app.waitFor('POWER · sim001 (1)');
    await app.press(KEY.escape, 'x');
    await app.waitFor('run on sim001 (1):');
    await app.press(KEY.escape, '/', ...'sim002', KEY.enter);
    await app.waitFor('NODES 1 of 8');
  });
});
