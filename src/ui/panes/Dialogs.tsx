/**
 * Every dialog as data for the one Overlay: confirmation, power menu, help, quit, a job's full
 * output. Pure functions of the modal and what the engine told us (tested without ink).
 */
import type { JobView } from '../../protocol/module.js';
import { foldNodeSet } from '../../protocol/nodeset.js';
import { maskRequestLine } from '../../protocol/vars.js';
import { visibleLine } from '../../protocol/visible.js';
import { bindingKeys, helpLines, searchHelp, type Keymaps } from '../keymaps.js';
import { gatheredJobRows, perNodeJobLines } from '../format.js';
import type { ResultGathering } from '../../protocol/gather.js';
import type { Modal } from '../dashboard-state.js';
import type { CustomAction } from '../../protocol/actions.js';
import { overlayBodyRows, type Line, type OverlaySpec } from './Overlay.js';

/** The text of a confirmation: the action in words with its count and folded targets, the request, the question (pure, tested). */
export function confirmLines(m: Extract<Modal, { kind: 'confirm' }>): string[] {
  const lines = [m.head, `request: ${maskRequestLine(m.line)}`];
  lines.push(m.needCount ? `Type ${m.count} and press Enter to confirm; Esc cancels.` : 'Press y to confirm, n or Esc to cancel.');
  return lines.map(visibleLine);
}

export function confirmSpec(m: Extract<Modal, { kind: 'confirm' }>): OverlaySpec {
  const [head, req, ask] = confirmLines(m);
  const blast: Line[] = m.blast ? [[{ text: visibleLine(m.blast), slot: 'node.unknown' }]] : [];
  const lines: Line[] = [[{ text: head, bold: true }], [{ text: req, slot: 'dim' }], ...blast, ...m.warnings, '', ask];
  if (m.needCount) lines.push([{ text: 'count: ' }, { text: m.typed.text }, { text: ' ', inverse: true }]);
  return { title: 'CONFIRM — this changes things', lines, danger: true, wrap: true, maxWidth: 100 };
}

/** The power menu: each action with how many targets it applies to, or greyed with why not. */
export function powerSpec(m: Extract<Modal, { kind: 'power' }>, maps: Keymaps): OverlaySpec {
  const n = m.targets.length;
  const lines: Line[] = m.offers.map((o) => {
    const key = { text: bindingKeys(o.binding).padEnd(3), slot: o.disabledReason ? ('dim' as const) : ('prompt' as const), bold: !o.disabledReason };
    if (o.disabledReason) return [key, { text: `${o.binding.description}  — ${o.disabledReason}`, slot: 'dim' as const }];
    return [
      key,
      { text: o.binding.description },
      { text: o.targets.length === n ? (n === 1 ? '' : `  all ${n}`) : `  ${o.targets.length} of ${n}`, slot: o.targets.length === n ? ('dim' as const) : ('node.unknown' as const) },
      ...(o.binding.dangerous ? [{ text: '  (asks first)', slot: 'dim' as const }] : []),
    ];
  });
  if (maps.powerMenu.every((b) => !b.dangerous)) lines.push([{ text: 'read-only: only status', slot: 'dim' }]);
  return { title: `POWER · ${foldNodeSet(m.targets)} (${n})`, lines, hint: 'greyed: no target\'s driver can · Esc closes' };
}

export const HELP_HINT = '↑↓ j/k scroll  PgUp/PgDn page  / search  Esc close';

/** The help overlay: the keymaps' lines (those matching the search), `rows` of them from `scroll`. */
export function helpSpec(maps: Keymaps, m: Extract<Modal, { kind: 'help' }>, rows: number, actions: readonly CustomAction[] = []): OverlaySpec {
  const search = m.search.text;
  const all = searchHelp(helpLines(maps, actions), search);
  const body = overlayBodyRows({ hint: HELP_HINT }, Math.min(rows, all.length + 3));
  const start = Math.max(0, Math.min(m.scroll, all.length - body));
  const where = all.length === 0 ? 'no key matches' : all.length > body ? `lines ${start + 1}-${Math.min(all.length, start + body)} of ${all.length}` : `${all.length} lines`;
  const title = `HELP · ${search ? `search "${search}" · ` : ''}${where}`;
  return { title, lines: all.length ? all.slice(start, start + body) : [[{ text: 'Esc clears the search', slot: 'dim' }]], hint: HELP_HINT };
}

export function quitSpec(running: number): OverlaySpec {
  return {
    title: 'QUIT',
    lines: [[{ text: `${running} job${running === 1 ? ' is' : 's are'} still running.`, bold: true }], `Quit and cancel ${running === 1 ? 'it' : 'them'}? y quits, n stays.`],
    danger: true,
  };
}

/** A job's full output, scrolled to `modal.scroll`, in an overlay that fills `rows`. */
export const OUTPUT_HINT = '↑↓ move  g gathered/per node  Space/m mark group  F mark failed  r re-run  Esc close';

export function outputSpec(job: JobView | undefined, m: Extract<Modal, { kind: 'output' }>, rows: number, marked = 0, gather?: ReadonlyMap<string, ResultGathering>): OverlaySpec {
  const hint = OUTPUT_HINT;
  if (!job) return { title: `job #${m.jobId}`, lines: [`job #${m.jobId} is gone (only the newest jobs are kept)`], hint, fill: true, maxWidth: 400 };
  const all: Line[] = m.gathered ? gatheredJobRows(job, gather?.get(job.tag)).map((r) => [{ text: r.text, slot: r.error ? 'error' as const : undefined }]) : perNodeJobLines(job);
  // the cursor's line drawn inverse: Space/m marks its group
  const lines = all.map((l, i) => (i === m.cursor ? (typeof l === 'string' ? [{ text: l, inverse: true }] : l.map((s) => ({ ...s, inverse: true }))) : l));
  const body = overlayBodyRows({ hint }, rows);
  const start = Math.min(m.scroll, Math.max(0, lines.length - body));
  const title = `#${job.id} ${visibleLine(job.line)} · ${job.state} · ${m.gathered ? 'gathered' : 'per node'}${marked ? ` · ${marked} marked` : ''} · lines ${lines.length ? start + 1 : 0}-${Math.min(lines.length, start + body)} of ${lines.length}`;
  return { title, lines: lines.length ? lines.slice(start, start + body) : [[{ text: 'no output', slot: 'dim' }]], hint, fill: true, maxWidth: 400 };
}
