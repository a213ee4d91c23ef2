/**
 * Shell completion: `vacm completion bash|zsh` prints a small script whose function calls back into
 * vacm (`vacm __complete ...`) for the words: commands and options from the same tables yargs uses
 * (options.ts), and — from the config the command line names (or finds) — node names, @groups and
 * IPC modules and commands after `vacm ipc`, through the dashboard prompt's own completion
 * (ui/complete.ts). The callback never fails loudly: a broken config just completes nothing.
 */
import { COMMANDS, type CommandDoc, type OptionTable } from './options.js';
import { matchField, type CompletionSource } from '../ui/complete.js';
import type { Io } from './io.js';

export type Shell = 'bash' | 'zsh';

/** Beyond this many, the shell would only list them: the operator types more first. */
const MAX_WORDS = 2000;
// no word with a control character or a space reaches the shell's line
const PLAIN = /^[^\s\x00-\x1f\x7f-\x9f]+$/;
// node and group names come from a config file, and bash inserts a completion as it is: only names
// with no character the shell would act on (; | & $ ` quotes, globs, !) are offered
const SAFE_NAME = /^[\w.+%/=-]+$/;

const COMMAND_NAMES = Object.entries(COMMANDS).filter(([k]) => k !== 'dashboard').map(([, d]) => d.command.split(' ')[0]);

function docOf(name: string | undefined): CommandDoc {
  return Object.values(COMMANDS).find((d) => d.command.split(' ')[0] === name) ?? COMMANDS.dashboard;
}

function optionWords(table: OptionTable): string[] {
  const out = ['--help'];
  for (const [k, o] of Object.entries(table)) {
    out.push(`--${k}`);
    if (typeof o.alias === 'string') out.push(o.alias.length === 1 ? `-${o.alias}` : `--${o.alias}`);
  }
  return out;
}

/** The option (of `table`) that `word` names, if it takes a value. */
function takesValue(table: OptionTable, word: string): string | undefined {
  if (!word.startsWith('-') || word.includes('=')) return undefined;
  const name = word.replace(/^--?/, '');
  for (const [k, o] of Object.entries(table)) {
    if (k === name || o.alias === name) return o.type === 'boolean' ? undefined : k;
  }
  return undefined;
}

/** Split a command line as the shell would, roughly (quotes and backslashes); the last word may be empty. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '' | "'" | '"' = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = '';
      else if (c === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (c === ' ' || c === '\t') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  words.push(cur);
  return words;
}

export interface CompleteContext {
  /** nodes, groups and modules for the config named on the line (loaded only when needed) */
  source(args: { config?: string; demo?: boolean; nodes?: number }): CompletionSource;
}

/** The config options given earlier on the line (`--config F`, `-c F`, `--demo`, `--nodes N`). */
function configArgs(words: readonly string[]): { config?: string; demo?: boolean; nodes?: number } {
  const a: { config?: string; demo?: boolean; nodes?: number } = {};
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if ((w === '--config' || w === '-c') && i + 1 < words.length) a.config = words[++i];
    else if (w.startsWith('--config=')) a.config = w.slice('--config='.length);
    else if (w === '--demo') a.demo = true;
    else if (w === '--nodes' && i + 1 < words.length) a.nodes = Number(words[++i]) || undefined;
  }
  return a;
}

/**
 * The words that may replace the last of `words` (the command line after `vacm`, the last being the
 * word under the cursor, possibly empty), each whole.
 */
