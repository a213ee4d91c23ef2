/**
 * `power: ipmi` — IPMI v2.0 RMCP+ (lanplus) through the native client: one UDP socket for every
 * BMC the module drives, one session per BMC kept warm between operations. Node variables: bmc_host, bmc_port (623),
 * bmc_user, and the password from bmc_password_env / bmc_password_file / bmc_password.
 */
import { VacmError } from '../../../protocol/errors.js';
import type { NodeVars } from '../../../protocol/module.js';
import type { PowerState } from '../../../protocol/events.js';
import type { PowerDriver } from '../../capabilities.js';
import { identifyText, type PowerActionName } from '../../../protocol/power.js';
import { IpmiClient, MODULE_CLIENT_DEFAULTS, type IpmiClientOptions } from '../../ipmi/client.js';
import { bmcTarget } from '../../ipmi/target.js';

export interface IpmiDriverOptions {
  /** client settings (retries, retryMs, bindAddress); the module's per-node timeouts bound each operation */
  client?: IpmiClientOptions;
  /** the client SENSORS and SEL use too (its sessions stay warm across modules); its owner closes it */
  shared?: () => IpmiClient;
  env?: NodeJS.ProcessEnv;
}

const IDEMPOTENT: ReadonlySet<PowerActionName> = new Set<PowerActionName>(['status', 'on', 'off']);

export function createIpmiDriver(opts: IpmiDriverOptions = {}): PowerDriver {
  let client: IpmiClient | undefined;
  const get = () => opts.shared?.() ?? (client ??= new IpmiClient({ ...MODULE_CLIENT_DEFAULTS, ...opts.client }));
  return {
    name: 'ipmi',
    actions: ['on', 'off', 'cycle', 'reset', 'soft', 'status'],
    async run(action, nodes, { signal, report }) {
      const ipmi = get();
      await Promise.all(
        nodes.map(async ({ node, vars }) => {
          try {
            const t = bmcTarget(node, vars, opts.env);
            const once = async (): Promise<PowerState> => {
              if (action === 'status') return ipmi.powerStatus(t, signal);
              await ipmi.chassisControl(t, action, signal);
              // the BMC accepted the command: on/cycle/reset end powered on; a soft shutdown is up to the OS
              return action === 'off' ? 'off' : action === 'soft' ? 'unknown' : 'on';
            };
            try {
              report(node, await once());
            } catch (err) {
              // a BMC too busy to answer every try (a loaded BMC, a lossy link) is asked once more when
              // doing it twice is harmless; the module's per-node timeout still bounds the wait
              if (!IDEMPOTENT.has(action) || signal.aborted || (err as VacmError).code !== 'ERR_TIMEOUT') throw err;
              report(node, await once());
            }
          } catch (err) {
            report(node, err as Error);
          }
        }),
      );
    },
    async identify(node, vars, mode, signal) {
      await get().identify(bmcTarget(node, vars, opts.env), mode, signal);
      return identifyText(mode);
    },
    async bootDevice(node, vars, set, signal) {
      const t = bmcTarget(node, vars, opts.env);
      if (set) await get().setBootDevice(t, set, signal);
      return get().getBootDevice(t, signal);
    },
    async close() {
      const c = client;
      client = undefined;
      await c?.close();
    },
  };
}
