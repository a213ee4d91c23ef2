/**
 * The one checker for vacm.yaml's sections. Each section's owner (a module, the engine, the UI, a
 * command) declares its schema next to the code that reads it; the config loader checks every
 * section present against its schema at load time, with file:line:key errors, and the owner's own
 * parser checks again (`checkSection`) when it reads a section that came from elsewhere (tests,
 * `vacm serve`'s --listen). Pure: values in, the first problem out.
 *
 * Kept in-house (docs/decisions.md): the schemas need a dozen shapes, and every message must say
 * what to write instead, which a generic validator's messages do not.
 */
import { VacmError } from './errors.js';

/** Where a problem is, from the section's name down (`['ping', 'interval_ms']`, `['hooks', 0, 'on']`). */
export type ConfigPath = readonly (string | number)[];

export interface ConfigProblem {
  path: ConfigPath;
  /** what is wrong and what to write instead, without the path */
  message: string;
}

/** One value's shape: undefined when `v` fits, else the problem (found below `path`). */
export interface FieldSchema {
  check(v: unknown, path: ConfigPath): ConfigProblem | undefined;
}

export interface SectionSchema {
  /** the top-level key */
  readonly name: string;
  readonly schema: FieldSchema;
  /** the keys a mapping section takes (for docs and tests); undefined for a list section */
  readonly keys?: readonly string[];
}

const shown = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v) ?? String(v));
const field = (check: FieldSchema['check']): FieldSchema => ({ check });
const problem = (path: ConfigPath, message: string): ConfigProblem => ({ path, message });
/** `must` is the text after "must be"; a `says` replaces the whole message */
type Wording = { must?: string; says?: string; showValue?: boolean };
const wrong = (path: ConfigPath, v: unknown, dflt: string, w: Wording = {}): ConfigProblem =>
  problem(path, w.says ?? `must be ${w.must ?? dflt}${w.showValue === false ? '' : `, not ${shown(v)}`}`);

export function bool(w: Wording = {}): FieldSchema {
  return field((v, p) => (typeof v === 'boolean' ? undefined : wrong(p, v, 'true or false', w)));
}

/** A whole number from min to max; `unit` ("milliseconds") goes into the message. */
export function int(min: number, max: number, w: Wording & { unit?: string; example?: number } = {}): FieldSchema {
  return field((v, p) => {
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max) return undefined;
    const key = p[p.length - 1];
    const eg = w.example === undefined ? '' : ` (e.g. ${key}: ${w.example})`;
    return wrong(p, v, `a whole number${w.unit ? ` of ${w.unit}` : ''} from ${min} to ${max}${eg}`, w);
  });
}

/** Any number (fractions too) from min to max. */
export function num(min: number, max: number, w: Wording = {}): FieldSchema {
  return field((v, p) => (typeof v === 'number' && v >= min && v <= max ? undefined : wrong(p, v, `a number from ${min} to ${max}`, w)));
}

export function oneOf(values: readonly (string | boolean)[], w: Wording = {}): FieldSchema {
  const list = values.map(String);
  const text = list.length > 1 ? `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}` : list[0];
  return field((v, p) => (values.includes(v as string | boolean) ? undefined : wrong(p, v, text, w)));
}

/** A non-empty string (`pattern`: and one that matches it). */
export function text(w: Wording & { pattern?: RegExp } = {}): FieldSchema {
  return field((v, p) => (typeof v === 'string' && v !== '' && (!w.pattern || w.pattern.test(v)) ? undefined : wrong(p, v, 'a non-empty string', w)));
}

/** A string or a list of strings, each non-empty and matching `pattern` when given. */
export function words(w: Wording & { pattern?: RegExp; nonEmpty?: boolean } = {}): FieldSchema {
  return field((v, p) => {
    const list = typeof v === 'string' ? [v] : v;
    const ok = Array.isArray(list) && (!w.nonEmpty || list.length > 0) && list.every((x) => typeof x === 'string' && x !== '' && (!w.pattern || w.pattern.test(x)));
    return ok ? undefined : wrong(p, v, 'a list of strings', { showValue: false, ...w });
  });
}

