/**
 * "Something changed": a version that counts the changes, and listeners told at most once per tick
 * (a microtask after the first change of a burst). The store (store.ts) and the attached dashboard's
 * engine (cli/attach-engine.ts) both tell their readers this way; a listener that throws stops
 * neither the notifier nor the others.
 */
export class Notifier {
  private count = 0;
  private readonly listeners = new Set<() => void>();
  private scheduled = false;

  /** the number of changes so far (a snapshot's `version`) */
  get version(): number {
    return this.count;
  }

  changed(): void {
    this.count++;
    if (this.scheduled || this.listeners.size === 0) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      for (const l of [...this.listeners]) {
        try {
          l();
        } catch {
          /* a listener's failure must not stop the others */
        }
      }
    });
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
