/**
 * Issue 10, item 15 (part): NEXXUS:CANCEL of its own job id, and directories that cannot be made
 * (/proc/x/y: Node's recursive mkdir spins there forever, at 100 % CPU, synchronously).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeEngine, tempDir } from '../helpers/engine.js';
import { toLine } from '../../src/protocol/events.js';
import { makeDirectory } from '../../src/platform/make-dir.js';
import { ROOT } from '../helpers/cli.js';

describe('NEXXUS:CANCEL of itself', () => {
  it('is ERR_BAD_ARGS; a CANCEL of an id not running is still ERR_NO_SUCH_JOB', async () => {
    const { engine, stateDir, events } = await makeEngine();
    try {
      const probe = await engine.submit('NEXXUS:MODULES').done;
      const self = probe.id + 1; // the next id is the CANCEL's own
      const v = await engine.submit(`NEXXUS:CANCEL::${self}`).done;
      expect(v.id).toBe(self);
      expect(v.state).toBe('failed');
      expect(v.error?.code).toBe('ERR_BAD_ARGS');
      expect(v.error?.message).toMatch(new RegExp(`^job ${self} is this CANCEL itself; give the id of the job to cancel`));
      expect(events.filter((e) => e.job === self).map(toLine)).not.toContain(`NEXXUS:${self}:JOB_CANCELLED`);
      // an id that is not running is still ERR_NO_SUCH_JOB
      expect((await engine.submit('NEXXUS:CANCEL::4000000000').done).error?.code).toBe('ERR_NO_SUCH_JOB');
    } finally {
      await engine.stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});

describe('makeDirectory: mkdir -p that always ends', () => {
  it('makes missing components, accepts existing ones, and refuses a file in the way', () => {
    const d = tempDir('vacm-mkdir-');
    try {
      makeDirectory(path.join(d, 'a', 'b', 'c'));
      expect(fs.statSync(path.join(d, 'a', 'b', 'c')).isDirectory()).toBe(true);
      expect((fs.statSync(path.join(d, 'a', 'b')).mode & 0o777).toString(8)).toBe('700');
      makeDirectory(path.join(d, 'a', 'b', 'c')); // again: nothing to do
      fs.writeFileSync(path.join(d, 'file'), '');
      expect(() => makeDirectory(path.join(d, 'file', 'x'))).toThrow(/not a directory/);
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  });

  // Run in a child with a time limit: the bug it guards against is a synchronous endless loop,
  // which would hang this test worker itself.
  it.skipIf(!fs.existsSync('/proc/self'))('under /proc it fails at once with ENOENT instead of spinning', () => {
    const script = `import('${path.join(ROOT, 'dist', 'platform', 'make-dir.js')}').then((m) => {
      try { m.makeDirectory('/proc/vacm-test/state'); console.log('made'); } catch (e) { console.log('refused', e.code); }
    })`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 });
    expect(r.signal).toBeNull(); // not killed by the timeout
    expect(r.stdout.trim()).toBe('refused ENOENT');
    // the prompt history is a convenience: the dashboard's writer gives up just as fast
    const hist = `import('${path.join(ROOT, 'dist', 'cli', 'tui.js')}').then((m) => { m.appendHistory('/proc/vacm-test/state', 'NEXXUS:MODULES'); console.log('returned'); })`;
    const h = spawnSync(process.execPath, ['-e', hist], { encoding: 'utf8', timeout: 20_000 });
    expect(h.signal).toBeNull();
    expect(h.stdout.trim()).toBe('returned');
    expect(execFileSync('ls', ['/proc']).toString()).not.toContain('vacm-test');
  });
});
