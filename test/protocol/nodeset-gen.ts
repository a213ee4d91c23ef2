/**
 * Seeded generator of node-set expressions (valid and invalid) for the differential test
 * against ClusterShell. Deliberately excluded classes (see docs/nodeset.md):
 * - negative indexes (`n[-2-3]`, and `n[1-2-3]` which ClusterShell reads as -2..3): ClusterShell
 *   accepts them, vacm rejects them;
 * - `@group` and `*`/`?` wildcards: they depend on ClusterShell's groups.conf, tested by table;
 * - integers written the Python way (`+5`, `1_000`) and indexes over 15 digits;
 * - non-ASCII digits.
 */
export { mulberry32 } from '../../src/protocol/random.js';

import { mulberry32 } from '../../src/protocol/random.js';

export function makeGenerator(seed: number) {
  const rnd = mulberry32(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)];
  const chance = (p: number): boolean => rnd() < p;
  const ws = (): string => (chance(0.15) ? pick([' ', '  ', '\t']) : '');
  const pad = (v: number, w: number): string => String(v).padStart(w, '0');

  function subrange(): string {
    const width = chance(0.3) ? int(2, 4) : 0;
    const max = width ? Math.min(10 ** width - 1, 120) : pick([9, 20, 120, 1100]);
    const a = int(0, max);
    if (chance(0.3)) return pad(a, width);
    const b = Math.min(max, a + int(0, chance(0.2) ? 300 : 15));
    let s = `${pad(a, width)}${ws()}-${ws()}${pad(b, width)}`;
    if (chance(0.15)) s += `/${int(1, 4)}`;
    return s;
  }

  function range(): string {
    const n = int(1, 4);
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(subrange());
    return parts.join(',' + ws());
  }

  // with literal characters too: '%' (ClusterShell's pattern escape), '.', '_'
  const prefixes = ['n', 'node', 'rack', 'cn', 'x-', 'gpu', 'a', 'b', 'c%s', 'p%%', 'x.y_'] as const;

  function atom(): string {
    switch (int(0, 9)) {
      case 0:
        return pick(['login', 'head', 'mgmt', 'n', 'a-b']);
      case 1:
        return `${pick(prefixes)}${pad(int(0, 130), pick([0, 0, 2, 3]))}`;
      case 2:
        return `${pick(['r', 'rack'])}${int(0, 3)}${pick(['n', '-n'])}${pad(int(0, 20), pick([0, 2]))}`;
      case 3:
        return `${pick(prefixes)}[${range()}]${chance(0.2) ? pick(['-ib', '-ipmi', 'x']) : ''}`;
      case 4:
        return `${pick(['rack', 'r', 'c'])}[${range()}]${pick(['-n', 'n', '-'])}[${range()}]`;
      case 5:
        return `${pick(prefixes)}${int(0, 2)}[${range()}]`;
      case 6: {
        // trailing digits after brackets cannot combine with steps
        const r = `${int(0, 5)}-${int(6, 12)}`;
        return `${pick(prefixes)}[${r}]${int(0, 9)}`;
      }
      case 7:
        return `${pick(['r', 'x'])}[${range()}]${pick(['y', 's'])}[${int(0, 3)}-${int(3, 6)}]${pick(['p', 'z'])}[${int(1, 2)}]`;
      default:
        return `${pick(prefixes)}[${range()}]`;
    }
  }

  function valid(): string {
    const n = int(1, 4);
    let s = atom();
    for (let i = 1; i < n; i++) s += ws() + pick([',', ',', '!', '&', '^']) + ws() + atom();
    return ws() + s + ws();
  }

  const broken = [
    () => `${pick(prefixes)}[]`,
    () => `${pick(prefixes)}[${int(5, 9)}-${int(0, 4)}]`,
    () => `${pick(prefixes)}[${int(0, 9)}`,
    () => `${pick(prefixes)}${int(0, 9)}]`,
    () => `${pick(prefixes)}[1-3]]`,
    () => `${pick(prefixes)}[[1-3]`,
    () => `${pick(prefixes)}[1-3][4]`,
    () => `${pick(prefixes)}[01-100]`,
    () => `${pick(prefixes)}[1-010]`,
    () => `${pick(prefixes)}[1-x]`,
    () => `${pick(prefixes)}[1,,2]`,
    () => `${pick(prefixes)}[3/2]`,
    () => `${pick(prefixes)}[1-9/0]`,
    () => `${pick(prefixes)}[1-4/2]0`,
    () => `${atom()}${pick([',', '!', '&', '^'])}`,
    () => `${pick([',', '!', '&', '^'])}${atom()}`,
    () => `${atom()},,${atom()}`,
    () => `${atom()}!&${atom()}`,
  ];

  function invalid(): string {
    const b = pick(broken)();
    return chance(0.4) ? `${atom()},${b}` : b;
  }

  /** Small 2D/3D sets chained with operators: exercises nD difference and folding. */
  function ndChain(): string {
    const r = (): string => {
      const a = int(0, 6);
      return chance(0.4) ? `${a}` : `${a}-${a + int(0, 4)}`;
    };
    const rg = (): string => (chance(0.5) ? r() : `${r()},${r()}`);
    const nd = (): string =>
      chance(0.3) ? `a${int(0, 5)}b${int(0, 5)}` : chance(0.5) ? `a[${rg()}]b[${rg()}]` : `a[${rg()}]b[${rg()}]c[${rg()}]`;
    let s = nd();
    for (let i = int(1, 6); i > 0; i--) s += pick([',', ',', '!', '&', '^']) + nd();
    return s;
  }

  /** One `nodeset` invocation: a list of arguments. */
  return function next(): string[] {
    if (chance(0.2)) return [ndChain()];
    if (chance(0.2)) return [invalid()];
    if (chance(0.15)) return [valid(), valid()];
    if (chance(0.05)) return [`${valid()}\n${valid()}`]; // `nodeset` reads each line on its own
    return [valid()];
  };
}
