/**
 * vacm.1: generated from the command tables and the module registry, rendered by man(1) itself, and
 * naming every option that --help shows (for every command).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { manPage, roff } from '../../src/cli/manpage.js';
import { COMMANDS } from '../../src/cli/options.js';
import { builtinModules } from '../../src/backends/index.js';
import { cli, ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { hasBinary } from '../e2e/tmux.js';

const COMMAND_NAMES = Object.values(COMMANDS).map((d) => d.command.split(' ')[0]).filter((n) => n !== '$0');

describe('roff escaping', () => {
  it.each([
    ['a-b', 'a\\-b'],
    ['C:\\path', 'C:\\epath'],
    ['.TH injected', '\\&.TH injected'],
    ["'quote at start", "\\&'quote at start"],
    ['two\n.SH lines', 'two\n\\&.SH lines'],
  ])('%j → %j', (input, want) => {
    expect(roff(input)).toBe(want);
  });
});

describe.skipIf(!hasBinary('man'))('vacm.1 rendered by man -l (needs man-db: apt-get install man-db)', () => {
  let dir: string;
  let text: string;
  beforeAll(() => {
    dir = tempDir('vacm-man-');
    const file = path.join(dir, 'vacm.1');
    // generated now, from the tables: never a stale file
    fs.writeFileSync(file, manPage({ version: '9.9.9', date: '2026-12-01', modules: builtinModules() }));
    const r = spawnSync('man', ['-l', file], { env: { ...process.env, MANWIDTH: '120', MAN_KEEP_FORMATTING: '', MANROFFOPT: '' }, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    text = r.stdout;
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('renders without warnings, with NAME, SYNOPSIS, every command, the IPC grammar, FILES, ENVIRONMENT and EXIT STATUS', () => {
    const w = spawnSync('man', ['--warnings', '-l', path.join(dir, 'vacm.1')], { env: { ...process.env, MANWIDTH: '120' }, encoding: 'utf8' });
    expect(w.stderr).toBe('');
    expect(text).toMatch(/^VACM\(1\)\s+User Commands\s+VACM\(1\)$/m);
    for (const h of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'COMMANDS', 'IPC REQUESTS', 'FILES', 'ENVIRONMENT', 'EXIT STATUS', 'SIGNALS']) expect(text).toMatch(new RegExp(`^${h}$`, 'm'));
    for (const c of COMMAND_NAMES) expect(text).toMatch(new RegExp(`^ {7}vacm ${c} \\[options\\]`, 'm'));
    expect(text).toContain('TAG:COMMAND[:NODES[:ARG...]]');
    expect(text).toContain('SSH:EXEC:<nodes>:<command...> (changes things: audited, refused read-only)');
    expect(text).toContain('POWER:STATUS:<nodes>:[FORCE] - read');
    expect(text).toContain('VACM_STATE_DIR');
    expect(text).toContain('vacm 9.9.9');
    // examples with $0 replaced, as --help shows them
    expect(text).toContain("vacm ipc 'SSH:EXEC:node[001-064]:uname -r'");
    expect(text).not.toContain('$0');
  });

  it('names every option that --help shows, for the dashboard and for every command', async () => {
    // yargs prints --help with console.log
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const helps: string[] = [];
    try {
      for (const argv of [['--help'], ...COMMAND_NAMES.map((c) => [c, '--help'])]) {
        log.mockClear();
        expect((await cli(argv)).code).toBe(0);
        helps.push(log.mock.calls.map((c) => c.join(' ')).join('\n'));
      }
    } finally {
      log.mockRestore();
    }
    let checked = 0;
    for (const h of helps) {
      expect(h).toContain('--help');
      for (const opt of new Set(h.match(/(?<![\w-])--?[a-zA-Z][\w-]*/g) ?? [])) {
        expect(text, `${opt} is in --help but not in the man page`).toContain(opt);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(30);
  });
});

describe('npm run build writes vacm.1, and package.json installs it', () => {
  it('has a man field naming the file that the build writes and the package ships', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { man: string[]; files: string[]; scripts: Record<string, string> };
    expect(pkg.man).toEqual(['./vacm.1']);
    expect(pkg.files).toContain('vacm.1');
    expect(pkg.scripts.build).toContain('scripts/man.mjs');
    const out = path.join(tempDir('vacm-man-build-'), 'vacm.1');
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' });
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'man.mjs'), out], { cwd: ROOT, env: { ...process.env, SOURCE_DATE_EPOCH: '1764547200' } });
    const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect(fs.readFileSync(out, 'utf8')).toBe(manPage({ version, date: '2025-12-01', modules: builtinModules() }));
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }, 120_000);
});
