/**
 * What `npm run bundle` (scripts/bundle.mjs) puts inside vacm.mjs in place of the files an installed
 * package reads from its folder: the version (package.json) and the themes (themes/*.json).
 * Undefined when vacm runs from its package folder (dist/ or src/).
 */
import fs from 'node:fs';

export interface Bundled {
  version: string;
  /** theme name → its JSON, as in themes/<name>.json */
  themes: Readonly<Record<string, unknown>>;
}

declare const VACM_BUNDLED: Bundled | undefined;

export const BUNDLED: Bundled | undefined = typeof VACM_BUNDLED === 'undefined' ? undefined : VACM_BUNDLED;

/** vacm's version: package.json's, read from the package folder (dist/cli or src/cli → ../..). */
export function vacmVersion(): string {
  if (BUNDLED) return BUNDLED.version;
  try {
    return (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
