/**
 * Waiting in tests: poll an observable until it holds, never sleep a fixed time and hope. One loop
 * for every test; `until` fails with what it waited for, `eventually` says whether it came.
 */

/** What a poll may give: a value means done; `undefined`, `null` and `false` mean not yet. */
type Poll<T> = () => T | undefined | null | false | Promise<T | undefined | null | false>;

export interface WaitOptions {
  /** pause between two polls, in ms (default 50) */
  every?: number;
  /** run before each pause, e.g. to read a socket or nudge a peer */
  step?: () => void;
}

async function poll<T>(what: Poll<T>, ms: number, opts: WaitOptions): Promise<T | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await what();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > end) return undefined;
    opts.step?.();
    await new Promise((r) => setTimeout(r, opts.every ?? 50));
  }
}

/**
 * Wait until `what` gives a value and return it; after `ms` throw `timed out waiting for <label>`
 * (a function label is read then, e.g. to add a log to the message).
 */
export async function until<T>(label: string | (() => string), what: Poll<T>, ms = 10_000, opts: WaitOptions = {}): Promise<T> {
  const v = await poll(what, ms, opts);
  if (v === undefined) throw new Error(`timed out waiting for ${typeof label === 'string' ? label : label()} (${ms} ms)`);
  return v;
}

/** Whether `cond` holds within `ms` (for a test that asserts it, or goes on either way). */
export async function eventually(cond: () => boolean | Promise<boolean>, ms: number, opts: WaitOptions = {}): Promise<boolean> {
  return (await poll(async () => (await cond()) || undefined, ms, opts)) === true;
}

/** A pause that an AbortSignal ends early (for fake modules that "work" for a while). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
