/**
 * Table tests for node sets, modelled on the kinds of cases ClusterShell's NodeSetTest.py and
 * RangeSetTest.py cover. Expected text is what ClusterShell 1.9's `nodeset` prints.
 */
import { describe, expect, it } from 'vitest';
import { runNodesetCommand } from '../../src/cli/nodeset-cmd.js';
import { VacmError } from '../../src/protocol/errors.js';
import { NodeSet, RangeSet, countNodeSet, expandNodeSet, foldNodeSet } from '../../src/protocol/nodeset.js';

// [expression, nodeset -f, nodeset -c]
const FOLD: Array<[string, string, number]> = [
  ['', '', 0],
  ['node1', 'node1', 1],
  ['login', 'login', 1],
  ['node[1]', 'node1', 1],
  ['node[1-4]', 'node[1-4]', 4],
  ['node[001-128]', 'node[001-128]', 128],
  ['n[1-4,9,20-30]', 'n[1-4,9,20-30]', 16],
  ['n[0-10/2]', 'n[0,2,4,6,8,10]', 6],
  ['n[1-9/4]', 'n[1,5,9]', 3],
  ['n[01-10/3]', 'n[01,04,07,10]', 4],
  ['n[9-11]', 'n[9-11]', 3],
  ['n[98-102]', 'n[98-102]', 5],
  ['n[098-102]', 'n[098-102]', 5],
  ['n[0-0]', 'n0', 1],
  ['n[00-03]', 'n[00-03]', 4],
  ['n[1,01]', 'n[1,01]', 2],
  ['n[1,01,001]', 'n[1,01,001]', 3],
  ['n[8-12],n[08-12]', 'n[8-9,08-12]', 7],
  ['n[1-2],n[01-02]', 'n[1-2,01-02]', 4],
  ['n[02-99/3,94-105]', 'n[02,05,08,11,14,17,20,23,26,29,32,35,38,41,44,47,50,53,56,59,62,65,68,71,74,77,80,83,86,89,92,94-99,100-105]', 43],
  ['node12,node13', 'node[12-13]', 2],
  ['node13,node12,node12', 'node[12-13]', 2],
  ['node9,node10', 'node[9-10]', 2],
  ['node09,node10', 'node[09-10]', 2],
  ['node099,node100', 'node[099-100]', 2],
  ['node0099,node100', 'node[100,0099]', 2],
  ['n1,n3,n4,n5,n7', 'n[1,3-5,7]', 5],
  ['a,b,c', 'a,b,c', 3],
  ['c,b,a,b', 'a,b,c', 3],
  ['n1[1-3]', 'n[11-13]', 3],
  ['n1[1-12]', 'n[11-112]', 102],
  ['n0[1-3]', 'n[01-03]', 3],
  ['n[1-3]0', 'n[10,20,30]', 3],
  ['n[1-2]00', 'n[100,200]', 2],
  ['n[1-3]-ib', 'n[1-3]-ib', 3],
  ['n[1-3]-ib0', 'n[1-3]-ib0', 3],
  ['r1n2', 'r1n2', 1],
  ['r1n2,r1n3', 'r1n[2-3]', 2],
  ['r1n2,r2n2', 'r[1-2]n2', 2],
  ['r1n1,r2n2', 'r1n1,r2n2', 2],
  ['rack[1-2]-n[01-16]', 'rack[1-2]-n[01-16]', 32],
  ['rack[1-2]-n[01-16],rack3-n[01-16]', 'rack[1-3]-n[01-16]', 48],
  ['rack[1-2]-n[01-16]!rack2-n[05-16]', 'rack1-n[01-16],rack2-n[01-04]', 20],
  ['a1b1,a2b2,a1b2,a3b3', 'a1b[1-2],a2b2,a3b3', 4],
  ['a[1-3]b[1-3]!a2b2', 'a[1,3]b[1-3],a2b[1,3]', 8],
  ['a[1-2]b[1-2]c[1-2]', 'a[1-2]b[1-2]c[1-2]', 8],
  ['x[1-2]y[1-2],x3y[1-3]', 'x[1-2]y[1-2],x3y[1-3]', 7],
  ['n[1-10]!n[3-4]', 'n[1-2,5-10]', 8],
  ['n[1-10]!n[1-10]', '', 0],
  ['n[1-5]&n[3-9]', 'n[3-5]', 3],
  ['n[1-5]&m[1-5]', '', 0],
  ['n[1-5]^n[3-9]', 'n[1-2,6-9]', 6],
  ['n[1-5]^m1', 'm1,n[1-5]', 6],
  ['a,b!a', 'b', 1],
  ['a,b&a', 'a', 1],
  ['a^a', '', 0],
  ['n[1-10]!n[2-9],n5', 'n[1,5,10]', 3],
  ['n[1-10]&n[2-20]!n5', 'n[2-4,6-10]', 8],
  ['n[1-4]^n[3-6]&n[1-9]', 'n[1-2,5-6]', 4],
  ['  n[1-4]  ,  n6  ', 'n[1-4,6]', 5],
  ['n[ 1 - 4 , 6 ]', 'n[1-4,6]', 5],
  ['n1 ,\tn2', 'n[1-2]', 2],
  ['node[1-1000000]', 'node[1-1000000]', 1000000],
  ['node[0001-1000]', 'node[0001-1000]', 1000],
  ['n[1-3],m[1-3],a', 'a,m[1-3],n[1-3]', 7],
  ['B1,a1,A1', 'A1,B1,a1', 3],
  ['n-1,n-2', 'n-[1-2]', 2],
  ['n.1,n.2', 'n.[1-2]', 2],
  ['50%,60%', '[50,60]%', 2],
  ['1,2,3', '[1-3]', 3],
  ['[1-3]', '[1-3]', 3],
];

