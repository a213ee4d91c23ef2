/**
 * Temperatures of `power: powerman` nodes as SENSORS readings: powermand's `temp` (what `pm -t`
 * prints), one query per server for all the request's plugs on it, made when its first node asks.
 * The reading is one sensor per node, `powerman temp`, in degrees C as the PDU reports it, with no
 * thresholds (status `na`): powerman passes the device's number on and says nothing of limits.
 */
import { VacmError } from '../../../protocol/errors.js';
import type { NodeVars } from '../../../protocol/module.js';
import { formatValue } from '../../ipmi/sdr.js';
import { powermanPlug, powermanQuery } from './powerman.js';

export const POWERMAN_TEMP_SENSOR = 'powerman temp';

export interface SensorReading {
  name: string;
  value: string;
  unit: string;
  status: string;
}

/** powermand's word for a temperature (`83`, `35.5`, `35 C`) as a reading; anything else is `na`. */
export function tempReading(text: string): SensorReading {
  const m = /^(-?\d{1,4}(?:\.\d{1,3})?)(?:\s*(?:°\s*)?C)?$/i.exec(text.trim());
  return { name: POWERMAN_TEMP_SENSOR, value: m ? formatValue(Number(m[1])) : 'na', unit: 'C', status: 'na' };
}

/** The temperatures of one request: `read` answers a node from its server's one query. */
export function powermanTemps(nodes: readonly { node: string; vars: NodeVars }[], signal: AbortSignal): { read(node: string, vars: NodeVars): Promise<SensorReading> } {
  const byServer = new Map<string, string[]>();
  for (const { node, vars } of nodes) {
    try {
      const { server, plug } = powermanPlug(node, vars);
      byServer.set(server, [...(byServer.get(server) ?? []), plug]);
    } catch {
      // that node's read says why
    }
  }
  const queries = new Map<string, Promise<Map<string, string | Error>>>();
  return {
    async read(node, vars) {
      const { server, plug } = powermanPlug(node, vars);
      let q = queries.get(server);
      if (!q) {
        q = powermanQuery(server, 'temp', [...new Set(byServer.get(server) ?? [plug])], signal);
        q.catch(() => {}); // each node awaits it
        queries.set(server, q);
      }
      const v = (await q).get(plug);
      if (v === undefined) throw new VacmError('ERR_POWERMAN', `powermand at ${server} gave no temperature for plug ${plug}`);
      if (v instanceof Error) throw v;
      return tempReading(v);
    },
  };
}
