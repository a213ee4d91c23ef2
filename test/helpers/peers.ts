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
