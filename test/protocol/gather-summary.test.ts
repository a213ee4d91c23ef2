import { describe, expect, it } from 'vitest';
import { BoundedGather, formatGathered, gatherOutputs, summarizeFailures } from '../../src/protocol/gather.js';

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

describe('bounded gathering (vacm ipc)', () => {
  const feed = (g: BoundedGather, lines: [string, string][]) => {
    for (const [node, line] of lines) g.add(node.startsWith('e:') ? 'stderr' : 'stdout', node.replace(/^e:/, ''), line);
    return g;
  };

  it.each([
    // [bounds, lines, stdout kept, notice]
    [{ maxBytes: 100, maxLines: 10 }, [['n1', 'abc'], ['n2', 'abc'], ['e:n1', 'oops']], { n1: ['abc'], n2: ['abc'] }, undefined],
    // 4 + 4 bytes (each line with its newline), the third does not fit in 10
    [{ maxBytes: 10, maxLines: 10 }, [['n1', 'abc'], ['n2', 'abc'], ['n1', 'xy']], {}, 'gather truncated after 8 bytes (2 lines); the streamed lines above are complete'],
    // UTF-8 bytes are counted, not characters: "€" is 3 bytes
    [{ maxBytes: 8 }, [['n1', '€€'], ['n1', 'x']], {}, 'gather truncated after 7 bytes (1 lines); the streamed lines above are complete'],
    // the line bound (maxBytes / 64 by default) stops many tiny lines
    [{ maxBytes: 128 }, [['n1', ''], ['n1', ''], ['n1', '']], {}, 'gather truncated after 2 bytes (2 lines); the streamed lines above are complete'],
    [{ maxBytes: 100, maxLines: 3 }, [['n1', 'a'], ['n1', 'b'], ['n1', 'c']], { n1: ['a', 'b', 'c'] }, undefined],
  ] as const)('%j %j', (bounds, lines, want, notice) => {
    const g = feed(new BoundedGather(bounds), lines as unknown as [string, string][]);
    expect(Object.fromEntries(g.stdout)).toEqual(want);
    expect(g.notice()).toBe(notice);
    if (notice) expect(g.stderr.size).toBe(0);
  });

  it('stays truncated: later lines are neither kept nor counted', () => {
    const g = feed(new BoundedGather({ maxBytes: 10 }), [['n1', '123456789'], ['n1', 'a'], ['n2', 'b']]);
    expect(g.truncated).toBe(true);
    expect([g.bytes, g.lines, g.stdout.size]).toEqual([10, 1, 0]);
  });
});
