/**
 * `power: ssh` — soft power only, over the SSH pool (a RemoteExecutor): SOFT runs
 * `systemctl poweroff`, RESET `systemctl reboot`, STATUS asks whether the node answers (`true`).
 * There is no ON: a node that is off has no sshd to ask.
 */
import { VacmError } from '../../../protocol/errors.js';
import type { PowerState } from '../../../protocol/events.js';
import type { PowerDriver, RemoteExecutor } from '../../capabilities.js';
import type { PowerActionName } from '../../../protocol/power.js';

export const SSH_POWER_COMMANDS: Partial<Record<PowerActionName, string>> = {
  soft: 'systemctl poweroff',
  reset: 'systemctl reboot',
  status: 'true',
};

/** What an SSH failure during poweroff/reboot means: the connection dropping is the node going down. */
function droppedByShutdown(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ERR_SSH_CONNECT' || /closed|reset|ECONNRESET|end of stream|disconnect/i.test((err as Error).message ?? '');
}

export function createSshDriver(executor: RemoteExecutor): PowerDriver {
  return {
    name: 'ssh',
    actions: ['soft', 'reset', 'status'],
    async run(action, nodes, { signal, timeoutMs, report }) {
      const command = SSH_POWER_COMMANDS[action];
      await Promise.all(
        nodes.map(async ({ node, vars }) => {
          if (!command) return report(node, new VacmError('ERR_UNSUPPORTED', `the ssh power driver cannot do ${action.toUpperCase()}`));
          if (action === 'status') {
            // answering over SSH means powered on; not answering tells nothing for sure
            try {
              const r = await executor.run(node, vars, command, { signal, timeoutMs });
              report(node, r.code === 0 ? 'on' : 'unknown');
            } catch (err) {
              if (signal.aborted) return report(node, err as Error);
              report(node, 'unknown');
            }
            return;
          }
          // a reboot keeps the power on; after poweroff the node is on its way off, and STATUS will tell
          const after: PowerState = action === 'reset' ? 'on' : 'unknown';
          try {
            const r = await executor.run(node, vars, command, { signal, timeoutMs });
            // the SSH pool reports a connection lost before the exit status as 255 with no stderr:
            // that is the node going down under us, which is what was asked
            if (r.code === 255 && r.stderr.trim() === '') return report(node, after);
            if (r.code !== 0) {
              const why = r.stderr.trim().split('\n').slice(-2).join('; ') || `exit code ${r.code}`;
              return report(node, new VacmError('ERR_EXEC', `${node}: ${command} failed: ${why}; the ssh_user needs the right to run it (root, or a polkit rule)`));
            }
            report(node, after);
          } catch (err) {
            if (!signal.aborted && droppedByShutdown(err)) return report(node, after);
            report(node, err as Error);
          }
        }),
      );
    },
  };
}