/** A list whose every entry fits `of`. */
export function listOf(of: FieldSchema, w: Wording = {}): FieldSchema {
  return field((v, p) => {
    if (!Array.isArray(v)) return wrong(p, v, 'a list', { showValue: false, ...w });
    for (let i = 0; i < v.length; i++) {
      const bad = of.check(v[i], [...p, i]);
      if (bad) return bad;
    }
    return undefined;
  });
}

/** A value checked by its owner's own code: `check` returns what is wrong, or undefined. */
export function custom(check: (v: unknown) => string | undefined): FieldSchema {
  return field((v, p) => {
    const m = check(v);
    return m === undefined ? undefined : problem(p, m);
  });
}

export interface MappingOptions extends Wording {
  /** keys that must be there, with what to say when one is missing */
  required?: Readonly<Record<string, string>>;
  /** old or likely-wrong key -> what to say instead of "unknown key" */
  renamed?: Readonly<Record<string, string>>;
  /** the name the "unknown key; X takes ..." message uses (default: the last path part) */
  noun?: string;
  /** what to say of a key that is not there (default: "unknown key; X takes a, b, c") */
  unknown?: (key: string, keys: readonly string[]) => string;
}

/** A mapping with a fixed set of keys, each with its own schema; any other key is a typo. */
export function mapping(fields: Readonly<Record<string, FieldSchema>>, o: MappingOptions = {}): FieldSchema & { keys: string[] } {
  const keys = Object.keys(fields);
  return {
    keys,
    check(v, p) {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return wrong(p, v, 'a mapping', { showValue: false, ...o });
      const m = v as Record<string, unknown>;
      for (const k of Object.keys(m)) {
        if (o.renamed && Object.hasOwn(o.renamed, k)) return problem([...p, k], o.renamed[k]);
        if (!Object.hasOwn(fields, k)) return problem([...p, k], o.unknown?.(k, keys) ?? `unknown key; ${o.noun ?? String(p[p.length - 1])} takes ${keys.join(', ')}`);
      }
      for (const [k, say] of Object.entries(o.required ?? {})) if (m[k] === undefined) return problem([...p, k], say);
      for (const k of keys) {
        if (m[k] === undefined) continue;
        const bad = fields[k].check(m[k], [...p, k]);
        if (bad) return bad;
      }
      return undefined;
    },
  };
}

/** A mapping of names the operator chooses (`keys`: or only these) to values that fit `value`. */
export function record(value: FieldSchema, o: Wording & { keys?: readonly string[]; badKey?: (k: string) => string } = {}): FieldSchema {
  return field((v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return wrong(p, v, 'a mapping', { showValue: false, ...o });
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (o.keys && !o.keys.includes(k)) return problem([...p, k], o.badKey?.(k) ?? `unknown key; one of ${o.keys.join(', ')}`);
      const bad = value.check(x, [...p, k]);
      if (bad) return bad;
    }
    return undefined;
  });
}

/** A section's schema: `schema` is usually a `mapping`, whose keys are listed for docs and tests. */
export function section(name: string, schema: FieldSchema & { keys?: string[] }): SectionSchema {
  return { name, schema, keys: schema.keys };
}

/** `ping.interval_ms`, `hooks[0].on`: a path as the messages write it. */
export function pathText(path: ConfigPath): string {
  return path.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${k}` : k), '');
}

/** The first problem of a section's value (undefined or null: absent, which every section allows). */
export function sectionProblem(s: SectionSchema, raw: unknown): ConfigProblem | undefined {
  if (raw === undefined || raw === null) return undefined;
  return s.schema.check(raw, [s.name]);
}

/** Check a section where its owner reads it: ERR_CONFIG `section.key: what to write`. */
export function checkSection(s: SectionSchema, raw: unknown): void {
  const bad = sectionProblem(s, raw);
  if (bad) throw new VacmError('ERR_CONFIG', `${pathText(bad.path)}: ${bad.message}`);
}
