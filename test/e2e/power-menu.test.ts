/**
 * The power menu's boot, next-boot-device and identify entries (issue 14) in the real `vacm` in
 * tmux at 80x24, with two IPMI nodes and two SSH-driver nodes: marked all together, b, d and i are
 * offered and counted "2 of 4" (only the IPMI nodes' driver can); marked SSH nodes alone, they are
 * greyed with the reason, and the key says why. Each captured screen is, word for word, the overlay
 * the menu's own spec draws for the same facts. No BMC answers: opening the menu asks nobody.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { tmuxAvailable, tmuxSuite, type Tmux } from './tmux.js';
import { activeKeymaps } from '../../src/ui/keymaps.js';
import { powerSpec } from '../../src/ui/panes/Dialogs.js';
import { powerOffers } from '../../src/ui/power-menu.js';
import { powerCapability } from '../../src/protocol/power.js';
import type { PowerFacts } from '../../src/ui/ui-engine.js';
import type { OverlaySpec } from '../../src/ui/panes/Overlay.js';
import { overlayMismatches } from '../ui/overlay-check.js';

const COLUMNS = 80;
const ROWS = 24;
const maps = activeKeymaps(false);

const VARS: Record<string, Record<string, string>> = {
  bmc1: { power: 'ipmi', bmc_host: '127.0.21.231', bmc_user: 'admin' },
  bmc2: { power: 'ipmi', bmc_host: '127.0.21.232', bmc_user: 'admin' },
  ssh1: { power: 'ssh' },
  ssh2: { power: 'ssh' },
};

/** What the dashboard's engine answers for these nodes (ui-engine.ts powerFacts), from the same variables. */
function facts(names: string[]): PowerFacts[] {
  return names.map((name) => {
    const cap = powerCapability(VARS[name]!);
    return { name, driver: cap.driver, actions: cap.actions, noDriver: cap.reason };
  });
}

function menu(names: string[]): { spec: OverlaySpec; offers: ReturnType<typeof powerOffers> } {
  const offers = powerOffers(maps, facts(names));
  return { spec: powerSpec({ kind: 'power', targets: names, offers }, maps), offers };
}

function start(tmux: Tmux): void {
  const dir = tempDir('vacm-e2e-powermenu-');
  const pw = path.join(dir, 'bmc.pass');
  fs.writeFileSync(pw, 'unused\n', { mode: 0o600 });
  const config = path.join(dir, 'vacm.yaml');
  const node = (n: string) => `  - names: ${n}\n    vars: { ${Object.entries(VARS[n]!).map(([k, v]) => `${k}: ${v}`).join(', ')}${VARS[n]!.bmc_host ? `, bmc_password_file: ${pw}` : ''} }\n`;
  fs.writeFileSync(config, `cluster: menu\nsensors: { enabled: false }\nsysstat: { enabled: false }\nnodes:\n${Object.keys(VARS).map(node).join('')}`);
  tmux.start(`node bin/vacm.js --config ${config}`, { cwd: ROOT, columns: COLUMNS, rows: ROWS, env: { VACM_STATE_DIR: path.join(dir, 'state') } });
}

async function shows(tmux: Tmux, spec: OverlaySpec): Promise<string> {
  const s = await tmux.waitFor((x) => overlayMismatches(x, spec, COLUMNS, ROWS).length === 0, 5000).catch(() => tmux.capture());
  expect(overlayMismatches(s, spec, COLUMNS, ROWS)).toEqual([]);
  return s;
}

describe.skipIf(!tmuxAvailable())('the power menu\'s boot, boot device and identify entries in tmux at 80x24 (needs tmux)', () => {
  const session = tmuxSuite();

  it('IPMI and SSH nodes marked together: b, d and i offered for the 2 IPMI nodes of 4, word for word', async () => {
    const tmux = session('pmenu-mixed');
    start(tmux);
    await tmux.waitFor((x) => x.includes('ssh2') && x.includes('? help'));
    tmux.keys('a'); // mark every shown node
    await tmux.waitFor('4 marked');
    tmux.keys('p');
    await tmux.waitFor('POWER · ');
    const all = ['bmc1', 'bmc2', 'ssh1', 'ssh2'];
    const { spec, offers } = menu(all);
    // the facts say what the screen must: the IPMI driver alone can do the three new entries
    const counted = Object.fromEntries(offers.map((o) => [o.action, o.targets.length]));
    expect(counted).toMatchObject({ boot: 2, bootdev: 2, identify: 2 });
    const s = await shows(tmux, spec);
    expect(s).toMatch(/b +boot \(on if off, else reset\) +2 of 4 +\(asks first\)/);
    expect(s).toMatch(/d +next boot device… +2 of 4 +\(asks first\)/);
    expect(s).toMatch(/i +identify LED \/ beacon… +2 of 4/);
    // d: the boot device choice, for the two that can, the others named as left out
    tmux.keys('d');
    await tmux.waitFor('NEXT BOOT DEVICE');
    const bootdev = offers.find((o) => o.action === 'bootdev')!;
    const sub = await shows(tmux, powerSpec({ kind: 'power', targets: all, offers, sub: { offer: bootdev, persistent: false, seconds: '' } }, maps));
    expect(sub).toContain('ssh[1-2] (power: ssh)');
    tmux.keys('Escape');
    await tmux.waitFor((x) => !x.includes('NEXT BOOT DEVICE'));
    tmux.keys('Escape');
    await tmux.waitFor((x) => !x.includes('POWER · '));
    tmux.keys('q');
    await tmux.waitFor('VACM_EXITED 0');
  }, 60_000);

  it('SSH-driver nodes alone: b, d and i greyed with the reason; pressing one says why and sends nothing', async () => {
    const tmux = session('pmenu-ssh');
    start(tmux);
    await tmux.waitFor((x) => x.includes('ssh2') && x.includes('? help'));
    tmux.keys('/');
    await tmux.waitFor('filter (node set or text):');
    tmux.type('ssh[1-2]');
    tmux.keys('Enter');
    await tmux.waitFor('NODES 2 of 4');
    tmux.keys('a');
    await tmux.waitFor('2 marked');
    tmux.keys('p');
    await tmux.waitFor('POWER · ssh[1-2] (2)');
    const { spec, offers } = menu(['ssh1', 'ssh2']);
    for (const a of ['boot', 'bootdev', 'identify']) expect(offers.find((o) => o.action === a)?.disabledReason).toBe('not possible with power: ssh');
    const s = await shows(tmux, spec);
    expect(s).toMatch(/b +boot \(on if off, else reset\) +— not possible with power: ssh/);
    expect(s).toMatch(/d +next boot device… +— not possible with power: ssh/);
    expect(s).toMatch(/i +identify LED \/ beacon… +— not possible with power: ssh/);
    // the SSH driver's own entries stay offered
    expect(s).toMatch(/r +hard reset +all 2 +\(asks first\)/);
    tmux.keys('i');
    await tmux.waitFor('identify LED / beacon…: not possible with power: ssh');
    // still the menu, unchanged: nothing was asked or sent
    await shows(tmux, spec);
    tmux.keys('Escape');
    await tmux.waitFor((x) => !x.includes('POWER · '));
    tmux.keys('q');
    await tmux.waitFor('VACM_EXITED 0');
  }, 60_000);
});
