/**
 * The real `vacm` in tmux, continued: with no config it shows this machine live; it follows a
 * window resize (down to 80x24); the prompt's history outlives the process (state dir).
 */
import os from 'node:os';
import { describe, it, expect } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { tmuxAvailable, tmuxSuite } from './tmux.js';

describe.skipIf(!tmuxAvailable())('vacm in tmux, continued (needs tmux: apt-get install tmux)', () => {
  const session = tmuxSuite();

  it('with no config: this machine alone, live (its load and memory appear)', async () => {
    const home = tempDir('vacm-e2e-home-');
    const tmux = session('local');
    tmux.start('node bin/vacm.js', { cwd: ROOT, columns: 120, rows: 30, env: { HOME: home, VACM_CONFIG: '', VACM_STATE_DIR: home } });
    const me = os.hostname().split('.')[0];
    const s = await tmux.waitFor((x) => x.includes(`1 nodes: 1 up`) && new RegExp(`[●] ${me} .* \\d+\\.\\d\\d +\\d+% +\\d+%`).test(x), 30_000);
    expect(s).toContain(`vacm · ${me}`);
    tmux.keys('q');
    await tmux.waitFor('VACM_EXITED 0');
  }, 60_000);

  it('follows a resize of the window, down to 80x24 and back', async () => {
    const stateDir = tempDir('vacm-e2e-');
    const tmux = session('resize');
    tmux.start('node bin/vacm.js --demo', { cwd: ROOT, columns: 160, rows: 50, env: { VACM_STATE_DIR: stateDir } });
    let s = await tmux.waitFor('sim040');
    const widest = () => Math.max(...tmux.capture().split('\n').map((l) => [...l].length));
    expect(widest()).toBeGreaterThan(150);
    tmux.resize(80, 24);
    s = await tmux.waitFor((x) => x.split('\n').every((l) => [...l].length <= 80) && x.includes('vacm · demo') && /\? help/.test(x));
    expect(s.split('\n').filter((l) => l.trim() !== '').length).toBeLessThanOrEqual(24);
    expect(s).toMatch(/[●✖○?] sim00\d /); // the nodes are still there
    tmux.resize(160, 50);
    s = await tmux.waitFor((x) => x.includes('sim040') && Math.max(...x.split('\n').map((l) => [...l].length)) > 150);
    tmux.keys('q');
    await tmux.waitFor('VACM_EXITED 0');
  }, 60_000);

  it('the prompt history outlives the process: Up after a restart brings back the last request', async () => {
    const stateDir = tempDir('vacm-e2e-');
    const first = session('hist1');
    first.start('node bin/vacm.js --demo --nodes 8', { cwd: ROOT, columns: 120, rows: 30, env: { VACM_STATE_DIR: stateDir } });
    await first.waitFor('sim008');
    first.keys(':');
    await first.waitFor('Tab complete');
    first.type('NEXXUS:GET_VAR:sim00[1-2]:power');
    first.keys('Enter');
    await first.waitFor(/#\d+ ✔ NEXXUS:GET_VAR/);
    first.keys('q');
    await first.waitFor('VACM_EXITED 0');

    const second = session('hist2');
    second.start('node bin/vacm.js --demo --nodes 8', { cwd: ROOT, columns: 120, rows: 30, env: { VACM_STATE_DIR: stateDir } });
    await second.waitFor('sim008');
    second.keys(':');
    await second.waitFor('Tab complete');
    second.keys('Up');
    await second.waitFor(':NEXXUS:GET_VAR:sim00[1-2]:power');
    second.keys('Escape'); // alone: Escape and q in one burst read as Alt-q
    await second.waitFor((x) => !x.includes('Tab complete'));
    second.keys('q');
    await second.waitFor('VACM_EXITED 0');
  }, 60_000);
});
