/**
 * Where `@group` comes from: vacm.yaml's groups (a source of their own, named `vacm`, and the
 * first answer for a plain `@group`), then ClusterShell's group sources on this machine
 * (groups.conf, groups.d), read on first use so that a request without a group, or a machine
 * without ClusterShell, never pays for them.
 */
import { GroupSources, staticSource, type GroupSource } from '../protocol/groups.js';
import { loadClusterShellGroups, type ClusterShellGroupOptions } from '../platform/clustershell-groups.js';

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
