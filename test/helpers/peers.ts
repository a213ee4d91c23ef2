import fs from 'node:fs';
import path from 'node:path';

/**
 * The one rule for tests that need a real peer (sshd, ipmi_sim, powermand, libvirt, fping, ...):
 * where it is missing the test is skipped, naming what to install, except in CI (`CI=true`), where a
 * missing peer fails the run at once: CI must never pass with the integration tests skipped
 * (.ci/run installs every peer a test needs).
 */
export function peerAvailable(found: boolean, what: string): boolean {
  if (!found && process.env.CI === 'true') {
    throw new Error(`CI=true and ${what} is missing: install it (.ci/run lists every peer the tests need); in CI a test may not skip for a missing peer`);
  }
  return found;
}

/**
 * Is the program `name` on PATH (or in /usr/sbin, /sbin)? The one check for every test that needs a
 * program: without it the test skips, except in CI (peerAvailable).
 */
export function hasBinary(name: string): boolean {
  return peerAvailable(onPath(name), name);
}

/** Whether `name` is on PATH (or in /usr/sbin, /sbin), without the CI rule: for a peer that needs several programs. */
export function onPath(name: string): boolean {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    try {
      fs.accessSync(path.join(dir, name), fs.constants.X_OK);
      return true;
    } catch {
      /* next */
    }
  }
  return false;
}
