/**
 * `power: ipmi` — IPMI v2.0 RMCP+ (lanplus) through the native client: one UDP socket for every
 * BMC the module drives, one session per BMC kept warm between operations. Node variables: bmc_host, bmc_port (623),
 * bmc_user, and the password from bmc_password_env / bmc_password_file / bmc_password.
 */
import { VacmError } from '../../../protocol/errors.js';
import type { NodeVars } from '../../../protocol/module.js';
import type { PowerState } from '../../../protocol/events.js';
import type { PowerAction, PowerDriver } from '../../capabilities.js';
import { IpmiClient, MODULE_CLIENT_DEFAULTS, type BmcTarget, type IpmiClientOptions } from '../../ipmi/client.js';
import { bmcPassword } from '../settings.js';

export interface IpmiDriverOptions {
  /** client settings (retries, retryMs, bindAddress); the module's per-node timeouts bound each operation */
  client?: IpmiClientOptions;
  /** the client SENSORS and SEL use too (its sessions stay warm across modules); its owner closes it */
  shared?: () => IpmiClient;
  env?: NodeJS.ProcessEnv;
}

/** The BMC of a node from its variables; ERR_CONFIG names the variable to set. */
export function bmcTarget(node: string, vars: NodeVars, env: NodeJS.ProcessEnv = process.env): BmcTarget {
  const host = vars.bmc_host?.trim();
  if (!host) throw new VacmError('ERR_CONFIG', `${node}: power: ipmi needs bmc_host (the BMC's address)`);
  const user = vars.bmc_user;
  if (user === undefined) throw new VacmError('ERR_CONFIG', `${node}: power: ipmi needs bmc_user (the BMC account with administrator privilege)`);
  let port: number | undefined;
  if (vars.bmc_port !== undefined) {
    port = Number(vars.bmc_port);
    if (!/^\d+$/.test(vars.bmc_port.trim()) || port < 1 || port > 65535) throw new VacmError('ERR_CONFIG', `${node}: bmc_port is "${vars.bmc_port}"; set it to a UDP port from 1 to 65535 (623 is IPMI's)`);
  }
  return { host, port, user, password: bmcPassword(node, vars, env) };
}

const IDEMPOTENT: ReadonlySet<PowerAction> = new Set<PowerAction>(['status', 'on', 'off']);

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
    async close() {
      const c = client;
      client = undefined;
      await c?.close();
    },
  };
}
