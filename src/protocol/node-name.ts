/**
 * What a node name may be: letters, digits, `.`, `_` and `-`, starting with a letter or digit, as
 * agents require (hostnames, and what ClusterShell ranges expand to: `rack1-n01`). A name reaches terminals, shell
 * commands on the head node (hooks), ssh/virsh/powerman arguments and file names: a leading `-` would
 * read as an option, `.`/`..` as a path, a control character as a terminal command. Pure.
 */

export const MAX_NODE_NAME_LENGTH = 253;
const NODE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Why `name` is not a node name (for an error message), or undefined when it is one. */
export function nodeNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'a node name cannot be empty';
  if (name.length > MAX_NODE_NAME_LENGTH) return `a node name is at most ${MAX_NODE_NAME_LENGTH} characters (this one has ${name.length})`;
  if (!NODE_NAME_RE.test(name)) return 'a node name is letters, digits, . _ and -, and starts with a letter or digit';
  return undefined;
}

export function isNodeName(name: string): boolean {
  return nodeNameProblem(name) === undefined;
}
