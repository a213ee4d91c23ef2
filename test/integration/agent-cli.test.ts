/** `vacm agent` in process: options from flags and from the config's agent: section. */
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runAgent, type AgentArgs } from '../../src/cli/agent.js';
import { decodeAgentMsg, deriveNodeKey, type AgentMsg } from '../../src/protocol/agent-msg.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-agent-'));
  fs.writeFileSync(path.join(dir, 'secret'), 'agent-key-of-from-config\n', { mode: 0o600 });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function fakeIo() {
  const o = { out: '', err: '' };
  return { o, io: { out: (s: string) => void (o.out += s), err: (s: string) => void (o.err += s), stdin: Readable.from([]), stdinIsTTY: false } };
}

describe('vacm agent', () => {
  it('takes its options from the config\'s agent: section, sends an announce then statuses, stops cleanly', async () => {
    const sink = dgram.createSocket('udp4');
    const got: AgentMsg[] = [];
    sink.on('message', (b) => {
      const r = decodeAgentMsg(b, 'agent-key-of-from-config');
      if (r.ok) got.push(r.msg);
    });
    await new Promise<void>((r) => sink.bind(26010, '127.0.40.254', () => r()));
    fs.writeFileSync(path.join(dir, 'vacm.yaml'), `agent:\n  collector: 127.0.40.254:26010\n  secret_file: ${path.join(dir, 'secret')}\n  interval: 0.2\n  name: from-config\n`);
    const { o, io } = fakeIo();
    const ac = new AbortController();
    const done = runAgent({ config: path.join(dir, 'vacm.yaml'), bind: '127.0.40.3' }, io, ac.signal);
    const end = Date.now() + 10_000;
    while (got.length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    expect(await done).toBe(0);
    sink.close();
    expect(got[0]).toMatchObject({ kind: 'announce', node: 'from-config', seq: 0, iv: 0.2 });
    expect(got[1]).toMatchObject({ kind: 'status', node: 'from-config', seq: 1 });
    expect(typeof got[1].stats.load1).toBe('number');
    expect(typeof got[1].stats.mem_used_pct).toBe('number');
    expect(o.err).toContain('vacm agent: from-config reporting to 127.0.40.254:26010 every 0.2 s');
    expect(o.err).toMatch(/stopped \(abort\) after \d+ datagrams, 0 failed/);
  });

  it.each<[Partial<AgentArgs>, RegExp]>([
    [{ interval: 5 }, /^ERR_USAGE: --secret-file is required/],
    [{ secretFile: '/nonexistent/secret', interval: 5 }, /^ERR_UNSAFE_FILE: --secret-file: cannot read agent key \/nonexistent\/secret: ENOENT/],
    [{ secretFile: 'SECRET', interval: 0 }, /^ERR_USAGE: --interval 0: seconds from 0.1 to 3600/],
    [{ secretFile: 'SECRET', name: 'bad name' }, /^ERR_USAGE: --name "bad name"/],
    [{ secretFile: 'SECRET', collector: 'host:99999' }, /^ERR_USAGE: "host:99999" is not ADDR:PORT/],
  ])('refuses %o with a message that says what to do', async (args, msg) => {
    const { o, io } = fakeIo();
    const a = { ...args, secretFile: args.secretFile === 'SECRET' ? path.join(dir, 'secret') : args.secretFile };
    expect(await runAgent(a, io)).toBe(2);
    expect(o.err).toMatch(msg);
  });

  it('--print-key derives a node\'s key from the master, the key that node\'s datagrams verify under', async () => {
    fs.writeFileSync(path.join(dir, 'master'), 'the-head-node-master-secret\n', { mode: 0o600 });
    const { o, io } = fakeIo();
    expect(await runAgent({ printKey: 'node07', secretFile: path.join(dir, 'master') }, io)).toBe(0);
    expect(o.out).toBe(deriveNodeKey('the-head-node-master-secret', 'node07') + '\n');
    expect(o.out).toMatch(/^[0-9a-f]{64}\n$/);
    const bad = fakeIo();
    expect(await runAgent({ printKey: 'no de', secretFile: path.join(dir, 'master') }, bad.io)).toBe(2);
    expect(bad.o.err).toMatch(/^ERR_USAGE: --print-key "no de": a node name/);
    const none = fakeIo();
    expect(await runAgent({ printKey: 'node07' }, none.io)).toBe(2);
    expect(none.o.err).toMatch(/^ERR_USAGE: --print-key needs --secret-file: the master secret/);
  });

  it('refuses an unknown key in agent:', async () => {
    fs.writeFileSync(path.join(dir, 'vacm.yaml'), 'agent:\n  colector: x\n');
    const { o, io } = fakeIo();
    expect(await runAgent({ config: path.join(dir, 'vacm.yaml') }, io)).toBe(2);
    expect(o.err).toMatch(/^ERR_CONFIG: agent.colector: unknown key; agent takes collector, secret_file, interval, name/);
  });
});
