/**
 * The collector bench's load generator, as its own process (bench/collector.bench.ts starts one per
 * core): agents `first`..`first+count-1` of `agents`, each one signed status datagram a second,
 * paced by the clock (a late tick sends what is due), each agent from the address its node's host
 * names (127.0.40.1-200, consecutive agents share one). Plain JavaScript, so that it starts in
 * ~0.1 s and needs no build. On SIGTERM it prints what it achieved as one JSON line:
 * {sent, failed, skipped, seconds, rate, cpu_s, behind_max}: sent without a send error; skipped: of its
 * schedule, when it fell more than 20 ms behind; behind_max: the most datagrams it was ever behind.
 *
 *   node bench/collector-load.mjs PORT HOST AGENTS FIRST COUNT SECRET
 */
import { createHmac } from 'node:crypto';
import dgram from 'node:dgram';

export const pad = (i) => `a${String(i + 1).padStart(5, '0')}`;
/** agent i (0-based) sends from 127.0.40.(source(i)+1) */
export const perSource = (agents) => Math.ceil(agents / 200);
export const stats = (i) => ({ load1: (i % 97) / 10, load5: 1, load15: 1, cpu: i % 100, mem_used_pct: 40, mem_total: 68719476736, mem_used: 27487790694, swap_used_pct: 0, disk_used_pct: 31.5, uptime: 123456, net_rx_bps: 1000, net_tx_bps: 2000, os: 'Debian GNU/Linux 12', kernel: '6.1.0-18-amd64' });

/** sorted keys at every level, as the agent writes (the stats here are flat) */
const canonicalStats = (o) => `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${JSON.stringify(o[k])}`).join(',')}}`;

/** What `vacm agent` sends for agent i (the bench checks it equals encodeAgentMsg's bytes). */
export function datagramMaker(secret, agents) {
  const keys = new Map();
  const statsJson = new Map();
  return (i, seq, ts) => {
    const name = pad(i);
    let key = keys.get(i);
    if (!key) {
      key = Buffer.from(createHmac('sha256', secret).update('vacm-agent-v2:' + name).digest('hex'), 'utf8');
      keys.set(i, key);
      statsJson.set(i, canonicalStats(stats(i)));
    }
    const tail = `"node":"${name}","s":${statsJson.get(i)},"seq":${seq},"ts":${ts},"v":2}`;
    const head = '{"boot":"b","iv":1,"k":"status",';
    return Buffer.from(`${head}"mac":"${createHmac('sha256', key).update(head + tail).digest('hex')}",${tail}`);
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [port, host, agentsS, firstS, countS, secret] = process.argv.slice(2);
  const agents = Number(agentsS);
  const first = Number(firstS);
  const count = Number(countS);
  const per = perSource(agents);
  const socks = new Map();
  const sockFor = (i) => {
    const src = Math.floor(i / per);
    let s = socks.get(src);
    if (!s) {
      s = dgram.createSocket({ type: 'udp4', sendBufferSize: 1 << 20 });
      s.bind({ address: `127.0.40.${src + 1}`, port: 0 });
      s.on('error', () => {}); // ENOBUFS and the like: counted as not sent by the collector's side
      socks.set(src, s);
    }
    return s;
  };
  const make = datagramMaker(secret, agents);
  // keys and stats made before the clock starts (the first second would be a burst otherwise)
  for (let i = first; i < first + count; i++) {
    sockFor(i);
    make(i, 0, 0);
  }
  const seq = new Array(count).fill(0);
  // at most 20 ms of datagrams at once: a generator that fell behind (descheduled on a loaded
  // machine) skips the rest of its schedule instead of sending a burst that no receive buffer
  // holds; what it skipped is reported, and the rate it achieved
  const maxBurst = Math.max(1, Math.ceil(count / 50));
  let next = 0;
  let sent = 0;
  let failed = 0;
  let skipped = 0;
  let behindMax = 0;
  const onSent = (err) => {
    if (err) failed++;
  };
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) * count) / 1000);
    behindMax = Math.max(behindMax, due - sent - skipped);
    if (due - sent - skipped > maxBurst) skipped = due - sent - maxBurst;
    const now = Date.now();
    while (sent + skipped < due) {
      const k = next;
      next = (next + 1) % count;
      const i = first + k;
      sockFor(i).send(make(i, seq[k]++, now), Number(port), host, onSent);
      sent++;
    }
  }, 5);
  process.on('SIGTERM', () => {
    clearInterval(timer);
    const seconds = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    // let the last sends leave before the sockets close
    setTimeout(() => {
      process.stdout.write(JSON.stringify({ sent: sent - failed, failed, skipped, seconds, rate: (sent - failed) / seconds, cpu_s: (c.user + c.system) / 1e6, behind_max: behindMax }) + '\n');
      for (const s of socks.values()) s.close();
      process.exit(0);
    }, 200);
  });
}
