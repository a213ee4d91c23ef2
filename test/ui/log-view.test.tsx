/**
 * Issue 16 item 4, the log view of `L` (src/ui/use-log-view.ts, panes/LogPane.tsx) as drawn by
 * ink: the question for the unit or path, the LOG:FOLLOW request it sends, each node's prefix in its
 * own theme colour, `/` filter, `w` wrap, Space pause, the bounded buffer, and Esc cancelling the job.
 * A stub UiEngine stands in for the engine: it records what the view submits and cancels, and
 * feeds it lines as LOG:FOLLOW's OUTPUT would.
 */
import React from 'react';
import { describe, expect, it } from 'vitest';
import { render } from 'ink-testing-library';
import chalk from '../../node_modules/ink/node_modules/chalk/source/index.js';
import { LogScreen } from '../../src/ui/App.js';
import { LOG_SLOTS, logRows, nodeSlot } from '../../src/ui/panes/LogPane.js';
import { LOG_LINE_CHARS, LOG_VIEW_LINES, addLines, logViewOf } from '../../src/ui/use-log-view.js';
import type { UiEngine, UiOutputLine } from '../../src/ui/ui-engine.js';
import { KEY, defaultTheme, drive, forceColours } from './helpers.js';
import { until } from '../helpers/wait.js';

forceColours();

const theme = defaultTheme;

function stubEngine() {
  const submitted: string[] = [];
  const cancelled: number[] = [];
  const feeds = new Map<number, (l: UiOutputLine) => void>();
  const engine = {
    readOnly: false,
    check: (line: string) => (line.includes('not a unit') ? { ok: false, code: 'ERR_BAD_ARGS', message: 'LOG:FOLLOW: "not a unit" is neither an absolute path nor a unit name' } : { ok: true }),
    submit: (line: string) => {
      submitted.push(line);
      return { id: 41 };
    },
    cancel: (id: number) => {
      cancelled.push(id);
      return true;
    },
    watchOutput: (id: number, fn: (l: UiOutputLine) => void) => {
      feeds.set(id, fn);
      return () => feeds.delete(id);
    },
  } as unknown as UiEngine;
  const say = (node: string, line: string) => feeds.get(41)?.(({ node, stream: 'stdout', line }));
  return { engine, submitted, cancelled, feeds, say };
}

async function open(nodes = ['web01', 'db02']) {
  const s = stubEngine();
  let exits = 0;
  const r = render(<LogScreen engine={s.engine} nodes={nodes} theme={theme()} size={{ columns: 100, rows: 20 }} onExit={() => exits++} />);
  const { frame, waitFor, press } = drive(r, { timeoutMs: 3000 });
  await waitFor('unit or /path to follow on');
  return { ...s, r, frame, waitFor, press, exits: () => exits };
}

