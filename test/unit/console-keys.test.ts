/** The console screen's keys as the bytes a serial terminal sends (src/ui/console-keys.ts, named by keymaps' keyName). */
import { describe, expect, it } from 'vitest';
import { consoleKeyBytes } from '../../src/ui/console-keys.js';

describe('console key bytes', () => {
  it('sends the terminal bytes of the special keys, Alt and Shift aside', () => {
    expect(consoleKeyBytes('\r', { return: true })).toBe('\r');
    expect(consoleKeyBytes('', { backspace: true })).toBe('\x7f');
    expect(consoleKeyBytes('', { delete: true, meta: true })).toBe('\x7f');
    expect(consoleKeyBytes('', { escape: true })).toBe('\x1b');
    expect(consoleKeyBytes('\t', { tab: true, shift: true })).toBe('\t');
    expect(['upArrow', 'downArrow', 'rightArrow', 'leftArrow', 'pageUp', 'pageDown', 'home', 'end'].map((k) => consoleKeyBytes('', { [k]: true }))).toEqual(['\x1b[A', '\x1b[B', '\x1b[C', '\x1b[D', '\x1b[5~', '\x1b[6~', '\x1b[H', '\x1b[F']);
  });

  it('Ctrl-letter is its control character; typed text, even a key name, goes as it is', () => {
    expect(consoleKeyBytes('c', { ctrl: true })).toBe('\x03');
    expect(consoleKeyBytes('Z', { ctrl: true })).toBe('\x1a');
    expect(consoleKeyBytes('end', {})).toBe('end');
    expect(consoleKeyBytes('return', {})).toBe('return');
    expect(consoleKeyBytes(' ', {})).toBe(' ');
    expect(consoleKeyBytes('x', { meta: true })).toBe('x');
  });
});