describe('parse, fold, count', () => {
  it.each(FOLD)('%j folds to %j (%d nodes)', (expr, folded, count) => {
    const ns = NodeSet.parse(expr);
    expect(ns.fold()).toBe(folded);
    expect(String(ns)).toBe(folded);
    expect(ns.size).toBe(count);
    expect(countNodeSet(expr)).toBe(count);
    if (count < 5000) {
      expect(ns.expand()).toHaveLength(count);
      // Folded text parses back to the same set.
      expect(NodeSet.parse(folded).expand()).toEqual(ns.expand());
    }
  });
});

// [expression, nodeset -e]
const EXPAND: Array<[string, string[]]> = [
  ['node[1-3]', ['node1', 'node2', 'node3']],
  ['node[01-03]', ['node01', 'node02', 'node03']],
  ['n[9-11]', ['n9', 'n10', 'n11']],
  ['n[10,9,1]', ['n1', 'n9', 'n10']],
  ['n[1,01,001]', ['n1', 'n01', 'n001']],
  ['n[01,1,10]', ['n1', 'n01', 'n10']],
  ['b,a,n2,n10,m', ['a', 'b', 'm', 'n2', 'n10']],
  ['r[1-2]n[1-2]', ['r1n1', 'r1n2', 'r2n1', 'r2n2']],
  ['n[0-6/3]', ['n0', 'n3', 'n6']],
  ['n[1-3]-ib', ['n1-ib', 'n2-ib', 'n3-ib']],
  ['a1b1,a2b2,a1b2,a3b3', ['a1b1', 'a1b2', 'a2b2', 'a3b3']],
  ['', []],
];

describe('expand', () => {
  it.each(EXPAND)('%j expands to %j', (expr, names) => {
    expect(expandNodeSet(expr)).toEqual(names);
    expect([...NodeSet.parse(expr)]).toEqual(names);
  });
});

// [names, foldNodeSet]
const FOLD_NAMES: Array<[string[], string]> = [
  [['node12', 'node13'], 'node[12-13]'],
  [['node13', 'node12', 'node11', 'node20'], 'node[11-13,20]'],
  [['n01', 'n02', 'n1'], 'n[1,01-02]'],
  [['a', 'b', 'a'], 'a,b'],
  [['r1n1', 'r1n2', 'r2n1', 'r2n2'], 'r[1-2]n[1-2]'],
  [['n1-ib', 'n2-ib'], 'n[1-2]-ib'],
  [[], ''],
  [['  n1 ', 'n2'], 'n[1-2]'],
  [['n[1-3]', 'n4'], 'n[1-4]'],
  [['x9', 'x10', 'x11', 'x099'], 'x[9-11,099]'],
];

describe('foldNodeSet(names)', () => {
  it.each(FOLD_NAMES)('%j folds to %j', (names, folded) => {
    expect(foldNodeSet(names)).toBe(folded);
    expect(NodeSet.fromNames(names).fold()).toBe(folded);
  });

  it('folds 50 000 scattered names', () => {
    const names: string[] = [];
    for (let i = 0; i < 50_000; i++) names.push(`node${(i * 7919) % 100_000}`);
    const ns = NodeSet.fromNames(names);
    expect(ns.size).toBe(50_000);
    expect(NodeSet.parse(ns.fold()).size).toBe(50_000);
  });
});

