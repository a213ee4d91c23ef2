/** The prompt line: the `:` IPC prompt (inline parse errors, completion candidates), the `/` filter and `x` command inputs, or the last message. */
import React from 'react';
import { Box, Text } from 'ink';
import { foldNodeSet } from '../../protocol/nodeset.js';
import { useTheme } from '../theme.js';
import { visibleLine } from '../../protocol/visible.js';
import { inputView, type TextInput } from '../text-input.js';
import type { Message, Modal } from '../dashboard-state.js';

export interface PromptPaneProps {
  modal: Modal;
  message?: Message;
  width: number;
}

/** The second row under an input: an error, completion candidates, or why the live filter waits. */
function secondRow(modal: Modal): { text: string; error: boolean } | undefined {
  if (modal.kind === 'prompt') {
    if (modal.error) return { text: modal.error, error: true };
    if (modal.candidates) return { text: modal.candidates.join('  '), error: false };
  }
  if (modal.kind === 'filter') {
    if (modal.candidates) return { text: modal.candidates.join('  '), error: false };
    if (modal.note) return { text: `not a node set yet (${modal.note}); Enter matches it as text`, error: false };
  }
  return undefined;
}

/** Rows the prompt area needs (a second one for an inline error or completion candidates). */
export function promptRows(modal: Modal): number {
  return secondRow(modal) ? 2 : 1;
}

/** One input line: the label, the text around the cursor, the cursor drawn inverse; a selected text underlined and inverse (typing replaces it). */
export function Input({ label, input, width }: { label: string; input: TextInput; width: number }) {
  const t = useTheme();
  const search = input.search;
  const shownLabel = search ? `(reverse-i-search)'${visibleLine(search.query)}'${search.at === undefined && search.query ? ' (no match)' : ''}: ` : visibleLine(label);
  const v = inputView({ ...input, text: visibleLine(input.text), cursor: visibleLine(input.text.slice(0, input.cursor)).length }, width - shownLabel.length);
  return (
    <Text wrap="truncate">
      <Text bold color={t.color('prompt')}>{shownLabel}</Text>
      {v.cutLeft ? <Text color={t.color('dim')}>…</Text> : null}
      {v.selected ? <Text inverse underline>{(v.before + v.at + v.after).trimEnd()}</Text> : v.before}
      {v.selected ? null : <Text inverse>{v.at}</Text>}
      {v.selected ? null : v.after}
    </Text>
  );
}

export function PromptPane({ modal, message, width }: PromptPaneProps) {
  const t = useTheme();
  const second = secondRow(modal);
  const row2 = second ? <Text wrap="truncate" color={t.color(second.error ? 'error' : 'dim')}>{visibleLine(second.text)}</Text> : null;
  if (modal.kind === 'prompt') {
    return (
      <Box flexDirection="column" width={width} height={promptRows(modal)}>
        <Input label=":" input={modal.input} width={width} />
        {row2}
      </Box>
    );
  }
  if (modal.kind === 'help' && modal.searching) return <Box width={width} height={1}><Input label="search help: " input={modal.search} width={width} /></Box>;
  if (modal.kind === 'filter') {
    return (
      <Box flexDirection="column" width={width} height={promptRows(modal)}>
        <Input label="filter (node set or text): " input={modal.input} width={width} />
        {row2}
      </Box>
    );
  }
  if (modal.kind === 'events' && modal.editing !== undefined) {
    return (
      <Box width={width} height={1}>
        {modal.error ? <Text wrap="truncate" color={t.color('error')}>{visibleLine(modal.error)}</Text> : (
          <Input label="events of (node set): " input={modal.editing} width={width} />
        )}
      </Box>
    );
  }
  if (modal.kind === 'exec') {
    const f = foldNodeSet(modal.targets);
    return <Box width={width} height={1}><Input label={`run on ${f} (${modal.targets.length}): `} input={modal.input} width={width} /></Box>;
  }
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate" color={message?.error ? t.color('error') : t.color('dim')}>{visibleLine(message?.text ?? '')}</Text>
    </Box>
  );
}
