/** Small parsers shared by the collector, the agent and the metrics exporter. */
import fs from 'node:fs';

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

/** The shared secret: the file's content without a trailing newline; refuses an empty one. */
export function readSecretFile(file: string): Buffer {
  let b: Buffer;
  try {
    b = fs.readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; create it with e.g. \`head -c 32 /dev/urandom | base64 > ${file}; chmod 600 ${file}\``);
  }
  const s = b.toString('utf8').replace(/\r?\n$/, '');
  if (s.length === 0) throw new Error(`${file} is empty: put a shared secret in it (e.g. \`head -c 32 /dev/urandom | base64\`)`);
  return Buffer.from(s, 'utf8');
}
