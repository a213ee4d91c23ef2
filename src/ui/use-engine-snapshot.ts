/**
 * The one hook that reads the engine's store. Store notifications are coalesced to at most
 * `maxHz` re-renders a second: the snapshot the component sees only moves when the throttled
 * listener fires, so a burst of 4096 STAT updates is one frame.
 */
import { useMemo, useSyncExternalStore } from 'react';
import type { Snapshot, UiEngine } from './ui-engine.js';

export function throttledStore(engine: Pick<UiEngine, 'getSnapshot' | 'subscribe'>, maxHz: number) {
  let snap = engine.getSnapshot();
  const minGap = 1000 / maxHz;
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  return {
    getSnapshot: () => snap,
    subscribe(listener: () => void): () => void {
      const fire = () => {
        timer = undefined;
        last = Date.now();
        const next = engine.getSnapshot();
        if (next === snap) return;
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

export function useEngineSnapshot(engine: UiEngine, maxHz = 10): Snapshot {
  const store = useMemo(() => throttledStore(engine, maxHz), [engine, maxHz]);
  return useSyncExternalStore(store.subscribe, store.getSnapshot);
}