// [expression, failing fragment, message fragment]
const ERRORS: Array<[string, string | undefined, RegExp]> = [
  ['n[]', '', /empty range/],
  ['n[3-1]', '3-1', /invalid values in range/],
  ['n[1-2', 'n[1-2', /missing bracket/],
  ['n1-2]', 'n1-2]', /illegal closing bracket/],
  ['n[1-2]]', ']', /illegal closing bracket/],
  ['n[1-2][3]', '[3]', /illegal reopening bracket/],
  ['n[01-100]', '01-100', /padding length mismatch/],
  ['n[1-010]', '1-010', /padding length mismatch/],
  ['n[1-x]', '1-x', /cannot convert/],
  ['n[a]', 'a', /cannot convert/],
  ['n[1,,2]', '', /empty range/],
  ['n[3/2]', '3/2', /invalid step usage/],
  ['n[1-9/0]', '1-9/0', /invalid values in range/],
  ['n[1-9/x]', '1-9/x', /cannot convert/],
  ['n[1-4/2]0', '0', /trailing digits after range with steps/],
  ['n1,', undefined, /missing nodeset operand with ','/],
  [',n1', undefined, /missing nodeset operand with ','/],
  ['n1!', undefined, /missing nodeset operand with '!'/],
  ['n1,,n2', undefined, /missing nodeset operand with ','/],
  ['n[1-2]&', undefined, /missing nodeset operand with '&'/],
  ['n[-1-2]', '-1-2', /negative/],
  ['@nosuchgroup', '@nosuchgroup', /unknown group/],
  ['n1234567890123456', '1234567890123456', /too large/],
];

describe('errors', () => {
  it.each(ERRORS)('%j is ERR_NODESET_PARSE naming %j', (expr, fragment, message) => {
    let err: unknown;
    try {
      NodeSet.parse(expr);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VacmError);
    const ve = err as VacmError;
    expect(ve.code).toBe('ERR_NODESET_PARSE');
    expect(ve.message).toMatch(message);
    if (fragment !== undefined) expect(ve.fragment).toBe(fragment);
    if (fragment) expect(expr.slice(ve.position, ve.position! + fragment.length)).toBe(fragment);
  });

  it('names the fragment in the operator\'s own text', () => {
    expect(() => NodeSet.parse('50%,n[5-2]%')).toThrow(/"5-2"/);
    expect(() => NodeSet.parse('a%]')).toThrow(expect.objectContaining({ fragment: 'a%]', position: 0 }));
  });
});

describe('RangeSet', () => {
  const RS: Array<[string, string, number]> = [
    ['1-5', '1-5', 5],
    ['5,4,3', '3-5', 3],
    ['0-10/5', '0,5,10', 3],
    ['001-003,2', '2,001-003', 4],
    ['  1 - 3 ', '1-3', 3],
    ['9-10,99-100', '9-10,99-100', 4],
    ['1-1000000', '1-1000000', 1000000],
  ];
  it.each(RS)('%j is %j (%d)', (text, folded, size) => {
    const rs = RangeSet.parse(text);
    expect(rs.toString()).toBe(folded);
    expect(rs.size).toBe(size);
  });
  it('set operations keep padding apart', () => {
    const a = RangeSet.parse('1-10');
    const b = RangeSet.parse('05-15');
    expect(a.intersection(b).toString()).toBe('10');
    expect(a.difference(b).toString()).toBe('1-9');
    expect(a.union(b).toString()).toBe('1-9,05-15');
  });
});

describe('NodeSet methods', () => {
  const a = NodeSet.parse('n[1-10],login');
  const b = NodeSet.parse('n[5-15]');

  it.each([
    ['union', a.union(b), 'login,n[1-15]'],
    ['difference', a.difference(b), 'login,n[1-4]'],
    ['intersection', a.intersection(b), 'n[5-10]'],
    ['symmetricDifference', a.symmetricDifference(b), 'login,n[1-4,11-15]'],
  ] as const)('%s', (_op, result, folded) => {
    expect(result.fold()).toBe(folded);
  });

  it('operations do not change their operands', () => {
    expect(a.fold()).toBe('login,n[1-10]');
    expect(b.fold()).toBe('n[5-15]');
  });

  it.each([
    ['n5', true],
    ['n05', false],
    ['n11', false],
    ['login', true],
    ['logon', false],
    ['n[1-2]', false],
  ] as const)('has(%j) is %s', (name, want) => {
    expect(a.has(name)).toBe(want);
  });

  it('has() in nD and in a million-node set', () => {
    const nd = NodeSet.parse('rack[1-2]-n[01-16]');
    expect(nd.has('rack2-n16')).toBe(true);
    expect(nd.has('rack2-n17')).toBe(false);
    expect(NodeSet.parse('node[1-1000000]').has('node999999')).toBe(true);
  });

  it('counts and folds without expanding: sets far too big to hold as names', () => {
    // a billion names, or 10^10 in two dimensions, would not fit in memory as strings
    expect(NodeSet.parse('node[1-1000000000]').size).toBe(1_000_000_000);
    expect(NodeSet.parse('a[1-100000]-b[1-100000]').size).toBe(10_000_000_000);
    expect(NodeSet.unionOf(['node[1-1000000000]', 'a[1-100000]-b[1-100000]', 'node[5-10]']).size).toBe(11_000_000_000);
    const cut = NodeSet.parse('node[1-1000000000]!node[5-10]');
    expect(cut.size).toBe(999_999_994);
    expect(cut.fold()).toBe('node[1-4,11-1000000000]');
  });
});

