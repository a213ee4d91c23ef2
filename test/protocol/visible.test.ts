import { describe, expect, it } from 'vitest';
import { escapeControls, peerText, visible, visibleLine } from '../../src/protocol/visible.js';
import { isNodeName, nodeNameProblem } from '../../src/protocol/node-name.js';

describe('visible', () => {
  it.each([
    ['report.txt', 'report.txt'],
    ['\x1b]0;PWNED\x07report.txt', '^[]0;PWNED^Greport.txt'],
    ['\x1b[2J\x1b[31mred', '^[[2J^[[31mred'],
    ['over\rwrite', 'over^Mwrite'],
    ['nul\x00', 'nul^@'],
    ['del\x7f', 'del^?'],
    ['c1 csi \x9b31m osc \x9d0;t\x9c', 'c1 csi \\x9b31m osc \\x9d0;t\\x9c'],
    ['tab\tkept', 'tab\tkept'],
    ['lf\nin', 'lf^Jin'],
    ['é ✔ \ufffd', 'é ✔ \ufffd'],
    ['\u00a0nbsp \u00ff', '\u00a0nbsp \u00ff'],
  ])('%j -> %j', (raw, want) => {
    expect(visible(raw)).toBe(want);
  });
  it('expands TABs to 8 columns in a dashboard row', () => {
    expect(visibleLine('a\tb')).toBe('a       b');
    expect(visibleLine('12345678\tx')).toBe('12345678        x');
    expect(visibleLine('\x1b\tx')).toBe('^[      x');
  });
});

describe('escapeControls', () => {
  it.each([
    ['plain: text \\ kept', 'plain: text \\ kept'],
    ['two\nlines', 'two\\nlines'],
    ['cr\r tab\t', 'cr\\r tab\\t'],
    ['\x1b]52;c;Y3VybA==\x07', '\\x1b]52;c;Y3VybA==\\x07'],
    ['\x00\x7f\x85\x9f', '\\x00\\x7f\\x85\\x9f'],
  ])('%j -> %j', (raw, want) => {
    expect(escapeControls(raw)).toBe(want);
  });
  it('peerText escapes and cuts what a peer sent', () => {
    expect(peerText('bye\n\x1b]0;x\x07')).toBe('bye\\n\\x1b]0;x\\x07');
    const long = peerText('x'.repeat(2000));
    expect(long).toBe('x'.repeat(512) + '…[cut 1488 chars]');
  });
});

describe('node names', () => {
  it.each(['node01', 'rack1-n01', 'n.example.org', '0node', 'a'])('%s is a node name', (n) => {
    expect(isNodeName(n)).toBe(true);
  });
  it.each(['', '-oProxyCommand=x', '_spare', '.hidden', '..', 'a b', 'n\x1b]0;t\x07', 'n:1', 'n/x', 'n@g', 'é', 'x'.repeat(254)])('%j is refused', (n) => {
    expect(nodeNameProblem(n)).toMatch(/node name/);
  });
});
