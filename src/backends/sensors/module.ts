/**
 * SENSORS: temperatures, voltages, fans. `GET:nodes[:type,...]` gives one SENSOR event per sensor
 * (`node:name:value:unit:status`, status as FreeIPMI interprets it). Nodes with a BMC (`bmc_host`)
 * are read over IPMI (src/backends/ipmi/sensors.ts): the SDR repository, cached per BMC, and Get
 * Sensor Reading per full threshold sensor. `power: powerman` nodes without one get their PDU's
 * temperature (`pm -t`). Other nodes get ERR_UNSUPPORTED for now.
 */
import { VacmError } from '../../protocol/errors.js';
import type { CommandDef, ModuleDef } from '../../protocol/module.js';
import { IpmiClient, MODULE_CLIENT_DEFAULTS, type IpmiClientOptions } from '../ipmi/client.js';
import { SdrCache, readSensors } from '../ipmi/sensors.js';
import { parseSensorTypes } from '../ipmi/sdr.js';
import { bmcTarget } from '../ipmi/target.js';
import { powermanTemps } from '../power/drivers/powerman-temp.js';

export interface SensorsModuleOptions {
  /** settings of the module's IPMI client (tests: bindAddress, retryMs) */
  ipmi?: IpmiClientOptions;
  env?: NodeJS.ProcessEnv;
  /** per-node deadline (default 30 s) */
  timeoutMs?: number;
}

export function createSensorsModule(opts: SensorsModuleOptions = {}): ModuleDef & { readonly cache: SdrCache; readonly client: () => IpmiClient } {
  let client: IpmiClient | undefined;
  const get = () => (client ??= new IpmiClient({ ...MODULE_CLIENT_DEFAULTS, ...opts.ipmi }));
  const cache = new SdrCache();

  const getCmd: CommandDef = {
    name: 'GET',
    summary: 'read the sensors of each node\'s BMC: one SENSOR event per sensor (name, value, unit, nominal|warning|critical|na)',
    nodes: 'required',
    args: [{ name: 'types', optional: true }],
    lane: 'bulk',
    dangerous: false,
    validate(req) {
      if (req.named.types) parseSensorTypes(req.named.types);
    },
    async run(ctx) {
      const types = ctx.args.types ? parseSensorTypes(ctx.args.types) : undefined;
      // powerman nodes without a BMC: the PDU's `temp`, one query per powermand
      const pdu = powermanTemps(ctx.nodes.map((n) => ({ node: n, vars: ctx.host.vars(n) })).filter((n) => !n.vars.bmc_host?.trim() && n.vars.power?.trim() === 'powerman'), ctx.signal);
      await ctx.forEachNode(
        ctx.nodes,
        async ({ node, vars, signal }) => {
          if (!vars.bmc_host?.trim() && vars.power?.trim() === 'powerman') {
            if (types && !types.has(1)) return; // 1: temperature
            const v = await pdu.read(node, vars);
            ctx.emit({ type: 'SENSOR', node, ...v });
            return;
          }
          if (!vars.bmc_host?.trim()) {
            throw new VacmError('ERR_UNSUPPORTED', `${node} has no bmc_host: SENSORS reads sensors from a BMC over IPMI; set bmc_host, bmc_user and a bmc_password_* variable`);
          }
          const t = bmcTarget(node, vars, opts.env);
          const values = await readSensors(get(), t, { cache, types, signal });
          for (const v of values) ctx.emit({ type: 'SENSOR', node, name: v.name, value: v.value, unit: v.unit, status: v.status });
        },
        { timeoutMs: opts.timeoutMs ?? 30_000, timeoutMessage: 'the BMC did not answer the sensor read in time; check bmc_host and that the BMC is reachable' },
      );
    },
  };

  return {
    tag: 'SENSORS',
    summary: 'sensor readings (temperature, voltage, fan, ...) from each node\'s BMC',
    commands: [getCmd],
    cache,
    client: get,
    async dispose() {
      const c = client;
      client = undefined;
      await c?.close();
    },
  };
}
