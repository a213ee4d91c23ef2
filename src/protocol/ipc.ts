/**
 * The IPC grammar (DESIGN.md "IPC grammar"), pure: request parsing and response formatting.
 *
 * Request:  TAG:COMMAND[:NODES[:ARG...]]   — `\:` is a literal colon, `\\` a literal backslash.
 * Response: TAG:JOBID:EVENT[:FIELD...]     — fields escaped the same way, and controls too (`\n`, `\r`,
 *           `\t`, `\xHH`), so that no field can end the line or reach a terminal raw; except a verbatim
 *           last field (command output lines), which is the line as the node wrote it.
 */
import { VacmError } from './errors.js';

export const MAX_LINE_BYTES = 64 * 1024;

/** What the parser needs to know about a command to split its arguments. */
export interface ArgSpec {
  name: string;
  /** the last argument may take the remainder of the line verbatim, colons included */
  rest?: boolean;
  optional?: boolean;
  /** a value this argument must be one of (case-insensitive), e.g. FORCE */
  oneOf?: readonly string[];
}

export interface CommandShape {
  /** whether the command takes a node set: required, optional, or none (the field must be empty or absent) */
  nodes: 'required' | 'optional' | 'none';
  args: readonly ArgSpec[];
}

export type ShapeLookup = (tag: string, command: string) => CommandShape | undefined;

export interface Request {
  tag: string;
  command: string;
  /** the node-set expression as written (unescaped), '' when absent */
  nodes: string;
  /** arguments in declaration order, unescaped (a rest argument verbatim) */
  args: string[];
  /** arguments by name */
  named: Record<string, string>;
  /** the original line, trimmed */
  line: string;
}

/** One field of a split line with the offset where it starts, for error positions. */
export interface Field {
  text: string;
  start: number;
}

const NAME_RE = /^[A-Za-z][A-Za-z0-9_]*$/;

/** The control escapes of response fields, read back (`\xHH` is handled apart). */
const CONTROL_ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t' };

/**
 * Split `line` on unescaped colons, unescaping `\:` and `\\` (and, with `controls`, a response's
 * `\n`, `\r`, `\t` and `\xHH`). Splitting stops after `max` fields; the remainder (raw, escapes
 * untouched) is returned as `rest` with its offset.
 */
export function splitFields(line: string, max = Infinity, base = 0, controls = false): { fields: Field[]; rest?: Field } {
  const fields: Field[] = [];
  if (!line.includes('\\')) {
    // fast path: no escapes, so splitting on ':' is exact
    let start = 0;
    for (;;) {
      const i = line.indexOf(':', start);
      if (i < 0) break;
      fields.push({ text: line.slice(start, i), start: base + start });
      start = i + 1;
      if (fields.length === max) return { fields, rest: { text: line.slice(start), start: base + start } };
    }
    fields.push({ text: line.slice(start), start: base + start });
    return { fields };
  }
  let cur = '';
  let start = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\') {
      const n = line[i + 1];
      if (n === ':' || n === '\\') {
        cur += n;
        i++;
        continue;
      }
      if (controls && CONTROL_ESCAPES[n] !== undefined) {
        cur += CONTROL_ESCAPES[n];
        i++;
        continue;
      }
      if (controls && n === 'x' && /^[0-9a-f]{2}$/i.test(line.slice(i + 2, i + 4))) {
        cur += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
        i += 3;
        continue;
      }
      if (n === undefined) throw new VacmError('ERR_PROTO_PARSE', `dangling backslash at position ${base + i}: end a field with \\\\ for a literal backslash`, { position: base + i });
      throw new VacmError('ERR_PROTO_PARSE', `bad escape \\${n} at position ${base + i}: only \\: and \\\\ are escapes`, { position: base + i, fragment: `\\${n}` });
    }
    if (c === ':') {
      fields.push({ text: cur, start: base + start });
      cur = '';
      start = i + 1;
      if (fields.length === max) return { fields, rest: { text: line.slice(i + 1), start: base + i + 1 } };
      continue;
    }
    cur += c;
  }
  fields.push({ text: cur, start: base + start });
  return { fields };
}

