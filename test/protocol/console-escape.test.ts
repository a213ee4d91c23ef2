import { describe, expect, it } from 'vitest';
import { ConsoleEscapes } from '../../src/protocol/console-escape.js';

describe('console escapes', () => {
  it.each([
    ['~.', '', ['leave']],
    ['~B', '', ['break']],
    ['~?', '', ['help']],
    ['~~', '~', []],
    ['ls\r~.', 'ls\r', ['leave']],
    ['a~.', 'a~.', []], // not at the start of a line: typed as it is
    ['~x', '~x', []],
    ['root\r~B~.', 'root\r', ['break', 'leave']],
    ['\r~~.', '\r~.', []],
  ])('%j sends %j and does %j', (keys, send, actions) => {
    expect(new ConsoleEscapes().feed(keys)).toEqual({ send, actions });
  });

  it('keeps its state across key presses, one at a time', () => {
    const e = new ConsoleEscapes();
    expect(e.feed('x')).toEqual({ send: 'x', actions: [] });
    expect(e.feed('\r')).toEqual({ send: '\r', actions: [] });
    expect(e.feed('~')).toEqual({ send: '', actions: [] });
    expect(e.feed('.')).toEqual({ send: '', actions: ['leave'] });
  });
});
