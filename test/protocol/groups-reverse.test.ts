/**
 * GroupSources answers -l NODES and -r the way ClusterShell's NodeSet._groups2() does: a source
 * with a reverse upcall is asked node by node when it has at least as many groups as the set has
 * nodes (or cannot list them), otherwise each listed group is mapped; `@@source` holds the
 * source's group names. (nodeset-cli-diff.test.ts checks the same against the real nodeset.)
 */
import { describe, expect, it } from 'vitest';
import { GroupSources, type GroupSource } from '../../src/protocol/groups.js';
import { NodeSet } from '../../src/protocol/nodeset.js';

/** alpha u[1-3], beta u[4-5], rack1 u1,u6, rack2 u9; reverse says u5 is also in rack2 */
function source(opts: { list?: boolean } = {}) {
  const map: Record<string, string> = { alpha: 'u[1-3]', beta: 'u[4-5]', rack1: 'u1,u6', rack2: 'u9' };
  const rev: Record<string, string[]> = { u1: ['alpha', 'rack1'], u2: ['alpha'], u3: ['alpha'], u4: ['beta'], u5: ['beta', 'rack2'], u6: ['rack1'] };
  const asked: string[] = [];
  const s: GroupSource = {
    name: 'rev',
    canReverse: true,
    map: (g) => map[g],
    list: () => (opts.list === false ? undefined : ['alpha', 'beta', 'rack[1-2]']),
    all: () => undefined,
    reverse: (n) => {
      asked.push(n);
      return rev[n] ?? [];
    },
  };
  return { sources: new GroupSources([s]), asked };
}

const fmt = (gs: ReturnType<GroupSources['groupsOf']>) => gs.map((g) => `${g.group} ${g.inSet.fold()} ${g.inSet.size}/${g.members.size}`);

describe('reverse upcalls in -l NODES and -r', () => {
  it('a set with no more nodes than the source has groups: reverse, node by node', () => {
    const { sources, asked } = source();
    expect(fmt(sources.groupsOf(NodeSet.parse('u5'), 'rev', false))).toEqual(['@rev:beta u5 1/2', '@rev:rack2  0/1']);
    expect(asked).toEqual(['u5']);
    expect(sources.regroup(NodeSet.parse('u[4-5]'), 'rev', true)).toBe('@beta');
  });

  it('a larger set: every listed group mapped, reverse not asked', () => {
    const { sources, asked } = source();
    expect(fmt(sources.groupsOf(NodeSet.parse('u[1-6]'), undefined, false))).toEqual(['@alpha u[1-3] 3/3', '@beta u[4-5] 2/2', '@rack1 u[1,6] 2/2']);
    expect(sources.regroup(NodeSet.parse('u[1-6]'), undefined, false)).toBe('@alpha,@beta,u6');
    expect(asked).toEqual([]);
  });

  it('a source that cannot list its groups still answers through reverse', () => {
    const { sources, asked } = source({ list: false });
    expect(fmt(sources.groupsOf(NodeSet.parse('u[1-6]'), undefined, false))).toEqual(['@alpha u[1-3] 3/3', '@beta u[4-5] 2/2', '@rack1 u[1,6] 2/2', '@rack2  0/1']);
    expect(asked).toEqual(['u1', 'u2', 'u3', 'u4', 'u5', 'u6']);
  });

  it('@@source is the group names, ranges expanded, in node-set order', () => {
    const { sources } = source();
    expect(sources.groupNames('rev')).toEqual(['alpha', 'beta', 'rack1', 'rack2']);
    expect(NodeSet.parse('@@rev', { resolveGroup: (g) => sources.resolve(g) }).fold()).toBe('alpha,beta,rack[1-2]');
    expect(NodeSet.parse('@@', { resolveGroup: (g) => sources.resolve(g) }).size).toBe(4);
  });
});
