/**
 * vacm.yaml: found by --config, then $VACM_CONFIG, ./vacm.yaml, ~/.config/vacm/vacm.yaml,
 * /etc/vacm/vacm.yaml. Validated here with errors that name the file, line and key.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

// yaml is loaded on first use: a machine with no vacm.yaml (and `vacm nodeset`) never pays for it
let yamlLib: typeof import('yaml') | undefined;
const yaml = (): typeof import('yaml') => (yamlLib ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'));
import { VacmError, toVacmError } from '../protocol/errors.js';
import { readTrustedFile } from '../platform/trusted-file.js';
import { DEFAULT_MAX_NODES, NodeSet } from '../protocol/nodeset.js';
import type { ConfigView } from '../protocol/module.js';
import type { NodeState } from '../protocol/events.js';
import { nodeNameProblem } from '../protocol/node-name.js';
import { escapeControls } from '../protocol/visible.js';
import { compileTemplate, expandTemplate } from '../protocol/vars.js';
import { compileAllowEntry, type ExecAllowEntry } from '../protocol/shell-words.js';
import { sectionProblem, type SectionSchema } from '../protocol/config-schema.js';
import { HISTORY_SECTION } from './history.js';
import { HOOKS_SECTION, MEMBERSHIP_SECTION } from './membership.js';
import { OUTPUT_SECTION } from './output-limits.js';
import { ACTION_KEY_RE, templateProblem, type CustomAction } from '../protocol/actions.js';

export interface NodeDef {
  name: string;
  groups: string[];
  vars: Record<string, string>;
}

export interface LoadedConfig {
  view: ConfigView;
  nodes: NodeDef[];
}

/** Top-level keys; module-owned sections are passed through to their modules, which validate them. */
const CORE_KEYS = ['cluster', 'fanout', 'nodes', 'groups', 'exec', 'limits'];
export const SECTION_KEYS = ['power', 'ssh', 'ping', 'sysstat', 'sensors', 'collector', 'agent', 'membership', 'hooks', 'history', 'metrics', 'ui', 'demo', 'serve', 'output', 'events', 'console', 'actions'];

/** The sections the engine itself reads; the command line adds the others' (src/cli/config-sections.ts). */
export const ENGINE_SECTIONS: readonly SectionSchema[] = [OUTPUT_SECTION, HISTORY_SECTION, MEMBERSHIP_SECTION, HOOKS_SECTION];

export const DEFAULT_FANOUT = 64;

/** Names that are Object.prototype's own: refused as group and variable names (a map lookup must never find them). */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Most alias uses yaml expands in one document (an alias bomb needs thousands). */
const MAX_YAML_ALIASES = 100;

export function shortHostname(): string {
  return os.hostname().split('.')[0] || 'localhost';
}

