/**
 * METRICS: serves GET /metrics in the Prometheus text format while the engine monitors (vacm serve
 * --metrics ADDR:PORT, or `metrics: { listen: ADDR:PORT }` in the config).
 */
import type http from 'node:http';
import { checkSection, mapping, section } from '../../protocol/config-schema.js';
import { VacmError } from '../../protocol/errors.js';
import type { CommandDef, ModuleDef } from '../../protocol/module.js';
import type { CounterSource } from '../capabilities.js';
import { listenField, parseListen } from '../collector/config.js';
import { CONTENT_TYPE, renderExposition } from './exposition.js';

export const DEFAULT_METRICS_PORT = 9464;

export const METRICS_SECTION = section('metrics', mapping({ listen: listenField(DEFAULT_METRICS_PORT, '127.0.0.1') }, { must: 'a mapping, e.g. { listen: "127.0.0.1:9464" }' }));

export function parseMetricsSection(raw: unknown): { host: string; port: number } | undefined {
  if (raw === undefined) return undefined;
  checkSection(METRICS_SECTION, raw ?? 0);
  const listen = (raw as { listen?: unknown }).listen;
  return listen === undefined ? undefined : parseListen(String(listen), DEFAULT_METRICS_PORT, '127.0.0.1');
}

export function createMetricsModule(opts: { collector?: CounterSource } = {}): ModuleDef & { address(): { address: string; port: number } | undefined } {
  let server: http.Server | undefined;
  const commands: CommandDef[] = [];
  return {
    tag: 'METRICS',
    summary: 'Prometheus /metrics over HTTP (vacm serve --metrics ADDR:PORT)',
    commands,
    address: () => {
      const a = server?.address();
      return a && typeof a === 'object' ? { address: a.address, port: a.port } : undefined;
    },
    async init(host) {
      const listen = parseMetricsSection(host.config.sections.metrics);
      if (!listen || !host.monitor) return;
      // node:http (~10 ms to load) only where /metrics is served, not in every `vacm ipc`
      const { createServer } = await import('node:http');
      const s = createServer((req, res) => {
        const url = (req.url ?? '/').split('?')[0];
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          res.writeHead(405, { Allow: 'GET, HEAD' }).end();
          return;
        }
        if (url === '/metrics') {
          let body: string;
          try {
            body = renderExposition({
              cluster: host.config.cluster,
              nodes: host.nodes(),
              jobs: host.jobs(),
              collector: opts.collector ? { active: opts.collector.active, counters: opts.collector.counters() } : undefined,
            });
          } catch (err) {
            res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`cannot render metrics: ${(err as Error).message}\n`);
            return;
          }
          res.writeHead(200, { 'Content-Type': CONTENT_TYPE });
          res.end(req.method === 'HEAD' ? undefined : body);
          return;
        }
        if (url === '/') {
          res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end('<html><body><h1>vacm</h1><p><a href="/metrics">/metrics</a></p></body></html>\n');
          return;
        }
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: vacm serves /metrics\n');
      });
      s.keepAliveTimeout = 5000;
      await new Promise<void>((res, rej) => {
        s.once('error', (err) => rej(new VacmError('ERR_CONFIG', `cannot serve metrics on ${listen.host}:${listen.port}: ${err.message}; choose another --metrics ADDR:PORT`)));
        s.listen(listen.port, listen.host, () => res());
      });
      server = s;
      const a = s.address() as { address: string; port: number };
      host.log('info', `metrics on http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}/metrics`);
    },
    async dispose() {
      const s = server;
      server = undefined;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((res) => s.close(() => res()));
    },
  };
}
