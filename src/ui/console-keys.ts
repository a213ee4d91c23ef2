/** A key press on the console screen as the bytes a serial terminal sends for it (pure). */
import { keyName, type KeyInfo } from './keymaps.js';

/** The bytes of the named keys (keymaps' one naming: keyName); Alt and Shift do not change them. */
const KEY_BYTES: Readonly<Record<string, string>> = {
  return: '\r',
  backspace: '\x7f',
  'alt+backspace': '\x7f',
  escape: '\x1b',
  tab: '\t',
  'shift+tab': '\t',
  up: '\x1b[A',
  down: '\x1b[B',
  right: '\x1b[C',
  left: '\x1b[D',
  pageup: '\x1b[5~',
  pagedown: '\x1b[6~',
  home: '\x1b[H',
  end: '\x1b[F',
};

export function consoleKeyBytes(input: string, key: KeyInfo): string {
  const name = keyName(input, key);
  // a name that is the input itself is typed text ("end" pasted), not the End key
  if (name !== input && Object.hasOwn(KEY_BYTES, name)) return KEY_BYTES[name];
  if (key.ctrl && /^[a-z]$/i.test(input)) return String.fromCharCode(input.toLowerCase().charCodeAt(0) - 96);
  return input;
}
