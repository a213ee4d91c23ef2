/** Which address a node is pinged at, and which addresses are refused. */

/** The address to ping for a node: its `host` variable, else its name. */
export function pingAddress(node: string, vars: Readonly<Record<string, string>>): string {
  const h = vars.host?.trim();
  return h ? h : node;
}

/** any whitespace (a literal inside the function would be a new RegExp object on every call: 1024 a sweep) */
const SPACE = /\s/;

/** An address a pinger would read as an option or a second argument is refused, never passed on. */
export function checkAddress(addr: string): string | undefined {
  if (addr.startsWith('-') || SPACE.test(addr)) return `"${addr}" is not an address or host name; set the node's host variable to one`;
  return undefined;
}
