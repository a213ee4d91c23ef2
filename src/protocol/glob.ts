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
