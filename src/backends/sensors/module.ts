/**
 * SENSORS: temperatures, voltages, fans. `GET:nodes[:type,...]` gives one SENSOR event per sensor
 * (`node:name:value:unit:status`, status as FreeIPMI interprets it). Nodes with a BMC (`bmc_host`)
 * are read over IPMI (src/backends/ipmi/sensors.ts): the SDR repository, cached per BMC, and Get
 * Sensor Reading per full threshold sensor. `power: powerman` nodes without one get their PDU's
 * temperature (`pm -t`). The machine vacm runs on reads its lm-sensors and thermal zones
 * (local.ts); an agent node answers the temperature of its last datagram. Others get
 * ERR_UNSUPPORTED. With `host.monitor`, a quiet poller (poller.ts) keeps the BMC nodes' readings
 * and event logs fresh.
 */
import { VacmError } from '../../protocol/errors.js';
import type { CommandDef, ModuleDef } from '../../protocol/module.js';
import { IpmiClient, MODULE_CLIENT_DEFAULTS, type IpmiClientOptions } from '../ipmi/client.js';
import { SdrCache, readSensors } from '../ipmi/sensors.js';
import { parseSensorTypes } from '../ipmi/sdr.js';
import { bmcTarget } from '../ipmi/target.js';
import { powermanTemps } from '../power/drivers/powerman-temp.js';
import { parseSensorsConfig, type SensorsConfig } from './config.js';
import { AGENT_TEMP_FRESH_MS, localTemperatures, type Temperature } from './local.js';
import { SensorsPoller } from './poller.js';
import type { Providers } from '../capabilities.js';
import { sensorReading } from '../../protocol/node-facts.js';

export interface SensorsModuleOptions {
  /** settings of the module's IPMI client (tests: bindAddress, retryMs) */
  ipmi?: IpmiClientOptions;
  env?: NodeJS.ProcessEnv;
  /** per-node deadline (default: sensors.timeout_ms, 30 s) */
  timeoutMs?: number;
  /** this machine's temperatures (tests pass their own) */
  local?: () => Promise<Temperature[]>;
  /** told about the poller when it starts (tests, diagnostics) */
  onPoller?: (p: SensorsPoller) => void;
  /** which nodes report themselves: the poller leaves them out (default: none) */
  providers?: Providers;
}

export function createSensorsModule(opts: SensorsModuleOptions = {}): ModuleDef & { readonly cache: SdrCache; readonly client: () => IpmiClient } {
  let client: IpmiClient | undefined;
  const get = () => (client ??= new IpmiClient({ ...MODULE_CLIENT_DEFAULTS, ...opts.ipmi }));
  const cache = new SdrCache();
  let cfg: SensorsConfig | undefined;
  let poller: SensorsPoller | undefined;

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
            const view = ctx.host.node(node);
            if (view?.local) {
              const temps = await (opts.local ?? localTemperatures)();
              if (temps.length === 0) throw new VacmError('ERR_UNSUPPORTED', `${node} (this machine) shows no temperature sensors (no lm-sensors hwmon or thermal zone); give it a bmc_host to read its BMC`);
              for (const x of temps) if (!types || types.has(1)) ctx.emit({ type: 'SENSOR', node, name: x.name, value: String(Math.round(x.celsius * 100) / 100), unit: 'C', status: 'na' });
              return;
            }
            const agentTemp = Number(view?.stats?.temp_cpu);
            if (view?.statsTs !== undefined && Date.now() - view.statsTs <= AGENT_TEMP_FRESH_MS && Number.isFinite(agentTemp) && typeof view.stats?.temp_cpu === 'number') {
              if (!types || types.has(1)) ctx.emit({ type: 'SENSOR', node, name: 'CPU Temp', value: String(agentTemp), unit: 'C', status: 'na' });
              return;
            }
            throw new VacmError('ERR_UNSUPPORTED', `${node} has no bmc_host: SENSORS reads sensors from a BMC over IPMI; set bmc_host, bmc_user and a bmc_password_* variable (an agent node answers the temperature of its datagrams)`);
          }
          const t = bmcTarget(node, vars, opts.env);
          const values = await readSensors(get(), t, { cache, types, signal });
          for (const v of values) ctx.emit({ type: 'SENSOR', node, name: v.name, value: v.value, unit: v.unit, status: v.status });
        },
        { timeoutMs: opts.timeoutMs ?? cfg?.timeout_ms ?? 30_000, timeoutMessage: 'the BMC did not answer the sensor read in time; check bmc_host and that the BMC is reachable' },
      );
    },
  };

  return {
    tag: 'SENSORS',
    summary: 'sensor readings (temperature, voltage, fan, ...) from each node\'s BMC',
    commands: [getCmd],
    // a reading is the node's sensors in the store
    facts: { SENSOR: sensorReading },
    cache,
    client: get,
    init(host) {
      // validated at start: a bad sensors: section stops vacm with ERR_CONFIG before anything runs
      const c = (cfg = parseSensorsConfig(host.config.sections.sensors));
      if (!host.monitor || !c.enabled) return;
      poller = new SensorsPoller(host, { intervalMs: c.interval_ms, sel: c.sel, providers: opts.providers });
      poller.start();
      opts.onPoller?.(poller);
    },
    async dispose() {
      const p = poller;
      poller = undefined;
      await p?.stop();
      const c = client;
      client = undefined;
      await c?.close();
    },
  };
}
