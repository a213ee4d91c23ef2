import { describe, expect, it } from 'vitest';
import { escapeField, formatResponse, parseRequest, parseResponse, splitFields, MAX_LINE_BYTES, type CommandShape } from '../../src/protocol/ipc.js';
import { VacmError } from '../../src/protocol/errors.js';
import { toLine, toJsonLine, verbatimFieldsBefore, type VacmEvent } from '../../src/protocol/events.js';

const shapes: Record<string, Record<string, CommandShape>> = {
  NEXXUS: {
    NODE_LIST: { nodes: 'optional', args: [] },
    MODULES: { nodes: 'none', args: [] },
    GET_VAR: { nodes: 'required', args: [{ name: 'key' }] },
    SET_VAR: { nodes: 'required', args: [{ name: 'key' }, { name: 'value', rest: true }] },
    HELP: { nodes: 'none', args: [{ name: 'tag', optional: true }] },
  },
  SSH: { EXEC: { nodes: 'required', args: [{ name: 'command', rest: true }] } },
  POWER: { OFF: { nodes: 'required', args: [{ name: 'force', optional: true, oneOf: ['FORCE'] }] } },
};
const shapeOf = (t: string, c: string) => shapes[t]?.[c];
const known = (t: string) => t in shapes;
const parse = (l: string) => parseRequest(l, shapeOf, known);

function errOf(f: () => unknown): VacmError {
  try {
    f();
  } catch (e) {
    if (e instanceof VacmError) return e;
    throw new Error(`expected a VacmError, got ${String(e)}`);
  }
  throw new Error('expected an error');
}

describe('splitFields', () => {
  it.each([
    ['a:b:c', ['a', 'b', 'c']],
    ['a\\:b:c', ['a:b', 'c']],
    ['a\\\\:b', ['a\\', 'b']],
    ['a\\\\\\:b', ['a\\:b']],
    ['::', ['', '', '']],
    ['', ['']],
  ])('%s', (line, want) => {
    expect(splitFields(line).fields.map((f) => f.text)).toEqual(want);
  });
  it('stops after max fields and returns the raw rest with its offset', () => {
    const r = splitFields('SSH:EXEC:n1:grep -c a:b \\: x', 3);
    expect(r.fields.map((f) => f.text)).toEqual(['SSH', 'EXEC', 'n1']);
    expect(r.rest).toEqual({ text: 'grep -c a:b \\: x', start: 12 });
  });
  it('refuses a bad escape with its position', () => {
    const e = errOf(() => splitFields('ab\\x'));
    expect(e.code).toBe('ERR_PROTO_PARSE');
    expect(e.position).toBe(2);
  });
});