export function completeWords(words: readonly string[], ctx: CompleteContext = defaultContext()): string[] {
  const cur = words.length ? words[words.length - 1] : '';
  const before = words.slice(0, -1);
  const cmdName = before.find((w) => !w.startsWith('-'));
  const doc = docOf(cmdName);
  const prev = before[before.length - 1];
  let out: string[];
  if (prev !== undefined && takesValue(doc.options, prev)) {
    out = []; // a value: files are the shell's own job (bash -o default, zsh _files)
  } else if (cur.startsWith('-')) {
    out = optionWords(doc.options).concat(cmdName === undefined ? ['--version'] : []);
  } else if (cmdName === undefined) {
    out = COMMAND_NAMES;
  } else if (cmdName === 'completion') {
    out = ['bash', 'zsh'];
  } else if (cmdName === 'ipc' || cmdName === 'nodeset') {
    let src: CompletionSource;
    try {
      const raw = ctx.source(configArgs(before));
      src = { modules: raw.modules, nodes: raw.nodes.filter((n) => SAFE_NAME.test(n)), groups: raw.groups.filter((g) => SAFE_NAME.test(g)) };
    } catch {
      return [];
    }
    if (cmdName === 'ipc') {
      const m = matchField(cur, src);
      out = m ? m.words.map((w) => m.before + w + m.suffix) : [];
    } else {
      // a node set on its own: the NODES field of an IPC line
      const m = matchField(`X:Y:${cur}`, src);
      out = m ? m.words.map((w) => m.before.slice(4) + w) : [];
    }
  } else {
    out = [];
  }
  return out.filter((w) => w.startsWith(cur) && PLAIN.test(w)).slice(0, MAX_WORDS);
}

function defaultContext(): CompleteContext {
  return {
    source: (a) => {
      throw new Error(`completion needs a loaded context (${JSON.stringify(a)})`);
    },
  };
}

/** Strip what bash will keep of the word: it replaces only what follows the last COMP_WORDBREAKS character. */
export function forBash(word: string, cur: string, breaks: string): string {
  let k = -1;
  for (let i = 0; i < cur.length; i++) if (breaks.includes(cur[i])) k = i;
  return word.slice(k + 1);
}

/**
 * `vacm __complete --line L [--breaks B]` (bash: the line up to the cursor) or `vacm __complete --
 * WORD...` (zsh: the words after vacm). One candidate a line; always exit 0.
 */
export async function completeMain(argv: readonly string[], io: Io): Promise<number> {
  let words: string[];
  let breaks: string | undefined;
  const dd = argv.indexOf('--');
  if (dd >= 0) {
    words = argv.slice(dd + 1);
  } else {
    const li = argv.indexOf('--line');
    const bi = argv.indexOf('--breaks');
    breaks = bi >= 0 ? (argv[bi + 1] ?? '') : '';
    words = shellWords(li >= 0 ? (argv[li + 1] ?? '') : '').slice(1); // without vacm itself
  }
  const { loadSource } = await import('./completion-source.js');
  const found = completeWords(words, { source: loadSource });
  const cur = words.length ? words[words.length - 1] : '';
  const shown = breaks === undefined ? found : found.map((w) => forBash(w, cur, breaks));
  if (shown.length) io.out(shown.join('\n') + '\n');
  return 0;
}

/** The script `vacm completion <shell>` prints. */
export function completionScript(shell: Shell): string {
  if (shell === 'zsh') {
    return `#compdef vacm vacm.mjs
# vacm completion for zsh: save as _vacm in a directory of $fpath (or source it after compinit).
# Words come from vacm itself: commands, options, and node names, groups and IPC modules from the config.
_vacm() {
  local -a found
  local w
  found=("\${(@f)$("\${words[1]}" __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  for w in "\${found[@]}"; do
    [[ -z $w ]] && continue
    if [[ $w == *: ]]; then compadd -Q -S '' -- "$w"; else compadd -Q -- "$w"; fi
  done
  (( \${#found} )) && [[ -n \${found[1]} ]] || _files
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then _vacm "$@"; else compdef _vacm vacm vacm.mjs; fi
`;
  }
  return `# vacm completion for bash: source it, or save it as /etc/bash_completion.d/vacm.
# Words come from vacm itself: commands, options, and node names, groups and IPC modules from the config.
_vacm() {
  local IFS=$'\\n'
  COMPREPLY=($("\${COMP_WORDS[0]}" __complete --breaks "$COMP_WORDBREAKS" --line "\${COMP_LINE:0:COMP_POINT}" 2>/dev/null))
  # TAG: and TAG:COMMAND: go on with the next field, not a new word
  if [[ \${#COMPREPLY[@]} -eq 1 && \${COMPREPLY[0]} == *: ]]; then compopt -o nospace 2>/dev/null; fi
  return 0
}
complete -o default -o nosort -F _vacm vacm vacm.mjs 2>/dev/null || complete -o default -F _vacm vacm vacm.mjs
`;
}
