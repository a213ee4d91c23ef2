/**
 * A node's serial console, full screen: a title row (node, read-only, the escapes), the last lines
 * that fit, the line under way, and a status row. Lines are shown with visibleLine: a console's
 * escape sequences are drawn as `^[`, never acted on by the operator's terminal.
 */
import React from 'react';
import { Box, Text } from 'ink';
import { useTheme } from '../theme.js';
import { visibleLine } from '../../protocol/visible.js';
import { CONSOLE_HELP, type ConsoleScreenState } from '../use-console.js';

/** The rows the screen shows (pure: tested without ink). */
export function consoleRows(s: ConsoleScreenState, width: number, height: number): string[] {
  const fit = (t: string) => (t.length > width ? t.slice(0, Math.max(0, width - 1)) + '…' : t);
  const body = Math.max(1, height - 2 - (s.help ? CONSOLE_HELP.length : 0));
  const all = [...s.lines, ...(s.partial ? [s.partial] : [])].map((l) => fit(visibleLine(l)));
  const shown = all.slice(-body);
  while (shown.length < body) shown.push('');
  return s.help ? [...shown, ...CONSOLE_HELP.map(fit)] : shown;
}

export function ConsolePane({ node, state, width, height }: { node: string; state: ConsoleScreenState; width: number; height: number }) {
  const t = useTheme();
  const title = `console ${node}${state.readOnly && state.open ? ' [read-only]' : ''}   ~. leave  ~B break  ~? help`;
  const rows = consoleRows(state, width, height);
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text color={t.color('header.title')} bold>
        {title.slice(0, width)}
      </Text>
      {rows.map((r, i) => (
        <Text key={i} wrap="truncate">
          {r === '' ? ' ' : r}
        </Text>
      ))}
      <Text color={t.color(state.readOnly && state.open ? 'error' : 'dim')} wrap="truncate">
        {visibleLine(state.status).slice(0, width)}
      </Text>
    </Box>
  );
}
