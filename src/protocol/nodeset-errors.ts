/**
 * The errors and the size limit every node-set layer shares (range sets, the scanner, live
 * selectors, NodeSet): ERR_NODESET_PARSE naming the fragment that failed, ERR_LIMIT naming the limit.
 */
import { VacmError } from './errors.js';

/**
 * The most names a node set is expanded to, by default: every expansion (a config's `names:`, a
 * request's targets, ADOPT, group names, wildcard masks, stepped ranges) is checked against it
 * before any string is built, so `n[1-99999999]` is a clear error instead of an out-of-memory
 * crash. Counting and folding never expand. vacm.yaml's `limits.max_nodes` raises it.
 */
export const DEFAULT_MAX_NODES = 1_048_576;

export function nodeLimitError(what: string, count: number, limit: number): VacmError {
  return new VacmError(
    'ERR_LIMIT',
    `${what} is ${count} nodes, over the limit of ${limit}; raise limits.max_nodes in vacm.yaml if you mean it`,
  );
}

export function checkLimit(what: string, count: number, limit: number): void {
  if (count > limit) throw nodeLimitError(what, count, limit);
}

export function parseError(msg: string, fragment: string | undefined, position?: number): VacmError {
  const text = fragment ? `${msg}: "${fragment}"` : msg;
  const opts: { fragment?: string; position?: number } = {};
  if (fragment !== undefined) opts.fragment = fragment;
  if (position !== undefined && position >= 0) opts.position = position;
  return new VacmError('ERR_NODESET_PARSE', text, opts);
}