describe('parseRequest', () => {
  it('normalises tag and command to upper case', () => {
    const r = parse('nexxus:node_list');
    expect([r.tag, r.command, r.nodes, r.args]).toEqual(['NEXXUS', 'NODE_LIST', '', []]);
  });
  it('trims the line', () => {
    expect(parse('  NEXXUS:MODULES \n').line).toBe('NEXXUS:MODULES');
  });
  it('takes a rest argument verbatim, colons and backslashes included', () => {
    const r = parse('SSH:EXEC:node[1-4]:grep -c a:b /etc/x');
    expect(r.nodes).toBe('node[1-4]');
    expect(r.named.command).toBe('grep -c a:b /etc/x');
    expect(parse('SSH:EXEC:n1:echo \\:x\\\\').named.command).toBe('echo \\:x\\\\');
  });
  it('unescapes ordinary fields', () => {
    const r = parse('NEXXUS:SET_VAR:n\\:1:key:qemu:///system');
    expect(r.nodes).toBe('n:1');
    expect(r.named).toEqual({ key: 'key', value: 'qemu:///system' });
  });
  it('accepts an optional argument, and checks oneOf case-insensitively', () => {
    expect(parse('NEXXUS:HELP').args).toEqual([]);
    expect(parse('NEXXUS:HELP::ssh').named.tag).toBe('ssh');
    expect(parse('POWER:OFF:n1:force').named.force).toBe('FORCE');
    expect(errOf(() => parse('POWER:OFF:n1:now')).code).toBe('ERR_BAD_ARGS');
  });
  it.each([
    ['', 'ERR_PROTO_PARSE', 0],
    ['   ', 'ERR_PROTO_PARSE', 0],
    [':X', 'ERR_PROTO_PARSE', 0],
    ['NEXXUS', 'ERR_PROTO_PARSE', 6],
    ['NEXXUS:', 'ERR_PROTO_PARSE', 7],
    ['NEX US:X', 'ERR_PROTO_PARSE', 0],
    ['NEXXUS:NODE LIST', 'ERR_PROTO_PARSE', 7],
    ['FOO:BAR', 'ERR_UNKNOWN_MODULE', 0],
    ['NEXXUS:FROB', 'ERR_UNKNOWN_COMMAND', 7],
    ['SSH:EXEC', 'ERR_PROTO_PARSE', 8],
    ['SSH:EXEC::ls', 'ERR_PROTO_PARSE', 9],
    ['SSH:EXEC:n1', 'ERR_BAD_ARGS', 11],
    ['SSH:EXEC:n1:', 'ERR_BAD_ARGS', 12],
    ['NEXXUS:MODULES:n1', 'ERR_PROTO_PARSE', 15],
    ['NEXXUS:GET_VAR:n1', 'ERR_BAD_ARGS', 17],
    ['NEXXUS:GET_VAR:n1:a:b', 'ERR_BAD_ARGS', 20],
    ['NEXXUS:NODE_LIST:a\\q', 'ERR_PROTO_PARSE', 18],
  ])('%j is %s at %i', (line, code, pos) => {
    const e = errOf(() => parse(line));
    expect(e.code).toBe(code);
    expect(e.position).toBe(pos);
    expect(e.message.length).toBeGreaterThan(10);
  });
  it('refuses a line over 64 KiB', () => {
    const e = errOf(() => parse('SSH:EXEC:n1:' + 'x'.repeat(MAX_LINE_BYTES)));
    expect(e.code).toBe('ERR_LINE_TOO_LONG');
  });
  it('counts bytes, not characters: 3-byte characters past 64 KiB are too long, up to it they are not', () => {
    const head = 'SSH:EXEC:n1:';
    const fit = Math.floor((MAX_LINE_BYTES - head.length) / 3);
    expect(parse(head + '€'.repeat(fit)).named.command.length).toBe(fit);
    expect(errOf(() => parse(head + '€'.repeat(fit + 1))).code).toBe('ERR_LINE_TOO_LONG');
  });
  it('reads TAG and COMMAND the same with or without escapes elsewhere, and refuses an escape inside them', () => {
    expect(parse('nexxus:get_var:n\\:1:k')).toMatchObject({ tag: 'NEXXUS', command: 'GET_VAR', nodes: 'n:1', named: { key: 'k' } });
    expect(parse('Nexxus:Modules')).toMatchObject({ tag: 'NEXXUS', command: 'MODULES' });
    expect(errOf(() => parse('NEX\\US:MODULES')).code).toBe('ERR_PROTO_PARSE');
    expect(errOf(() => parse('NEXXUS:MOD\\ULES')).code).toBe('ERR_PROTO_PARSE');
    expect(errOf(() => parse('NEXXUS:MOD\\:ULES')).code).toBe('ERR_PROTO_PARSE');
  });
  it('accepts a line of exactly 64 KiB', () => {
    const head = 'SSH:EXEC:n1:';
    expect(parse(head + 'x'.repeat(MAX_LINE_BYTES - head.length)).named.command.length).toBe(MAX_LINE_BYTES - head.length);
  });
});

