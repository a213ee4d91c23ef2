import { describe, expect, it } from 'vitest';
import { formatGathered, gatherOutputs, summarizeFailures } from '../../src/protocol/gather.js';

describe('clush -b layout', () => {
  it('15-dash rules; one node shown bare, several with their count', () => {
    const g = gatherOutputs([['n1', ['a']], ['n2', ['a']], ['n3', ['b']]]);
    expect(formatGathered(g, { rule: true })).toEqual([
      '---------------', 'n[1-2] (2)', '---------------', 'a',
      '---------------', 'n3', '---------------', 'b',
    ]);
  });
});

describe('failure summary', () => {
  it.each([
    [[['n1', { exit: { code: 0 } }]], []],
    [[['n1', { exit: { code: 4 } }], ['n2', { exit: { code: 4 } }], ['n3', { exit: { code: 1 } }]], ['n[1-2] (2): exited with exit code 4', 'n3: exited with exit code 1']],
    [[['n5', { exit: { code: 143, signal: 'TERM' } }]], ['n5: killed by signal TERM (exit code 143)']],
    [[['r1', { error: { code: 'ERR_SSH_REFUSED', message: 'connection refused by 10.0.0.1:22' } }], ['r2', { error: { code: 'ERR_NOT_ALLOWED', message: 'no' } }], ['r3', { error: { code: 'ERR_NOT_ALLOWED', message: 'no' } }]],
      ['r1: ERR_SSH_REFUSED: connection refused by 10.0.0.1:22', 'r[2-3] (2): ERR_NOT_ALLOWED: no']],
  ] as const)('%j', (failures, want) => {
    expect(summarizeFailures(failures as never)).toEqual(want);
  });
});

describe('natural order of gathered groups', () => {
  it('sorts groups by their first node, numbers as numbers', () => {
    const g = gatherOutputs([['node10', ['x']], ['node2', ['y']], ['node1', ['z']], ['node3', ['x']]]);
    expect(g.map((x) => x.nodes)).toEqual(['node1', 'node2', 'node[3,10]']);
  });
});
