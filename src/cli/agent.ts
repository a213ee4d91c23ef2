/** `vacm agent`: runs on each node; one signed status datagram to the collector every interval. */
import { DEFAULT_COLLECTOR_PORT, validNodeName } from '../protocol/agent-msg.js';
import { VacmError } from '../protocol/errors.js';
import { startAgent } from '../backends/agent/agent.js';
import { createLocalStatsSource } from '../backends/agent/stats.js';
import { parseListen, readSecretFile } from '../backends/collector/config.js';
import { shortHostname } from '../engine/config.js';
import { EXIT_OK, EXIT_USAGE, type Io } from './io.js';

export interface AgentArgs {
  collector: string;
  secretFile?: string;
  interval: number;
  name?: string;
  bind?: string;
  verbose?: boolean;
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

export async function runAgent(a: AgentArgs, io: Io, stop?: AbortSignal): Promise<number> {
  let target: { host: string; port: number };
  let secret: Buffer;
  const name = a.name ?? shortHostname();
  try {
    target = parseListen(a.collector, DEFAULT_COLLECTOR_PORT, '127.0.0.1');
    if (!a.secretFile) throw new VacmError('ERR_USAGE', '--secret-file is required: the file with the secret shared with the collector (collector.secret_file)');
    try {
      secret = readSecretFile(a.secretFile);
    } catch (err) {
      throw new VacmError('ERR_USAGE', `--secret-file: ${(err as Error).message}`);
    }
    if (!(a.interval >= 0.1 && a.interval <= 3600)) throw new VacmError('ERR_USAGE', `--interval ${a.interval}: seconds from 0.1 to 3600`);
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
      intervalMs: Math.round(a.interval * 1000),
      stats: createLocalStatsSource({ slowEveryMs: Math.max(30_000, a.interval * 1000) }),
      bind: a.bind,
      log: a.verbose ? log : (m) => (m.startsWith('send') || m.startsWith('socket') ? log(m) : undefined),
    });
  } catch (err) {
    io.err(`ERR_USAGE: cannot start the agent: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  log(`${name} reporting to ${target.host}:${target.port} every ${a.interval} s`);
  const sig = await untilSignal(stop);
  await handle.stop();
  log(`stopped (${sig}) after ${handle.sent()} datagrams, ${handle.failed()} failed`);
  return EXIT_OK;
}
