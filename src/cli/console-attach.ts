/**
 * The engine's console hub (backends/console) as the dashboard and `vacm console` use it: a
 * person attached to one node's console. The CLI is the layer that may see both sides.
 */
import type { Engine } from '../engine/engine.js';
import { VacmError } from '../protocol/errors.js';
import type { ConsoleModule } from '../backends/console/module.js';
import type { ConsoleOpener, UiConsole, UiConsoleEvent } from '../ui/ui-engine.js';

/** How many kept lines a person sees on opening. */
const BACKLOG = 200;

export function consoleOpener(engine: Engine): ConsoleOpener | undefined {
  const mod = engine.registry.list().find((m) => m.tag === 'CONSOLE') as ConsoleModule | undefined;
  if (!mod?.hub) return undefined;
  return async (node, opts) => {
    const hub = mod.hub();
    if (!hub) throw new VacmError('ERR_INTERNAL', 'the console module has not started');
    if (!engine.node(node)) throw new VacmError('ERR_NO_SUCH_NODE', `no node ${node} in the nodelist`);
    const backlog = (hub.tail(node, BACKLOG) ?? []).map((l) => l.text);
    const a = await hub.attach(node, { force: opts.force });
    const readOnly = () => engine.readOnly || a.readOnly;
    const con: UiConsole = {
      node,
      get readOnly() {
        return readOnly();
      },
      backlog: () => backlog,
      listen(fn) {
        const off1 = a.listen((e) => fn(e.kind === 'line' ? { kind: 'line', text: e.text, partial: e.partial } : { kind: 'state', message: e.message }));
        const off2 = a.onRole((ro) => fn({ kind: 'role', readOnly: engine.readOnly || ro } satisfies UiConsoleEvent));
        return () => {
          off1();
          off2();
        };
      },
      write(text) {
        if (engine.readOnly) throw new VacmError('ERR_READ_ONLY', 'vacm runs with --read-only: the console is watch-only');
        a.write(Buffer.from(text, 'utf8'));
      },
      sendBreak() {
        if (engine.readOnly) throw new VacmError('ERR_READ_ONLY', 'vacm runs with --read-only: the console is watch-only');
        a.sendBreak();
      },
      close: () => a.release(),
    };
    return con;
  };
}
