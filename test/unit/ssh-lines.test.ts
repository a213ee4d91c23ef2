import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../src/backends/ssh/pool.js';

describe('LineSplitter (SSH output into OUTPUT lines)', () => {
  const split = (chunks: (string | Buffer)[]) => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
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
  ])('%j → %j', (chunks, want) => expect(split(chunks)).toEqual(want));

  it('keeps a UTF-8 character split across chunks whole', () => {
    const b = Buffer.from('é€\n');
    expect(split([b.subarray(0, 1), b.subarray(1, 3), b.subarray(3)])).toEqual(['é€']);
  });
});
