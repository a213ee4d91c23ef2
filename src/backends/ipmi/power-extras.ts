/**
 * POWER:IDENTIFY and POWER:BOOTDEV for `power: ipmi` nodes (chassis identify, Set/Get System Boot
 * Options parameter 5). Other power drivers answer ERR_UNSUPPORTED per node for now.
 */
import { VacmError } from '../../protocol/errors.js';
import type { Request } from '../../protocol/ipc.js';
import type { CommandDef, NodeVars } from '../../protocol/module.js';
import { IpmiClient, MODULE_CLIENT_DEFAULTS, type IpmiClientOptions } from './client.js';
import { identifyText, parseBootDevice, parseIdentify } from './chassis.js';
import { bmcTarget } from '../power/drivers/ipmi.js';

export interface IpmiExtras {
  commands: CommandDef[];
  close(): Promise<void>;
}

const PER_NODE = { timeoutMs: 30_000, timeoutMessage: 'the BMC did not answer in time; check bmc_host and that the BMC is reachable' };

export function createIpmiExtras(opts: { client?: IpmiClientOptions; shared?: () => IpmiClient; env?: NodeJS.ProcessEnv } = {}): IpmiExtras {
  let client: IpmiClient | undefined;
  const get = () => opts.shared?.() ?? (client ??= new IpmiClient({ ...MODULE_CLIENT_DEFAULTS, ...opts.client }));
  const target = (node: string, vars: NodeVars, what: string) => {
    if (vars.power?.trim() !== 'ipmi') throw new VacmError('ERR_UNSUPPORTED', `${node} has power: ${vars.power?.trim() || 'none'}; ${what} works only with power: ipmi for now`);
    return bmcTarget(node, vars, opts.env);
  };
  const bootArgs = (req: Request) => [req.named.device, req.named.opt1, req.named.opt2];

  const identify: CommandDef = {
    name: 'IDENTIFY',
    summary: 'light the chassis identify LED: on, off or for SECONDS (1-255)',
    nodes: 'required',
    args: [{ name: 'mode' }],
    lane: 'control',
    dangerous: false,
    validate(req) {
      parseIdentify(req.named.mode);
    },
    async run(ctx) {
      const mode = parseIdentify(ctx.args.mode);
      await ctx.forEachNode(ctx.nodes, async ({ node, vars, signal }) => {
        await get().identify(target(node, vars, 'IDENTIFY'), mode, signal);
        ctx.emit({ type: 'IDENTIFY', node, state: identifyText(mode) });
      }, PER_NODE);
    },
  };

  const bootdev: CommandDef = {
    name: 'BOOTDEV',
    summary: 'set the next boot device (pxe, disk, cdrom, bios, default[:persistent][:efi]), or read it back without one',
    nodes: 'required',
    args: [{ name: 'device', optional: true }, { name: 'opt1', optional: true }, { name: 'opt2', optional: true }],
    lane: 'control',
    dangerous: (req) => (req.named.device ?? '') !== '',
    validate(req) {
      if ((req.named.device ?? '') !== '') parseBootDevice(bootArgs(req));
      else if (req.named.opt1 || req.named.opt2) throw new VacmError('ERR_BAD_ARGS', 'give the boot device before persistent or efi');
    },
    async run(ctx) {
      const set = (ctx.args.device ?? '') !== '' ? parseBootDevice(bootArgs(ctx.request)) : undefined;
      await ctx.forEachNode(ctx.nodes, async ({ node, vars, signal }) => {
        const t = target(node, vars, 'BOOTDEV');
        if (set) await get().setBootDevice(t, set, signal);
        const f = await get().getBootDevice(t, signal);
        ctx.emit({ type: 'BOOTDEV', node, device: f.device === 'default' ? 'default' : f.device, persistence: f.persistent ? 'persistent' : 'once', efi: f.efi });
      }, PER_NODE);
    },
  };

  return {
    commands: [identify, bootdev],
    async close() {
      const c = client;
      client = undefined;
      await c?.close();
    },
  };
}
