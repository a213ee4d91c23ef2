/** Waiting that a job's cancel ends at once. */
import { VacmError } from '../protocol/errors.js';

/** Resolve after `ms`, or reject with ERR_CANCELLED as soon as `signal` aborts (at once if it has). */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new VacmError('ERR_CANCELLED', 'cancelled'));
    const onAbort = () => {
      clearTimeout(t);
      reject(new VacmError('ERR_CANCELLED', 'cancelled'));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
