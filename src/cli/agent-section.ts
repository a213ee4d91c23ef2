/** vacm.yaml's `agent:` section: defaults for `vacm agent`'s command-line options (src/cli/agent.ts). */
import { custom, mapping, num, section } from '../protocol/config-schema.js';

const aString = custom((v) => (typeof v === 'string' ? undefined : 'must be a string'));

export const AGENT_SECTION = section(
  'agent',
  mapping(
    { collector: aString, secret_file: aString, interval: num(-Infinity, Infinity, { says: 'must be seconds, e.g. 5' }), name: aString },
    { must: 'a mapping (collector:, secret_file:, interval:, name:)', showValue: false },
  ),
);

