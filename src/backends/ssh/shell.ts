/**
 * The dashboard's `S`: the system `ssh` to one node, with the settings the pool resolved for it
 * (host, port, user, identities, known hosts, host-key checking, agent, connect timeout), as one
 * argv array — never a shell string. Names and variables are hostile: a host or user that ssh
 * could read as an option, or that holds whitespace or control characters, is refused
 * (ERR_BAD_ARGS) instead of being passed on. Pure: the CLI spawns it.
 */
import { VacmError } from '../../protocol/errors.js';
import { escapeControls } from '../../protocol/visible.js';
import type { SshTarget } from './targets.js';

// eslint-disable-next-line no-control-regex
const BAD_WORD = /[\s\x00-\x1f\x7f-\x9f]/;
// eslint-disable-next-line no-control-regex
const BAD_PATH = /[\x00-\x1f\x7f-\x9f"]/;

function shown(s: string): string {
  return JSON.stringify(escapeControls(s.length > 80 ? `${s.slice(0, 80)}…` : s));
}

/** A value ssh takes as one word (a host, a user): no leading `-`, no whitespace or controls, not empty. */
function word(what: string, v: string, node: string, fix: string): string {
  if (v === '' || v.startsWith('-') || BAD_WORD.test(v)) {
    throw new VacmError('ERR_BAD_ARGS', `${what} ${shown(v)} of ${shown(node)} is not one plain word (it is empty, starts with "-" or holds spaces or control characters): ssh is not started with it; ${fix}`);
  }
  return v;
}

/**
 * A file path for ssh: `%` doubled (ssh expands %-tokens in -i and UserKnownHostsFile; the pool
 * expanded them already), and double-quoted for `-o` values, which ssh splits at spaces.
 */
function file(what: string, p: string, node: string, quote: boolean): string {
  if (BAD_PATH.test(p)) throw new VacmError('ERR_BAD_ARGS', `${what} ${shown(p)} of ${shown(node)} holds a quote or a control character: ssh is not started with it; rename the file or fix the variable`);
  const v = p.replace(/%/g, '%%');
  return quote ? `"${v}"` : v;
}

export interface ShellOptions {
  /** the OpenSSH client config the pool honours (false: none, undefined: ssh's default ~/.ssh/config) */
  configFile?: string | false;
}

/** The argv (without `ssh` itself) that opens an interactive login on the target. */
export function shellArgv(t: SshTarget, opts: ShellOptions = {}): string[] {
  const host = word('the host', t.host, t.node, `fix the node's host variable (NEXXUS:SET_VAR:<node>:host:<address>)`);
  const user = word('the user', t.user, t.node, 'fix ssh_user or ssh.user');
  if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535) throw new VacmError('ERR_BAD_ARGS', `the port ${t.port} of ${shown(t.node)} is not 1-65535`);
  const argv: string[] = [];
  if (opts.configFile === false) argv.push('-F', 'none');
  else if (opts.configFile !== undefined) argv.push('-F', file('the ssh config', opts.configFile, t.node, false));
  argv.push('-p', String(t.port), '-l', user);
  // the default identities are ssh's own defaults too: naming them would only add warnings for missing files
  if (!t.defaultIdentities) for (const id of t.identities) argv.push('-i', file('the identity', id, t.node, false));
  if (t.knownHosts.length > 0) argv.push('-o', `UserKnownHostsFile=${t.knownHosts.map((k) => file('the known_hosts file', k, t.node, true)).join(' ')}`);
  argv.push('-o', `StrictHostKeyChecking=${t.strict}`);
  if (!t.agent) argv.push('-o', 'IdentityAgent=none');
  argv.push('-o', `ConnectTimeout=${Math.max(1, Math.ceil(t.connectTimeoutMs / 1000))}`);
  argv.push('--', host);
  return argv;
}
