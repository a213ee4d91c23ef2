/**
 * `power: libvirt` — virtual machines through virsh: `virsh -c <libvirt_uri> "<action> --domain D;
 * domstate --domain D"`, one virsh per node (spawned with execFile, never a shell), so the state
 * after the action is read in the same libvirt connection. Node variables: libvirt_uri (default:
 * virsh's own, $LIBVIRT_DEFAULT_URI or qemu:///system), libvirt_domain (default the node name).
 *
 * ON start, OFF destroy, CYCLE destroy then start, RESET reset, SOFT shutdown (ACPI: a guest without
 * an OS ignores it), STATUS domstate.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VacmError } from '../../../protocol/errors.js';
import type { PowerState } from '../../../protocol/events.js';
import type { PowerDriver } from '../../capabilities.js';
import { MAX_DOMAIN_XML, readBootOrder, setBootOrder } from './libvirt-boot.js';
import type { PowerActionName } from '../../../protocol/power.js';

const VIRSH_COMMANDS: Record<PowerActionName, string[]> = {
  on: ['start'],
  off: ['destroy'],
  cycle: ['destroy', 'start'],
  reset: ['reset'],
  soft: ['shutdown'],
  status: [],
};

const EXPECTED: Partial<Record<PowerActionName, PowerState>> = { on: 'on', off: 'off', cycle: 'on', reset: 'on' };

/** virsh domstate words → power state (a paused or suspended domain still holds its power). */
export function domstateToPower(s: string): PowerState {
  const t = s.trim().toLowerCase();
  if (['running', 'idle', 'blocked', 'paused', 'in shutdown', 'pmsuspended'].includes(t)) return 'on';
  if (['shut off', 'crashed'].includes(t)) return 'off';
  return 'unknown';
}

/** A domain name as one word of virsh's own command-line parser. */
export function virshQuote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The command string for one node: the action's virsh commands, then domstate. */
export function virshScript(action: PowerActionName, domain: string): string {
  const d = virshQuote(domain);
  return [...VIRSH_COMMANDS[action], 'domstate'].map((c) => `${c} --domain ${d}`).join('; ');
}

/**
 * What a node's libvirt_uri may ask of the machine vacm runs on. libvirt's `ext` transport runs the
 * program named by `command=` (as root, on POWER:STATUS, even read-only); `command=` also picks the
 * ssh program, `netcat=` what runs on the far side, `socket=` a local socket, `no_verify=` and
 * `known_hosts_verify=` switch certificate and host key checks off. A variable is changed at run
 * time by SET_VAR, so the URI is checked on every use; only the config can open more.
 */
export interface LibvirtUriPolicy {
  /** transports allowed beyond SAFE_TRANSPORTS (e.g. ext) */
  allowTransports: readonly string[];
  /** URI parameters allowed beyond SAFE_URI_PARAMS (e.g. socket) */
  allowUriParams: readonly string[];
}

export const SAFE_TRANSPORTS: readonly string[] = ['unix', 'ssh', 'tcp', 'tls', 'libssh', 'libssh2'];
export const SAFE_URI_PARAMS: readonly string[] = ['name', 'mode', 'proxy', 'keyfile', 'sshauth', 'no_tty'];
export const DEFAULT_URI_POLICY: LibvirtUriPolicy = { allowTransports: [], allowUriParams: [] };

