/** In CI a test that would skip for a missing peer fails the run instead (test/helpers/peers.ts). */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { peerAvailable } from '../helpers/peers.js';
import { hasBinary } from '../fixtures/sshd.js';

describe('a missing peer', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('skips the test outside CI', () => {
    vi.stubEnv('CI', '');
    expect(peerAvailable(false, 'ipmi_sim')).toBe(false);
    expect(hasBinary('vacm-no-such-peer')).toBe(false);
  });

  it('fails the run under CI=true, naming what to install', () => {
    vi.stubEnv('CI', 'true');
    expect(() => peerAvailable(false, 'ipmi_sim (openipmi)')).toThrow(/CI=true and ipmi_sim \(openipmi\) is missing: install it/);
    expect(() => hasBinary('vacm-no-such-peer')).toThrow(/vacm-no-such-peer is missing/);
    expect(peerAvailable(true, 'sshd')).toBe(true);
  });
});
