/**
 * A node's BMC as its variables name it: bmc_host, bmc_port (623), bmc_user, and the password from
 * bmc_password_env / bmc_password_file / bmc_password. Shared by POWER, SENSORS, SEL and CONSOLE.
 */
import fs from 'node:fs';
import { VacmError } from '../../protocol/errors.js';
import type { NodeVars } from '../../protocol/module.js';
import type { BmcTarget } from './client.js';

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

/**
 * A node's BMC password, from `bmc_password_env` (an environment variable's name),
 * `bmc_password_file` (first line of the file), or `bmc_password` (discouraged: it sits in the config).
 * Errors name the variable to set and never contain the password.
 */
export function bmcPassword(node: string, vars: NodeVars, env: NodeJS.ProcessEnv = process.env): string {
  if (vars.bmc_password_env !== undefined) {
    const name = vars.bmc_password_env;
    const v = env[name];
    if (v === undefined || v === '') throw new VacmError('ERR_CONFIG', `${node}: bmc_password_env names $${name}, which is not set; export it before starting vacm`);
    return v;
  }
  if (vars.bmc_password_file !== undefined) {
    const file = vars.bmc_password_file;
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new VacmError('ERR_CONFIG', `${node}: cannot read bmc_password_file ${file} (${code}); make it readable by the user running vacm`);
    }
    const line = text.split(/\r?\n/)[0] ?? '';
    if (line === '') throw new VacmError('ERR_CONFIG', `${node}: bmc_password_file ${file} is empty; put the password on its first line`);
    return line;
  }
  if (vars.bmc_password !== undefined) return vars.bmc_password;
  throw new VacmError('ERR_CONFIG', `${node}: no BMC password; set bmc_password_file (a file holding it) or bmc_password_env (an environment variable's name)`);
}
