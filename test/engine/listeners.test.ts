/**
 * The engine's event listeners (src/engine/listeners.ts) are walked by index in an array instead of a
 * Set with for-of (issue 18 row 2: no iterator per event). Who hears what must not change: each
 * scenario runs on the new class and on the old Set loop, kept here as the reference, and both must
 * record the same calls.
 */
import { describe, expect, it } from 'vitest';
import { EventListeners } from '../../src/engine/listeners.js';
import type { VacmEvent } from '../../src/protocol/events.js';
import type { EventListener } from '../../src/engine/engine-options.js';

/** the dispatch as it was in engine.ts */
class OldListeners {
  private readonly set = new Set<EventListener>();
  constructor(private readonly onError: (err: Error) => void) {}
  add(l: EventListener): () => void {
    this.set.add(l);
    return () => this.set.delete(l);
  }
  dispatch(e: VacmEvent): void {
    for (const l of this.set) {
      try {
        l(e);
      } catch (err) {
        this.onError(err as Error);
      }
    }
  }
}

type Bus = { add(l: EventListener): () => void; dispatch(e: VacmEvent): void };
const ev = (n: number): VacmEvent => ({ tag: 'T', job: n, ts: 0, type: 'JOB_STARTED', request: `r${n}`, targets: 0 });

/** a scenario: listeners that record what they hear and, on some events, add, remove, throw or dispatch */
function scenario(bus: Bus, log: string[]): void {
  const offs: Record<string, () => void> = {};
  const late: EventListener = (e) => log.push(`late:${e.job}`);
  offs.a = bus.add((e) => {
    log.push(`a:${e.job}`);
    if (e.job === 2) offs.late = bus.add(late); // added while dispatching
    if (e.job === 3) offs.c(); // removes one not yet reached
    if (e.job === 4) bus.dispatch(ev(40)); // a nested event
  });
  offs.b = bus.add((e) => {
    log.push(`b:${e.job}`);
    if (e.job === 5) throw new Error('b failed');
    if (e.job === 6) offs.b(); // removes itself
  });
  offs.c = bus.add((e) => log.push(`c:${e.job}`));
  let moved = false;
  const d: EventListener = (e) => {
    log.push(`d:${e.job}`);
    if (e.job === 9 && !moved) {
      moved = true;
      // removed and added again during an event: it moves to the end and hears the event once more
      offs.d();
      offs.d = bus.add(d);
    }
  };
  offs.d = bus.add(d);
  bus.add(d); // added twice: still one listener
  const e2: EventListener = (e) => {
    log.push(`e:${e.job}`);
    if (e.job === 10) offs.d(); // removes one already heard: it is not called again
  };
  offs.e = bus.add(e2);
  for (let i = 1; i <= 7; i++) bus.dispatch(ev(i));
  offs.late();
  bus.dispatch(ev(8));
  bus.dispatch(ev(9));
  bus.dispatch(ev(10));
  bus.dispatch(ev(11));
  offs.a();
  offs.a(); // a second time: nothing
  bus.dispatch(ev(12));
}

describe('the engine hears events as before (an array walked by index for a Set walked with for-of)', () => {
  it('calls the same listeners in the same order, through additions, removals, a thrower and a nested dispatch', () => {
    const now: string[] = [];
    const old: string[] = [];
    scenario(new EventListeners((err) => now.push(`error:${err.message}`)), now);
    scenario(new OldListeners((err) => old.push(`error:${err.message}`)), old);
    expect(now).toEqual(old);
    // and what that is, spelled out for the cases that matter
    expect(now).toContain('late:2'); // a listener added during an event hears it
    expect(now).not.toContain('c:3'); // one removed before its turn does not
    expect(now).toContain('error:b failed');
    expect(now.indexOf('a:40')).toBeLessThan(now.indexOf('b:4')); // the nested event first, then the outer one goes on
    expect(now.filter((x) => x.startsWith('b:'))).toEqual(['b:1', 'b:2', 'b:3', 'b:40', 'b:4', 'b:5', 'b:6']);
    expect(now.filter((x) => x.endsWith(':9'))).toEqual(['a:9', 'd:9', 'e:9', 'd:9']);
    expect(now.filter((x) => x.endsWith(':11'))).toEqual(['a:11', 'e:11']);
    expect(now.filter((x) => x.endsWith(':12'))).toEqual(['e:12']);
  });
});
