/** The footer: the focused pane's keys, generated from its keymap (or the open dialog's keys). */
import React from 'react';
import { Box, Text } from 'ink';
import { useTheme } from '../theme.js';
import { footerText, type Keymaps, type PaneId } from '../keymaps.js';
import type { Modal } from '../dashboard-state.js';
import { OUTPUT_HINT } from './Dialogs.js';
import type { CustomAction } from '../../protocol/actions.js';

const SEARCH_FOOTER = 'type to search the history  C-r older  Enter edit the match  Esc back';

export function footerFor(maps: Keymaps, pane: PaneId, modal: Modal, actions: readonly CustomAction[] = []): string {
  switch (modal.kind) {
    case 'none':
      return footerText(maps, pane, actions);
    case 'prompt':
      return modal.input.search ? SEARCH_FOOTER : 'Enter run  Tab complete  ↑/↓ history  C-r search  Esc close';
    case 'filter':
      return modal.input.search ? SEARCH_FOOTER : 'filters as you type · Enter keep (node set like @rack1!sim007, or text)  Tab complete  Esc back';
    case 'exec':
      return modal.input.search ? SEARCH_FOOTER : 'Enter run (asks first unless exec.safe)  ↑/↓ history  C-r search  Esc cancel';
    case 'confirm':
      return modal.needCount ? 'type the count, Enter confirms  Esc cancels' : 'y/Enter confirm  n/Esc cancel';
    case 'power':
      return maps.powerMenu.map((b) => `${b.keys[0]} ${b.description}`).join('  ') + '  Esc close';
    case 'help':
      return modal.searching ? 'type to search  Enter keep the matches  Esc clear' : '↑↓ j/k PgUp/PgDn scroll  / search  Esc/? close';
    case 'quit':
      return 'y quit  n stay';
    case 'output':
      return OUTPUT_HINT;
    case 'events':
      return modal.editing !== undefined ? 'Enter filter (node set like @rack1 or @drained; empty shows all)  Esc cancel' : `↑↓ j/k PgUp/PgDn scroll  End follow  f follow ${modal.follow ? 'off' : 'on'}  / filter  Esc/e close`;
  }
}

export function Footer({ maps, pane, modal, width, actions }: { maps: Keymaps; pane: PaneId; modal: Modal; width: number; actions?: readonly CustomAction[] }) {
  const t = useTheme();
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate" color={t.color('dim')}>{footerFor(maps, pane, modal, actions)}</Text>
    </Box>
  );
}
