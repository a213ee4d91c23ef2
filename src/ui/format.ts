/**
 * Pure formatting for the dashboard: node rows, sparklines, the braille load chart, job lines and
 * gathered job output. No React, no I/O: the panes render these strings, and tests call them directly.
 * Text that came from nodes, agents or the config (names, requests, output, errors) leaves here through
 * `visibleLine`: ink passes escape sequences through, so a raw ESC would reach the terminal.
 *
 * One module per concern; this one gathers them, so that a pane imports from one place.
 */
export * from './format-text.js';
export * from './format-node.js';
export * from './format-overview.js';
export * from './format-chart.js';
export * from './format-job.js';
export { SORT_KEYS, sortNodes, type SortKey } from './sort.js';