/** The config file to use, or undefined when there is none (then the nodelist is this machine). */
export function findConfig(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | undefined {
  if (explicit) {
    if (!fs.existsSync(explicit)) throw new VacmError('ERR_CONFIG', `config file ${explicit} not found (from --config)`);
    return path.resolve(explicit);
  }
  if (env.VACM_CONFIG) {
    if (!fs.existsSync(env.VACM_CONFIG)) throw new VacmError('ERR_CONFIG', `config file ${env.VACM_CONFIG} not found (from $VACM_CONFIG)`);
    return path.resolve(env.VACM_CONFIG);
  }
  const home = env.HOME ?? os.homedir();
  for (const p of [path.join(cwd, 'vacm.yaml'), path.join(home, '.config', 'vacm', 'vacm.yaml'), '/etc/vacm/vacm.yaml']) {
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

/** The nodelist with no config: the machine vacm runs on, alone. */
export function localOnlyConfig(): LoadedConfig {
  const name = shortHostname();
  return {
    view: { cluster: name, fanout: DEFAULT_FANOUT, exec: { allow: ['*'] }, sections: {}, groups: {} },
    nodes: [{ name, groups: [], vars: { host: '127.0.0.1', power: 'none', controller: 'true' } }],
  };
}

/**
 * Read and parse a config file. Its hooks run as whoever runs vacm (often root), so it is read only
 * when nobody else could have written it, as OpenSSH does with ~/.ssh/config and git with a
 * repository owned by someone else: owned by you or root, not group/world-writable, in a directory
 * others cannot replace it in (src/platform/trusted-file.ts). A `vacm.yaml` that another user left
 * in the working directory is refused with ERR_CONFIG, not run.
 */
export function loadConfigFile(file: string, sections: readonly SectionSchema[] = ENGINE_SECTIONS): LoadedConfig {
  let text: string;
  try {
    text = readTrustedFile(file, { what: 'config file', code: 'ERR_CONFIG' }).toString('utf8');
  } catch (err) {
    const ve = toVacmError(err, 'ERR_CONFIG');
    throw new VacmError('ERR_CONFIG', `${ve.message}${/ not found| ENOENT/.test(ve.message) ? '' : '; vacm runs the hooks a config names, so it reads only one that nobody else could have written (docs/config.md)'}`);
  }
  return parseConfig(text, file, sections);
}

// {name}/{n} templates live in protocol/ (SSH:PUSH and PULL expand them in remote paths too)
export { expandTemplate };

/**
 * Parse and check a config's text. `sections`: the schemas its sections are checked against here,
 * with file:line:key errors (their owners check again as they read them); a section without one
 * is checked only by its reader.
 */
export function parseConfig(text: string, file = 'vacm.yaml', sectionSchemas: readonly SectionSchema[] = ENGINE_SECTIONS): LoadedConfig {
  const { LineCounter, parseDocument, isMap } = yaml();
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const where = (p: (string | number)[]): string => {
    const n = doc.getIn(p, true) as { range?: [number, number, number] } | undefined;
    let off = n?.range?.[0];
    if (off === undefined && p.length > 0) {
      // the key itself, when the value is missing
      const parent = doc.getIn(p.slice(0, -1), true);
      if (isMap(parent)) {
        const pair = parent.items.find((it) => (it.key as { value?: unknown })?.value === p[p.length - 1]);
        off = (pair?.key as { range?: [number, number, number] })?.range?.[0];
      }
    }
    const line = off !== undefined ? lc.linePos(off).line : undefined;
    return `${file}${line ? `:${line}` : ''}: ${p.join('.') || '(top)'}`;
  };
  const fail = (p: (string | number)[], msg: string): never => {
    // keys, values and node names are quoted in messages: escape what a terminal would act on
    throw new VacmError('ERR_CONFIG', escapeControls(`${where(p)}: ${msg}`));
  };
  if (doc.errors.length) {
    const e = doc.errors[0];
    const line = e.linePos?.[0]?.line;
    throw new VacmError('ERR_CONFIG', `${file}${line ? `:${line}` : ''}: YAML syntax: ${e.message.split('\n')[0]}`);
  }
  let root: unknown;
  try {
    root = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (err) {
    // yaml refuses an alias bomb ("Excessive alias count ..."): name the file and the first alias
    let line: number | undefined;
    yaml().visit(doc, {
      Alias(_k, node) {
        if (node.range) line = lc.linePos(node.range[0]).line;
        return yaml().visit.BREAK;
      },
    });
    throw new VacmError('ERR_CONFIG', `${file}${line ? `:${line}` : ''}: YAML aliases expand too far (${(err as Error).message}; at most ${MAX_YAML_ALIASES} alias uses): write the repeated values out`);
  }
  if (root === null || root === undefined) fail([], 'the file is empty; see docs/config.md for an example');
  if (typeof root !== 'object' || Array.isArray(root)) fail([], 'the top level must be a mapping (cluster:, nodes:, ...)');
  const top = root as Record<string, unknown>;
  for (const k of Object.keys(top)) {
    if (!CORE_KEYS.includes(k) && !SECTION_KEYS.includes(k)) {
      fail([k], `unknown key "${k}"; known keys: ${[...CORE_KEYS, ...SECTION_KEYS].join(', ')}`);
    }
  }
  const cluster = top.cluster === undefined ? shortHostname() : top.cluster;
  if (typeof cluster !== 'string' || cluster === '') fail(['cluster'], 'must be a non-empty string');
  const fanout = top.fanout === undefined ? DEFAULT_FANOUT : top.fanout;
  if (typeof fanout !== 'number' || !Number.isInteger(fanout) || fanout < 1 || fanout > 65536) fail(['fanout'], 'must be a whole number from 1 to 65536');

  // explicit groups: { name: "node[1-4]" | [names...] }
  // members as sets while they are gathered (a list's includes() made 4096 nodes in two groups cost
  // ~0.3 s), in the order first added; made lists at the end
  const members = new Map<string, Set<string>>();
  const addToGroup = (g: string, n: string) => {
    let set = members.get(g);
    if (!set) members.set(g, (set = new Set()));
    set.add(n);
  };
  let allow: ExecAllowEntry[] = ['*'];
  let skipStates: NodeState[] = ['down', 'off'];
  let safe: ExecAllowEntry[] = [];
  if (top.exec !== undefined) {
    if (typeof top.exec !== 'object' || top.exec === null || Array.isArray(top.exec)) fail(['exec'], 'must be a mapping with allow: [globs]');
    const ex = top.exec as Record<string, unknown>;
    for (const k of Object.keys(ex)) if (k !== 'allow' && k !== 'skip_states' && k !== 'safe') fail(['exec', k], `unknown key "${k}"; exec takes allow, safe, skip_states`);
    if (ex.skip_states !== undefined) {
      const ok = ['down', 'off', 'unknown'];
      if (!Array.isArray(ex.skip_states) || ex.skip_states.some((v) => typeof v !== 'string' || !ok.includes(v))) {
        fail(['exec', 'skip_states'], 'must be a list of node states among down, off, unknown (default [down, off]; [] runs on every node)');
      }
      skipStates = [...new Set(ex.skip_states as NodeState[])];
    }
    // exec.safe (commands that run without confirmation, issue 11) takes what exec.allow takes
    const patterns = (key: 'allow' | 'safe'): ExecAllowEntry[] => {
      if (!Array.isArray(ex[key])) fail(['exec', key], 'must be a list of command patterns, e.g. ["uptime", "systemctl status *", {shell: "dmesg | tail"}]');
      return (ex[key] as unknown[]).map((a, i) => {
        const isShell = typeof a === 'object' && a !== null && !Array.isArray(a) && Object.keys(a).length === 1 && typeof (a as { shell?: unknown }).shell === 'string';
        if (typeof a !== 'string' && !isShell) fail(['exec', key, i], 'each entry is a command pattern ("systemctl status *") or {shell: "<exact command>"}');
        const entry: ExecAllowEntry = typeof a === 'string' ? a : { shell: (a as { shell: string }).shell };
        const c = compileAllowEntry(entry);
        if (!c.ok) fail(['exec', key, i], c.reason);
        return entry;
      });
    };
    if (ex.allow !== undefined) allow = patterns('allow');
    if (ex.safe !== undefined) {
      safe = patterns('safe');
      // "*" would let every command past the confirmation and --read-only
      const star = safe.findIndex((e) => { const c = compileAllowEntry(e); return c.ok && c.rule.kind === 'any'; });
      if (star >= 0) fail(['exec', 'safe', star], '"*" would make every command safe; list the commands that change nothing, e.g. "uptime", "uname *"');
    }
  }

  // actions: [{key, name, request, confirm, role}]: the dashboard's custom actions (issue 15 item 5)
  const actions: CustomAction[] = [];
  if (top.actions !== undefined) {
    if (!Array.isArray(top.actions)) fail(['actions'], 'must be a list of {key, name, request, confirm, role}, e.g. [{key: R, name: restart slurmd, request: "SSH:EXEC:{nodes}:systemctl restart slurmd"}]');
    (top.actions as unknown[]).forEach((a, i) => {
      if (typeof a !== 'object' || a === null || Array.isArray(a)) fail(['actions', i], 'each action is a mapping {key, name, request, confirm, role}');
      const o = a as Record<string, unknown>;
      for (const k of Object.keys(o)) if (!['key', 'name', 'request', 'confirm', 'role'].includes(k)) fail(['actions', i, k], `unknown key "${k}"; an action takes key, name, request, confirm, role`);
      const key = typeof o.key === 'number' ? String(o.key) : o.key;
      if (typeof key !== 'string' || !ACTION_KEY_RE.test(key)) fail(['actions', i, 'key'], 'must be one key: a printable character (R), ctrl+<letter> or alt+<key>');
      if (typeof o.name !== 'string' || o.name.trim() === '' || o.name.length > 60 || /[\x00-\x1f\x7f]/.test(o.name)) fail(['actions', i, 'name'], 'must be a short name of at most 60 characters, no control characters');
      if (typeof o.request !== 'string') fail(['actions', i, 'request'], 'must be an IPC request template, e.g. "SSH:EXEC:{nodes}:systemctl restart slurmd"');
      const problem = templateProblem(o.request as string);
      if (problem) fail(['actions', i, 'request'], `the template ${problem}`);
      if (o.confirm !== undefined && typeof o.confirm !== 'boolean') fail(['actions', i, 'confirm'], 'must be true or false');
      if (o.role !== undefined && typeof o.role !== 'string') fail(['actions', i, 'role'], 'must be a role name (enforced by vacm serve)');
      if (actions.some((x) => x.key === key)) fail(['actions', i, 'key'], `key ${key as string} is already used by another action`);
      actions.push({ key: key as string, name: (o.name as string).trim(), request: o.request as string, confirm: (o.confirm as boolean | undefined) ?? false, role: o.role as string | undefined, source: where(['actions', i]) });
    });
  }

  // limits: { max_nodes: N }: how many names a node set may expand to (docs/nodeset.md)
  let maxNodes = DEFAULT_MAX_NODES;
  if (top.limits !== undefined) {
    if (typeof top.limits !== 'object' || top.limits === null || Array.isArray(top.limits)) fail(['limits'], 'must be a mapping such as { max_nodes: 2000000 }');
    const lim = top.limits as Record<string, unknown>;
    for (const k of Object.keys(lim)) if (k !== 'max_nodes') fail(['limits', k], `unknown key "${k}"; limits takes max_nodes`);
    const m = lim.max_nodes;
    if (m !== undefined) {
      if (typeof m !== 'number' || !Number.isSafeInteger(m) || m < 1) fail(['limits', 'max_nodes'], `must be a whole number of nodes, at least 1 (default ${DEFAULT_MAX_NODES})`);
      maxNodes = m as number;
    }
  }
  const overLimit = (p: (string | number)[], err: unknown): never => {
    throw new VacmError('ERR_LIMIT', `${where(p)}: ${(err as Error).message}`);
  };

  const nodes = new Map<string, NodeDef>();
  if (top.nodes !== undefined) {
    if (!Array.isArray(top.nodes)) fail(['nodes'], 'must be a list of entries with names:, groups: and vars:');
    (top.nodes as unknown[]).forEach((entry, i) => {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail(['nodes', i], 'each entry must be a mapping with names:');
      const e = entry as Record<string, unknown>;
      for (const k of Object.keys(e)) if (!['names', 'groups', 'vars'].includes(k)) fail(['nodes', i, k], `unknown key "${k}"; an entry takes names, groups, vars`);
      if (typeof e.names !== 'string' || e.names.trim() === '') fail(['nodes', i, 'names'], 'must be a node set such as node[001-064]');
      let names: string[];
      try {
        names = NodeSet.parse(e.names as string, { maxNodes }).expand();
        if (nodes.size + names.length > maxNodes) {
          throw new VacmError('ERR_LIMIT', `nodes: would hold more than ${maxNodes} nodes (the limit); raise limits.max_nodes in vacm.yaml if you mean it`);
        }
      } catch (err) {
        if (err instanceof VacmError && err.code === 'ERR_LIMIT') overLimit(['nodes', i, 'names'], err);
        fail(['nodes', i, 'names'], `bad node set: ${(err as Error).message}`);
      }
      let grp: string[] = [];
      if (e.groups !== undefined) {
        const g = typeof e.groups === 'string' ? [e.groups] : e.groups;
        if (!Array.isArray(g) || g.some((x) => typeof x !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(x))) fail(['nodes', i, 'groups'], 'must be a list of group names (letters, digits, _ . -)');
        const reserved = (g as string[]).find((x) => RESERVED_KEYS.has(x));
        if (reserved) fail(['nodes', i, 'groups'], `"${reserved}" is reserved (${[...RESERVED_KEYS].join(', ')}); choose another group name`);
        grp = g as string[];
      }
      const rawVars: Record<string, string> = Object.create(null);
      if (e.vars !== undefined) {
        if (typeof e.vars !== 'object' || e.vars === null || Array.isArray(e.vars)) fail(['nodes', i, 'vars'], 'must be a mapping of variable: value');
        for (const [k, v] of Object.entries(e.vars as Record<string, unknown>)) {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) fail(['nodes', i, 'vars', k], 'variable names are letters, digits and _');
          if (RESERVED_KEYS.has(k)) fail(['nodes', i, 'vars', k], `"${k}" is reserved (${[...RESERVED_KEYS].join(', ')}); choose another variable name`);
          if (v === null || typeof v === 'object') fail(['nodes', i, 'vars', k], 'must be a string, number or boolean');
          rawVars[k] = String(v);
        }
      }
      // each template read once for the entry, not once per node
      const templates = Object.entries(rawVars).map(([k, v]) => [k, compileTemplate(v)] as const);
      for (const name of names!) {
        const bad = nodeNameProblem(name);
        if (bad) fail(['nodes', i, 'names'], `${bad}: "${name}" refused`);
        const def = nodes.get(name) ?? { name, groups: [], vars: Object.create(null) as Record<string, string> };
        for (const g of grp) if (!def.groups.includes(g)) def.groups.push(g);
        for (const [k, expand] of templates) {
          try {
            def.vars[k] = expand(name);
          } catch (err) {
            fail(['nodes', i, 'vars', k], (err as Error).message);
          }
        }
        nodes.set(name, def);
      }
    });
  }
  for (const def of nodes.values()) for (const g of def.groups) addToGroup(g, def.name);
  if (top.groups !== undefined) {
    if (typeof top.groups !== 'object' || top.groups === null || Array.isArray(top.groups)) fail(['groups'], 'must be a mapping of group: node set');
    for (const [g, v] of Object.entries(top.groups as Record<string, unknown>)) {
      if (!/^[A-Za-z0-9_.-]+$/.test(g)) fail(['groups', g], 'group names are letters, digits, _ . -');
      if (RESERVED_KEYS.has(g)) fail(['groups', g], `"${g}" is reserved (${[...RESERVED_KEYS].join(', ')}); choose another group name`);
      let names: string[];
      try {
        if (typeof v === 'string') names = NodeSet.parse(v, { resolveGroup: (x) => (members.has(x) ? [...members.get(x)!] : undefined), maxNodes }).expand();
        else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) names = v as string[];
        else throw new Error('must be a node set or a list of names');
      } catch (err) {
        fail(['groups', g], (err as Error).message);
      }
      for (const n of names!) {
        if (!nodes.has(n)) fail(['groups', g], `node ${n} is not in nodes:`);
        addToGroup(g, n);
        const def = nodes.get(n)!;
        if (!def.groups.includes(g)) def.groups.push(g);
      }
    }
  }
  const groups: Record<string, string[]> = Object.create(null);
  for (const [g, set] of members) groups[g] = [...set];
  const sections: Record<string, unknown> = Object.create(null);
  for (const k of SECTION_KEYS) if (top[k] !== undefined) sections[k] = top[k];
  for (const schema of sectionSchemas) {
    const bad = sectionProblem(schema, sections[schema.name]);
    if (bad) fail([...bad.path], bad.message);
  }
  return {
    view: { cluster: cluster as string, fanout: fanout as number, source: file, exec: { allow, skipStates, safe }, sections, groups, maxNodes, ...(actions.length ? { actions } : {}) },
    nodes: [...nodes.values()],
  };
}

