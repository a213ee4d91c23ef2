/**
 * Live selectors: `@` atoms answered from the engine's node states, not from a group source.
 * Pure: this only recognises and checks them; the engine answers them (LiveResolver).
 */
import { VacmError } from './errors.js';
import { parseError } from './nodeset-errors.js';
import { isSecretVar } from './vars.js';

/**
 * A live selector: an `@` atom answered from the engine's node states, not from a group source
 * (`@state=down`, `@power=off`, `@stale=300`, `@var.power=ipmi`). No colon in any of them: the IPC
 * grammar splits fields on `:`.
 */
export type LiveSelector =
  | { kind: 'state'; state: 'up' | 'down' | 'off' | 'unknown' }
  | { kind: 'power'; power: 'on' | 'off' | 'unknown' }
  | { kind: 'stale'; seconds: number }
  | { kind: 'var'; key: string; glob: string }
  // `@drained`: the nodes drained now (NEXXUS:DRAIN); a group named drained wins over it
  | { kind: 'drained' };
/** The names a live selector matches now (the engine answers it; pure code only asks). */
export type LiveResolver = (sel: LiveSelector, text: string) => Iterable<string>;

const LIVE_STATES = ['up', 'down', 'off', 'unknown'] as const;
const LIVE_POWERS = ['on', 'off', 'unknown'] as const;
/** ten years: past this a stale bound is a typo */
const MAX_STALE_S = 315_360_000;

/**
 * The live selector a group name (without its `@`) is, undefined when it is an ordinary group (no
 * `=`: group names never hold one, so `@power` stays a group); ERR_NODESET_PARSE for one that is
 * recognised but malformed.
 */
export function parseLiveSelector(group: string): LiveSelector | undefined {
  const text = `@${group}`;
  const eq = group.indexOf('=');
  if (eq < 0) return undefined;
  const word = group.slice(0, eq).toLowerCase();
  const isVar = word.startsWith('var.');
  if (!isVar && word !== 'state' && word !== 'power' && word !== 'stale') return undefined;
  const value = group.slice(eq + 1);
  if (isVar) {
    const key = group.slice(4, eq);
    if (key === '') throw parseError('live selector @var.KEY=GLOB needs a variable name', text);
    // a glob over a password would tell its characters one guess at a time
    if (isSecretVar(key)) throw new VacmError('ERR_NOT_ALLOWED', `@var.${key}=: ${key} holds a secret, which no selector matches against`, { fragment: text });
    return { kind: 'var', key, glob: value };
  }
  const v = value.toLowerCase();
  if (word === 'state') {
    const state = LIVE_STATES.find((s) => s === v);
    if (!state) throw parseError(`unknown node state (one of ${LIVE_STATES.join(', ')})`, text);
    return { kind: 'state', state };
  }
  if (word === 'power') {
    const power = LIVE_POWERS.find((s) => s === v);
    if (!power) throw parseError(`unknown power state (one of ${LIVE_POWERS.join(', ')})`, text);
    return { kind: 'power', power };
  }
  if (!/^\d{1,10}$/.test(value) || Number(value) > MAX_STALE_S) throw parseError('@stale= takes whole seconds (e.g. @stale=300)', text);
  return { kind: 'stale', seconds: Number(value) };
}
