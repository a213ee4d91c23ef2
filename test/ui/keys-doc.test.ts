import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { keysMarkdown } from '../../src/ui/keymaps.js';
import { ROOT } from '../helpers/cli.js';

describe('docs/keys.md', () => {
  it('matches the keymaps (regenerate: npx tsx -e "import(\'./src/ui/keymaps.ts\').then(m=>require(\'fs\').writeFileSync(\'docs/keys.md\', m.keysMarkdown()))")', () => {
    expect(fs.readFileSync(path.join(ROOT, 'docs', 'keys.md'), 'utf8')).toBe(keysMarkdown());
  });
});