const OPT_IN = 'power.drivers.libvirt';
// driver[+transport]://[user@][host][:port][/path][?params][#fragment]
const URI_RE = /^([A-Za-z][A-Za-z0-9.-]*)(?:\+([A-Za-z0-9]+))?:\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#.*)?$/;
// an alias from the operator's own libvirt.conf (uri_aliases)
const ALIAS_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** %XX decoded, as libvirt decodes URI parameters before it looks at them. */
function unescapeUri(s: string): string {
  return s.replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** Throws ERR_CONFIG naming the node and the variable when `uri` asks for something not allowed. */
export function checkLibvirtUri(node: string, uri: string, policy: LibvirtUriPolicy = DEFAULT_URI_POLICY): void {
  const refuse = (why: string): never => {
    throw new VacmError('ERR_CONFIG', `${node}: libvirt_uri ${JSON.stringify(uri)} ${why}`);
  };
  if (/[\x00-\x20\x7f-\x9f]/.test(uri)) refuse('contains spaces or control characters; fix it with NEXXUS:SET_VAR');
  if (ALIAS_RE.test(uri)) return;
  const m = URI_RE.exec(uri);
  if (!m) refuse('is not a libvirt URI: driver[+transport]://[user@][host][:port]/path[?param=value], e.g. qemu+ssh://root@host/system');
  const [, , transportRaw, authority, , query] = m!;
  const transport = transportRaw?.toLowerCase();
  if (transport !== undefined && !SAFE_TRANSPORTS.includes(transport) && !policy.allowTransports.includes(transport)) {
    refuse(`uses the ${transport} transport${transport === 'ext' ? ', which runs a local program' : ''}; vacm takes ${SAFE_TRANSPORTS.join(', ')} (${OPT_IN}.allow_transports: [${transport}] in the config allows it)`);
  }
  const at = authority.lastIndexOf('@');
  const user = unescapeUri(at >= 0 ? authority.slice(0, at) : '');
  const hostPort = unescapeUri(at >= 0 ? authority.slice(at + 1) : authority);
  const host = hostPort.startsWith('[') ? hostPort.slice(0, hostPort.indexOf(']') + 1) : hostPort.replace(/:\d*$/, '');
  if (!/^(?:[A-Za-z0-9._~-]*)$/.test(user) || user.startsWith('-')) refuse(`has a bad user name "${user}"`);
  if (!/^(?:[A-Za-z0-9._-]*|\[[0-9A-Fa-f:.]+\])$/.test(host) || host.startsWith('-')) refuse(`has a bad host name "${host}": letters, digits, . _ - or [IPv6]`);
  for (const part of (query ?? '').split(/[&;]/)) {
    const eq = part.indexOf('=');
    const name = unescapeUri(eq >= 0 ? part.slice(0, eq) : part).trim().toLowerCase();
    if (name === '' || SAFE_URI_PARAMS.includes(name) || policy.allowUriParams.includes(name)) continue;
    refuse(`has the parameter ${name}=, which vacm refuses${['command', 'netcat'].includes(name) ? ' (it names a program to run)' : ''}; the allowed ones are ${SAFE_URI_PARAMS.join(', ')} (${OPT_IN}.allow_uri_params: [${name}] in the config allows it)`);
  }
}

export interface LibvirtDriverOptions {
  /** the virsh program (tests) */
  virsh?: string;
  /** at most this many virsh processes at once (default 16) */
  concurrency?: number;
  /** what a libvirt_uri may ask for (default: the safe transports and parameters only) */
  uriPolicy?: LibvirtUriPolicy;
}

function virsh(bin: string, args: string[], signal: AbortSignal): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { signal, env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 2 * MAX_DOMAIN_XML }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new VacmError('ERR_LIBVIRT', `${bin} not found; install libvirt-clients (virsh)`));
      }
      if (err && err.name === 'AbortError') return reject(new VacmError('ERR_CANCELLED', 'cancelled'));
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ stdout: String(stdout), stderr: String(stderr), code });
    });
  });
}

function errorLines(stderr: string): string {
  return stderr.split('\n').map((l) => l.replace(/^error:\s*/, '').trim()).filter(Boolean).join('; ');
}

/** The domain XML in virsh's output (after `define`'s own line, if any). */
function domainXml(stdout: string): string {
  const a = stdout.indexOf('<domain');
  const b = stdout.lastIndexOf('</domain>');
  return a >= 0 && b > a ? stdout.slice(a, b + '</domain>'.length) : '';
}

