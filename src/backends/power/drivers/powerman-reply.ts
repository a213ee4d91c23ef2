/**
 * powermand's client protocol, pure (no sockets): splitting the byte stream into replies and
 * reading them. A reply is the lines up to the `powerman> ` prompt; every line is `NNN text`, where
 * 1xx ends a reply with success, 2xx with failure, and 3xx carries data (powerman's
 * client_proto.h). With `exprange` on, status comes as one `303 <plug>: <state>` line per plug.
 */
import { VacmError } from '../../../protocol/errors.js';
import { expandNodeSet } from '../../../protocol/nodeset.js';

export const PROMPT = 'powerman> ';

export interface ReplyLine {
  code: number;
  text: string;
}

export interface Reply {
  lines: ReplyLine[];
  /** the 1xx/2xx line that ends the reply (the 001 greeting for the first one) */
  final: ReplyLine;
}

export type PlugState = 'on' | 'off' | 'unknown';

/** Parse one `NNN text` line; anything else is a code-0 line kept for messages. */
export function parseLine(line: string): ReplyLine {
  const m = /^(\d{3})(?: (.*))?$/.exec(line);
  return m ? { code: Number(m[1]), text: (m[2] ?? '').trimEnd() } : { code: 0, text: line };
}

/** Turn the lines of one reply (prompt removed) into a Reply. */
export function parseReply(text: string): Reply {
  const lines = text.split(/\r?\n/).filter((l) => l !== '').map(parseLine);
  const final = [...lines].reverse().find((l) => (l.code >= 100 && l.code < 300) || l.code === 1) ?? { code: 0, text: '' };
  return { lines, final };
}

/** The longest reply kept while its prompt has not come (a status of 100 000 plugs is ~3 MiB). */
export const MAX_REPLY_CHARS = 16 * 1024 * 1024;

/**
 * Feeds chunks of the stream; hands out each reply once its prompt has arrived. Only the new chunk
 * (and the few characters before it where a prompt may begin) is searched, and the pending reply
 * is kept in pieces, never rebuilt per chunk; a reply longer than `maxChars` is refused.
 */
export class ReplyReader {
  /** the pending reply (its prompt not yet seen), in the chunks it came in */
  private parts: string[] = [];
  private size = 0;
  /** the pending reply's last characters, where a prompt split between chunks begins */
  private tail = '';

  constructor(private readonly maxChars = MAX_REPLY_CHARS) {}

  push(chunk: string): Reply[] {
    const out: Reply[] = [];
    let text = chunk;
    for (;;) {
      const win = this.tail + text;
      // the prompt starts a line: at the very start of the reply or after a CRLF
      let at = -1;
      if (this.size === this.tail.length && win.startsWith(PROMPT)) at = 0;
      else {
        const i = win.indexOf('\n' + PROMPT);
        if (i >= 0) at = i + 1;
      }
      if (at < 0) break;
      const all = this.parts.join('') + text;
      const end = this.size - this.tail.length + at;
      out.push(parseReply(all.slice(0, end)));
      text = all.slice(end + PROMPT.length);
      this.parts = [];
      this.size = 0;
      this.tail = '';
    }
    if (text !== '') {
      this.parts.push(text);
      this.size += text.length;
      this.tail = (this.tail + text).slice(-PROMPT.length);
    }
    if (this.size > this.maxChars) {
      throw new VacmError('ERR_POWERMAN', `powermand sent more than ${this.maxChars} characters without a prompt; that is not a powerman reply (check powerman_server)`);
    }
    return out;
  }

  /** what came after the last prompt (a reply without a prompt: 101 Goodbye) */
  rest(): string {
    return this.parts.join('');
  }
}

export function isSuccess(r: Reply): boolean {
  return r.final.code >= 100 && r.final.code < 200;
}

/**
 * Plug states from a status reply: `303 plug: state` lines (exprange on) and the folded
 * `302 on:      node[001-003]` form (exprange off).
 */
export function parseStatus(r: Reply): Map<string, PlugState> {
  const states = new Map<string, PlugState>();
  const norm = (s: string): PlugState => (s === 'on' || s === 'off' ? s : 'unknown');
  for (const l of r.lines) {
    if (l.code === 303) {
      const m = /^(.*):\s*(\S+)\s*$/.exec(l.text);
      if (m) states.set(m[1].trim(), norm(m[2]));
    } else if (l.code === 302) {
      const m = /^(on|off|unknown):\s*(.*)$/.exec(l.text);
      if (m && m[2].trim() !== '') for (const p of expandNodeSet(m[2].trim())) states.set(p, m[1] as PlugState);
    }
  }
  return states;
}

/** The plugs a `209 No such nodes: ...` reply names, or undefined for another reply. */
export function noSuchPlugs(r: Reply): string[] | undefined {
  if (r.final.code !== 209) return undefined;
  const list = r.final.text.replace(/^No such nodes:\s*/, '').trim();
  if (list === '') return [];
  try {
    return expandNodeSet(list);
  } catch {
    return list.split(',').map((s) => s.trim()).filter(Boolean);
  }
}

/** The device errors (308 lines) of a reply, e.g. `bad0: connect timeout`. */
export function deviceErrors(r: Reply): string[] {
  return r.lines.filter((l) => l.code === 308).map((l) => l.text);
}

/** A reply in words for an error message: its device errors and final line. */
export function describeReply(r: Reply): string {
  const errs = deviceErrors(r);
  return [...errs, `${r.final.code} ${r.final.text}`].join('; ');
}
