/**
 * Hostile input to powerman's beacon and temperatures: a powerman_plug that would be a second
 * command or more plugs, and a powermand that answers with escapes, huge values or other plugs.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { powermanPlug, powermanQuery } from '../../src/backends/power/drivers/powerman.js';
import { tempReading } from '../../src/backends/power/drivers/powerman-temp.js';

describe('powerman_plug is one plug name', () => {
  it.each([
    ['node001\r\noff node[001-016]', 'a line end: a second command'],
    ['node001 node002', 'a space'],
    ['node[001-016]', 'a range: 16 plugs'],
    ['node001,node002', 'a list'],
    ['x'.repeat(129), 'too long'],
  ])('refuses %j (%s) with ERR_CONFIG before anything is sent', (plug) => {
    expect(() => powermanPlug('n1', { powerman_plug: plug })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
  });

  it('takes names powerman.conf gives, and defaults to the node name', () => {
    expect(powermanPlug('n1', { powerman_plug: 'rack1-pdu2.outlet:7' }).plug).toBe('rack1-pdu2.outlet:7');
    expect(powermanPlug('node007', {})).toEqual({ server: '127.0.0.1:10101', plug: 'node007' });
  });
});

describe('a temperature is a number of degrees or na', () => {
  it.each([
    ['83', '83.00'],
    ['35.5 C', '35.50'],
    ['-4', '-4.00'],
    ['\x1b[31m99', 'na'],
    ['hot', 'na'],
    ['1'.repeat(50), 'na'],
  ])('%j is %s', (text, value) => {
    expect(tempReading(text)).toEqual({ name: 'powerman temp', value, unit: 'C', status: 'na' });
  });
});

let server: net.Server | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

/** A fake powermand on a loopback port: greets, then answers each line with `answer(line)`. */
async function fake(answer: (line: string) => string): Promise<string> {
  server = net.createServer((c) => {
    c.write('001 fake\r\npowerman> ');
    let buf = '';
    c.on('data', (d) => {
      buf += d.toString();
      for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (line === 'quit') return void c.end('101 Goodbye\r\n');
        c.write(answer(line) + 'powerman> ');
      }
    });
    c.on('error', () => {});
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

describe('a hostile powermand', () => {
  it('values are cut short, plugs not asked for are dropped, a plug it leaves out fails alone', async () => {
    const where = await fake((line) => {
      if (line === 'exprange') return '105 Hostrange expansion ON\r\n';
      return `303 p1: ${'9'.repeat(5000)}\r\n303 evil: 42\r\n303 p2: \x1b]0;owned\x07\r\n103 Query complete\r\n`;
    });
    const got = await powermanQuery(where, 'temp', ['p1', 'p2', 'p3'], new AbortController().signal);
    expect([...got.keys()].sort()).toEqual(['p1', 'p2', 'p3']);
    expect((got.get('p1') as string).length).toBe(64);
    expect(tempReading(got.get('p1') as string).value).toBe('na');
    expect(tempReading(got.get('p2') as string).value).toBe('na');
    expect(got.get('p3')).toBeInstanceOf(Error);
    expect((got.get('p3') as Error).message).toMatch(/gave no temp for plug p3/);
  });

  it('213 (the device has no temperatures) is ERR_UNSUPPORTED', async () => {
    const where = await fake((line) => (line === 'exprange' ? '105 Hostrange expansion ON\r\n' : '213 Command cannot be handled by power control device(s)\r\n'));
    await expect(powermanQuery(where, 'temp', ['p1'], new AbortController().signal)).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED' });
  });
});
