import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../../src/engine/engine.js';
import { parseConfig } from '../../src/engine/config.js';
import { createBackends } from '../../src/backends/index.js';
import { toLine, type VacmEvent } from '../../src/protocol/events.js';

async function withEngine(yaml: string, fn: (e: Engine, lines: string[]) => Promise<void>) {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-sshmod-'));
  const b = createBackends({ simSeed: 1 });
  const engine = new Engine({ config: parseConfig(yaml), modules: b.modules, stateDir, localName: 'nohost' });
  const lines: string[] = [];
  engine.subscribe((e: VacmEvent) => lines.push(toLine(e)));
  await engine.start();
  try {
    await fn(engine, lines);
  } finally {
    await engine.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

describe('SSH:EXEC on simulated nodes', () => {
  const yaml = 'nodes:\n  - names: sim[01-04]\n    vars: { sim: true, power: sim }\n';

  it('streams OUTPUT then EXIT per node and completes', async () => {
    await withEngine(yaml, async (engine, lines) => {
      const v = await engine.submit('SSH:EXEC:sim[01-04]:hostname').done;
      expect(v.state).toBe('completed');
      expect(v.ok).toBe(4);
      expect(lines).toContain(`SSH:${v.id}:OUTPUT:sim02:stdout:sim02`);
      expect(lines).toContain(`SSH:${v.id}:EXIT:sim02:0`);
      expect(lines.indexOf(`SSH:${v.id}:OUTPUT:sim02:stdout:sim02`)).toBeLessThan(lines.indexOf(`SSH:${v.id}:EXIT:sim02:0`));
    });
  });

  it('a non-zero exit counts the node as failed', async () => {
    await withEngine(yaml, async (engine, lines) => {
      const v = await engine.submit('SSH:EXEC:sim[01-02]:false').done;
      expect(v.failed).toBe(2);
      expect(lines).toContain(`SSH:${v.id}:EXIT:sim01:1`);
      expect(lines).toContain(`SSH:${v.id}:JOB_COMPLETED:ok=0:failed=2`);
    });
  });

  it('a command not on the allowlist is refused on every node', async () => {
    await withEngine(yaml + 'exec:\n  allow: ["uptime", "uname *"]\n', async (engine, lines) => {
      const v = await engine.submit('SSH:EXEC:sim[01-02]:hostname').done;
      expect(v.failed).toBe(2);
      expect(lines.filter((l) => l.includes(':ERROR:') && l.includes('ERR_NOT_ALLOWED'))).toHaveLength(2);
      expect(lines.some((l) => l.includes(':OUTPUT:'))).toBe(false);
      const ok = await engine.submit('SSH:EXEC:sim[01-02]:uname -r').done;
      expect(ok.ok).toBe(2);
    });
  });
});
