/**
 * Hostile input for `S` and `L` (issue 16 item 4). S: a node's host, user or key path is chosen by
 * whoever wrote the config or set a variable; it must never become an ssh option (`-oProxyCommand=`
 * runs a command on the operator's machine) or a second argument, and the argv is an array — no
 * shell ever reads it. A refused shell never touches the terminal; a shell that cannot start gives
 * the terminal back. L: log lines carry escape sequences (window title, clipboard, screen clear)
 * that must be drawn, not obeyed.
 */
import React from 'react';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { render } from 'ink-testing-library';
import { createBackends } from '../../src/backends/index.js';
import { shellArgv } from '../../src/backends/ssh/shell.js';
import type { SshTarget } from '../../src/backends/ssh/targets.js';
import { shellCommand, shellRunner, type TerminalHandover } from '../../src/cli/shell.js';
import { LogScreen } from '../../src/ui/App.js';
import { MONO } from '../../src/ui/theme.js';
import type { UiEngine, UiOutputLine } from '../../src/ui/ui-engine.js';
import { makeEngine, tempDir } from '../helpers/engine.js';

const target = (over: Partial<SshTarget> = {}): SshTarget => ({
  node: 'n1', host: '10.0.0.1', port: 22, user: 'ops', identities: ['/keys/id_ed25519'], defaultIdentities: false,
  agent: undefined, knownHosts: ['/kh/known_hosts'], globalKnownHosts: [], strict: 'yes', connectTimeoutMs: 10_000, sig: '', ...over,
});

describe('S: the ssh argv from hostile settings', () => {
  it('the settings as separate words, the host last after --', () => {
    expect(shellArgv(target({ agent: '/run/agent.sock' }), { configFile: '/etc/vacm/ssh_config' })).toEqual([
      '-F', '/etc/vacm/ssh_config', '-p', '22', '-l', 'ops', '-i', '/keys/id_ed25519',
      '-o', 'UserKnownHostsFile="/kh/known_hosts"', '-o', 'StrictHostKeyChecking=yes', '-o', 'ConnectTimeout=10', '--', '10.0.0.1',
    ]);
    // no agent: none is asked; no config: none is read
    const a = shellArgv(target(), { configFile: false });
    expect(a.slice(0, 2)).toEqual(['-F', 'none']);
    expect(a).toContain('IdentityAgent=none');
  });

  it.each([
    ['-oProxyCommand=touch /tmp/pwned', 'starts with "-"'],
    ['10.0.0.1 -oProxyCommand=sh', 'spaces'],
    ['10.0.0.1\n-oProxyCommand=sh', 'control'],
    ['host\x1b]0;PWNED\x07', 'control'],
    ['', 'empty'],
  ])('a host of %j is refused, never passed on', (host) => {
    let err: { code?: string; message?: string } | undefined;
    try {
      shellArgv(target({ host }));
    } catch (e) {
      err = e as typeof err;
    }
    expect(err?.code).toBe('ERR_BAD_ARGS');
    expect(err?.message).toContain('ssh is not started with it');
    // the message shows the value escaped: no raw ESC or newline reaches the screen
    expect(err?.message).not.toMatch(/[\x00-\x1f]/);
  });

  it('a user that is an option, or a key path with a quote, is refused; % in paths is kept literal', () => {
    expect(() => shellArgv(target({ user: '-oProxyCommand=sh' }))).toThrow(/ERR_BAD_ARGS|not one plain word/);
    expect(() => shellArgv(target({ user: 'a b' }))).toThrow(/not one plain word/);
    expect(() => shellArgv(target({ identities: ['/k/"; sh'] }))).toThrow(/quote or a control/);
    expect(() => shellArgv(target({ knownHosts: ['/kh/a"b'] }))).toThrow(/quote or a control/);
    const a = shellArgv(target({ identities: ['/keys/%h'], knownHosts: ['/kh/my hosts'] }));
    expect(a).toContain('/keys/%%h');
    // ssh splits -o values at spaces: the path is quoted as one
    expect(a).toContain('UserKnownHostsFile="/kh/my hosts"');
  });

  it('through the engine: a node whose host variable is an option gets no shell; a simulated node has none', async () => {
    const dir = tempDir('vacm-hostile-shell-');
    const yaml = [
      'cluster: hostile',
      'ssh: { config: false }',
      'nodes:',
      '  - names: evil01',
      '    vars: { power: none, host: "-oProxyCommand=touch ' + path.join(dir, 'pwned') + '" }',
      '  - names: sim01',
      '    vars: { power: none, sim: true }',
      '',
    ].join('\n');
    const { engine } = await makeEngine({ yaml, modules: createBackends().modules.filter((m) => m.tag !== 'NEXXUS') });
    try {
      expect(() => shellCommand(engine, 'evil01')).toThrow(/ERR_BAD_ARGS|starts with "-"/);
      expect(() => shellCommand(engine, 'sim01')).toThrow(/simulated node/);
      expect(() => shellCommand(engine, 'nosuch')).toThrow(/no node nosuch/);
      // the runner refuses before the terminal is touched
      const calls: string[] = [];
      const term: TerminalHandover = { release: () => calls.push('release'), reclaim: () => calls.push('reclaim'), say: () => undefined };
      const runner = shellRunner(engine, term);
      await expect(runner.run('evil01')).rejects.toMatchObject({ code: 'ERR_BAD_ARGS' });
      expect(calls).toEqual([]);
      expect(fs.existsSync(path.join(dir, 'pwned'))).toBe(false);
    } finally {
      await engine.stop();
    }
  });

  it('ssh that cannot start, or fails, gives the terminal back', async () => {
    const yaml = 'cluster: s\nssh: { config: false }\nnodes:\n  - names: n1\n    vars: { power: none, host: 127.0.0.1 }\n';
    const { engine } = await makeEngine({ yaml, modules: createBackends().modules.filter((m) => m.tag !== 'NEXXUS') });
    try {
      const calls: string[] = [];
      const term: TerminalHandover = { release: () => calls.push('release'), reclaim: () => calls.push('reclaim'), say: (t) => calls.push(`say ${t}`) };
      await expect(shellRunner(engine, term, { ssh: '/nonexistent/ssh' }).run('n1')).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED', message: expect.stringContaining('ssh is not installed') });
      expect(calls[0]).toBe('release');
      expect(calls.at(-1)).toBe('reclaim');
      calls.length = 0;
      // `false` stands in for an ssh that exits non-zero
      await expect(shellRunner(engine, term, { ssh: 'false' }).run('n1')).resolves.toEqual({ code: 1 });
      expect(calls.at(-1)).toBe('reclaim');
    } finally {
      await engine.stop();
    }
  });
});

