/** Acting on what you see (issue 11 item 6, issue 15 items 3 and 5), on a real engine with SIM nodes. */
import { describe, it, expect, afterEach } from 'vitest';
import { KEY, startApp } from './helpers.js';

let app: Awaited<ReturnType<typeof startApp>> | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

describe('exec.safe in the dashboard (issue 11 item 6)', () => {
  it('a safe command on 32 nodes runs at once, no typed count; an unsafe one still asks', async () => {
    app = await startApp({ nodes: 40, safe: ['uname *'] });
    await app.waitFor('NODES 40');
    await app.press('/', ...'@rack1', KEY.enter);
    await app.waitFor('NODES 32 of 40');
    await app.press('a', 'x', ...'uname -r', KEY.enter);
    let f = await app.waitFor('job #1: SSH:EXEC:sim[001-032]:uname -r');
    expect(f).not.toContain('CONFIRM');
    await app.press('x', ...'uname -r; reboot', KEY.enter);
    f = await app.waitFor('CONFIRM');
    expect(f).toContain('Type 32');
    await app.press(KEY.escape);
    await app.waitFor('cancelled: nothing was done');
  });

  it('read-only runs a safe command from x', async () => {
    app = await startApp({ nodes: 4, safe: ['uname *'], readOnly: true });
    await app.waitFor('READ-ONLY');
    await app.press('x', ...'uname -r', KEY.enter);
    await app.waitFor('job #1: SSH:EXEC:sim001:uname -r');
  });

  it('SIM:RECOVER from the prompt runs without a confirmation', async () => {
    app = await startApp({ nodes: 4 });
    await app.waitFor('sim001');
    await app.press(':', ...'SIM:RECOVER:sim001', KEY.enter);
    const f = await app.waitFor('job #1: SIM:RECOVER:sim001');
    expect(f).not.toContain('CONFIRM');
  });
});
