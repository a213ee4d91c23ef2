import { describe, it, expect } from 'vitest';
import { editInput, inputOf, inputView, replaceBeforeCursor, MAX_INPUT, type TextInput } from '../../src/ui/text-input.js';

/** `|` marks the cursor */
const at = (marked: string): TextInput => ({ text: marked.replace('|', ''), cursor: marked.indexOf('|'), selected: false });
const show = (s: TextInput | undefined) => (s === undefined ? 'undefined' : s.text.slice(0, s.cursor) + '|' + s.text.slice(s.cursor));
/** a key name with its input: printable keys are their own name */
const key = (s: TextInput, k: string, h: readonly string[] = []) => editInput(s, k, k.length === 1 || k === 'space' ? (k === 'space' ? ' ' : k) : k.startsWith('paste:') ? k.slice(6) : '', h);

describe('text input reducer (readline editing)', () => {
  it.each([
    ['abc|', 'left', 'ab|c'],
    ['|abc', 'left', '|abc'],
    ['a|bc', 'right', 'ab|c'],
    ['abc|', 'right', 'abc|'],
    ['ab|c', 'ctrl+a', '|abc'],
    ['ab|c', 'home', '|abc'],
    ['a|bc', 'ctrl+e', 'abc|'],
    ['a|bc', 'end', 'abc|'],
    ['a|bc', 'ctrl+b', '|abc'],
    ['a|bc', 'ctrl+f', 'ab|c'],
    ['uname -r|', 'alt+b', 'uname -|r'],
    ['uname -|r', 'alt+b', '|uname -r'],
    ['|uname -r', 'alt+f', 'uname| -r'],
    ['uname| -r', 'alt+f', 'uname -r|'],
    ['SSH:EXEC:sim1:uname -r|', 'ctrl+w', 'SSH:EXEC:sim1:uname |'],
    ['SSH:EXEC:sim1:uname |', 'ctrl+w', 'SSH:EXEC:sim1:|'],
    ['SSH:EXEC:sim1:|', 'ctrl+w', 'SSH:EXEC:|'],
    ['ab|cd', 'ctrl+k', 'ab|'],
    ['ab|cd', 'ctrl+u', '|cd'],
    ['ab|cd', 'ctrl+d', 'ab|d'],
    ['ab|cd', 'backspace', 'a|cd'],
    ['|abc', 'backspace', '|abc'],
    ['ab|cd', 'x', 'abx|cd'],
    ['ab|', 'space', 'ab |'],
    ['a|d', 'paste:bc', 'abc|d'],
    ['a|', 'paste:b\u001b[31mc\n', 'ab[31mc|'],
  ])('%s + %s → %s', (from, k, to) => {
    expect(show(key(at(from), k))).toBe(to);
  });

  it('leaves Enter, Esc and Tab to the owner of the input', () => {
    for (const k of ['return', 'escape', 'tab']) expect(editInput(at('ab|'), k, '')).toBeUndefined();
  });

  it('a pre-filled text is selected: the first key replaces it (no more sim[0001-0008]sim[0001-0010])', () => {
    const s = inputOf('sim[0001-0008]', { selected: true });
    expect(s.selected).toBe(true);
    expect(show(key(s, 's'))).toBe('s|');
    expect(show(editInput(s, 'x', 'sim[0001-0010]'))).toBe('sim[0001-0010]|');
    expect(show(key(s, 'backspace'))).toBe('|');
    // a movement keeps the text and ends the selection: then typing edits it
    const moved = key(s, 'end')!;
    expect(moved.selected).toBe(false);
    expect(show(key(moved, '1'))).toBe('sim[0001-0008]1|');
    expect(inputOf('', { selected: true }).selected).toBe(false);
  });

  it('↑/↓ recall the history and bring back the line being typed', () => {
    const h = ['first', 'second'];
    let s = key(at('dra|'), 'up', h)!;
    expect(show(s)).toBe('second|');
    s = key(s, 'up', h)!;
    expect(show(s)).toBe('first|');
    expect(show(key(s, 'up', h))).toBe('first|');
    s = key(key(s, 'down', h)!, 'down', h)!;
    expect(show(s)).toBe('dra|');
    expect(show(key(at('x|'), 'up', []))).toBe('x|');
  });

  it('Ctrl-R searches the history backwards; Ctrl-R again goes older; Enter keeps the match to edit; Esc goes back', () => {
    const h = ['SSH:EXEC:@all:uptime', 'POWER:STATUS:sim1', 'SSH:EXEC:sim2:uname -r'];
    let s = key(at('draft|'), 'ctrl+r', h)!;
    expect(s.search).toBeDefined();
    for (const c of 'EXEC') s = key(s, c, h)!;
    expect(s.text).toBe('SSH:EXEC:sim2:uname -r');
    expect(s.search?.at).toBe(2);
    s = key(s, 'ctrl+r', h)!;
    expect(s.text).toBe('SSH:EXEC:@all:uptime');
    expect(s.search?.at).toBe(0);
    // no older match: stays
    expect(key(s, 'ctrl+r', h)!.text).toBe('SSH:EXEC:@all:uptime');
    const kept = key(s, 'return', h)!;
    expect(kept.search).toBeUndefined();
    expect(kept.text).toBe('SSH:EXEC:@all:uptime');
    const back = key(s, 'escape', h)!;
    expect(show(back)).toBe('draft|');
    expect(back.search).toBeUndefined();
    // a query nothing matches: no match shown, the line unchanged
    let n = key(at('|'), 'ctrl+r', h)!;
    n = key(n, 'z', h)!;
    expect(n.search?.at).toBeUndefined();
    expect(n.text).toBe('');
    // another editing key leaves the search and acts
    const moved = key(key(key(at('|'), 'ctrl+r', h)!, 'S', h)!, 'ctrl+e', h)!;
    expect(moved.search).toBeUndefined();
    expect(show(moved)).toBe('SSH:EXEC:sim2:uname -r|');
  });

  it('is bounded: a paste longer than MAX_INPUT is cut', () => {
    const s = editInput(inputOf(), 'x', 'y'.repeat(MAX_INPUT + 100))!;
    expect(s.text.length).toBe(MAX_INPUT);
    expect(editInput(s, 'z', 'z')!.text.length).toBe(MAX_INPUT);
  });

  it('Tab completion replaces what is before the cursor and keeps what follows', () => {
    expect(show(replaceBeforeCursor(at('@ra|!sim1'), '@rack1'))).toBe('@rack1|!sim1');
  });

  it('the view keeps the cursor in sight on a narrow line', () => {
    const v = inputView({ text: 'abcdefghijklmnopqrstuvwxyz', cursor: 26, selected: false }, 10);
    expect(v.before + v.at + v.after).toBe('stuvwxyz '); // with the … before it: 10 columns
    expect(v.cutLeft).toBe(true);
    expect(v.at).toBe(' ');
    const w = inputView({ text: 'abcdefghij', cursor: 2, selected: false }, 6);
    expect([w.before, w.at, w.after]).toEqual(['ab', 'c', 'de']);
  });
});
