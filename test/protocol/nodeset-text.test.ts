/**
 * NodeSet.text(sep): `nodeset -e`'s output in pieces, built without a string per name for
 * unpadded runs; it must read exactly as the names joined one by one.
 */
import { describe, expect, it } from 'vitest';
import { NodeSet } from '../../src/protocol/nodeset.js';

describe('NodeSet.text', () => {
  it.each([
    ['n[1-20000]', ' '], ['n[098-102],n[8-12]', ','], ['a%sb[9-11]c', '\n'], ['x[1-2]y[3-4]', ' '], ['é[9-10]', '–'],
    ['n[0-20/3]', ' '], ['z', ' '], ['n[99999-100001]', ', '], ['a[1-3]b[01-12],c,n[0001-0011]', ' '], ['', ' '], ['n[1-9000],m[5-6]', ''],
  ])('%j joined by %j', (expr, sep) => {
    const s = NodeSet.parse(expr);
    const pieces = [...s.text(sep, 1000)];
    expect(pieces.join('')).toBe(s.expand().join(sep));
    for (const p of pieces) expect(p).not.toBe('');
  });

  it('comes in pieces of at most the number of names asked for', () => {
    const pieces = [...NodeSet.parse('n[1-10000]').text(' ', 1000)];
    expect(pieces.length).toBeGreaterThanOrEqual(10);
    for (const p of pieces) expect(p.trim().split(' ').length).toBeLessThanOrEqual(1000);
    expect(pieces.slice(1).every((p) => p.startsWith(' n'))).toBe(true);
  });
});
