/** The dialogs that take over the main area: confirmation, power menu, help, quit, a job's full output. */
import React from 'react';
import { Box, Text } from 'ink';
import type { JobView } from '../../protocol/module.js';
import { foldNodeSet } from '../../protocol/nodeset.js';
import { maskRequestLine } from '../../protocol/vars.js';
import { useTheme } from '../theme.js';
import { bindingKeys, helpLines, type Keymaps } from '../keymaps.js';
import { gatheredJobLines, perNodeJobLines } from '../format.js';
import { visibleLine } from '../../protocol/visible.js';
import type { Modal } from '../use-dashboard.js';

type Sized = { width: number; height: number };

function Frame({ width, height, danger, children }: Sized & { danger?: boolean; children: React.ReactNode }) {
  const t = useTheme();
  return (
    <Box width={width} height={height} borderStyle="double" borderColor={t.color(danger ? 'dialog.danger' : 'dialog.border')} flexDirection="column" paddingX={1} overflow="hidden">
      {children}
    </Box>
  );
}

/** The text of a confirmation: the action, the folded targets and their count (pure, tested). */
export function confirmLines(m: Extract<Modal, { kind: 'confirm' }>): string[] {
  const lines = [`${m.label} — this changes things.`, m.count > 0 ? `on ${m.folded} (${m.count} node${m.count === 1 ? '' : 's'})` : 'on no nodes', `request: ${maskRequestLine(m.line)}`];
  lines.push(m.needCount ? `Type ${m.count} and press Enter to confirm; Esc cancels.` : 'Press y to confirm, n or Esc to cancel.');
  return lines.map(visibleLine);
}

export function ConfirmDialog({ modal, width, height }: Sized & { modal: Extract<Modal, { kind: 'confirm' }> }) {
  const t = useTheme();
  const [head, on, req, ask] = confirmLines(modal);
  return (
    <Frame width={width} height={height} danger>
      <Text bold color={t.color('dialog.danger')}>CONFIRM</Text>
      <Text bold wrap="wrap">{head}</Text>
      <Text wrap="wrap">{on}</Text>
      <Text color={t.color('dim')} wrap="truncate">{req}</Text>
      <Text> </Text>
      <Text wrap="wrap">{ask}</Text>
      {modal.needCount ? <Text>count: {modal.typed}<Text inverse> </Text></Text> : null}
    </Frame>
  );
}

export function PowerMenu({ modal, maps, width, height }: Sized & { modal: Extract<Modal, { kind: 'power' }>; maps: Keymaps }) {
  const t = useTheme();
  const f = foldNodeSet(modal.targets);
  return (
    <Frame width={width} height={height}>
      <Text bold>POWER · {f} ({modal.targets.length})</Text>
      {maps.powerMenu.map((b) => (
        <Text key={b.action}>
          <Text bold color={t.color('prompt')}>{bindingKeys(b).padEnd(3)}</Text>
          {b.description}
          {b.dangerous ? <Text color={t.color('dim')}>  (asks first)</Text> : null}
        </Text>
      ))}
      {maps.powerMenu.every((b) => !b.dangerous) ? <Text color={t.color('dim')}>read-only: only status</Text> : null}
      <Text color={t.color('dim')}>Esc closes</Text>
    </Frame>
  );
}

export function HelpScreen({ maps, width, height }: Sized & { maps: Keymaps }) {
  const lines = helpLines(maps);
  const cols = height - 3 < lines.length && width >= 90 ? 2 : 1;
  const per = Math.ceil(lines.length / cols);
  return (
    <Frame width={width} height={height}>
      <Text bold>HELP — keys (generated from the keymaps)</Text>
      <Box flexDirection="row">
        {Array.from({ length: cols }, (_, c) => (
          <Box key={c} flexDirection="column" width={Math.floor((width - 4) / cols)}>
            {lines.slice(c * per, (c + 1) * per).map((l, i) => <Text key={i} wrap="truncate">{l}</Text>)}
          </Box>
        ))}
      </Box>
    </Frame>
  );
}

export function QuitDialog({ running, width, height }: Sized & { running: number }) {
  return (
    <Frame width={width} height={height} danger>
      <Text bold>{running} job{running === 1 ? ' is' : 's are'} still running.</Text>
      <Text>Quit and cancel {running === 1 ? 'it' : 'them'}? y quits, n stays.</Text>
    </Frame>
  );
}

export function JobOutputView({ job, modal, width, height }: Sized & { job?: JobView; modal: Extract<Modal, { kind: 'output' }> }) {
  const t = useTheme();
  if (!job) {
    return (
      <Frame width={width} height={height}>
        <Text>job #{modal.jobId} is gone (only the newest jobs are kept)</Text>
      </Frame>
    );
  }
  const lines = modal.gathered ? gatheredJobLines(job) : perNodeJobLines(job);
  const rows = Math.max(1, height - 3);
  const start = Math.min(modal.scroll, Math.max(0, lines.length - rows));
  return (
    <Frame width={width} height={height}>
      <Text bold wrap="truncate">
        #{job.id} {visibleLine(job.line)} · {job.state} · {modal.gathered ? 'gathered' : 'per node'} · lines {lines.length ? start + 1 : 0}-{Math.min(lines.length, start + rows)} of {lines.length}
      </Text>
      {lines.slice(start, start + rows).map((l, i) => <Text key={i} wrap="truncate">{l}</Text>)}
      {lines.length === 0 ? <Text color={t.color('dim')}>no output</Text> : null}
    </Frame>
  );
}
