/** `vacm agent`: runs on each node; one signed status datagram to the collector every interval. */
import { DEFAULT_COLLECTOR_PORT, deriveNodeKey, validNodeName } from '../protocol/agent-msg.js';
import { VacmError } from '../protocol/errors.js';
import { startAgent } from '../backends/agent/agent.js';
import { createLocalStatsSource } from '../backends/agent/stats.js';
import { parseListen, readSecretFile } from '../backends/collector/config.js';
import { loadConfigFile, shortHostname } from '../engine/config.js';
import { checkSection } from '../protocol/config-schema.js';
import { AGENT_SECTION } from './agent-section.js';
import { EXIT_OK, EXIT_USAGE, type Io } from './io.js';

export interface AgentArgs {
  collector?: string;
  /** vacm.yaml whose `agent:` section gives defaults for the options */
  config?: string;
  secretFile?: string;
  interval?: number;
  name?: string;
  bind?: string;
  verbose?: boolean;
  /** print the key derived for this node from the master in --secret-file, and exit */
  printKey?: string;
}

/** Wait for SIGTERM or SIGINT (or `stop`, for tests). */
export function untilSignal(stop?: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => () => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      resolve(sig);
    };
    const onTerm = on('SIGTERM');
    const onInt = on('SIGINT');
    process.once('SIGTERM', onTerm);
    process.once('SIGINT', onInt);
    stop?.addEventListener('abort', on('abort'), { once: true });
  });
}

/** The `agent:` section of a config file: defaults for the command-line options. */
export function agentSection(file: string): Partial<AgentArgs> {
  const raw = loadConfigFile(file).view.sections.agent;
  if (raw === undefined) return {};
  checkSection(AGENT_SECTION, raw ?? 0);
  const o = raw as Record<string, unknown>;
  return { collector: o.collector as string | undefined, secretFile: o.secret_file as string | undefined, interval: o.interval as number | undefined, name: o.name as string | undefined };
}

/**
 * `vacm agent --print-key NODE --secret-file MASTER`, on the head node: the key NODE's agent signs
 * with (its --secret-file), derived from the master. The node gets only its own key.
 */
export function printKey(node: string, masterFile: string | undefined, io: Io): number {
  try {
    if (!validNodeName(node)) throw new VacmError('ERR_USAGE', `--print-key "${node}": a node name, 1-64 letters, digits, - _ .`);
    if (!masterFile) throw new VacmError('ERR_USAGE', '--print-key needs --secret-file: the master secret (collector.secret_file) on the head node');
    const master = readSecretFile(masterFile, 'agent master secret');
    io.out(deriveNodeKey(master, node) + '\n');
    return EXIT_OK;
  } catch (err) {
    io.err(`${(err as VacmError).code ?? 'ERR_USAGE'}: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
}

export async function runAgent(args: AgentArgs, io: Io, stop?: AbortSignal): Promise<number> {
  let target: { host: string; port: number };
  let secret: Buffer;
  let a: AgentArgs;
  try {
    const fromFile = args.config ? agentSection(args.config) : {};
    const defined = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined));
    a = { ...fromFile, ...defined };
  } catch (err) {
    io.err(`${(err as VacmError).code ?? 'ERR_CONFIG'}: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  if (a.printKey !== undefined) return printKey(a.printKey, a.secretFile, io);
  const name = a.name ?? shortHostname();
  const interval = a.interval ?? 5;
  try {
    target = parseListen(a.collector ?? `127.0.0.1:${DEFAULT_COLLECTOR_PORT}`, DEFAULT_COLLECTOR_PORT, '127.0.0.1');
    if (!a.secretFile) throw new VacmError('ERR_USAGE', `--secret-file is required: the file with this node's key (on the head node: vacm agent --print-key ${validNodeName(name) ? name : 'NODE'} --secret-file MASTER)`);
    try {
      secret = readSecretFile(a.secretFile, 'agent key');
    } catch (err) {
      throw new VacmError((err as VacmError).code ?? 'ERR_USAGE', `--secret-file: ${(err as Error).message}`);
    }
    if (!(interval >= 0.1 && interval <= 3600)) throw new VacmError('ERR_USAGE', `--interval ${interval}: seconds from 0.1 to 3600`);
    if (!validNodeName(name)) throw new VacmError('ERR_USAGE', `--name "${name}": 1-64 letters, digits, - _ .`);
  } catch (err) {
    io.err(`${(err as VacmError).code ?? 'ERR_USAGE'}: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  const log = (m: string) => io.err(`vacm agent: ${m}\n`);
  let handle;
  try {
    handle = await startAgent({
      name,
      collectorHost: target.host,
      collectorPort: target.port,
      secret: secret!,
      intervalMs: Math.round(interval * 1000),
      stats: createLocalStatsSource({ slowEveryMs: Math.max(30_000, interval * 1000) }),
      bind: a.bind,
      log: a.verbose ? log : (m) => (m.startsWith('send') || m.startsWith('socket') ? log(m) : undefined),
    });
  } catch (err) {
    io.err(`ERR_USAGE: cannot start the agent: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  log(`${name} reporting to ${target.host}:${target.port} every ${interval} s`);
  const sig = await untilSignal(stop);
  await handle.stop();
  log(`stopped (${sig}) after ${handle.sent()} datagrams, ${handle.failed()} failed`);
  return EXIT_OK;
}
