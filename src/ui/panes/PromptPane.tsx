/** The prompt line: the `:` IPC prompt (inline parse errors, completion candidates), the `/` filter and `x` command inputs, or the last message. */
import React from 'react';
import { Box, Text } from 'ink';
import { foldNodeSet } from '../../protocol/nodeset.js';
import { useTheme } from '../theme.js';
import { visibleLine } from '../../protocol/visible.js';
import type { Message, Modal } from '../use-dashboard.js';

export interface PromptPaneProps {
  modal: Modal;
  message?: Message;
  width: number;
}

/** Rows the prompt area needs (a second one for an inline error or completion candidates). */
export function promptRows(modal: Modal): number {
  return modal.kind === 'prompt' && (modal.error || modal.candidates) ? 2 : 1;
}

function Input({ label, text, slot }: { label: string; text: string; slot: 'prompt' }) {
  const t = useTheme();
  return (
    <Text wrap="truncate-start">
      <Text bold color={t.color(slot)}>{visibleLine(label)}</Text>
      {visibleLine(text)}
      <Text inverse> </Text>
    </Text>
  );
}

export function PromptPane({ modal, message, width }: PromptPaneProps) {
  const t = useTheme();
  if (modal.kind === 'prompt') {
    return (
      <Box flexDirection="column" width={width} height={promptRows(modal)}>
        <Input label=":" text={modal.text} slot="prompt" />
        {modal.error ? <Text wrap="truncate" color={t.color('error')}>{visibleLine(modal.error)}</Text> : null}
        {modal.candidates ? <Text wrap="truncate" color={t.color('dim')}>{visibleLine(modal.candidates.join('  '))}</Text> : null}
      </Box>
    );
  }
  if (modal.kind === 'help' && modal.searching) return <Box width={width} height={1}><Input label="search help: " text={modal.search} slot="prompt" /></Box>;
  if (modal.kind === 'events' && modal.editing !== undefined) {
    return (
      <Box width={width} height={1}>
        {modal.error ? <Text wrap="truncate" color={t.color('error')}>{visibleLine(modal.error)}</Text> : <Input label="events of (node set): " text={modal.editing} slot="prompt" />}
      </Box>
    );
  }
  if (modal.kind === 'filter') return <Box width={width} height={1}><Input label="filter (node set or text): " text={modal.text} slot="prompt" /></Box>;
  if (modal.kind === 'exec') {
    const f = foldNodeSet(modal.targets);
    return <Box width={width} height={1}><Input label={`run on ${f} (${modal.targets.length}): `} text={modal.text} slot="prompt" /></Box>;
  }
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate" color={message?.error ? t.color('error') : t.color('dim')}>{visibleLine(message?.text ?? '')}</Text>
    </Box>
  );
}
