/**
 * POWER:IDENTIFY and POWER:BOOTDEV, through each node's power driver: `identify` (ipmi: Chassis
 * Identify; powerman: the PDU's beacon, flash/unflash) and `bootDevice` (ipmi: System Boot Options
 * parameter 5; libvirt: the domain's boot order). A driver without the method answers
 * ERR_UNSUPPORTED for its nodes; POWER_DRIVER_EXTRAS (src/protocol/power.ts) says the same to the UI.
 */
import { VacmError } from '../../protocol/errors.js';
import type { Request } from '../../protocol/ipc.js';
import type { CommandDef, NodeVars } from '../../protocol/module.js';
import { parseBootDevice, parseIdentify, POWER_DRIVERS, POWER_DRIVER_EXTRAS, type PowerDriverName } from '../../protocol/power.js';
import type { PowerDriver } from '../capabilities.js';

/** Where the commands get a node's driver (the POWER module's, so sessions and settings are shared). */
export interface DriverSource {
  driverOf(node: string, vars: NodeVars): PowerDriver;
}

const PER_NODE = { timeoutMs: 30_000, timeoutMessage: 'the power controller did not answer in time; check that it is reachable (bmc_host, powerman_server, libvirt_uri)' };

function withExtra(name: string): string {
  const ds = POWER_DRIVERS.filter((d) => POWER_DRIVER_EXTRAS[d as PowerDriverName].includes(name === 'IDENTIFY' ? 'identify' : 'bootdev'));
  return ds.map((d) => `power: ${d}`).join(' or ');
}

function unsupported(node: string, driver: PowerDriver, what: 'IDENTIFY' | 'BOOTDEV'): VacmError {
  return new VacmError('ERR_UNSUPPORTED', `${node} has power: ${driver.name}, which cannot do ${what}; ${what} works with ${withExtra(what)}`);
}

export function createExtraCommands(drivers: DriverSource): CommandDef[] {
  const bootArgs = (req: Request) => [req.named.device, req.named.opt1, req.named.opt2];

  const identify: CommandDef = {
    name: 'IDENTIFY',
    summary: 'light the identify LED (ipmi) or the PDU beacon (powerman): on, off or for SECONDS (1-255, ipmi)',
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
        const d = drivers.driverOf(node, vars);
        if (!d.identify) throw unsupported(node, d, 'IDENTIFY');
        ctx.emit({ type: 'IDENTIFY', node, state: await d.identify(node, vars, mode, signal) });
      }, PER_NODE);
    },
  };

  const bootdev: CommandDef = {
    name: 'BOOTDEV',
    summary: 'set the next boot device (pxe, disk, cdrom, bios, default[:persistent][:efi]), or read it back without one (ipmi, libvirt)',
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
        const d = drivers.driverOf(node, vars);
        if (!d.bootDevice) throw unsupported(node, d, 'BOOTDEV');
        const f = await d.bootDevice(node, vars, set, signal);
        ctx.emit({ type: 'BOOTDEV', node, device: f.device, persistence: f.persistent ? 'persistent' : 'once', efi: f.efi });
      }, PER_NODE);
    },
  };

  return [identify, bootdev];
}
