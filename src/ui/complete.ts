/**
 * Tab completion for the IPC prompt, pure: modules in the TAG field, that module's commands in the
 * COMMAND field, node names and @groups in the NODES field (after the last set operator).
 */
export interface CompletionSource {
  modules: readonly { tag: string; commands: readonly { name: string }[] }[];
  nodes: readonly string[];
  groups: readonly string[];
}

export interface Completion {
  /** the line after completion (unchanged when nothing or several things match without a longer common prefix) */
  line: string;
  /** what matched (shown when there is more than one) */
  candidates: string[];
}

function commonPrefix(words: readonly string[]): string {
  if (words.length === 0) return '';
  let p = words[0];
  for (const w of words) while (!w.toUpperCase().startsWith(p.toUpperCase())) p = p.slice(0, -1);
  return p;
}

/** Split on unescaped colons (enough for completion; the parser proper lives in protocol/ipc.ts). */
function fieldsOf(line: string): string[] {
  const out: string[] = [''];
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\\' && i + 1 < line.length) {
      out[out.length - 1] += line[i] + line[i + 1];
      i++;
    } else if (line[i] === ':') out.push('');
    else out[out.length - 1] += line[i];
  }
  return out;
}

const MAX_CANDIDATES = 50;

/** What the field under the cursor (the end of `line`) can become: each word replaces `prefix`. */
export interface FieldMatch {
  /** the line up to the part being completed */
  before: string;
  /** what was typed of the part being completed */
  prefix: string;
  /** the words that fit, sorted, each followed by `suffix` once chosen */
  words: string[];
  suffix: string;
  /** 0 TAG, 1 COMMAND, 2 NODES */
  field: number;
}

export function matchField(line: string, src: CompletionSource): FieldMatch | undefined {
  const fields = fieldsOf(line);
  const cur = fields[fields.length - 1];
  let before = line.slice(0, line.length - cur.length);
  let words: string[] = [];
  let prefix = cur;
  let suffix = '';
  if (fields.length === 1) {
    words = src.modules.map((m) => m.tag).filter((t) => t.startsWith(cur.toUpperCase()));
    suffix = ':';
  } else if (fields.length === 2) {
    const mod = src.modules.find((m) => m.tag === fields[0].toUpperCase());
    words = (mod?.commands ?? []).map((c) => c.name).filter((c) => c.startsWith(cur.toUpperCase()));
    suffix = ':';
  } else if (fields.length === 3) {
    const m = /^(.*[,!&^])?([^,!&^]*)$/.exec(cur)!;
    before += m[1] ?? '';
    prefix = m[2];
    if (prefix.startsWith('@')) words = src.groups.filter((g) => g.startsWith(prefix.slice(1))).map((g) => '@' + g);
    else words = src.nodes.filter((n) => n.startsWith(prefix));
  } else {
    return undefined;
  }
  return { before, prefix, words: [...new Set(words)].sort(), suffix, field: fields.length - 1 };
}

export function complete(line: string, src: CompletionSource): Completion {
  const m = matchField(line, src);
  if (!m || m.words.length === 0) return { line, candidates: [] };
  const { before, prefix, words, suffix } = m;
  if (words.length === 1) return { line: before + words[0] + suffix, candidates: words };
  const common = commonPrefix(words);
  const next = common.length > prefix.length ? before + (m.field < 2 ? common.toUpperCase() : common) : line;
  return { line: next, candidates: words.slice(0, MAX_CANDIDATES) };
}
