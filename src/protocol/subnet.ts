/**
 * Addresses and subnets for the collector's checks (collector.allowed_subnets, a node bound to its
 * `host` address): pure, IPv4 and IPv6, IPv4-mapped IPv6 counted as IPv4. Moved out of agent-msg.ts
 * (which re-exports it) to keep that file to the message itself.
 */

export interface Subnet {
  text: string;
  family: 4 | 6;
  bits: bigint;
  prefix: number;
}

function ipv4ToBig(s: string): bigint | undefined {
  const p = s.split('.');
  if (p.length !== 4) return undefined;
  let n = 0n;
  for (const x of p) {
    if (!/^\d{1,3}$/.test(x) || Number(x) > 255) return undefined;
    n = (n << 8n) | BigInt(Number(x));
  }
  return n;
}

function ipv6ToBig(s: string): bigint | undefined {
  if (!/^[0-9a-fA-F:]+$/.test(s)) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  if (fill < 0 || (halves.length === 1 && head.length !== 8)) return undefined;
  const groups = [...head, ...Array(fill).fill('0'), ...tail];
  let n = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  return n;
}

/** An address as (family, number); IPv4-mapped IPv6 (::ffff:1.2.3.4) counts as IPv4. */
export function parseAddr(addr: string): { family: 4 | 6; n: bigint } | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  const v4 = ipv4ToBig(mapped ? mapped[1] : addr);
  if (v4 !== undefined) return { family: 4, n: v4 };
  const v6 = ipv6ToBig(addr);
  return v6 !== undefined ? { family: 6, n: v6 } : undefined;
}

/** Whether two texts name the same address (`::ffff:10.1.2.3` is `10.1.2.3`; IPv6 in any spelling). */
export function sameAddr(a: string, b: string): boolean {
  const x = parseAddr(a);
  const y = parseAddr(b);
  return x !== undefined && y !== undefined && x.family === y.family && x.n === y.n;
}

/** `10.0.0.0/8`, `127.0.40.0/24`, `::1/128`, or a bare address. Throws with what to write instead. */
export function parseSubnet(text: string): Subnet {
  const [a, p, extra] = text.trim().split('/');
  const addr = parseAddr(a ?? '');
  if (!addr || extra !== undefined) throw new Error(`"${text}" is not a subnet: write e.g. 10.1.0.0/16 or fd00::/8`);
  const max = addr.family === 4 ? 32 : 128;
  const prefix = p === undefined ? max : Number(p);
  if (!/^\d+$/.test(p ?? String(max)) || prefix > max) throw new Error(`"${text}": the prefix length must be 0-${max}`);
  const shift = BigInt(max - prefix);
  return { text, family: addr.family, bits: (addr.n >> shift) << shift, prefix };
}

export function inSubnets(addr: string, subnets: readonly Subnet[]): boolean {
  const a = parseAddr(addr);
  if (!a) return false;
  for (const s of subnets) {
    if (s.family !== a.family) continue;
    const shift = BigInt((s.family === 4 ? 32 : 128) - s.prefix);
    if ((a.n >> shift) << shift === s.bits) return true;
  }
  return false;
}
