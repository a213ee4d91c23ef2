/**
 * A stopped dashboard (issue 13): a real `vacm --attach` dashboard in tmux on a serve of 4096
 * simulated nodes is SIGSTOPped. The serve keeps serving a second client (its deltas keep coming, its
 * power request is answered and seen), its RSS stays bounded while the stopped client holds its
 * session, and the stopped client is dropped after serve.client_alive_s with a line in the serve's
 * log. SIGCONT: the dashboard finds its link gone and attaches again by itself.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { hasBinary, startServe, type ServeFixture } from '../helpers/serve-door.js';
import { tmuxAvailable, tmuxSuite } from './tmux.js';

const HAVE = tmuxAvailable() && hasBinary('ssh-keygen');
const ALIVE_S = 8;

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** The pid of the process the tmux pane's shell runs (`sh -c '...; env ... node bin/vacm.js ...'`). */
function dashboardPid(socket: string, name: string): number {
  const shell = Number(execFileSync('tmux', ['-L', socket, 'list-panes', '-t', name, '-F', '#{pane_pid}'], { encoding: 'utf8' }).trim());
  const kids = fs.readFileSync(`/proc/${shell}/task/${shell}/children`, 'utf8').trim().split(/\s+/).map(Number).filter((n) => n > 0);
  const node = kids.find((k) => fs.readFileSync(`/proc/${k}/cmdline`, 'utf8').includes('bin/vacm.js'));
  if (node === undefined) throw new Error(`no vacm process under the pane's shell ${shell}`);
  return node;
}

/** A second client of the subsystem: subscribed to a few nodes' state, counting what it receives. */
async function watcher(f: ServeFixture, user: string) {
  const client = new ssh2.Client();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', reject);
    client.connect({ host: '127.0.0.1', port: f.port, username: user, privateKey: fs.readFileSync(f.key(user)), hostVerifier: () => true });
  });
  const ch = await new Promise<ssh2.ClientChannel>((resolve, reject) => client.subsys('vacm', (err, c) => (err ? reject(err) : resolve(c))));
  let buf = '';
  const got: { at: number; o: Record<string, unknown> }[] = [];
  ch.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.startsWith('{"type":"snapshot"')) got.push({ at: Date.now(), o: { type: 'snapshot' } });
      else got.push({ at: Date.now(), o: JSON.parse(line) as Record<string, unknown> });
    }
  });
  ch.write('{"op":"view","nodes":"sim[0001-0040]"}\n{"op":"subscribe"}\n');
  return {
    got,
    send: (o: object) => ch.write(JSON.stringify(o) + '\n'),
    close: () => client.end(),
  };
}

async function until<T>(what: () => T | undefined | false, ms: number, label: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = what();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`${label}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(!HAVE)('a SIGSTOPped attached dashboard, 4096 simulated nodes', () => {
  let f: ServeFixture;
  const session = tmuxSuite({
    before: async () => {
      f = await startServe([{ name: 'alice', role: 'operator' }, { name: 'bob', role: 'operator' }], { nodes: 'sim[0001-4096]', extra: `  client_alive_s: ${ALIVE_S}\n` });
    },
    after: () => f?.stop(),
  });
  const a = session('stall-a');

  it('serve keeps serving the other client, stays bounded, and drops the stopped one after client_alive_s', async () => {
    a.start(`node bin/vacm.js --attach ssh://alice@127.0.0.1:${f.port}`, { cwd: ROOT, env: { HOME: f.home('alice'), SSH_AUTH_SOCK: '', VACM_STATE_DIR: path.join(f.dir, 'client-a') } });
    await a.waitFor((x) => x.includes('alice (operator)') && x.includes('4096 nodes'), 60_000);
    const b = await watcher(f, 'bob');
    await until(() => b.got.some((g) => g.o.type === 'snapshot'), 30_000, "bob's snapshot");
    const serveRss: number[] = [rssMiB(f.child.pid!)];

    const pid = dashboardPid(a.socket, a.name);
    process.kill(pid, 'SIGSTOP');
    let continued = false;
    try {
      const stoppedAt = Date.now();
      const logBefore = f.log().length;
      // bob acts while alice's dashboard is stopped: the answer and the node's new state reach him
      b.send({ op: 'submit', line: 'POWER:OFF:sim0002', ref: 1 });
      await until(() => b.got.some((g) => g.o.type === 'nodes' && (g.o.nodes as { name: string; power: string }[]).some((n) => n.name === 'sim0002' && n.power === 'off')), 15_000, 'sim0002 off in a delta to bob');
      // the serve drops alice once she has answered nothing for client_alive_s, and says so
      const dropLine = await until(() => {
        serveRss.push(rssMiB(f.child.pid!));
        return /ssh front door: alice at \S+ answered nothing for \d+ s.*serve\.client_alive_s.*disconnected/.exec(f.log().slice(logBefore))?.[0];
      }, ALIVE_S * 1000 + 60_000, 'the stopped dashboard dropped');
      const droppedAfter = (Date.now() - stoppedAt) / 1000;
      expect(dropLine).toContain(`answered nothing for ${ALIVE_S} s`);
      // bob is still served after the drop: deltas keep coming, and a request is answered
      const n0 = b.got.length;
      b.send({ op: 'ping', ref: 2 });
      await until(() => b.got.slice(n0).some((g) => g.o.type === 'pong'), 10_000, "bob's pong after the drop");
      const deltas = b.got.filter((g) => g.o.type === 'nodes' && g.at >= stoppedAt);
      expect(deltas.length).toBeGreaterThan(0);
      // bounded: the stopped client costs the serve its unread allowance, not a growing queue
      const peak = Math.max(...serveRss);
      console.log(`serve RSS with a stopped dashboard (4096 nodes): at SIGSTOP ${serveRss[0].toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB over ${serveRss.length} samples; dropped ${droppedAfter.toFixed(1)} s after SIGSTOP; bob got ${deltas.length} node deltas meanwhile`);
      expect(peak).toBeLessThan(serveRss[0] + 256);

      // SIGCONT: alice's dashboard finds its link gone and attaches again by itself
      process.kill(pid, 'SIGCONT');
      continued = true;
      await until(() => (f.log().slice(logBefore).match(/alice \(operator\) logged in/g)?.length ?? 0) >= 1, 60_000, 'alice logged in again');
      // with the state of now: bob's power-off done while she was stopped
      const back = await a.waitFor((x) => x.includes('alice (operator)') && !x.includes('reconnecting…') && /POWER:OFF:sim0002 .*by bob/.test(x), 30_000);
      expect(back).toMatch(/4096 nodes: .* 1 off/);
      b.close();
    } finally {
      if (!continued) process.kill(pid, 'SIGCONT');
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone already */
      }
    }
  }, 240_000);
});
