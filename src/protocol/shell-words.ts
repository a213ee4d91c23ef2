/**
 * exec.allow, matched the way sudo matches a command: the command is split into shell words
 * (POSIX sh quoting), each word is matched against one word of an allowlist entry with a glob in
 * which `*` and `?` never cross a word, and what is sent to the node is the matched words
 * re-quoted, so the remote shell sees exactly the argv that was checked. Unquoted shell syntax
 * (`; | & $ ( ) \` < >`, a `$` or backquote inside double quotes) and control characters are
 * refused: only an entry `*` (anything) or `{shell: "..."}` (that exact text) lets them through.
 * Pure; the glob matcher is iterative with one backtrack point (O(word × pattern), no regex).
 */

/** One exec.allow entry as the config holds it: a word pattern, or an exact shell text. */
export type ExecAllowEntry = string | { readonly shell: string };

/** A word as the splitter read it: its text, and which of its characters were unquoted `*`/`?`. */
interface SplitWord {
  text: string;
  /** indices (in code units of `text`) of unquoted `*` and `?` */
  globs: number[];
}

export type SplitResult = { ok: true; words: SplitWord[] } | { ok: false; reason: string; at: number };

/** Characters that make shell syntax when unquoted; a command that uses them needs `{shell:}`. */
const META = new Set([';', '|', '&', '$', '(', ')', '`', '<', '>']);
const META_NAMES: Record<string, string> = {
  ';': '";" (command separator)',
  '|': '"|" (pipe)',
  '&': '"&" (background / &&)',
  '$': '"$" (expansion)',
  '(': '"(" (subshell)',
  ')': '")" (subshell)',
  '`': '"`" (command substitution)',
  '<': '"<" (redirection)',
  '>': '">" (redirection)',
};

// C0 controls and DEL: a newline is a command separator, the rest have no business in a command
const isControl = (c: number): boolean => c < 0x20 || c === 0x7f;

/**
 * Split `text` into words as a POSIX shell would (quotes and backslashes removed), refusing
 * unquoted metacharacters, `$`/backquote inside double quotes, control characters other than
 * a TAB between words, and unterminated quotes.
 */
export function splitShellWords(text: string): SplitResult {
  const words: SplitWord[] = [];
  let cur: SplitWord | undefined;
  const start = (): SplitWord => (cur ??= { text: '', globs: [] });
  const bad = (reason: string, at: number): SplitResult => ({ ok: false, reason, at });
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    const code = text.charCodeAt(i);
    if (ch === ' ' || ch === '\t') {
      if (cur) words.push(cur);
      cur = undefined;
      i++;
    } else if (isControl(code)) {
      return bad(code === 10 ? 'a newline (it separates commands)' : `a control character (0x${code.toString(16).padStart(2, '0')})`, i);
    } else if (META.has(ch)) {
      return bad(`an unquoted ${META_NAMES[ch]}`, i);
    } else if (ch === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return bad('an unterminated single quote', i);
      const inner = text.slice(i + 1, end);
      for (let k = 0; k < inner.length; k++) if (isControl(inner.charCodeAt(k))) return bad('a control character inside quotes', i + 1 + k);
      start().text += inner;
      i = end + 1;
    } else if (ch === '"') {
      const w = start();
      let j = i + 1;
      for (;;) {
        if (j >= text.length) return bad('an unterminated double quote', i);
        const c = text[j];
        if (c === '"') break;
        if (isControl(text.charCodeAt(j))) return bad('a control character inside quotes', j);
        if (c === '$' || c === '`') return bad(`${META_NAMES[c]} inside double quotes (the shell expands it there)`, j);
        if (c === '\\' && j + 1 < text.length && '$`"\\'.includes(text[j + 1])) {
          w.text += text[j + 1];
          j += 2;
        } else {
          w.text += c;
          j++;
        }
      }
      i = j + 1;
    } else if (ch === '\\') {
      if (i + 1 >= text.length) return bad('a backslash at the end', i);
      if (isControl(text.charCodeAt(i + 1))) return bad(text.charCodeAt(i + 1) === 10 ? 'a newline (it separates commands)' : 'a control character', i + 1);
      start().text += text[i + 1];
      i += 2;
    } else {
      const w = start();
      if (ch === '*' || ch === '?') w.globs.push(w.text.length);
      w.text += ch;
      i++;
    }
  }
  if (cur) words.push(cur);
  return { ok: true, words };
}

// POSIX reserved words (and bash's/zsh's): unquoted as a first word they are syntax, not a program
const RESERVED_WORDS = new Set(['if', 'then', 'else', 'elif', 'fi', 'case', 'esac', 'for', 'select', 'while', 'until', 'do', 'done', 'in', 'function', 'time', 'coproc', 'repeat', 'foreach', 'end', 'nocorrect', 'noglob']);

/**
 * One word quoted for a POSIX shell: left bare when it is only characters no shell treats
 * specially (and no reserved word), else in single quotes (`'` as `'\''`). `=` is quoted so that
 * a first word is never an assignment (`LD_PRELOAD=... cmd`).
 */
