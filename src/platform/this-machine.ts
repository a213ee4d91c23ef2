/**
 * This machine's own addresses and names, for the controller guard (protocol/power.ts decides
 * with them): every interface address from os.networkInterfaces() and the host name, full and
 * short. No DNS lookup: a name is this machine only when it is this machine's own name or
 * `localhost`, so a slow or hostile resolver never decides whether a power action runs.
 */
import os from 'node:os';
import { canonicalHost, type ThisMachine } from '../protocol/power.js';

export function thisMachine(): ThisMachine {
  const addresses = new Set<string>();
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) {
      const c = canonicalHost(a.address);
      if (c) addresses.add(c.value);
    }
  }
  const names = new Set<string>();
  const full = os.hostname().trim().toLowerCase().replace(/\.$/, '');
  if (full) {
    names.add(full);
    names.add(full.split('.')[0]);
  }
  return { addresses, names };
}
