/** What a dialog must look like on screen: the overlay's rows, word for word, where overlayRect puts them. */
import { geometry } from '../../src/ui/App.js';
import { overlayRect, overlayText, type OverlaySpec } from '../../src/ui/panes/Overlay.js';

/** The main area's rows for a terminal of this size (the app draws one row short, one prompt row). */
export function mainRows(columns: number, rows: number): number {
  return geometry(columns, rows - 1, 1).main;
}

/**
 * The overlay rows that differ from the screen (empty when the screen shows exactly what was drawn).
 * `screen` is the whole frame (header on its first line).
 */
export function overlayMismatches(screen: string, spec: OverlaySpec, columns: number, rows: number): string[] {
  const main = mainRows(columns, rows);
  const rect = overlayRect(spec, columns, main);
  const want = overlayText(spec, rect);
  const lines = screen.split('\n');
  const bad: string[] = [];
  want.forEach((w, i) => {
    const got = [...(lines[1 + rect.top + i] ?? '')].slice(rect.left, rect.left + rect.width).join('');
    if (got !== w) bad.push(`row ${1 + rect.top + i}:\n  want ${JSON.stringify(w)}\n  got  ${JSON.stringify(got)}`);
  });
  return bad;
}
