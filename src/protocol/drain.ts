/** A drain's reason, pure: the one check NEXXUS:DRAIN's validation and the engine's drains share. */
import { VacmError } from './errors.js';
import { safeText } from './timeline.js';

/** a reason is a line for people: longer than this is refused (docs/decisions.md, Drains) */
export const MAX_DRAIN_REASON = 256;

/**
 * The reason as it is kept: trimmed, controls escaped (`\n`, `\x1b`: it is shown on terminals and
 * written in one line of drains.json and the timeline); ERR_BAD_ARGS when empty or too long.
 */
export function drainReason(raw: string): string {
  const r = raw.trim();
  if (r === '') throw new VacmError('ERR_BAD_ARGS', 'NEXXUS:DRAIN needs a reason: NEXXUS:DRAIN:<nodes>:<reason>, e.g. NEXXUS:DRAIN:node07:disk swap');
  if (r.length > MAX_DRAIN_REASON) throw new VacmError('ERR_BAD_ARGS', `the drain reason is ${r.length} characters; at most ${MAX_DRAIN_REASON}: say it briefly (a ticket number, "disk swap")`);
  return safeText(r, MAX_DRAIN_REASON * 4);
}
