/**
 * A node's serial console as a person uses it, against a real ipmi_sim whose SOL serial port is a
 * TCP server of this test: the dashboard's `c` shows the port's lines, typing reaches it, `~.`
 * returns to the dashboard as it was; `vacm console NODE` in tmux does the same from the shell and
 * gives the terminal back in cooked mode; escape sequences from the node are drawn, never obeyed.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { ipmiSimAvailable, startIpmiSims, type IpmiSims } from '../fixtures/ipmi-sim.js';
import { hasBinary, tmuxAvailable, tmuxSuite } from './tmux.js';
import { SerialServer } from '../helpers/serial.js';
import { until } from '../helpers/wait.js';

const have = tmuxAvailable() && ipmiSimAvailable() && hasBinary('ipmitool');
const PASSWORD = 'pw-e2e-console-5';
const BMC = '127.0.20.172';

describe.skipIf(!have)('serial consoles in tmux (needs tmux, ipmi_sim, ipmitool)', () => {
  let sims: IpmiSims;
  const serial = new SerialServer();
  let config = '';
  const env = () => ({ VACM_STATE_DIR: tempDir('vacm-e2e-console-'), VACM_TEST_BMC_PW: PASSWORD });

  const session = tmuxSuite({ before: async () => {
    await serial.listen();
    sims = await startIpmiSims({ count: 1, firstAddress: BMC, password: PASSWORD, sol: () => ({ host: '127.0.0.1', port: serial.port }) });
    const dir = tempDir('vacm-e2e-console-cfg-');
    config = path.join(dir, 'vacm.yaml');
    fs.writeFileSync(
      config,
      `cluster: consoles
nodes:
  - names: plain01
    vars: { power: none }
  - names: con01
    vars: { power: none, console: ipmi, bmc_host: "${BMC}", bmc_user: admin, bmc_password_env: VACM_TEST_BMC_PW }
`,
      { mode: 0o600 },
    );
  }, after: async () => {
    await sims?.stop();
    await serial.close();
  } });

  it('c opens con01\'s console full screen, typing reaches the node, ~. returns to the dashboard intact', async () => {
    const tmux = session('dash');
    tmux.start(`node bin/vacm.js --config ${config}`, { cwd: ROOT, columns: 100, rows: 30, env: env() });
    await tmux.waitFor((s) => s.includes('con01') && s.includes('? help'), 20_000);
    tmux.keys('j'); // the cursor on con01
    tmux.keys('c');
    await tmux.waitFor('console con01', 10_000);
    await until('ipmi_sim to connect its serial port', () => serial.sockets.size > 0, 30_000);
    // the port's first words after ipmi_sim connects may be lost: say it until it shows
    await until('the boot line on screen', () => tmux.capture().includes('con01 boot line 1'), 20_000, { step: () => serial.say('con01 boot line 1\r\n') });
    serial.say('\x1b]0;pwned\x07\x1b[2Jafter the escapes\r\n');
    const screen = await tmux.waitFor('after the escapes', 5000);
    expect(screen).toContain('^[]0;pwned^G^[[2Jafter the escapes');
    expect(screen).toContain('con01 boot line 1'); // not cleared by the node's ESC [2J
    expect(tmux.paneTitle()).not.toContain('pwned');
    tmux.type('whoami');
    tmux.keys('Enter');
    await until('the node to receive the typing', () => serial.received.includes('whoami\r'), 5000);
    tmux.type('~.');
    const back = await tmux.waitFor((s) => s.includes('? help') && !s.includes('console con01'), 5000);
    expect(back).toContain('plain01');
    expect(serial.received).not.toContain('~.');
    // the cursor is still where it was: c opens con01 again, not plain01
    tmux.keys('c');
    await tmux.waitFor('console con01', 5000);
    tmux.type('~.');
    await tmux.waitFor((s) => s.includes('? help') && !s.includes('console con01'), 5000);
    tmux.keys('q');
    await tmux.waitFor('VACM_EXITED', 10_000);
  }, 120_000);

  it('vacm console con01 from the shell: lines, typing, ~. leaves with the terminal restored and the payload free', async () => {
    spawnSync('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', BMC, '-U', 'admin', '-P', PASSWORD, 'sol', 'deactivate'], { timeout: 10_000, stdio: 'ignore' });
    const tmux = session('cli');
    tmux.start(`node bin/vacm.js console con01 --config ${config}; stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; echo`, { cwd: ROOT, columns: 100, rows: 30, env: env() });
    await tmux.waitFor('con01: console open', 20_000);
    await until('a line from the node', () => tmux.capture().includes('shell line 7'), 30_000, { step: () => serial.say('shell line 7\r\n') });
    tmux.type('date');
    tmux.keys('Enter');
    await until('the node to receive the typing', () => serial.received.includes('date\r'), 5000);
    tmux.type('~?');
    await tmux.waitFor('~B  send a serial break', 5000);
    tmux.type('~.');
    const end = await tmux.waitFor('VACM_EXITED', 10_000);
    expect(end).toContain('con01: console closed');
    expect(end).toMatch(/(^|\s)icanon echo(\s|$)/m); // raw mode undone
    const sol = spawnSync('timeout', ['4', 'script', '-qfc', `ipmitool -I lanplus -C 3 -H ${BMC} -U admin -P ${PASSWORD} sol activate`, '/dev/null'], { encoding: 'utf8', input: '' });
    expect(sol.stdout + sol.stderr).toContain('SOL Session operational');
    spawnSync('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', BMC, '-U', 'admin', '-P', PASSWORD, 'sol', 'deactivate'], { timeout: 10_000, stdio: 'ignore' });
  }, 120_000);
});
