/**
 * `console: libvirt`: `virsh console` of the node's domain (libvirt_domain, default the node name;
 * libvirt_uri as POWER uses it). virsh wants a terminal, so it runs under util-linux's `script`,
 * which gives it a pty without a new dependency. `script -c` hands its command to a shell: the
 * command text here is fixed, and the URI and domain reach virsh only as environment variables
 * ("$VACM_LIBVIRT_DOMAIN"), never as shell text.
 */
import { spawn } from 'node:child_process';
import { VacmError } from '../../protocol/errors.js';
import { peerText } from '../../protocol/visible.js';
import { checkLibvirtUri, type LibvirtUriPolicy } from '../power/drivers/libvirt.js';
import type { ConsoleConnection, ConsoleDriver } from './driver.js';

export interface LibvirtConsoleOptions {
  /** `script` (util-linux) */
  script?: string;
  /** virsh, as a command name or path */
  virsh?: string;
  uriPolicy?: LibvirtUriPolicy;
  /** how long virsh may take to say it is connected (default 10 s) */
  connectMs?: number;
}

const MAX_QUEUED = 64 * 1024;

export function createLibvirtConsoleDriver(opts: LibvirtConsoleOptions = {}): ConsoleDriver {
  return {
    name: 'libvirt',
    open(node, vars, o) {
      const domain = vars.libvirt_domain?.trim() || node;
      const uri = vars.libvirt_uri?.trim();
      if (uri) checkLibvirtUri(node, uri, opts.uriPolicy);
      const virsh = opts.virsh ?? 'virsh';
      const cmd = `exec "$VACM_VIRSH" ${uri ? '-c "$VACM_LIBVIRT_URI" ' : ''}console --domain "$VACM_LIBVIRT_DOMAIN"${o.force ? ' --force' : ''}`;
      const env: NodeJS.ProcessEnv = { ...process.env, SHELL: '/bin/sh', LC_ALL: 'C', TERM: 'dumb', VACM_VIRSH: virsh, VACM_LIBVIRT_DOMAIN: domain };
      if (uri) env.VACM_LIBVIRT_URI = uri;
      const child = spawn(opts.script ?? 'script', ['-qefc', cmd, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      const where = `${node} (libvirt domain ${domain})`;
      let closing = false;
      let tail = '';
      let queued = 0;
      const kill = (): void => {
        if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
        try {
          process.kill(-child.pid, 'SIGTERM'); // script, its shell and virsh: the group we made
        } catch {
          /* gone */
        }
      };
      const ended = new Promise<VacmError | undefined>((resolve) => {
        child.once('error', (e) => resolve(new VacmError('ERR_LIBVIRT', `cannot run ${opts.script ?? 'script'} for ${where}'s console: ${e.message}; install util-linux`)));
        child.once('close', (code) => {
          if (closing) return resolve(undefined);
          const said = peerText(tail.trim().split('\n').pop() ?? '', 200);
          if (/active console session exists/i.test(tail)) return resolve(new VacmError('ERR_CONSOLE_BUSY', `${where}: another virsh console is open on this domain; close it, or add FORCE to take it over`));
          resolve(new VacmError('ERR_LIBVIRT', `virsh console of ${where} ended (exit ${code ?? 'signal'})${said ? `: ${said}` : ''}; check libvirt_uri and libvirt_domain, and that the domain has a serial console`));
        });
      });
      const keepTail = (d: Buffer): void => {
        tail = (tail + d.toString('latin1')).slice(-1024);
      };
      child.stderr.on('data', keepTail);
      child.stdin.on('error', () => undefined);
      const onAbort = (): void => {
        closing = true;
        kill();
      };
      o.signal?.addEventListener('abort', onAbort, { once: true });
      const con: ConsoleConnection = {
        write(data) {
          if (closing || child.exitCode !== null) throw new VacmError('ERR_CANCELLED', `the console of ${where} is closed`);
          if (queued + data.length > MAX_QUEUED) throw new VacmError('ERR_LIMIT', `more than ${MAX_QUEUED} bytes are waiting to reach ${where}'s console; wait and send again`);
          queued += data.length;
          child.stdin.write(data, () => {
            queued -= data.length;
          });
        },
        sendBreak() {
          throw new VacmError('ERR_UNSUPPORTED', `${where}: virsh console cannot send a serial break`);
        },
        drained: () => new Promise<void>((resolve) => (queued === 0 ? resolve() : child.stdin.write('', () => resolve()))),
        ended,
        async close() {
          closing = true;
          kill();
          await ended;
        },
      };
      // virsh says "Connected to domain" once the console is open; an error ends it sooner
      return new Promise<ConsoleConnection>((resolve, reject) => {
        let settled = false;
        const timer = setTimeout(() => settle(), opts.connectMs ?? 10_000);
        const settle = (err?: VacmError): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          if (err) {
            o.signal?.removeEventListener('abort', onAbort);
            reject(err);
          } else resolve(con);
        };
        let seen = '';
        child.stdout.on('data', (d: Buffer) => {
          keepTail(d);
          if (!settled) {
            seen = (seen + d.toString('latin1')).slice(-512);
            // virsh's banner ("Connected to domain 'x'", "Escape character is ^]") is not the node's
            const m = /Escape character is [^\n]*\n/.exec(seen);
            if (m) {
              settle();
              const rest = Buffer.from(seen.slice(m.index + m[0].length), 'latin1');
              if (rest.length) o.onData(rest);
            }
            return;
          }
          o.onData(d);
        });
        void ended.then((err) => settle(err ?? new VacmError('ERR_CANCELLED', `console of ${where} closed while opening`)));
      });
    },
  };
}
