/**
 * Shell completion as bash runs it: the script from `vacm completion bash` is sourced in a
 * non-interactive bash, COMP_LINE/COMP_POINT/COMP_WORDS/COMP_CWORD are set as readline would set
 * them, the completion function is called, and COMPREPLY is read back. The function calls the real
 * vacm (bin/vacm.js, built first) for the words. zsh: the script is checked with zsh -n when zsh exists.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { completeWords, completionScript, forBash, shellWords } from '../../src/cli/completion.js';
import { BIN, ROOT, cli } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { hasBinary } from '../e2e/tmux.js';

const YAML = `cluster: comp
nodes:
  - names: node[01-12]
    groups: [compute, rack1]
    vars: { sim: "true", power: sim }
  - names: gpu[1-2]
    groups: [gpu]
    vars: { sim: "true", power: sim }
`;

const src = {
  modules: [
    { tag: 'NEXXUS', commands: [{ name: 'NODE_LIST' }, { name: 'MODULES' }] },
    { tag: 'POWER', commands: [{ name: 'ON' }, { name: 'OFF' }, { name: 'STATUS' }] },
  ],
  nodes: ['node01', 'node02', 'gpu1'],
  groups: ['compute', 'gpu'],
};
const ctx = { source: () => src };

describe('completeWords (what the shell is offered)', () => {
  it.each([
    [['s'], ['serve', 'snapshot']],
    [['ipc', '--j'], ['--json']],
    [['nodeset', '--co'], ['--config', '--count', '--contiguous']],
    [['nodeset', '-'], ['--help', '--config', '--expand', '-e', '--fold', '-f', '--count', '-c', '--list', '-l', '--list-all', '-L', '--regroup', '-r', '--list-sources', '--groupsources', '--exclude', '-x', '--intersection', '-i', '--xor', '-X', '--all', '-a', '--groupsource', '-s', '--groupbase', '-G', '--rangeset', '-R', '--slice', '-I', '--split', '--contiguous', '--autostep', '--axis', '--pick', '--output-format', '-O', '--separator', '-S', '--quiet', '-q', '--debug', '-d']],
    [['completion', ''], ['bash', 'zsh']],
    [['ipc', 'PO'], ['POWER:']],
    [['ipc', 'POWER:'], ['POWER:OFF:', 'POWER:ON:', 'POWER:STATUS:']],
    [['ipc', 'power:st'], []], // the shell replaces the whole word: the typed prefix must match
    [['ipc', 'POWER:OFF:node'], ['POWER:OFF:node01', 'POWER:OFF:node02']],
    [['ipc', 'POWER:OFF:@'], ['POWER:OFF:@compute', 'POWER:OFF:@gpu']],
    [['ipc', 'POWER:OFF:node01,g'], ['POWER:OFF:node01,gpu1']],
    [['nodeset', '-f', '@g'], ['@gpu']],
    [['ipc', '--config', ''], []], // a file: the shell completes it (bash -o default, zsh _files)
    [['doctor', '--t'], ['--timeout']],
  ])('%j → %j', (words, want) => {
    expect(completeWords(words, ctx)).toEqual(want);
  });

  it('completes nothing (and does not throw) when the config cannot be read', () => {
    expect(completeWords(['ipc', 'POW'], { source: () => { throw new Error('ERR_CONFIG: broken'); } })).toEqual([]);
  });

  it('splits a command line as the shell does, and strips what bash keeps before a colon', () => {
    expect(shellWords("vacm ipc 'SSH:EXEC:n1:uname -r' --j")).toEqual(['vacm', 'ipc', 'SSH:EXEC:n1:uname -r', '--j']);
    expect(shellWords('vacm ipc ')).toEqual(['vacm', 'ipc', '']);
    expect(shellWords('vacm "a b"\\ c')).toEqual(['vacm', 'a b c']);
    expect(forBash('POWER:OFF:node01', 'POWER:OFF:no', '"\'><=;|&(:')).toBe('node01');
    expect(forBash('--json', '--j', '"\'><=;|&(:')).toBe('--json');
  });
});

describe('vacm completion bash, sourced in bash', () => {
  let dir: string;
  let script: string;
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' });
    dir = tempDir('vacm-complete-');
    fs.writeFileSync(path.join(dir, 'vacm.yaml'), YAML);
    // `vacm` on PATH is the built binary
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.writeFileSync(path.join(dir, 'bin', 'vacm'), `#!/bin/sh\nexec ${process.execPath} ${BIN} "$@"\n`, { mode: 0o755 });
    script = path.join(dir, 'vacm.bash');
    fs.writeFileSync(script, execFileSync(process.execPath, [BIN, 'completion', 'bash'], { encoding: 'utf8' }));
  }, 120_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** What bash offers for `line` with the cursor at its end. */
  function complete(line: string): string[] {
    const prog = [
      `source ${JSON.stringify(script)}`,
      `COMP_LINE=${JSON.stringify(line)}; COMP_POINT=\${#COMP_LINE}`,
      // COMP_WORDS split as readline does: on spaces and the COMP_WORDBREAKS characters that occur here (: = @)
      'read -ra COMP_WORDS <<< "$(printf %s "$COMP_LINE" | sed -E \'s/([:=@])/ \\1 /g\')"',
      '[[ $COMP_LINE == *[\\ :=@] ]] && COMP_WORDS+=("")',
      'COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))',
      'spec=$(complete -p vacm)',
      '_vacm vacm "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"',
      'echo "SPEC $spec"',
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join('\n');
    const r = spawnSync('bash', ['--norc', '--noprofile', '-c', prog], {
      cwd: dir,
      env: { PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`, HOME: dir },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.stderr).toBe('');
    const [spec, ...words] = r.stdout.split('\n');
    expect(spec).toMatch(/^SPEC complete .*-F _vacm vacm$/);
    return words.filter((w) => w !== '');
  }

  it('offers the commands, then a command\'s options', () => {
    expect(complete('vacm ')).toEqual(['ipc', 'push', 'pull', 'nodeset', 'serve', 'snapshot', 'console', 'agent', 'doctor', 'completion']);
    expect(complete('vacm ipc --p')).toEqual(['--parallel']);
    expect(complete('vacm --v')).toEqual(['--version']);
  });

  it('after vacm ipc: modules, then their commands, then node names and @groups from ./vacm.yaml', () => {
    expect(complete('vacm ipc POW')).toEqual(['POWER:']);
    // bash replaces only what follows the last colon: the words come back without the fields before it
    expect(complete('vacm ipc POWER:ST')).toEqual(['STATUS:']);
    expect(complete('vacm ipc POWER:STATUS:gp')).toEqual(['gpu1', 'gpu2']);
    // @ is one of bash's COMP_WORDBREAKS too: the group names go after it
    expect(complete('vacm ipc POWER:STATUS:@')).toEqual(['compute', 'gpu', 'rack1']);
    expect(complete('vacm ipc POWER:STATUS:node01,@g')).toEqual(['gpu']);
    expect(complete('vacm ipc POWER:STATUS:node0')).toHaveLength(9);
  });

  it('reads the config that --config names instead', () => {
    const other = path.join(dir, 'other.yaml');
    fs.writeFileSync(other, 'nodes:\n  - names: far[1-3]\n');
    expect(complete(`vacm ipc --config ${other} NEXXUS:NODE_LIST:f`)).toEqual(['far1', 'far2', 'far3']);
  });

  it('a broken config completes nothing and prints nothing', () => {
    const broken = path.join(dir, 'broken.yaml');
    fs.writeFileSync(broken, 'nodes: [\n');
    expect(complete(`vacm ipc --config ${broken} POWER:STATUS:n`)).toEqual([]);
  });
});

describe('vacm completion zsh', () => {
  it('prints a #compdef script that calls back into vacm', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    let r;
    try {
      r = await cli(['completion', 'zsh']);
    } finally {
      log.mockRestore();
    }
    expect(r.code).toBe(0);
    expect(r.out).toBe(completionScript('zsh'));
    expect(r.out.startsWith('#compdef vacm')).toBe(true);
    expect(r.out).toContain('__complete --');
  });

  it.skipIf(!hasBinary('zsh'))('parses with zsh -n', () => {
    const r = spawnSync('zsh', ['-n'], { input: completionScript('zsh'), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });

  it.skipIf(!hasBinary('zsh'))('in zsh, _vacm hands compadd the words vacm gives (compadd and _files stubbed to print)', () => {
    const dir = tempDir('vacm-zsh-');
    try {
      execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' });
      fs.writeFileSync(path.join(dir, 'vacm.yaml'), YAML);
      fs.mkdirSync(path.join(dir, 'bin'));
      fs.writeFileSync(path.join(dir, 'bin', 'vacm'), `#!/bin/sh\nexec ${process.execPath} ${BIN} "$@"\n`, { mode: 0o755 });
      fs.writeFileSync(path.join(dir, '_vacm'), completionScript('zsh'));
      const prog = [
        'compadd() { print -r -- "ADD $*" }',
        '_files() { print FILES }',
        'compdef() { print "COMPDEF $*" }',
        'source ./_vacm',
        'words=(vacm ipc POW); CURRENT=3; _vacm',
        'words=(vacm ipc POWER:STATUS:gp); CURRENT=3; _vacm',
        'words=(vacm ipc --config ""); CURRENT=4; _vacm',
      ].join('\n');
      const r = spawnSync('zsh', ['-f', '-c', prog], { cwd: dir, env: { PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`, HOME: dir }, encoding: 'utf8', timeout: 30_000 });
      expect(r.stderr).toBe('');
      expect(r.stdout.split('\n')).toEqual([
        'COMPDEF _vacm vacm vacm.mjs',
        'ADD -Q -S  -- POWER:', // a field goes on: no space after it
        'ADD -Q -- POWER:STATUS:gpu1',
        'ADD -Q -- POWER:STATUS:gpu2',
        'FILES', // a file name: zsh's own completion
        '',
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('refuses a shell it does not know, with the usage exit status', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const r = await cli(['completion', 'fish']);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/ERR_USAGE: Invalid values:[\s\S]*fish/);
    } finally {
      err.mockRestore();
    }
  });
});
