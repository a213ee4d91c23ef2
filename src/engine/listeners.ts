/**
 * The engine's event listeners: every event to each of them, in the order they subscribed,
 * synchronously; one that throws is logged and the others still hear the event.
 */
import type { VacmEvent } from '../protocol/events.js';
import type { EventListener } from './engine-options.js';

export class EventListeners {
  private readonly set = new Set<EventListener>();
  /** the event being dispatched (put back after a nested dispatch: a listener may cause events) */
  private current: VacmEvent | undefined;

  constructor(private readonly onError: (err: Error) => void) {}

  add(listener: EventListener): () => void {
    this.set.add(listener);
    return () => this.set.delete(listener);
  }

  /**
   * Set#forEach rather than for-of: the same order, and the same view of a listener added or removed
   * meanwhile, without an iterator and a result object per listener and event (in code that has not
   * warmed up, as in a one-shot `vacm ipc`, a 1024-node sweep dispatches 2048 events: ~250 KB).
   */
  dispatch(e: VacmEvent): void {
    const outer = this.current;
    this.current = e;
    try {
      this.set.forEach(this.callOne);
    } finally {
      this.current = outer;
    }
  }

  private readonly callOne = (listener: EventListener): void => {
    try {
      listener(this.current!);
    } catch (err) {
      this.onError(err as Error);
    }
  };
}
