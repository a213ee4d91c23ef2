/**
 * The one hook that reads the engine's store. Store notifications are coalesced: a change in the jobs
 * is shown within 1/maxHz s (output streams), a change in the nodes alone (loads, states: pollers and
 * heartbeats land at different moments of each second) at most once per `nodeGapMs`. The snapshot the
 * component sees only moves when the throttled listener fires, so 4096 STAT updates are one frame.
 */
import { useMemo, useSyncExternalStore } from 'react';
import type { Snapshot, UiEngine } from './ui-engine.js';

/** Job views are cached per job until it changes: the same objects mean nothing about jobs changed. */
function sameJobs(a: Snapshot['jobs'], b: Snapshot['jobs']): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function throttledStore(engine: Pick<UiEngine, 'getSnapshot' | 'subscribe'>, maxHz: number, nodeGapMs = 1000) {
  let snap = engine.getSnapshot();
  const minGap = 1000 / maxHz;
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  return {
    getSnapshot: () => snap,
    subscribe(listener: () => void): () => void {
      const fire = () => {
        timer = undefined;
        const next = engine.getSnapshot();
        if (next === snap) return;
        const since = Date.now() - last;
        if (sameJobs(next.jobs, snap.jobs) && since < nodeGapMs) {
          timer = setTimeout(fire, nodeGapMs - since);
          return;
        }
        last = Date.now();
        snap = next;
        listener();
      };
      const unsub = engine.subscribe(() => {
        if (timer) return;
        const wait = Math.max(0, minGap - (Date.now() - last));
        timer = setTimeout(fire, wait);
      });
      // catch what changed between the first read and subscribing
      if (engine.getSnapshot() !== snap) fire();
      return () => {
        unsub();
        if (timer) clearTimeout(timer);
        timer = undefined;
      };
    },
  };
}

export function useEngineSnapshot(engine: UiEngine, maxHz = 10, nodeGapMs = 1000): Snapshot {
  const store = useMemo(() => throttledStore(engine, maxHz, nodeGapMs), [engine, maxHz, nodeGapMs]);
  return useSyncExternalStore(store.subscribe, store.getSnapshot);
}