describe('the log view (L)', () => {
  it('asks for the unit or path, sends LOG:FOLLOW on the nodes, and shows each line behind its node in the node\'s colour', async () => {
    const v = await open();
    expect(v.frame()).toContain('unit or /path to follow on db02,web01 (empty: the journal)');
    // typed and Enter in one read, as a paste or tmux send-keys delivers them
    await v.press('/var/log/app.log\r');
    await v.waitFor('following /var/log/app.log on db02,web01 (2)');
    expect(v.submitted).toEqual(['LOG:FOLLOW:db02,web01:/var/log/app.log']);
    v.say('web01', 'GET /index 200');
    v.say('db02', 'checkpoint complete');
    const f = await v.waitFor('checkpoint complete');
    const plain = f.replace(/\x1b\[[0-9;]*m/g, '');
    expect(plain).toMatch(/^web01 +GET \/index 200/m);
    expect(plain).toMatch(/^db02 +checkpoint complete/m);
    // the name's colour is its slot's, the same every time for the same name; two names, two slots here
    const t = theme();
    expect(nodeSlot('web01')).toBe(nodeSlot('web01'));
    expect(nodeSlot('web01')).not.toBe(nodeSlot('db02'));
    const colour = (slot: (typeof LOG_SLOTS)[number]) => (chalk as unknown as Record<string, (s: string) => string>)[t.slots[slot]]('X').split('X')[0];
    expect(f).toContain(`${colour(nodeSlot('web01'))}web01`);
    expect(f).toContain(`${colour(nodeSlot('db02'))}db02`);
    v.r.unmount();
  });

  it('an empty answer follows the journal; a refused one says why and asks again', async () => {
    const v = await open(['n1']);
    await v.press('not a unit', KEY.enter);
    await v.waitFor('ERR_BAD_ARGS: LOG:FOLLOW: "not a unit" is neither');
    expect(v.submitted).toEqual([]);
    await v.press(...Array(10).fill(KEY.backspace), KEY.enter);
    await v.waitFor('following the journal on n1 (1)');
    expect(v.submitted).toEqual(['LOG:FOLLOW:n1']);
    v.r.unmount();
  });

  it('/ filters by text or node name as typed; Enter keeps it, Esc clears it', async () => {
    const v = await open();
    await v.press(KEY.enter);
    v.say('web01', 'GET /a 200');
    v.say('db02', 'ERROR deadlock detected');
    v.say('web01', 'GET /b 500 error');
    await v.waitFor('GET /b 500');
    await v.press('/', 'e', 'r', 'r');
    let f = await v.waitFor((x) => !x.includes('GET /a 200'));
    expect(f).toContain('ERROR deadlock detected');
    expect(f).toContain('GET /b 500 error');
    await v.press(KEY.enter);
    f = await v.waitFor('filter "err"');
    expect(f).not.toContain('GET /a 200');
    // by node name
    await v.press('/', 'd', 'b', '0', '2', KEY.enter);
    f = await v.waitFor('filter "db02"');
    expect(f).toContain('deadlock');
    expect(f).not.toContain('GET /b');
    // Esc clears the filter first, and does not leave
    await v.press(KEY.escape);
    f = await v.waitFor('GET /a 200');
    expect(v.exits()).toBe(0);
    expect(v.cancelled).toEqual([]);
    v.r.unmount();
  });

  it('w wraps a long line onto more rows; again, cuts it with …', async () => {
    const v = await open();
    await v.press(KEY.enter);
    const long = `start-${'x'.repeat(150)}-END`;
    v.say('web01', long);
    let f = await v.waitFor('start-');
    expect(f).not.toContain('-END');
    expect(f).toMatch(/x…/);
    await v.press('w');
    f = await v.waitFor('-END');
    // the continuation row: under the text, behind a blank prefix
    expect(f).toMatch(/^(\x1b\[[0-9;]*m)* {6}(\x1b\[[0-9;]*m)*x+-END/m);
    await v.press('w');
    f = await v.waitFor((x) => !x.includes('-END'));
    expect(f).toMatch(/x…/);
    v.r.unmount();
  });

  it('Space pauses: the view freezes while lines keep arriving, and shows them on resume', async () => {
    const v = await open();
    await v.press(KEY.enter);
    v.say('web01', 'before pause');
    await v.waitFor('before pause');
    await v.press(' ');
    await v.waitFor('PAUSED (0 new)');
    v.say('web01', 'during pause 1');
    v.say('db02', 'during pause 2');
    const f = await v.waitFor('PAUSED (2 new)');
    expect(f).not.toContain('during pause');
    expect(f).toContain('before pause');
    await v.press(' ');
    const g = await v.waitFor('during pause 2');
    expect(g).toContain('during pause 1');
    expect(g).not.toContain('PAUSED');
    v.r.unmount();
  });

  it('Esc cancels the LOG:FOLLOW job (the remote tail stops) and leaves; the line feed ends', async () => {
    const v = await open();
    await v.press(KEY.enter);
    v.say('web01', 'one');
    await v.waitFor('one');
    expect(v.feeds.size).toBe(1);
    await v.press(KEY.escape);
    await until('the view to leave', () => v.exits() > 0);
    expect(v.cancelled).toEqual([41]);
    expect(v.feeds.size).toBe(0);
    expect(v.exits()).toBe(1);
    v.r.unmount();
  });

  it('the buffer is bounded: the oldest lines go (and are counted), long lines are cut', async () => {
    let s = logViewOf(['a']);
    for (let i = 0; i < 3; i++) s = addLines(s, Array.from({ length: LOG_VIEW_LINES }, (_, k) => ({ node: 'a', stream: 'stdout' as const, line: `l${i}-${k}` })));
    expect(s.lines.length).toBe(LOG_VIEW_LINES);
    expect(s.dropped).toBe(2 * LOG_VIEW_LINES);
    expect(s.lines[0].text).toBe('l2-0');
    expect(s.lines[0].seq).toBe(2 * LOG_VIEW_LINES + 1);
    s = addLines(s, [{ node: 'a', stream: 'stdout', line: 'y'.repeat(64 * 1024) }]);
    expect(s.lines.at(-1)!.text.length).toBeLessThan(LOG_LINE_CHARS + 40);
    expect(s.lines.at(-1)!.text).toContain(`…[cut ${64 * 1024 - LOG_LINE_CHARS} chars]`);
    // and through the view: a flood between two frames stays bounded too
    const v = await open();
    await v.press(KEY.enter);
    for (let i = 0; i < LOG_VIEW_LINES + 500; i++) v.say('web01', `flood ${i}`);
    const f = await v.waitFor(`flood ${LOG_VIEW_LINES + 499}`);
    expect(f).toContain(`${LOG_VIEW_LINES} lines (500 older dropped)`);
    v.r.unmount();
  });

  it('rows: only the newest lines that fit, wrapped or not', () => {
    let s = logViewOf(['a', 'bb']);
    s = addLines({ ...s, ask: undefined }, [1, 2, 3, 4, 5].map((i) => ({ node: i % 2 ? 'a' : 'bb', stream: 'stdout' as const, line: `line ${i}` })));
    expect(logRows(s, 40, 3).map((r) => r.prefix + r.text)).toEqual(['a    line 3', 'bb   line 4', 'a    line 5']);
    s = addLines(s, [{ node: 'a', stream: 'stdout', line: 'abcdefghijkl' }]);
    expect(logRows(s, 13, 2).map((r) => r.prefix + r.text)).toEqual(['a    line 5', 'a    abcdefg…']);
    expect(logRows({ ...s, wrap: true }, 13, 3).map((r) => r.prefix + r.text)).toEqual(['a    line 5', 'a    abcdefgh', '     ijkl']);
  });
});
