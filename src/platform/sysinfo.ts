/**
 * systeminformation, loaded on first use: a `vacm ipc` that never reads local stats or
 * temperatures does not pay its ~50 ms of loading (docs/performance.md, row 5).
 */
import type Si from 'systeminformation';

let lib: typeof Si | undefined;

export async function sysinfo(): Promise<typeof Si> {
  return (lib ??= (await import('systeminformation')).default);
}