// eslint-disable-next-line no-control-regex
const FIELD_ESCAPES = /[\\:\x00-\x1f\x7f-\x9f]/;
// eslint-disable-next-line no-control-regex
const FIELD_ESCAPES_G = /[\\:\x00-\x1f\x7f-\x9f]/g;
const FIELD_ESCAPE: Record<string, string> = { '\\': '\\\\', ':': '\\:', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Escape one field of a response line (or a request's node set): `\\`, `\:`, and every control as
 * `\n`, `\r`, `\t` or `\xHH`, so that a message with a newline in it cannot print a second,
 * forged response line, nor an ESC reach the terminal.
 */
export function escapeField(s: string): string {
  if (!FIELD_ESCAPES.test(s)) return s;
  return s.replace(FIELD_ESCAPES_G, (c) => FIELD_ESCAPE[c] ?? '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

/** The refusal of a line of `bytes` bytes (the limit is the grammar's, not a setting). */
export function lineTooLongError(bytes: number): VacmError {
  return new VacmError('ERR_LINE_TOO_LONG', `line of ${bytes} bytes refused: the limit is ${MAX_LINE_BYTES} bytes (64 KiB); pass long commands as a script on the nodes instead`, { position: MAX_LINE_BYTES });
}

/** Trim and validate a raw line; returns '' for an empty line (to be ignored). */
export function normaliseLine(raw: string): string {
  // a UTF-16 unit is at most 3 bytes of UTF-8: a line this short cannot be too long (no count)
  if (raw.length * 3 > MAX_LINE_BYTES && Buffer.byteLength(raw, 'utf8') > MAX_LINE_BYTES) throw lineTooLongError(Buffer.byteLength(raw, 'utf8'));
  return raw.trim();
}

/** Parse just TAG and COMMAND (upper-cased), for looking up the command's shape. */
export function parseHead(line: string): { tag: string; command: string } {
  // the usual line: TAG:COMMAND:... without escapes in those two, read without splitting
  const a = line.indexOf(':');
  const b = a < 0 ? -1 : line.indexOf(':', a + 1);
  const head = b < 0 ? line : line.slice(0, b);
  if (a > 0 && !head.includes('\\')) {
    const tag = line.slice(0, a);
    const command = head.slice(a + 1);
    if (NAME_RE.test(tag) && NAME_RE.test(command)) return { tag: tag.toUpperCase(), command: command.toUpperCase() };
  }
  // anything else (escapes, a missing or bad name) the long way, for its error
  const { fields } = splitFields(line, 2);
  const [tagF, cmdF] = fields;
  if (!tagF || tagF.text === '') throw new VacmError('ERR_PROTO_PARSE', 'expected TAG:COMMAND at position 0, e.g. NEXXUS:HELP', { position: 0 });
  if (!NAME_RE.test(tagF.text)) throw new VacmError('ERR_PROTO_PARSE', `bad module tag "${tagF.text}" at position ${tagF.start}: letters, digits and _ only`, { position: tagF.start, fragment: tagF.text });
  if (!cmdF || cmdF.text === '') throw new VacmError('ERR_PROTO_PARSE', `missing command after "${tagF.text}:" at position ${line.length}: try ${tagF.text.toUpperCase()}:HELP or NEXXUS:HELP`, { position: cmdF?.start ?? line.length });
  if (!NAME_RE.test(cmdF.text)) throw new VacmError('ERR_PROTO_PARSE', `bad command "${cmdF.text}" at position ${cmdF.start}: letters, digits and _ only`, { position: cmdF.start, fragment: cmdF.text });
  return { tag: tagF.text.toUpperCase(), command: cmdF.text.toUpperCase() };
}

/**
 * Parse a request line. `shapeOf` tells the argument layout of a known command; when it returns
 * undefined the caller decides (the engine answers ERR_UNKNOWN_MODULE / ERR_UNKNOWN_COMMAND), so
 * this throws a VacmError with that code.
 */
export function parseRequest(raw: string, shapeOf: ShapeLookup, knownTag: (tag: string) => boolean): Request {
  const line = normaliseLine(raw);
  if (line === '') throw new VacmError('ERR_PROTO_PARSE', 'empty request', { position: 0 });
  const { tag, command } = parseHead(line);
  if (!knownTag(tag)) throw new VacmError('ERR_UNKNOWN_MODULE', `no module "${tag}": NEXXUS:MODULES lists the modules`, { fragment: tag, position: 0 });
  const shape = shapeOf(tag, command);
  if (!shape) throw new VacmError('ERR_UNKNOWN_COMMAND', `module ${tag} has no command "${command}": NEXXUS:HELP::${tag} lists its commands`, { fragment: command, position: tag.length + 1 });

  const restIdx = shape.args.findIndex((a) => a.rest);
  // fields: tag, command, nodes, args...; with a rest argument, split only up to it
  const maxFields = restIdx >= 0 ? 3 + restIdx : Infinity;
  const { fields, rest } = splitFields(line, maxFields);
  const nodesF = fields[2];
  let argFields: Field[] = fields.slice(3);
  if (rest) argFields = [...argFields, rest];
  const nodes = nodesF?.text ?? '';
  if (shape.nodes === 'required' && nodes.trim() === '') {
    throw new VacmError('ERR_PROTO_PARSE', `${tag}:${command} needs a node set at position ${nodesF?.start ?? line.length}, e.g. ${tag}:${command}:node[01-04] or * for every node`, { position: nodesF?.start ?? line.length });
  }
  if (shape.nodes === 'none' && nodes !== '') {
    throw new VacmError('ERR_PROTO_PARSE', `${tag}:${command} takes no node set; leave the field empty (${tag}:${command}::ARG) at position ${nodesF!.start}`, { position: nodesF!.start, fragment: nodes });
  }
  const args: string[] = [];
  const named: Record<string, string> = {};
  for (let i = 0; i < shape.args.length; i++) {
    const spec = shape.args[i];
    const f = argFields[i];
    if (f === undefined || (f.text === '' && !spec.rest)) {
      if (spec.optional) continue;
      const usage = usageOf(tag, command, shape);
      throw new VacmError('ERR_BAD_ARGS', `${tag}:${command} is missing <${spec.name}> at position ${f?.start ?? line.length}; usage: ${usage}`, { position: f?.start ?? line.length });
    }
    if (spec.rest && f.text === '' && !spec.optional) {
      throw new VacmError('ERR_BAD_ARGS', `${tag}:${command} is missing <${spec.name}> at position ${f.start}; usage: ${usageOf(tag, command, shape)}`, { position: f.start });
    }
    let v = f.text;
    if (spec.oneOf) {
      const up = v.toUpperCase();
      if (!spec.oneOf.includes(up)) {
        throw new VacmError('ERR_BAD_ARGS', `${tag}:${command}: <${spec.name}> must be one of ${spec.oneOf.join(', ')}, not "${v}" (position ${f.start})`, { position: f.start, fragment: v });
      }
      v = up;
    }
    args.push(v);
    named[spec.name] = v;
  }
  if (argFields.length > shape.args.length) {
    const extra = argFields[shape.args.length];
    throw new VacmError('ERR_BAD_ARGS', `${tag}:${command} takes ${shape.args.length} argument(s); unexpected "${extra.text}" at position ${extra.start}; usage: ${usageOf(tag, command, shape)}`, { position: extra.start, fragment: extra.text });
  }
  return { tag, command, nodes, args, named, line };
}

/** `TAG:COMMAND:<nodes>:<arg>:[opt]:<rest...>` */
export function usageOf(tag: string, command: string, shape: CommandShape): string {
  const parts = [tag, command];
  if (shape.nodes === 'required') parts.push('<nodes>');
  else if (shape.nodes === 'optional') parts.push('[nodes]');
  else if (shape.args.length) parts.push('');
  for (const a of shape.args) {
    const n = a.oneOf ? a.oneOf.join('|') : a.name;
    parts.push(a.optional ? `[${n}${a.rest ? '...' : ''}]` : `<${n}${a.rest ? '...' : ''}>`);
  }
  return parts.join(':');
}

/** A response line's parts; the last field is written verbatim when `verbatimLast`. */
export interface ResponseLine {
  tag: string;
  job: number;
  event: string;
  fields: readonly string[];
  verbatimLast?: boolean;
}

export function formatResponse(r: ResponseLine): string {
  let out = `${r.tag}:${r.job}:${r.event}`;
  const n = r.fields.length;
  for (let i = 0; i < n; i++) {
    const f = r.fields[i];
    out += ':' + (r.verbatimLast && i === n - 1 ? f : escapeField(f));
  }
  return out;
}

/** Parse a response line (for clients and tests). A verbatim last field must be declared by count. */
export function parseResponse(line: string, verbatimAfter?: (event: string) => number | undefined): ResponseLine {
  const head = splitFields(line, 3);
  const [tagF, jobF, evF] = head.fields;
  if (!tagF || !jobF || !evF) throw new VacmError('ERR_PROTO_PARSE', `not a response line: expected TAG:JOBID:EVENT`, { position: 0 });
  const job = Number(jobF.text);
  if (!/^\d+$/.test(jobF.text) || job > 0xffffffff) throw new VacmError('ERR_PROTO_PARSE', `bad job id "${jobF.text}" at position ${jobF.start}`, { position: jobF.start });
  const restText = head.rest?.text;
  let fields: string[] = [];
  let verbatimLast = false;
  if (restText !== undefined) {
    const n = verbatimAfter?.(evF.text);
    if (n !== undefined) {
      const s = splitFields(restText, n, head.rest!.start, true);
      fields = s.fields.map((f) => f.text);
      if (s.rest) {
        fields.push(s.rest.text);
        verbatimLast = true;
      }
    } else {
      fields = splitFields(restText, Infinity, head.rest!.start, true).fields.map((f) => f.text);
    }
  }
  return { tag: tagF.text, job, event: evF.text, fields, verbatimLast };
}
