/** `console: ipmi`: Serial over LAN through the node's BMC (bmc_host, bmc_user, bmc_password_*). */
import { VacmError } from '../../protocol/errors.js';
import { IpmiClient, type IpmiClientOptions } from '../ipmi/client.js';
import { openSol, type SolOptions } from '../ipmi/sol.js';
import { bmcTarget } from '../ipmi/target.js';
import type { ConsoleDriver } from './driver.js';

export interface IpmiConsoleOptions {
  /** the client's settings (tests: bindAddress, retryMs) */
  client?: IpmiClientOptions;
  sol?: Pick<SolOptions, 'keepaliveMs' | 'retryMs' | 'tries'>;
  env?: NodeJS.ProcessEnv;
}

export function createIpmiConsoleDriver(opts: IpmiConsoleOptions = {}): ConsoleDriver {
  let client: IpmiClient | undefined;
  // a console's session lives as long as the console: the client's whole-operation deadline is
  // set past any console's life (about 24 days, the timer maximum); the keep-alive notices a dead BMC
  const get = () => (client ??= new IpmiClient({ retries: 2, retryMs: 1000, ...opts.client, timeoutMs: 2_000_000_000 }));
  return {
    name: 'ipmi',
    async open(node, vars, o) {
      if (!vars.bmc_host?.trim()) throw new VacmError('ERR_UNSUPPORTED', `${node} has console: ipmi but no bmc_host; set bmc_host, bmc_user and a bmc_password_* variable`);
      return openSol(get(), bmcTarget(node, vars, opts.env), { ...opts.sol, signal: o.signal, force: o.force, onData: o.onData });
    },
    async dispose() {
      const c = client;
      client = undefined;
      await c?.close();
    },
  };
}
