/**
 * What the poller knows of each remote node between sweeps: when a reading failed (so a node that
 * does not answer SSH is asked again after a growing pause, not every interval), and when the poller
 * itself last read it (so a node whose agent already reports fresh stats is not also polled).
 */
export class RemoteHealth {
  private readonly fails = new Map<string, { n: number; retryAt: number }>();
  private readonly polled = new Map<string, number>();

  /**
   * @param baseMs pause after the first failure (the poll interval); doubles with each failure
   * @param maxMs the longest pause
   */
  constructor(
    private readonly baseMs: number,
    private readonly maxMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  ok(node: string, ts = this.now()): void {
    this.fails.delete(node);
    this.polled.set(node, ts);
  }

  failed(node: string): void {
    const n = (this.fails.get(node)?.n ?? 0) + 1;
    const pause = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(n - 1, 20));
    this.fails.set(node, { n, retryAt: this.now() + pause });
  }

  /** failures in a row (0 when the last reading worked) */
  failures(node: string): number {
    return this.fails.get(node)?.n ?? 0;
  }

  /** may the poller ask this node now? */
  due(node: string): boolean {
    const f = this.fails.get(node);
    return f === undefined || this.now() >= f.retryAt;
  }

  /** when the poller last read this node itself (undefined: never) */
  lastPolled(node: string): number | undefined {
    return this.polled.get(node);
  }
}
