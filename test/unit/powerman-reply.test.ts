import { describe, expect, it } from 'vitest';
import { ReplyReader, describeReply, isSuccess, noSuchPlugs, parseReply, parseStatus } from '../../src/backends/power/drivers/powerman-reply.js';
import { parseServer } from '../../src/backends/power/drivers/powerman.js';

// replies as powermand 2.3.27 sends them (captured on loopback)
const R = {
  greeting: '001 2.3.27\r\n',
  ok: '102 Command completed successfully\r\n',
  folded: '302 on:      node[001-003]\r\n302 off:     node[004-016]\r\n302 unknown: \r\n103 Query complete\r\n',
  expanded: '303 node001: on\r\n303 node002: on\r\n303 node004: off\r\n103 Query complete\r\n',
  nosuch: '209 No such nodes: node[998-999],x1\r\n',
  withErrors: '308 bad0: connect timeout\r\n303 node001: on\r\n303 bad1: unknown\r\n211 Query completed with errors\r\n',
  unknownCmd: '201 Unknown command\r\n',
};

describe('powerman replies', () => {
  it.each([
    ['greeting (001, not a command reply)', R.greeting, 1, false],
    ['command done', R.ok, 102, true],
    ['query', R.folded, 103, true],
    ['no such nodes', R.nosuch, 209, false],
    ['query with errors', R.withErrors, 211, false],
    ['unknown command', R.unknownCmd, 201, false],
  ])('%s: final code and success', (_name, text, code, ok) => {
    const r = parseReply(text);
    expect(r.final.code).toBe(code);
    expect(isSuccess(r)).toBe(ok);
  });

  it.each([
    ['folded (302)', R.folded, { node001: 'on', node003: 'on', node004: 'off', node016: 'off' }, 16],
    ['expanded (303)', R.expanded, { node001: 'on', node002: 'on', node004: 'off' }, 3],
    ['with errors', R.withErrors, { node001: 'on', bad1: 'unknown' }, 2],
  ])('status %s', (_n, text, some, size) => {
    const st = parseStatus(parseReply(text));
    expect(st.size).toBe(size);
    for (const [k, v] of Object.entries(some)) expect(st.get(k)).toBe(v);
  });

  it('names the unknown plugs of a 209 reply, expanding ranges', () => {
    expect(noSuchPlugs(parseReply(R.nosuch))).toEqual(['node998', 'node999', 'x1']);
    expect(noSuchPlugs(parseReply(R.ok))).toBeUndefined();
  });

  it('describes a failed reply with its device errors', () => {
    expect(describeReply(parseReply(R.withErrors))).toBe('bad0: connect timeout; 211 Query completed with errors');
  });

  it('hands out a reply only when its prompt has arrived, however the stream is cut', () => {
    const stream = R.greeting + 'powerman> ' + R.folded + 'powerman> ' + R.ok + 'powerman> ';
    for (const size of [1, 3, 7, 10, 64, stream.length]) {
      const rd = new ReplyReader();
      const got = [];
      for (let i = 0; i < stream.length; i += size) got.push(...rd.push(stream.slice(i, i + size)));
      expect(got.map((r) => r.final.code)).toEqual([1, 103, 102]);
      expect(rd.rest()).toBe('');
    }
    const rd = new ReplyReader();
    expect(rd.push('001 2.3.27\r\npowerman')).toEqual([]);
    expect(rd.push('> ')).toHaveLength(1);
    expect(rd.push('101 Goodbye\r\n')).toEqual([]);
    expect(rd.rest()).toBe('101 Goodbye\r\n');
  });

  it('finds the prompt after a long reply fed in small chunks, with the whole reply', () => {
    const rd = new ReplyReader();
    const line = '303 node00001: off\r\n';
    const got = [];
    for (let i = 0; i < 20_000; i++) got.push(...rd.push(line));
    got.push(...rd.push('102 Command completed successfully\r\npower'));
    expect(got).toEqual([]);
    got.push(...rd.push('man> 101 Goodbye\r\n'));
    expect(got).toHaveLength(1);
    expect(got[0].lines).toHaveLength(20_001);
    expect(got[0].final.code).toBe(102);
    expect(rd.rest()).toBe('101 Goodbye\r\n');
  });

  it('refuses a peer that streams past the reply bound without a prompt (ERR_POWERMAN)', () => {
    const rd = new ReplyReader(1000);
    for (let i = 0; i < 9; i++) rd.push('x'.repeat(100));
    expect(() => rd.push('x'.repeat(200))).toThrow(/ERR_POWERMAN|more than 1000 characters without a prompt/);
  });

  it.each([
    ['127.0.0.1', { host: '127.0.0.1', port: 10101 }],
    ['pm1:24000', { host: 'pm1', port: 24000 }],
    ['[::1]:24001', { host: '::1', port: 24001 }],
  ])('server %s', (s, want) => expect(parseServer(s)).toEqual(want));

  it('refuses a bad server with what to write', () => {
    expect(() => parseServer('pm1:99999')).toThrow(/write host or host:port/);
  });
});