export function createLibvirtDriver(opts: LibvirtDriverOptions = {}): PowerDriver {
  const bin = opts.virsh ?? 'virsh';
  const limit = Math.max(1, opts.concurrency ?? 16);
  const policy = opts.uriPolicy ?? DEFAULT_URI_POLICY;
  /** virsh with the node's URI; ERR_LIBVIRT with virsh's message (or "set libvirt_domain") when it fails */
  const call = async (node: string, vars: Readonly<Record<string, string>>, script: string, signal: AbortSignal) => {
    const domain = vars.libvirt_domain?.trim() || node;
    const uri = vars.libvirt_uri?.trim();
    if (uri) checkLibvirtUri(node, uri, policy);
    const where = uri ? `libvirt at ${uri}` : 'libvirt (virsh\'s default URI)';
    const r = await virsh(bin, [...(uri ? ['-c', uri] : []), '-q', script], signal);
    if (r.code !== 0) {
      const missing = /failed to get domain|Domain not found/i.test(r.stderr);
      throw new VacmError('ERR_LIBVIRT', missing ? `${where} has no domain ${domain}; set libvirt_domain to its name (virsh list --all shows them)` : `${where}: ${errorLines(r.stderr) || `virsh exited with ${r.code}`}`);
    }
    return r.stdout;
  };
  return {
    name: 'libvirt',
    actions: ['on', 'off', 'cycle', 'reset', 'soft', 'status'],
    /**
     * The domain's boot order: dumpxml --inactive, the order rewritten, then define and dumpxml
     * again in one virsh (the read-back is what libvirt keeps). The XML goes through a private
     * temporary file, removed after.
     */
    async bootDevice(node, vars, set, signal) {
      const domain = vars.libvirt_domain?.trim() || node;
      const dumpxml = `dumpxml --inactive --domain ${virshQuote(domain)}`;
      const before = domainXml(await call(node, vars, dumpxml, signal));
      if (!set) return readBootOrder(before, domain);
      const xml = setBootOrder(before, domain, set);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-bootdev-'));
      try {
        const file = path.join(dir, 'domain.xml');
        fs.writeFileSync(file, xml, { mode: 0o600 });
        return readBootOrder(domainXml(await call(node, vars, `define --file ${virshQuote(file)}; ${dumpxml}`, signal)), domain);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    async run(action, nodes, { signal, report }) {
      let next = 0;
      const one = async (node: string, vars: Readonly<Record<string, string>>) => {
        const domain = vars.libvirt_domain?.trim() || node;
        const uri = vars.libvirt_uri?.trim();
        if (uri) checkLibvirtUri(node, uri, policy);
        const where = uri ? `libvirt at ${uri}` : 'libvirt (virsh\'s default URI)';
        const args = [...(uri ? ['-c', uri] : []), '-q', virshScript(action, domain)];
        const r = await virsh(bin, args, signal);
        const lines = r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
        const last = lines.at(-1);
        const errs = errorLines(r.stderr);
        if (r.code !== 0 || last === undefined) {
          const missing = /failed to get domain|Domain not found/i.test(r.stderr);
          throw new VacmError('ERR_LIBVIRT', missing
            ? `${where} has no domain ${domain}; set libvirt_domain to its name (virsh list --all shows them)`
            : `${where}: ${errs || `virsh exited with ${r.code}`}`);
        }
        const state = domstateToPower(last);
        const expected = EXPECTED[action];
        // an action that failed is fine when the domain is where it was asked to be (start of a running one)
        if (errs && ((expected !== undefined && state !== expected) || (action === 'soft' && state !== 'off'))) {
          throw new VacmError('ERR_LIBVIRT', `${where} could not ${VIRSH_COMMANDS[action].join(' + ')} ${domain}: ${errs}; it is ${last}`);
        }
        return state;
      };
      const worker = async () => {
        while (next < nodes.length && !signal.aborted) {
          const { node, vars } = nodes[next++];
          try {
            report(node, await one(node, vars));
          } catch (err) {
            report(node, err as Error);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(limit, nodes.length) }, worker));
    },
  };
}
