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
import { VacmError } from '../../../protocol/errors.js';
import type { PowerState } from '../../../protocol/events.js';
import type { PowerAction, PowerDriver } from '../../capabilities.js';

const VIRSH_COMMANDS: Record<PowerAction, string[]> = {
  on: ['start'],
  off: ['destroy'],
  cycle: ['destroy', 'start'],
  reset: ['reset'],
  soft: ['shutdown'],
  status: [],
};

const EXPECTED: Partial<Record<PowerAction, PowerState>> = { on: 'on', off: 'off', cycle: 'on', reset: 'on' };

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
export function virshScript(action: PowerAction, domain: string): string {
  const d = virshQuote(domain);
  return [...VIRSH_COMMANDS[action], 'domstate'].map((c) => `${c} --domain ${d}`).join('; ');
}

export interface LibvirtDriverOptions {
  /** the virsh program (tests) */
  virsh?: string;
  /** at most this many virsh processes at once (default 16) */
  concurrency?: number;
}

function virsh(bin: string, args: string[], signal: AbortSignal): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { signal, env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
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

export function createLibvirtDriver(opts: LibvirtDriverOptions = {}): PowerDriver {
  const bin = opts.virsh ?? 'virsh';
  const limit = Math.max(1, opts.concurrency ?? 16);
  return {
    name: 'libvirt',
    actions: ['on', 'off', 'cycle', 'reset', 'soft', 'status'],
    async run(action, nodes, { signal, report }) {
      let next = 0;
      const one = async (node: string, vars: Readonly<Record<string, string>>) => {
        const domain = vars.libvirt_domain?.trim() || node;
        const uri = vars.libvirt_uri?.trim();
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
