/** A key press on the console screen as the bytes a serial terminal sends for it (pure). */
import type { KeyInfo } from './keymaps.js';

export function consoleKeyBytes(input: string, key: KeyInfo): string {
  if (key.return) return '\r';
  if (key.backspace || key.delete) return '\x7f';
  if (key.escape) return '\x1b';
  if (key.tab) return '\t';
  if (key.upArrow) return '\x1b[A';
  if (key.downArrow) return '\x1b[B';
  if (key.rightArrow) return '\x1b[C';
  if (key.leftArrow) return '\x1b[D';
  if (key.pageUp) return '\x1b[5~';
  if (key.pageDown) return '\x1b[6~';
  if (key.home) return '\x1b[H';
  if (key.end) return '\x1b[F';
  if (key.ctrl && /^[a-z]$/i.test(input)) return String.fromCharCode(input.toLowerCase().charCodeAt(0) - 96);
  return input;
}
