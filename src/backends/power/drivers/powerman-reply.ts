/**
 * powermand's client protocol, pure (no sockets): splitting the byte stream into replies and
 * reading them. A reply is the lines up to the `powerman> ` prompt; every line is `NNN text`, where
 * 1xx ends a reply with success, 2xx with failure, and 3xx carries data (powerman's
 * client_proto.h). With `exprange` on, status comes as one `303 <plug>: <state>` line per plug.
 */
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

/** Feeds chunks of the stream; hands out each reply once its prompt has arrived. */
export class ReplyReader {
  private buf = '';

  push(chunk: string): Reply[] {
    this.buf += chunk;
    const out: Reply[] = [];
    for (;;) {
      // the prompt starts a line: at the very start of the buffer or after a CRLF
      let at = -1;
      if (this.buf.startsWith(PROMPT)) at = 0;
      else {
        const i = this.buf.indexOf('\n' + PROMPT);
        if (i >= 0) at = i + 1;
      }
      if (at < 0) break;
      out.push(parseReply(this.buf.slice(0, at)));
      this.buf = this.buf.slice(at + PROMPT.length);
    }
    return out;
  }

  /** what came after the last prompt (a reply without a prompt: 101 Goodbye) */
  rest(): string {
    return this.buf;
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
