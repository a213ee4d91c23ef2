/**
 * Custom actions (`actions:` in vacm.yaml, issue 15 item 5): a key, a name and an IPC request
 * template where `{nodes}` is the marked set (folded) and `{node}` the node under the cursor. Pure:
 * the config checks the template's syntax, the dashboard expands it.
 */
import { parseHead } from './ipc.js';

export interface CustomAction {
  /** one key as the keymaps name it: a printable character, `ctrl+x` or `alt+x` */
  readonly key: string;
  readonly name: string;
  readonly request: string;
  /** ask first even when the request is not dangerous (a dangerous one always asks) */
  readonly confirm: boolean;
  /** who may run it; enforced by `vacm serve` (its roles), stored until then */
  readonly role?: string;
  /** `file:line: actions.N`, for messages */
  readonly source?: string;
}

const PLACEHOLDER = /\{([^{}]*)\}/g;
export const ACTION_KEY_RE = /^(?:[!-~]|ctrl\+[a-z]|alt\+[!-~])$/;

/** Why a template cannot be a request, or undefined when it can (syntax only: the module's existence is checked when the dashboard starts). */
export function templateProblem(template: string): string | undefined {
  if (/[\x00-\x1f\x7f]/.test(template)) return 'contains a control character';
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (m[1] !== 'nodes' && m[1] !== 'node') return `unknown placeholder {${m[1]}}; use {nodes} (the marked nodes) or {node} (the cursor's node)`;
  }
  const probe = expandAction(template, { nodes: 'n1', node: 'n1' });
  if (/[{}]/.test(probe)) return 'has an unbalanced { or }';
  try {
    parseHead(probe);
  } catch (err) {
    return `is not an IPC request (${(err as Error).message})`;
  }
  return undefined;
}

/** The request for these targets. Node names and folded sets hold no `:`, so a substitution never adds a field. */
export function expandAction(template: string, t: { nodes: string; node: string }): string {
  return template.replace(PLACEHOLDER, (whole, what: string) => (what === 'nodes' ? t.nodes : what === 'node' ? t.node : whole));
}

export const usesNodes = (a: Pick<CustomAction, 'request'>): boolean => a.request.includes('{nodes}');
export const usesNode = (a: Pick<CustomAction, 'request'>): boolean => a.request.includes('{node}');