describe('groups and wildcards', () => {
  const groups: Record<string, string[] | string> = {
    compute: ['node1', 'node2', 'node3'],
    rack1: 'node[1-2]',
    gpu: 'node3,@rack1',
    rack2: 'node[10-11]',
    loop: '@loop',
    empty: [],
  };
  const opts = {
    resolveGroup: (g: string) => groups[g],
    universe: () => ['node[1-3,10-11]', 'login1', 'head'],
  };

  it.each([
    ['@compute', 'node[1-3]'],
    ['@rack1', 'node[1-2]'],
    ['@gpu', 'node[1-3]'],
    ['@rack[1-2]', 'node[1-2,10-11]'],
    ['@compute!@rack1', 'node3'],
    ['@compute&node[2-9]', 'node[2-3]'],
    ['@empty', ''],
    ['@empty,n1', 'n1'],
    ['*', 'head,login1,node[1-3,10-11]'],
    ['node*', 'node[1-3,10-11]'],
    ['node?', 'node[1-3]'],
    ['node1?', 'node[10-11]'],
    ['*!node*', 'head,login1'],
    ['@*', 'head,login1,node[1-3,10-11]'],
    ['zz*', ''],
  ] as const)('%j is %j', (expr, folded) => {
    expect(NodeSet.parse(expr, opts).fold()).toBe(folded);
  });

  it('an unknown group names the group', () => {
    expect(() => NodeSet.parse('node1,@nope', opts)).toThrow(/unknown group: "@nope"/);
  });

  it('a group that includes itself is an error, not a hang', () => {
    expect(() => NodeSet.parse('@loop', opts)).toThrow(/nested too deeply/);
  });

  it('wildcards without a universe match nothing', () => {
    expect(NodeSet.parse('node*').fold()).toBe('');
  });
});

describe('runNodesetCommand', () => {
  it.each([
    [{ fold: true, exprs: ['n[1-2]', 'n3'] }, 'n[1-3]\n'],
    [{ count: true, exprs: ['n[1-2]', 'n[2-3]'] }, '3\n'],
    [{ expand: true, exprs: ['n[1-3]'] }, 'n1 n2 n3\n'],
    [{ expand: true, exprs: ['n[1-3]'], separator: '\n' }, 'n1\nn2\nn3\n'],
    [{ fold: true, exprs: [] }, '\n'],
    [{ count: true, exprs: ['@compute'] }, '2\n'],
    [{ fold: true, exprs: ['n1\nn2', 'n3\r\n\nn4'] }, 'n[1-4]\n'],
    [{ count: true, exprs: ['n[1-3] n5'] }, '3\n'],
  ] as const)('%j prints %j', (argv, stdout) => {
    const r = runNodesetCommand({ ...argv, exprs: [...argv.exprs] }, { resolveGroup: (g) => (g === 'compute' ? 'c[1-2]' : undefined) });
    expect(r).toEqual({ stdout, stderr: '', exitCode: 0 });
  });

  it('bad input exits 1 naming the failing part', () => {
    const r = runNodesetCommand({ fold: true, exprs: ['n1', 'n[5-2]'] }, {});
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^ERR_NODESET_PARSE: .*"5-2"/);
  });

  it('many plain names and expressions together: the same union, and a bad plain name still named', () => {
    const names = Array.from({ length: 5000 }, (_, i) => `n${(i * 7919) % 10007}`);
    const r = runNodesetCommand({ count: true, exprs: ['n[20000-20009]!n20005', ...names, 'n20005'] }, {});
    expect(r.stdout).toBe(`${new Set(names).size + 10}\n`);
    const big = 'n' + '9'.repeat(40);
    const bad = runNodesetCommand({ fold: true, exprs: ['n1', big, 'n2'] }, {});
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/^ERR_NODESET_PARSE: .*9999/);
  });

  it('asks for exactly one mode', () => {
    // a usage error, exit 2, as ClusterShell's "Multiple commands not allowed" (and as vacm nodeset said already)
    const r = runNodesetCommand({ fold: true, count: true, exprs: ['n1'] }, {});
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe('ERR_USAGE: give one command only: -c, -e, -f, -l, -r or --list-sources\n');
  });
});
