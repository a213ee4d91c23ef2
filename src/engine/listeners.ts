/**
 * The engine's event listeners: every event to each of them, in the order they subscribed,
 * synchronously; one that throws is logged and the others still hear the event.
 */
import type { VacmEvent } from '../protocol/events.js';
import type { EventListener } from './engine-options.js';

/**
 * Kept in an array walked by index, not a Set walked with for-of: in code that has not warmed up (a
 * one-shot `vacm ipc`), for-of made an iterator and a result object per listener and event, and
 * Set#forEach a call from the builtin back into JavaScript per listener; a 1024-node sweep
 * dispatches 2048 events. Who hears an event is what it was with the Set: a listener added during
 * an event hears it (it is pushed at the end, and the walk reads the length each step); one removed
 * before its turn does not (its slot is emptied, and the array is compacted only when no dispatch is
 * walking it); one removed and added again moves to the end, as a Set entry does.
 */
export class EventListeners {
  private readonly list: (EventListener | undefined)[] = [];
  private readonly index = new Map<EventListener, number>();
  /** dispatches under way (a listener may cause events): compact only at 0 */
  private walking = 0;
  private holes = 0;

  constructor(private readonly onError: (err: Error) => void) {}

  add(listener: EventListener): () => void {
    if (!this.index.has(listener)) {
      this.index.set(listener, this.list.length);
      this.list.push(listener);
    }
    return () => this.remove(listener);
  }

  private remove(listener: EventListener): boolean {
    const at = this.index.get(listener);
    if (at === undefined) return false;
    this.index.delete(listener);
    this.list[at] = undefined;
    this.holes++;
    if (this.walking === 0) this.compact();
    return true;
  }

  private compact(): void {
    if (this.holes === 0) return;
    let w = 0;
    for (let r = 0; r < this.list.length; r++) {
      const l = this.list[r];
      if (l === undefined) continue;
      this.list[w] = l;
      this.index.set(l, w++);
    }
    this.list.length = w;
    this.holes = 0;
  }

  dispatch(e: VacmEvent): void {
    this.walking++;
    try {
      for (let i = 0; i < this.list.length; i++) {
        const l = this.list[i];
        if (l === undefined) continue;
        try {
          l(e);
        } catch (err) {
          this.onError(err as Error);
        }
      }
    } finally {
      if (--this.walking === 0) this.compact();
    }
  }
}
