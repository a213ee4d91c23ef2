/** The footer: the focused pane's keys, generated from its keymap (or the open dialog's keys). */
import React from 'react';
import { Box, Text } from 'ink';
import { useTheme } from '../theme.js';
import { footerText, type Keymaps, type PaneId } from '../keymaps.js';
import type { Modal } from '../use-dashboard.js';

export function footerFor(maps: Keymaps, pane: PaneId, modal: Modal): string {
  switch (modal.kind) {
    case 'none':
      return footerText(maps, pane);
    case 'prompt':
      return 'Enter run  Tab complete  ↑/↓ history  Esc close';
    case 'filter':
      return 'Enter apply (node set like @rack1!sim007, or text)  Esc cancel';
    case 'exec':
      return 'Enter run (asks first)  Esc cancel';
    case 'confirm':
      return modal.needCount ? 'type the count, Enter confirms  Esc cancels' : 'y/Enter confirm  n/Esc cancel';
    case 'power':
      return maps.powerMenu.map((b) => `${b.keys[0]} ${b.description}`).join('  ') + '  Esc close';
    case 'help':
      return modal.searching ? 'type to search  Enter keep the matches  Esc clear' : '↑↓ j/k PgUp/PgDn scroll  / search  Esc/? close';
    case 'quit':
      return 'y quit  n stay';
    case 'output':
      return '↑/↓ PgUp/PgDn scroll  g gathered/per node  Esc close';
    case 'events':
      return modal.editing !== undefined ? 'Enter filter (node set like @rack1 or @drained; empty shows all)  Esc cancel' : `↑↓ j/k PgUp/PgDn scroll  End follow  f follow ${modal.follow ? 'off' : 'on'}  / filter  Esc/e close`;
  }
}

export function Footer({ maps, pane, modal, width }: { maps: Keymaps; pane: PaneId; modal: Modal; width: number }) {
  const t = useTheme();
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate" color={t.color('dim')}>{footerFor(maps, pane, modal)}</Text>
    </Box>
  );
}
