import { VacmError } from './errors.js';

/**
 * Shell-style wildcards (`*` any run of characters, `?` one character, everything else literal),
 * matched in linear time. A regular expression built from `*a*a*a*a*b` backtracks exponentially
 * against a long name of `a`s; this is the classic two-pointer matcher, which on a mismatch goes
 * back only to the last `*` seen: O(pattern × text) at worst, no recursion, no allocation.
 */
export function globMatch(glob: string, text: string): boolean {
  let g = 0;
  let t = 0;
  let star = -1; // index in glob just past the last '*'
  let mark = 0; // index in text where that '*' started matching
  while (t < text.length) {
    const c = glob.charCodeAt(g);
    if (g < glob.length && c === 42 /* * */) {
      star = ++g;
      mark = t;
    } else if (g < glob.length && (c === 63 /* ? */ || c === text.charCodeAt(t))) {
      g++;
      t++;
    } else if (star >= 0) {
      // let the last '*' take one more character, and try the rest again from there
      g = star;
      t = ++mark;
    } else return false;
  }
  while (g < glob.length && glob.charCodeAt(g) === 42) g++;
  return g === glob.length;
}

/** Whether `s` holds a wildcard character. */
export function hasWildcard(s: string): boolean {
  return s.includes('*') || s.includes('?');
}

/** Wildcard matching tests at most this many (mask, name) pairs per max_nodes. */
const WILDCARD_PAIRS_PER_NODE = 16;

/**
 * The names (in their order) that some mask matches: a node set's `*` and `?` terms. Every mask
 * is tried against every name, so the work is bounded, not just the masks: ERR_LIMIT past
 * WILDCARD_PAIRS_PER_NODE × `limit` comparisons.
 */
export function matchWildcards(masks: readonly string[], names: readonly string[], limit: number): string[] {
  const pairs = masks.length * names.length;
  if (pairs > WILDCARD_PAIRS_PER_NODE * limit) {
    throw new VacmError(
      'ERR_LIMIT',
      `${masks.length} wildcard patterns against ${names.length} nodes is ${pairs} comparisons, over the limit of ${WILDCARD_PAIRS_PER_NODE * limit} (${WILDCARD_PAIRS_PER_NODE} × limits.max_nodes); use fewer patterns, or raise limits.max_nodes in vacm.yaml`,
    );
  }
  const remaining = new Set(names);
  const matched: string[] = [];
  for (const mask of masks) {
    for (const n of remaining) {
      if (globMatch(mask, n)) {
        matched.push(n);
        remaining.delete(n);
      }
    }
  }
  return matched;
}