describe('L: hostile log lines and node names', () => {
  it('escape sequences in a log line and in a node name are drawn as ^[, never sent to the terminal', async () => {
    let feed: ((l: UiOutputLine) => void) | undefined;
    const engine = {
      readOnly: false,
      check: () => ({ ok: true }),
      submit: () => ({ id: 3 }),
      cancel: () => true,
      watchOutput: (_id: number, fn: (l: UiOutputLine) => void) => {
        feed = fn;
        return () => (feed = undefined);
      },
    } as unknown as UiEngine;
    const r = render(<LogScreen engine={engine} nodes={['n1', 'e\x1b[2J']} theme={MONO} size={{ columns: 120, rows: 20 }} onExit={() => undefined} />);
    const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
    await sleep(100);
    r.stdin.write('\r');
    await sleep(100);
    feed?.({ node: 'n1', stream: 'stdout', line: 'title \x1b]0;PWNED\x07 clip \x1b]52;c;Y3VybA==\x07 clear \x1b[2J\x1b[H bell \x07 cr \r over' });
    feed?.({ node: 'e\x1b[2J', stream: 'stderr', line: 'c1 \x9b31m red' });
    let f = '';
    for (let i = 0; i < 100 && !f.includes('c1'); i++) {
      await sleep(20);
      f = r.lastFrame() ?? '';
    }
    expect(f).toContain('title ^[]0;PWNED^G clip ^[]52;c;Y3VybA==^G clear ^[[2J^[[H bell ^G cr ^M over');
    expect(f).toContain('e^[[2J');
    expect(f).toContain('c1 \\x9b31m red');
    // with the mono theme nothing else writes escapes: the frame holds none at all
    expect(f).not.toMatch(/[\x07\x1b\x9b\r]/);
    r.unmount();
  });
});
