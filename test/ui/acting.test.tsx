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

describe('results you can act on (issue 15 item 3)', () => {
  /** 8 sim nodes, sim002 and sim005 failed, an exec on all 8 (run on the down ones too: skip_states []), its output open gathered */
  async function failedJob() {
    app = await startApp({ nodes: 8, skipStates: [], columns: 140, rows: 40 });
    await app.waitFor('sim001');
    await app.engine.submit('SIM:FAIL:sim002,sim005').done;
    await app.waitFor(/2 down/);
    await app.press('a', 'x', ...'uname -r', KEY.enter, 'y');
    await app.waitFor(/#2 ⚠ 8\/8 completed, 2 failed  SSH:EXEC:sim\[001-008\]:u/);
    await app.press(KEY.escape, KEY.escape, KEY.escape); // marks off
    await app.press(KEY.tab, KEY.enter, 'g');
    return app.waitFor(/#2 .* · gathered/);
  }

  it('Space marks the failed group under the cursor; r re-runs the request on exactly those nodes after the usual confirmation', async () => {
    let f = await failedJob();
    // the failed group comes first, the cursor on its header
    expect(f).toMatch(/│ sim\[002,005\] \(2\)/);
    await app!.press(' ');
    f = await app!.waitFor('marked sim[002,005] (2) · 2 marked');
    expect(f).toContain('· 2 marked ·');
    await app!.press('r');
    f = await app!.waitFor('CONFIRM');
    expect(f).toContain('sim[002,005]');
    expect(f).toContain('request: SSH:EXEC:sim[002,005]:uname -r');
    await app!.press('y');
    await app!.waitFor(/#3 .*SSH:EXEC:sim\[002,005\]:un/);
    await app!.waitFor("job #3: SSH:EXEC:sim[002,005]:uname -r");
    const job = app!.engine.getSnapshot().jobs.find((j) => j.id === 3)!;
    expect([...job.targets]).toEqual(['sim002', 'sim005']);
  });

  it('F marks every failed node; r with nothing marked re-runs on the failed ones; Space on a good group marks it', async () => {
    await failedJob();
    await app!.press('F');
    await app!.waitFor('marked the 2 failed: sim[002,005] · r re-runs on them');
    await app!.press('j', 'j', 'j', ' ');
    await app!.waitFor('marked sim[001,003-004,006-008] (6) · 8 marked');
    await app!.press(' ');
    await app!.waitFor('unmarked sim[001,003-004,006-008] (6) · 2 marked');
    // marks cleared (u-able), then r falls back to the failed set
    await app!.press(KEY.escape, KEY.escape, KEY.escape);
    await app!.press(KEY.enter, 'r');
    const f = await app!.waitFor('CONFIRM');
    expect(f).toContain('request: SSH:EXEC:sim[002,005]:uname -r');
  });
});

describe('custom actions (issue 15 item 5)', () => {
  const ACTIONS = [
    { key: 'R', name: 'restart slurmd', request: 'SSH:EXEC:{nodes}:systemctl restart slurmd', confirm: false },
    { key: 'V', name: 'power var', request: 'NEXXUS:GET_VAR:{node}:power', confirm: false },
    { key: 'H', name: 'who (asks)', request: 'NEXXUS:GET_VAR:{nodes}:host', confirm: true },
  ];

  it('are in the footer and in help; a dangerous one confirms like any other, a harmless one runs at once', async () => {
    app = await startApp({ nodes: 8, columns: 200, actions: ACTIONS });
    let f = await app.waitFor('R restart slurmd');
    expect(f.split('\n').at(-1)).toContain('│  R restart slurmd  V power var');
    await app.press(' ', ' ', 'R');
    f = await app.waitFor('CONFIRM');
    expect(f).toContain('request: SSH:EXEC:sim[001-002]:systemctl restart slurmd');
    expect(f).toContain('custom action "restart slurmd" (R)');
    await app.press('n', 'V');
    await app.waitFor('job #1: NEXXUS:GET_VAR:sim003:power');
    await app.press('H');
    f = await app.waitFor('CONFIRM');
    expect(f).toContain('request: NEXXUS:GET_VAR:sim[001-002]:host');
    await app.press('y');
    await app.waitFor('job #2: NEXXUS:GET_VAR:sim[001-002]:host');
    await app.press('?', '/', ...'slurm');
    f = await app.waitFor('Custom actions (vacm.yaml)');
    expect(f).toMatch(/R +restart slurmd/);
  });

  it('the prompt completes an action name to its request on the targets', async () => {
    app = await startApp({ nodes: 8, columns: 140, actions: ACTIONS });
    await app.waitFor('sim001');
    await app.press(':', ...'rest', KEY.tab);
    await app.waitFor(':SSH:EXEC:sim001:systemctl restart slurmd');
    await app.press(KEY.escape, ':', KEY.tab);
    await app.waitFor(/restart slurmd \(R\) +power var \(V\)/);
  });

  it('a key that clashes with a built-in key is refused', () => {
    // the start-up check (cli/tui.ts) over the same keymaps
    return import('../../src/ui/keymaps.js').then(({ customActionProblem }) => {
      const ok = () => ({ ok: true as const });
      expect(customActionProblem([{ key: 'p', name: 'mine', request: 'NEXXUS:JOBS', confirm: false, source: 'v.yaml:9: actions.0' }], ok, 'n1')).toBe('v.yaml:9: actions.0.key: p is a built-in key (power menu, nodes pane); choose another key for "mine"');
      expect(customActionProblem([{ key: 'tab', name: 'x', request: 'NEXXUS:JOBS', confirm: false }], ok, 'n1')).toMatch(/Tab is a built-in key/);
      const bad = () => ({ ok: false as const, code: 'ERR_UNKNOWN_MODULE', message: 'no module NOPE' });
      expect(customActionProblem([{ key: 'R', name: 'x', request: 'NOPE:X:{nodes}', confirm: false, source: 'v.yaml:3: actions.0' }], bad, 'n1')).toBe('v.yaml:3: actions.0.request: "NOPE:X:{nodes}" is not a valid request: ERR_UNKNOWN_MODULE: no module NOPE');
      expect(customActionProblem([{ key: 'R', name: 'x', request: 'NEXXUS:JOBS', confirm: false }], ok, 'n1')).toBeUndefined();
    });
  });
});
