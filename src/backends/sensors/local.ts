/**
 * SENSORS without a BMC: the machine vacm runs on reads lm-sensors' hwmon and thermal zones through
 * systeminformation (cpuTemperature); an agent node's temperature is the one its datagrams carry
 * (`temp_cpu`, no new field: old agents keep working). Neither has thresholds: status `na`, as
 * FreeIPMI says for a sensor without them.
 */
import { sysinfo } from '../../platform/sysinfo.js';

export interface Temperature {
  name: string;
  celsius: number;
}

const ok = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > -100 && v < 300;

/** The local temperatures systeminformation finds (none on a machine without hwmon or thermal zones). */
export async function localTemperatures(): Promise<Temperature[]> {
  const t = await (await sysinfo()).cpuTemperature();
  return temperaturesOf(t);
}

/** systeminformation's answer as named temperatures, pure. */
export function temperaturesOf(t: { main?: number | null; cores?: (number | null)[]; max?: number | null; socket?: (number | null)[]; chipset?: number | null }): Temperature[] {
  const out: Temperature[] = [];
  if (ok(t.main)) out.push({ name: 'CPU', celsius: t.main });
  (t.socket ?? []).slice(0, 16).forEach((v, i) => ok(v) && out.push({ name: `Socket ${i}`, celsius: v }));
  (t.cores ?? []).slice(0, 64).forEach((v, i) => ok(v) && out.push({ name: `Core ${i}`, celsius: v }));
  if (ok(t.chipset)) out.push({ name: 'Chipset', celsius: t.chipset });
  return out;
}

/** an agent's temperature at most this old is answered as a sensor */
export const AGENT_TEMP_FRESH_MS = 60_000;
