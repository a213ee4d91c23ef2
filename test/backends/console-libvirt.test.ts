/**
 * `console: libvirt` runs `virsh console` on a pty through util-linux's `script`. The libvirt
 * fixture's QEMU domains have no serial device, so this drives the plumbing with a stand-in virsh
 * (a script that talks as `virsh console` does): lines arrive, typing reaches it, and a hostile
 * libvirt_domain never becomes shell text.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/engine.js';
import { createLibvirtConsoleDriver } from '../../src/backends/console/libvirt-driver.js';
import { until } from '../helpers/wait.js';
import { hasBinary } from '../helpers/peers.js';

const haveScript = hasBinary('script');

function fakeVirsh(dir: string): string {
  const file = path.join(dir, 'virsh');
  // prints its arguments, the banner, then echoes what it is typed, as "got: ..."
  fs.writeFileSync(
    file,
    `#!/bin/sh
printf "Connected to domain '%s'\\r\\nEscape character is ^]\\r\\n" "$3"
printf 'args:'; for a in "$@"; do printf ' [%s]' "$a"; done; printf '\\r\\n'
stty raw -echo 2>/dev/null
while IFS= read -r line; do printf 'got: %s\\r\\n' "$line"; done
`,
    { mode: 0o755 },
  );
  return file;
}

describe.skipIf(!haveScript)('the libvirt console driver (virsh console on a pty)', () => {
  it('hands over what virsh prints after its banner, and types to it', async () => {
    const dir = tempDir('vacm-virsh-');
    const driver = createLibvirtConsoleDriver({ virsh: fakeVirsh(dir) });
    let out = '';
    const con = await driver.open('vm01', { libvirt_domain: 'dom-1' }, { onData: (d) => (out += d.toString()) });
    con.write(Buffer.from('hello\n'));
    await until('the echo of hello', () => out.includes('got: hello'));
    expect(out).not.toContain('Escape character'); // virsh's banner is not the node's
    await con.close();
    expect(await con.ended).toBeUndefined();
  });

  it('a hostile libvirt_domain reaches virsh as one argument, never as shell text', async () => {
    const dir = tempDir('vacm-virsh-');
    const marker = path.join(dir, 'pwned');
    const driver = createLibvirtConsoleDriver({ virsh: fakeVirsh(dir) });
    const evil = `x"; touch ${marker}; echo "$(touch ${marker})`;
    let out = '';
    const con = await driver.open('vm02', { libvirt_domain: evil }, { onData: (d) => (out += d.toString()) });
    await until('the args line', () => out.includes('args:'));
    await con.close();
    expect(fs.existsSync(marker)).toBe(false);
    expect(out).toContain(`args: [console] [--domain] [${evil}]`);
  });

  it('says why when virsh ends at once (no such domain, no serial device)', async () => {
    const dir = tempDir('vacm-virsh-');
    const bad = path.join(dir, 'virsh');
    fs.writeFileSync(bad, "#!/bin/sh\necho \"error: failed to get domain 'nope'\" >&2\nexit 1\n", { mode: 0o755 });
    const driver = createLibvirtConsoleDriver({ virsh: bad });
    await expect(driver.open('vm03', { libvirt_domain: 'nope' }, { onData: () => undefined })).rejects.toThrow(/virsh console of vm03 \(libvirt domain nope\) ended \(exit 1\).*check libvirt_uri and libvirt_domain/);
  });
});
