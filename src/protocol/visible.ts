/**
 * Text from nodes, agents, the network and config files, made safe for a terminal. A terminal acts
 * on C0 controls (ESC starts CSI/OSC sequences: window titles, the clipboard through OSC 52; CR
 * rewrites the line), on DEL and on C1 (U+0080-U+009F: CSI, OSC and ST in their 8-bit form). Pure.
 *
 * - `visible`: for people. C0 and DEL in caret notation (`^[`, `^M`, `^?`), C1 as `\x9b`; TAB kept.
 * - `visibleLine`: the same for one dashboard row, with TABs expanded to spaces (a raw TAB moves the
 *   cursor past the pane's border).
 * - `maskControls`: each control as `?`, for a report or a log line where only the shape matters
 *   (`vacm doctor`, `vacm serve`'s log).
 * - `escapeControls`: backslash escapes (`\n`, `\r`, `\t`, `\x1b`) that a program can read back, for
 *   the IPC grammar's fields and one-line messages; like OpenSSH's strnvis, nothing is interpreted.
 */

/** The code points a terminal may act on, TAB excepted. */
// eslint-disable-next-line no-control-regex
export const CONTROL_RE = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/;
// eslint-disable-next-line no-control-regex
const CONTROLS_G = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;
// eslint-disable-next-line no-control-regex
const CONTROLS_TAB = /[\x00-\x1f\x7f-\x9f]/;
// eslint-disable-next-line no-control-regex
const CONTROLS_TAB_G = /[\x00-\x1f\x7f-\x9f]/g;

function hex(c: string): string {
  return '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0');
}

function caret(c: string): string {
  const n = c.charCodeAt(0);
  if (n < 0x20) return '^' + String.fromCharCode(n + 0x40);
  if (n === 0x7f) return '^?';
  return hex(c);
}

/** `s` with every control but TAB shown visibly: `^[` for ESC, `^M` for CR, `^?` for DEL, `\x9b` for C1. */
export function visible(s: string): string {
  return CONTROL_RE.test(s) ? s.replace(CONTROLS_G, caret) : s;
}

/** One dashboard row: `visible`, and TABs expanded to the next multiple of 8 columns. */
export function visibleLine(s: string): string {
  const v = visible(s);
  if (!v.includes('\t')) return v;
  let out = '';
  for (const ch of v) out += ch === '\t' ? ' '.repeat(8 - (out.length % 8)) : ch;
  return out;
}

/** Every control as `?` (`tab`: TAB too; `newline`: what a line feed becomes instead). */
export function maskControls(s: string, opts: { tab?: boolean; newline?: string } = {}): string {
  return s.replace(opts.tab ? CONTROLS_TAB_G : CONTROLS_G, (c) => (c === '\n' && opts.newline !== undefined ? opts.newline : '?'));
}

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Every control, TAB included, as a backslash escape: `\n`, `\r`, `\t`, else `\xHH`. Backslashes stay as they are. */
export function escapeControls(s: string): string {
  return CONTROLS_TAB.test(s) ? s.replace(CONTROLS_TAB_G, (c) => NAMED[c] ?? hex(c)) : s;
}

/**
 * Text a peer chose (an SSH DISCONNECT reason, a banner, an error string) for a one-line message:
 * controls escaped, and cut at `max` characters so that a peer cannot fill the screen or the log.
 */
export function peerText(s: string, max = 512): string {
  const cut = s.length > max ? s.slice(0, max) : s;
  return escapeControls(cut) + (s.length > max ? `…[cut ${s.length - max} chars]` : '');
}
