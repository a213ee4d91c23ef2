import { describe, expect, it } from 'vitest';
import { LineSplitter, MAX_LINE_BYTES, cutSuffix } from '../../src/backends/ssh/channel.js';

describe('LineSplitter (SSH output into OUTPUT lines)', () => {
  const split = (chunks: (string | Buffer)[], maxLineBytes?: number) => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l), { maxLineBytes });
    for (const c of chunks) s.push(c);
    s.end();
    return lines;
  };

  it.each([
    [['a\nb\n'], ['a', 'b']],
    [['a\nb'], ['a', 'b']],
    [['a', 'b\n', 'c'], ['ab', 'c']],
    [['\n\n'], ['', '']],
    [[''], []],
    [['x\r\n'], ['x\r']],
    [['a', '', 'b', '\n', '\n'], ['ab', '']],
  ])('%j → %j', (chunks, want) => expect(split(chunks)).toEqual(want));

  it('keeps a UTF-8 character split across chunks whole', () => {
    const b = Buffer.from('é€\n😀x');
    const bytes = [...b].map((x) => Buffer.from([x]));
    expect(split(bytes)).toEqual(['é€', '😀x']);
    expect(split([b.subarray(0, 1), b.subarray(1, 3), b.subarray(3)])).toEqual(['é€', '😀x']);
  });

  it.each([
    // [chunks, limit, lines]
    [['abcdefgh\n'], 4, [`abcd${cutSuffix(4)}`]],
    [['abcd\n'], 4, ['abcd']],
    [['ab', 'cd', 'ef', '\nnext\n'], 4, [`abcd${cutSuffix(2)}`, 'next']],
    [['abcdef'], 4, [`abcd${cutSuffix(2)}`]],
    [['ab', 'cdefgh', 'ij'], 4, [`abcd${cutSuffix(6)}`]],
    // a cut that would split a character keeps the character out, and counts its bytes
    [['aé€z\n'], 4, [`aé${cutSuffix(4)}`]],
    [['ab€\n'], 4, [`ab${cutSuffix(3)}`]],
  ])('%j cut at %i bytes → %j', (chunks, limit, want) => expect(split(chunks as string[], limit)).toEqual(want));

  it('cuts a 64 MiB line to 64 KiB and says how many bytes it dropped; the next line is whole', () => {
    const chunk = Buffer.alloc(32 * 1024, 'a');
    const chunks: Buffer[] = [];
    for (let i = 0; i < 2048; i++) chunks.push(chunk);
    chunks.push(Buffer.from('\nafter\n'));
    const lines = split(chunks);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe('a'.repeat(MAX_LINE_BYTES) + '…[cut 67043328 bytes]');
    expect(lines[1]).toBe('after');
  });

  it('hands out the lines of a chunk as they are, a line of exactly 64 KiB uncut', () => {
    const full = 'b'.repeat(MAX_LINE_BYTES);
    expect(split([`x\n${full}\n${full}c\n`])).toEqual(['x', full, full + cutSuffix(1)]);
  });
});