export function quoteWord(word: string): string {
  if (/^[A-Za-z0-9_@%+:,./-]+$/.test(word) && !RESERVED_WORDS.has(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Words joined into one command line that a POSIX shell splits back into exactly these words. */
export function quoteWords(words: readonly string[]): string {
  return words.map(quoteWord).join(' ');
}

export type GlobToken = { kind: 'lit'; ch: string } | { kind: 'one' } | { kind: 'star' };

/** An allowlist word: unquoted `*` is any text within the word (empty too), unquoted `?` one character. */
function compileWord(w: SplitWord): GlobToken[] {
  const globs = new Set(w.globs);
  const out: GlobToken[] = [];
  // iterate by code point so that `?` matches one character, not half a surrogate pair
  let idx = 0;
  for (const ch of w.text) {
    if (globs.has(idx)) out.push(ch === '*' ? { kind: 'star' } : { kind: 'one' });
    else out.push({ kind: 'lit', ch });
    idx += ch.length;
  }
  return out;
}

/**
 * Glob match of one word: greedy with one backtrack point (the last `*`), so a word of n
 * characters against a pattern of m tokens costs at most O(n × m) steps, never exponential.
 */
export function globMatchWord(pattern: readonly GlobToken[], word: string): boolean {
  const s = Array.from(word);
  let pi = 0;
  let si = 0;
  let starP = -1;
  let starS = 0;
  while (si < s.length) {
    const t = pattern[pi];
    if (t !== undefined && (t.kind === 'one' || (t.kind === 'lit' && t.ch === s[si]))) {
      pi++;
      si++;
    } else if (t !== undefined && t.kind === 'star') {
      starP = pi++;
      starS = si;
    } else if (starP >= 0) {
      pi = starP + 1;
      si = ++starS;
    } else {
      return false;
    }
  }
  while (pattern[pi]?.kind === 'star') pi++;
  return pi === pattern.length;
}

/** A compiled exec.allow entry. */
export type AllowRule =
  | { kind: 'any'; source: string }
  | { kind: 'shell'; text: string }
  | { kind: 'words'; source: string; words: GlobToken[][] };

/**
 * Compile one entry; a string entry with shell syntax or quoting errors is refused with a reason
 * (the config reports it with file and line). `*` alone is "any command, shell syntax included".
 */
export function compileAllowEntry(entry: ExecAllowEntry): { ok: true; rule: AllowRule } | { ok: false; reason: string } {
  if (typeof entry !== 'string') {
    const text = entry.shell.trim();
    if (text === '') return { ok: false, reason: 'shell: needs the exact command text' };
    return { ok: true, rule: { kind: 'shell', text } };
  }
  const source = entry.trim();
  if (source === '*') return { ok: true, rule: { kind: 'any', source } };
  const split = splitShellWords(source);
  if (!split.ok) return { ok: false, reason: `"${source}" has ${split.reason} at column ${split.at + 1}; a word pattern cannot contain shell syntax: write {shell: "<the exact command>"} for a pipeline or list` };
  if (split.words.length === 0) return { ok: false, reason: 'an empty pattern allows nothing; remove it' };
  return { ok: true, rule: { kind: 'words', source, words: split.words.map(compileWord) } };
}

/** How an entry is shown in messages and docs. */
export function formatAllowEntry(entry: ExecAllowEntry): string {
  return typeof entry === 'string' ? entry : `{shell: ${entry.shell}}`;
}

export type AllowDecision =
  | { ok: true; command: string; rule: string }
  | { ok: false; reason: string };

/**
 * Is `command` allowed by `allow`, and what exactly is sent? `*` sends the command as typed;
 * a `{shell:}` entry sends its own text when the command equals it (trimmed); a word pattern
 * sends the command's words re-quoted. Entries that do not compile are skipped (the config
 * refuses them at load time).
 */
export function checkExecAllowed(command: string, allow: readonly ExecAllowEntry[]): AllowDecision {
  const trimmed = command.trim();
  const rules: AllowRule[] = [];
  for (const e of allow) {
    const c = compileAllowEntry(e);
    if (c.ok) rules.push(c.rule);
  }
  const any = rules.find((r) => r.kind === 'any');
  if (any) return { ok: true, command, rule: '*' };
  for (const r of rules) if (r.kind === 'shell' && r.text === trimmed) return { ok: true, command: r.text, rule: `{shell: ${r.text}}` };
  const split = splitShellWords(trimmed);
  if (!split.ok) {
    return { ok: false, reason: `it has ${split.reason} at column ${split.at + 1}, which only a {shell: "..."} entry of exactly this command allows` };
  }
  const words = split.words.map((w) => w.text);
  for (const r of rules) {
    if (r.kind !== 'words' || r.words.length !== words.length) continue;
    if (r.words.every((p, i) => globMatchWord(p, words[i]))) return { ok: true, command: quoteWords(words), rule: r.source };
  }
  return { ok: false, reason: `it matches no entry (${words.length} word${words.length === 1 ? '' : 's'}; each * stays within one word)` };
}
