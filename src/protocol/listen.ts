/** `ADDR:PORT` config values (collector.listen, metrics.listen, serve.listen): pure parsing. */
import { custom, type FieldSchema } from './config-schema.js';

/** `ADDR:PORT`, `[v6]:PORT`, or `PORT` (on `defaultHost`). */
export function parseListen(text: string, defaultPort: number, defaultHost = '0.0.0.0'): { host: string; port: number } {
  const t = text.trim();
  let host = defaultHost;
  let port: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (v6) [host, port] = [v6[1], v6[2]];
  else if (/^\d+$/.test(t)) port = t;
  else {
    const i = t.lastIndexOf(':');
    if (i < 0) host = t;
    else [host, port] = [t.slice(0, i), t.slice(i + 1)];
  }
  const p = port === undefined || port === '' ? defaultPort : Number(port);
  if (!host || !Number.isInteger(p) || p < 0 || p > 65535) throw new Error(`"${text}" is not ADDR:PORT (e.g. 0.0.0.0:${defaultPort} or [::1]:${defaultPort})`);
  return { host, port: p };
}

/** A config key holding `ADDR:PORT` (collector.listen, metrics.listen, serve.listen). */
export function listenField(defaultPort: number, defaultHost?: string): FieldSchema {
  return custom((v) => {
    try {
      parseListen(String(v), defaultPort, defaultHost);
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  });
}
