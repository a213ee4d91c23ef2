/**
 * Where `@group` comes from: vacm.yaml's groups (a source of their own, named `vacm`, and the
 * first answer for a plain `@group`), then ClusterShell's group sources on this machine
 * (groups.conf, groups.d), read on first use so that a request without a group, or a machine
 * without ClusterShell, never pays for them. Live selectors (`@state=down`) are answered from the
 * node records (matchesLive).
 */
import { GroupSources, staticSource, type GroupSource } from '../protocol/groups.js';
import { loadClusterShellGroups, type ClusterShellGroupOptions } from '../platform/clustershell-groups.js';
import { globMatch } from '../protocol/glob.js';
import type { LiveSelector } from '../protocol/nodeset.js';
import { shownState, type NodeRecord } from './store.js';

/** vacm.yaml's groups as a group source */
export const VACM_SOURCE = 'vacm';

export function groupSourcesFor(vacmGroups: Readonly<Record<string, readonly string[]>>, opts: ClusterShellGroupOptions = {}): GroupSources {
  const own = staticSource(VACM_SOURCE, vacmGroups);
  return new GroupSources(() => {
    const cs = loadClusterShellGroups(opts);
    // vacm.yaml's groups are a source of their own (`@vacm:compute`) when there are any
    const sources: GroupSource[] = cs.sources().map((n) => cs.source(n));
    if (Object.keys(vacmGroups).length > 0 || sources.length === 0) sources.push(own);
    return { sources, defaultName: cs.defaultSource() ?? VACM_SOURCE };
  }, undefined, own);
}

/**
 * Whether a node is matched by a live selector now: the shown state (power off counts as off), the
 * power state, stats older than the bound (or none ever), or a variable matching a glob (an unset
 * variable matches nothing, not even `*`), or a drain.
 */
export function matchesLive(r: Pick<NodeRecord, 'reach' | 'power' | 'statsTs' | 'vars' | 'drain'>, sel: LiveSelector, now: number): boolean {
  switch (sel.kind) {
    case 'state':
      return shownState(r) === sel.state;
    case 'power':
      return r.power === sel.power;
    case 'stale':
      return r.statsTs === undefined || now - r.statsTs > sel.seconds * 1000;
    case 'var':
      return Object.hasOwn(r.vars, sel.key) && globMatch(sel.glob, r.vars[sel.key]);
    case 'drained':
      return r.drain !== undefined;
  }
}
