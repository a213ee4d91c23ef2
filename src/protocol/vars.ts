/**
 * Node variables as the outside world sees them, pure: which keys hold secrets (shown and stored as
 * `****` everywhere: IPC answers, the screen, audit.jsonl, prompt history, saved snapshots), which
 * keys are refused because they name JavaScript's own machinery, and the masking itself. The engine
 * keeps the real values for the modules (an IPMI login needs the password); only what leaves it
 * for a person or a file goes through here.
 */
import { splitFields } from './ipc.js';

/**
 * The one reader of a yes/no node variable (sim, controller, guarded, ...): true, yes, 1 or on, in
 * any case, around spaces; anything else (absent, false, no, 0, off, a typo) is false.
 */
export function isTrue(v: string | undefined): boolean {
  return v !== undefined && /^(true|yes|1|on)$/i.test(v.trim());
}

/** A node simulated by the sim backend (`sim: true`) rather than reached for real. */
export function isSimNode(vars: Readonly<Record<string, string>>): boolean {
  return isTrue(vars.sim);
}

/** What a secret's value is shown as (its length is not shown either). */
export const SECRET_MASK = '****';

/** Variable names: letters, digits and _, not starting with a digit. */
export const VAR_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Keys that are the object machinery of JavaScript, not variables: refused by SET_VAR. */
export const RESERVED_VAR_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const SECRET_RE = /(?:^|_)(?:password|secret|token)$/i;

/** Does this variable hold a secret? `bmc_password`, and any key ending in `_password`, `_secret`, `_token`. */
export function isSecretVar(key: string): boolean {
  return SECRET_RE.test(key);
}

/** Why `key` cannot be a variable name, or undefined when it can. */
export function badVarName(key: string): string | undefined {
  if (!VAR_NAME_RE.test(key)) return `bad variable name "${key}": letters, digits and _, not starting with a digit`;
  if (RESERVED_VAR_KEYS.has(key)) return `"${key}" is reserved (it names JavaScript's object machinery, not a variable); choose another name`;
  return undefined;
}

/** The value as it may be shown or stored. */
export function shownValue(key: string, value: string): string {
  return isSecretVar(key) ? SECRET_MASK : value;
}

/** A copy of `vars` with every secret's value masked; the same object when there is nothing to mask. */
export function maskVars<T extends Readonly<Record<string, string>>>(vars: T): T {
  let out: Record<string, string> | undefined;
  for (const k of Object.keys(vars)) {
    if (!isSecretVar(k)) continue;
    out ??= { ...vars };
    out[k] = SECRET_MASK;
  }
  return (out ?? vars) as T;
}

const SET_VAR_HEAD = /^\s*nexxus:set_var:/i;

/** Where the value of a SET_VAR of a secret starts in `line`, or -1 (not such a request); 0: unsplittable SET_VAR. */
function secretValueStart(line: string): number {
  if (!SET_VAR_HEAD.test(line)) return -1;
  let split: ReturnType<typeof splitFields>;
  try {
    split = splitFields(line, 4);
  } catch {
    return 0;
  }
  const key = split.fields[3];
  if (!split.rest || !key || !isSecretVar(key.text.trim())) return -1;
  return split.rest.start;
}

/**
 * A request line as it may be shown or recorded: `NEXXUS:SET_VAR:<nodes>:<secret key>:<value>` gets
 * its value masked (the rest of the line is kept byte for byte); every other line is returned as is.
 * Never throws: a SET_VAR line that cannot be split keeps only its head.
 */
export function maskRequestLine(line: string): string {
  const at = secretValueStart(line);
  if (at < 0) return line;
  if (at === 0) return 'NEXXUS:SET_VAR:' + SECRET_MASK;
  return line.slice(0, at) + SECRET_MASK;
}

/** Is this a request that sets a secret (kept out of the prompt history)? */
export function setsSecret(line: string): boolean {
  return secretValueStart(line) >= 0;
}

const TEMPLATE_RE = /\{(name|n)(?:([+-])(\d+))?\}/g;

/**
 * A template read once, expanded for many nodes (a config's vars: for every node of its entry);
 * expandTemplate is it for one node.
 */
export function compileTemplate(value: string): (node: string) => string {
  if (!value.includes('{')) return () => value;
  // literal text, then what follows it: the node's name, or its number with an offset
  const parts: Array<{ text: string; name?: true; sign?: string; k?: string }> = [];
  let at = 0;
  for (const m of value.matchAll(TEMPLATE_RE)) {
    parts.push(m[1] === 'name' ? { text: value.slice(at, m.index), name: true } : { text: value.slice(at, m.index), sign: m[2], k: m[3] });
    at = m.index + m[0].length;
  }
  const tail = value.slice(at);
  if (parts.length === 0) return () => value;
  return (node) => {
    let out = '';
    let last: number | undefined;
    for (const p of parts) {
      out += p.text;
      if (p.name) {
        out += node;
        continue;
      }
      if (last === undefined) {
        const m = /(\d+)(?!.*\d)/.exec(node);
        if (!m) throw new Error(`{n} needs a number in the node name, and "${node}" has none`);
        last = parseInt(m[1], 10);
      }
      let n = last;
      if (p.sign && p.k) n = p.sign === '+' ? n + parseInt(p.k, 10) : n - parseInt(p.k, 10);
      out += String(n);
    }
    return out + tail;
  };
}

/** Expand `{name}`, `{n}`, `{n+K}`, `{n-K}` in a variable value (or a remote path) for one node. */
export function expandTemplate(value: string, node: string): string {
  return compileTemplate(value)(node);
}
