/**
 * Hostile input to the deployment pieces: node names, groups and module texts that would reach a
 * shell's command line (completion), a man page (roff requests) or the journal (serve's log) never
 * arrive there as control sequences, requests or extra lines; none of them grows without bound.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { completeWords, shellWords } from '../../src/cli/completion.js';
import { manPage } from '../../src/cli/manpage.js';
import { formatFinding } from '../../src/cli/doctor.js';
import { serveLogger } from '../../src/cli/serve.js';
import type { ModuleDef } from '../../src/protocol/module.js';
import { tempDir } from '../helpers/engine.js';
import { hasBinary } from '../e2e/tmux.js';

describe('shell completion with hostile config words', () => {
  const src = {
    modules: [{ tag: 'POWER', commands: [{ name: 'STATUS' }] }],
    nodes: ['n1', 'n2\x1b]0;pwned\x07', 'n3\nrm -rf ~', 'n4 n5', 'n6\u009b31m'],
    groups: ['g1', 'g2;reboot', 'g\x00'],
  };
  it('offers no name with a control character, a space or a character the shell acts on', () => {
    const words = completeWords(['ipc', 'POWER:STATUS:n'], { source: () => src });
    expect(words).toEqual(['POWER:STATUS:n1']);
    // bash inserts a completion unquoted: `@g2;reboot` would run reboot on Enter
    const groups = completeWords(['nodeset', '@g'], { source: () => src });
    expect(groups).toEqual(['@g1']);
  });

  it('bounds the words offered for a huge nodelist', () => {
    const nodes = Array.from({ length: 100_000 }, (_, i) => `n${i}`);
    expect(completeWords(['ipc', 'POWER:STATUS:n'], { source: () => ({ ...src, nodes }) }).length).toBe(2000);
  });

  it('splits any line without throwing: unbalanced quotes, a trailing backslash, a megabyte', () => {
    expect(shellWords('vacm "unclosed')).toEqual(['vacm', 'unclosed']);
    expect(shellWords("vacm 'x")).toEqual(['vacm', 'x']);
    expect(shellWords('vacm x\\')).toEqual(['vacm', 'x\\']);
    expect(shellWords('vacm ' + 'a'.repeat(1 << 20)).length).toBe(2);
  });
});

describe('the man page with hostile module texts', () => {
  const evil: ModuleDef = {
    tag: 'EVIL',
    summary: '.so /etc/passwd\n.SH INJECTED',
    commands: [{ name: 'X', summary: "'\\\" comment\n.TH FAKE", args: [], nodes: 'none', lane: 'control', dangerous: false, run: async () => {} }],
  };
  it('escapes roff requests: they are text, not requests', () => {
    const page = manPage({ version: '1', date: '2026-12-01', modules: [evil] });
    expect(page).not.toMatch(/^\.so /m);
    expect(page).not.toMatch(/^\.SH INJECTED/m);
    expect(page).toContain('\\&.so /etc/passwd');
  });

  it.skipIf(!hasBinary('man'))('man -l shows them literally and includes no file', () => {
    const dir = tempDir('vacm-man-evil-');
    const file = path.join(dir, 'vacm.1');
    fs.writeFileSync(file, manPage({ version: '1', date: '2026-12-01', modules: [evil] }));
    const r = spawnSync('man', ['-l', file], { env: { ...process.env, MANWIDTH: '120' }, encoding: 'utf8' });
    expect(r.stdout).toContain('.so /etc/passwd');
    expect(r.stdout).toContain('.SH INJECTED');
    expect(r.stdout).not.toMatch(/^root:/m);
    expect(r.stdout).not.toMatch(/^INJECTED$/m);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('doctor and serve output with hostile texts', () => {
  it('doctor prints control characters as ?', () => {
    expect(formatFinding({ level: 'fail', check: 'nodes', message: 'a\x1b[2Jb', fix: 'c\rd\u0085' })).toBe('FAIL  nodes       a?[2Jb\n                   fix: c?d?\n');
  });

  it('serve writes one journal line per message, whatever the message holds', () => {
    const out: string[] = [];
    serveLogger((s) => out.push(s), { JOURNAL_STREAM: '1:1' })('event', 'x\n<0>forged emergency\x1b[0m');
    expect(out).toEqual(['<5>event x | <0>forged emergency?[0m\n']);
  });
});
