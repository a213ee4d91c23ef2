/**
 * Unreachable loopback addresses for tests: a private nftables table whose input hook drops ICMP
 * echo requests to chosen 127.x addresses, so pingers meet their timeouts. Remove it afterwards.
 */
import { execFileSync } from 'node:child_process';
import { findBinary } from '../../src/backends/icmp/fping.js';

export function nftUsable(): boolean {
  const nft = findBinary('nft');
  if (!nft) return false;
  try {
    execFileSync(nft, ['list', 'tables'], { stdio: 'ignore' });
    return true;
  } catch {
    return false; // not root, or no nf_tables in this kernel
  }
}

export class IcmpDrop {
  readonly table: string;
  constructor(name: string) {
    this.table = `vacm_test_${name}_${process.pid}`;
  }

  private nft(...args: string[]): void {
    execFileSync('nft', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  }

  /** create the table with a drop rule for each address (`all`: every packet, TCP too, not just pings) */
  drop(addresses: string[], opts: { all?: boolean } = {}): void {
    this.remove();
    this.nft('add', 'table', 'ip', this.table);
    this.nft('add', 'chain', 'ip', this.table, 'input', '{ type filter hook input priority -10; }');
    const what = opts.all ? [] : ['icmp', 'type', 'echo-request'];
    for (const a of addresses) this.nft('add', 'rule', 'ip', this.table, 'input', 'ip', 'daddr', a, ...what, 'drop');
  }

  remove(): void {
    try {
      this.nft('delete', 'table', 'ip', this.table);
    } catch {
      // not there
    }
  }
}
