/** Modules by tag: a duplicate tag is refused, and nothing can be added once the engine runs. */
import type { CommandDef, ModuleDef } from '../protocol/module.js';
import type { CommandShape } from '../protocol/ipc.js';

export class Registry {
  private readonly byTag = new Map<string, ModuleDef>();
  private readonly commands = new Map<string, Map<string, CommandDef>>();
  private locked = false;

  constructor(modules: readonly ModuleDef[] = []) {
    for (const m of modules) this.add(m);
  }

  add(mod: ModuleDef): void {
    if (this.locked) throw new Error(`registry is locked: cannot add module ${mod.tag} after the engine started`);
    const tag = mod.tag.toUpperCase();
    if (tag !== mod.tag || !/^[A-Z][A-Z0-9_]*$/.test(tag)) throw new Error(`module tag "${mod.tag}" must be upper-case letters, digits and _`);
    if (this.byTag.has(tag)) throw new Error(`duplicate module tag ${tag}`);
    const cmds = new Map<string, CommandDef>();
    for (const c of mod.commands) {
      if (c.name !== c.name.toUpperCase()) throw new Error(`${tag}:${c.name}: command names are upper case`);
      if (cmds.has(c.name)) throw new Error(`${tag}: duplicate command ${c.name}`);
      const restAt = c.args.findIndex((a) => a.rest);
      if (restAt >= 0 && restAt !== c.args.length - 1) throw new Error(`${tag}:${c.name}: only the last argument may be rest`);
      cmds.set(c.name, c);
    }
    this.byTag.set(tag, mod);
    this.commands.set(tag, cmds);
  }

  lock(): void {
    this.locked = true;
  }

  get isLocked(): boolean {
    return this.locked;
  }

  has(tag: string): boolean {
    return this.byTag.has(tag);
  }

  module(tag: string): ModuleDef | undefined {
    return this.byTag.get(tag);
  }

  command(tag: string, name: string): CommandDef | undefined {
    return this.commands.get(tag)?.get(name);
  }

  shape = (tag: string, name: string): CommandShape | undefined => this.command(tag, name);

  list(): readonly ModuleDef[] {
    return [...this.byTag.values()];
  }
}