describe('responses', () => {
  const ev = (e: object) => ({ tag: 'SSH', job: 9, ts: 0, ...e }) as VacmEvent;
  it('formats VACM shapes', () => {
    expect(toLine({ tag: 'NEXXUS', job: 2, ts: 0, type: 'JOB_STARTED', request: 'x', targets: 0 })).toBe('NEXXUS:2:JOB_STARTED');
    expect(toLine({ tag: 'NEXXUS', job: 2, ts: 0, type: 'NODELIST', node: 'box1' })).toBe('NEXXUS:2:NODELIST:box1');
    expect(toLine({ tag: 'NEXXUS', job: 2, ts: 0, type: 'JOB_COMPLETED', ok: 1, failed: 0 })).toBe('NEXXUS:2:JOB_COMPLETED:ok=1:failed=0');
    expect(toLine({ tag: 'ICMP_ECHO', job: 7, ts: 0, type: 'PING', node: 'node01', state: 'up', rttMs: 0.041 })).toBe('ICMP_ECHO:7:PING:node01:up:0.041ms');
    expect(toLine(ev({ type: 'EXIT', node: 'node03', code: 0 }))).toBe('SSH:9:EXIT:node03:0');
    expect(toLine({ tag: 'POWER', job: 12, ts: 0, type: 'POWER', node: 'node05', state: 'off' })).toBe('POWER:12:POWER:node05:off');
    expect(toLine(ev({ type: 'ERROR', node: 'node04', code: 'ERR_SSH_AUTH', message: 'denied: check key' }))).toBe('SSH:9:ERROR:node04:ERR_SSH_AUTH:denied\\: check key');
  });
  it('writes output lines verbatim and reads them back', () => {
    const line = toLine(ev({ type: 'OUTPUT', node: 'node03', stream: 'stdout', line: 'a:b\\c' }));
    expect(line).toBe('SSH:9:OUTPUT:node03:stdout:a:b\\c');
    const back = parseResponse(line, verbatimFieldsBefore);
    expect(back).toMatchObject({ tag: 'SSH', job: 9, event: 'OUTPUT', fields: ['node03', 'stdout', 'a:b\\c'] });
  });
  it('round-trips escaped fields', () => {
    for (const f of ['plain', 'a:b', 'c\\d', '\\:', '']) {
      const line = formatResponse({ tag: 'T', job: 1, event: 'E', fields: [f, 'x'] });
      expect(parseResponse(line).fields).toEqual([f, 'x']);
      expect(escapeField(f).includes(':') ? escapeField(f).includes('\\:') : true).toBe(true);
    }
  });
  it('escapes controls in every non-verbatim field, so that no field can print a second line', () => {
    const msg = 'bye\nSSH:1:EXIT:n9:0\r\x1b]0;t\x07\x9b\t';
    const line = toLine(ev({ type: 'ERROR', node: 'n1', code: 'ERR_SSH_CONNECT', message: msg }));
    expect(line).toBe('SSH:9:ERROR:n1:ERR_SSH_CONNECT:bye\\nSSH\\:1\\:EXIT\\:n9\\:0\\r\\x1b]0;t\\x07\\x9b\\t');
    expect(line).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
    expect(parseResponse(line, verbatimFieldsBefore).fields).toEqual(['n1', 'ERR_SSH_CONNECT', msg]);
  });
  it('round-trips every control and escape in fields', () => {
    const all = Array.from({ length: 0xa0 }, (_, i) => String.fromCharCode(i)).join('') + '\\:\\n\\x41';
    const line = formatResponse({ tag: 'T', job: 1, event: 'E', fields: [all, 'x'] });
    expect(line).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
    expect(parseResponse(line).fields).toEqual([all, 'x']);
  });
  it('keeps the verbatim field verbatim (controls included) and the fields before it escaped', () => {
    const out = '\x1b]52;c;eA==\x07a\rb';
    const line = toLine(ev({ type: 'OUTPUT', node: 'n1', stream: 'stdout', line: out }));
    expect(line).toBe('SSH:9:OUTPUT:n1:stdout:' + out);
    expect(parseResponse(line, verbatimFieldsBefore).fields).toEqual(['n1', 'stdout', out]);
  });
  it('requests keep their two escapes: \\n is not one of them', () => {
    expect(errOf(() => splitFields('a\\nb')).code).toBe('ERR_PROTO_PARSE');
  });
  it('prints JSON with no control raw, C1 and line separators included, parsing back the same', () => {
    const line = toJsonLine(ev({ type: 'OUTPUT', node: 'n1', stream: 'stdout', line: '\x1b\x9b\x7f\u2028x' }));
    expect(line).not.toMatch(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/);
    expect(JSON.parse(line).fields[2]).toBe('\x1b\x9b\x7f\u2028x');
  });
  it('prints JSON lines with the documented keys', () => {
    const j = JSON.parse(toJsonLine(ev({ type: 'EXIT', node: 'n1', code: 3 })));
    expect(Object.keys(j)).toEqual(['tag', 'job', 'event', 'node', 'fields', 'ts']);
    expect(j).toMatchObject({ tag: 'SSH', job: 9, event: 'EXIT', node: 'n1', fields: ['n1', '3'] });
  });
});
