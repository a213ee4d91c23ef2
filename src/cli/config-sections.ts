/**
 * Every vacm.yaml section's schema, gathered from its owner: the config loader checks each section
 * present against its schema when the file is read, so a typo anywhere is ERR_CONFIG with file,
 * line and key (src/protocol/config-schema.ts). A new section is declared next to the code that
 * reads it and listed here once; test/engine/config-sections.test.ts fails for a section accepted
 * (engine/config.ts SECTION_KEYS) without a schema.
 *
 * The schemas declared here are those that nothing reads yet (ui, demo) and the custom actions;
 * each owner's parser checks its section with checkSection against the same schema, never by hand
 * again.
 */
import { bool, custom, int, listOf, mapping, oneOf, section, text, words, type SectionSchema } from '../protocol/config-schema.js';
import { ENGINE_SECTIONS } from '../engine/config.js';
import { COLLECTOR_SECTION } from '../backends/collector/module.js';
import { ROLES, SERVE_SECTION } from '../engine/auth.js';
import { PING_SECTION } from '../backends/icmp/config.js';
import { METRICS_SECTION } from '../backends/metrics/module.js';
import { POWER_SECTION } from '../backends/power/settings.js';
import { SSH_SECTION } from '../backends/ssh/settings.js';
import { SYSSTAT_SECTION } from '../backends/sysstat/config.js';
import { SENSORS_SECTION } from '../backends/sensors/config.js';
import { AGENT_SECTION } from './agent-section.js';
import { EVENTS_SECTION } from '../engine/timeline.js';
import { CONSOLE_SECTION } from '../backends/console/settings.js';

const ACTION = mapping(
  {
    key: text({ pattern: /^.$/u, says: 'must be one key (a single character)' }),
    name: text(),
    request: text({ says: 'must be an IPC request template, e.g. "SSH:EXEC:{nodes}:systemctl restart slurmd"' }),
    confirm: bool(),
    role: oneOf(ROLES),
  },
  { must: 'a mapping { key, name, request, confirm, role }', showValue: false, noun: 'an action', required: { key: 'required: the key that runs it', name: 'required: what the footer and help call it', request: 'required: the IPC request template ({nodes}, {node})' } },
);

/** actions: custom actions (issue 15 item 5): a list of { key, name, request, confirm, role }. */
export const ACTIONS_SECTION = section('actions', listOf(ACTION, { must: 'a list of { key, name, request, confirm, role }' }));

/** ui and demo take no keys yet: the sections are accepted (empty), and any key in them is a typo. */
export const UI_SECTION = section('ui', mapping({}, { must: 'a mapping (it takes no keys yet)', showValue: false }));
export const DEMO_SECTION = section('demo', mapping({}, { must: 'a mapping (it takes no keys yet)', showValue: false }));

export const CONFIG_SECTIONS: readonly SectionSchema[] = [
  ...ENGINE_SECTIONS,
  EVENTS_SECTION,
  SSH_SECTION,
  PING_SECTION,
  SYSSTAT_SECTION,
  POWER_SECTION,
  COLLECTOR_SECTION,
  METRICS_SECTION,
  AGENT_SECTION,
  SENSORS_SECTION,
  SERVE_SECTION,
  CONSOLE_SECTION,
  ACTIONS_SECTION,
  UI_SECTION,
  DEMO_SECTION,
];
