import { describe, expect, it } from 'vitest';
import { checkExecAllowed, compileAllowEntry, globMatchWord, quoteWord, quoteWords, splitShellWords, type ExecAllowEntry } from '../../src/protocol/shell-words.js';

const words = (text: string): string[] | string => {
  const r = splitShellWords(text);
  return r.ok ? r.words.map((w) => w.text) : `refused: ${r.reason} @${r.at}`;
};

describe('splitShellWords: POSIX sh quoting', () => {
  it.each([
    ['ls /tmp', ['ls', '/tmp']],
    ['  ls   -l\t/tmp  ', ['ls', '-l', '/tmp']],
    ['', []],
    ["echo 'a b'", ['echo', 'a b']],
    ['echo "a b"', ['echo', 'a b']],
    ["echo 'a;b|c&d$e(f)g`h<i>j'", ['echo', 'a;b|c&d$e(f)g`h<i>j']],
    ['echo "a;b|c&d(f)g<i>j"', ['echo', 'a;b|c&d(f)g<i>j']],
    ['echo a\\;b', ['echo', 'a;b']],
    ['echo a\\ b', ['echo', 'a b']],
    ['echo \\$HOME', ['echo', '$HOME']],
    ['echo "\\$x \\"q\\" \\\\ \\n"', ['echo', '$x "q" \\ \\n']],
    ["echo ''", ['echo', '']],
    ['echo "" x', ['echo', '', 'x']],
    ["echo a'b'\"c\"d", ['echo', 'abcd']],
    ["echo 'it'\\''s'", ['echo', "it's"]],
    ['ls *.log', ['ls', '*.log']],
    ['echo ~ # x {a,b}', ['echo', '~', '#', 'x', '{a,b}']],
  ])('%j → %j', (text, want) => {
    expect(words(text)).toEqual(want);
  });

  it.each([
    ['ls x; touch y', /unquoted ";"/, 4],
    ['ls x | touch y', /unquoted "\|"/, 5],
    ['ls x && touch y', /unquoted "&"/, 5],
    ['ls x & touch y', /unquoted "&"/, 5],
    ['ls $(touch y)', /unquoted "\$"/, 3],
    ['ls $HOME', /unquoted "\$"/, 3],
    ['ls ${HOME}', /unquoted "\$"/, 3],
    ['ls `touch y`', /unquoted "`"/, 3],
    ['ls (x)', /unquoted "\("/, 3],
    ['ls x)', /unquoted "\)"/, 4],
    ['ls < /etc/shadow', /unquoted "<"/, 3],
    ['ls > /tmp/x', /unquoted ">"/, 3],
    ['ls x\ntouch y', /a newline/, 4],
    ['ls x\\\ntouch y', /a newline/, 5],
    ['ls x\rtouch y', /control character \(0x0d\)/, 4],
    ['ls \x1b[31m', /control character \(0x1b\)/, 3],
    ['ls "$(touch y)"', /"\$" \(expansion\) inside double quotes/, 4],
    ['ls "`touch y`"', /"`" \(command substitution\) inside double quotes/, 4],
    ["ls 'a\nb'", /control character inside quotes/, 5],
    ["ls 'x", /unterminated single quote/, 3],
    ['ls "x', /unterminated double quote/, 3],
    ['ls x\\', /backslash at the end/, 4],
  ])('%j is refused', (text, reason, at) => {
    const r = splitShellWords(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toMatch(reason);
      expect(r.at).toBe(at);
    }
  });
});

describe('quoteWord: what the remote shell splits back into the same words', () => {
  it.each([
    ['ls', 'ls'],
    ['/tmp/a-b_c.d,e:f@g%h+i', '/tmp/a-b_c.d,e:f@g%h+i'],
    ['', "''"],
    ['a b', "'a b'"],
    ["it's", "'it'\\''s'"],
    ['$(touch y)', "'$(touch y)'"],
    ['*.log', "'*.log'"],
    ['~', "'~'"],
    ['#', "'#'"],
    ['LD_PRELOAD=/x.so', "'LD_PRELOAD=/x.so'"],
    ['time', "'time'"],
    ['if', "'if'"],
    ['{a,b}', "'{a,b}'"],
    ['!', "'!'"],
  ])('%j → %s', (w, want) => {
    expect(quoteWord(w)).toBe(want);
  });

  it('quoteWords then splitShellWords gives back the same words', () => {
    const samples = ['a', '', ' ', "'", '"', '\\', '$x', '`x`', ';', '|', '&&', 'a b c', "a'b\"c\\d", '*', '?', '[x]', 'é', '日本'];
    for (const a of samples) for (const b of samples) {
      expect(words(quoteWords(['echo', a, b]))).toEqual(['echo', a, b]);
    }
  });
});

describe('globMatchWord: * and ? within one word', () => {
  const pat = (p: string) => {
    // as the second word: `*` alone as a whole entry means "any command"
    const c = compileAllowEntry(`cmd ${p}`);
    if (!c.ok || c.rule.kind !== 'words') throw new Error(`bad pattern ${p}`);
    return c.rule.words[1];
  };
  it.each([
    ['*', '', true],
    ['*', 'anything/at all', true],
    ['a*', 'a', true],
    ['a*', 'ba', false],
    ['*.log', 'x.log', true],
    ['*.log', 'x.log.gz', false],
    ['a*b*c', 'aXXbYYc', true],
    ['a*b*c', 'aXXbYY', false],
    ['?', 'x', true],
    ['?', '', false],
    ['?', 'xy', false],
    ['?', 'é', true],
    ['?', '😀', true],
    ["'*'", '*', true],
    ["'*'", 'x', false],
    ['\\?', '?', true],
    ['\\?', 'x', false],
    ['"a*"', 'abc', false],
    ['[ab]', 'a', false],
    ['[ab]', '[ab]', true],
  ])('%s ~ %j → %s', (p, w, want) => {
    expect(globMatchWord(pat(p), w)).toBe(want);
  });

  it('a pattern of many stars against a long non-matching word ends quickly (no exponential backtracking)', () => {
    const p = pat('*a'.repeat(30) + '*b');
    // O(word × pattern): 60 000 × 61 steps at most; a backtracking regex would not finish
    expect(globMatchWord(p, 'a'.repeat(60_000))).toBe(false);
    expect(globMatchWord(p, 'a'.repeat(60_000) + 'b')).toBe(true);
  });
});

describe('checkExecAllowed', () => {
  const ok = (cmd: string, allow: ExecAllowEntry[]) => {
    const d = checkExecAllowed(cmd, allow);
    return d.ok ? d.command : false;
  };
  it.each<[string, ExecAllowEntry[], string | false]>([
    // `*` alone: anything, shell syntax included, sent as typed
    ['uptime', ['*'], 'uptime'],
    ['ls x; touch y', ['*'], 'ls x; touch y'],
    ['dmesg | tail -5', ['uptime', '*'], 'dmesg | tail -5'],
    ['uptime', ['uptime'], 'uptime'],
    ['uptime -p', ['uptime'], false],
    ['systemctl status sshd', ['systemctl status *'], 'systemctl status sshd'],
    ['systemctl status sshd; reboot', ['systemctl status *'], false],
    ['systemctl status sshd nginx', ['systemctl status *'], false],
    ['systemctl status sshd nginx', ['systemctl status *', 'systemctl status * *'], 'systemctl status sshd nginx'],
    ['systemctl restart sshd', ['systemctl status *'], false],
    ['systemctl status', ['systemctl status *'], false],
    ["systemctl status ''", ['systemctl status *'], "systemctl status ''"],
    ['systemctl status "a;b"', ['systemctl status *'], "systemctl status 'a;b'"],
    ['systemctl status "$(reboot)"', ['systemctl status *'], false],
    ['ls /tmp', ['ls *'], 'ls /tmp'],
    ['ls x; touch y', ['ls *'], false],
    ['ls $(touch y)', ['ls *'], false],
    ['ls `touch y`', ['ls *'], false],
    ['ls x | touch y', ['ls *'], false],
    ['ls x && touch y', ['ls *'], false],
    ['ls x\ntouch y', ['ls *'], false],
    ['ls "x;touch y"', ['ls *'], "ls 'x;touch y'"],
    ['cat /tmp/motd /etc/shadow', ['ls *'], false],
    ['cat /tmp/motd /etc/shadow', ['cat /tmp/*'], false],
    ['cat /tmp/motd', ['cat /tmp/*'], 'cat /tmp/motd'],
    ['  ls   /tmp ', ['ls *'], 'ls /tmp'],
    ['ls a', ['ls ?'], 'ls a'],
    ['ls ab', ['ls ?'], false],
    ['ls *', ['ls *'], "ls '*'"],
    ['rm -rf /', [], false],
    ['dmesg | tail -5', [{ shell: 'dmesg | tail -5' }], 'dmesg | tail -5'],
    ['  dmesg | tail -5 ', [{ shell: 'dmesg | tail -5' }], 'dmesg | tail -5'],
    ['dmesg | tail -50', [{ shell: 'dmesg | tail -5' }], false],
    ['dmesg | tail -5; reboot', [{ shell: 'dmesg | tail -5' }], false],
    ['dmesg', [{ shell: 'dmesg | tail -5' }], false],
  ])('%j with %j → %j', (cmd, allow, want) => {
    expect(ok(cmd, allow)).toBe(want);
  });

  it('says why a command is refused', () => {
    const d = checkExecAllowed('ls x; touch y', ['ls *']);
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.reason).toMatch(/unquoted ";" \(command separator\) at column 5, which only a \{shell: "..."\} entry/);
    const e = checkExecAllowed('ls a b', ['ls *']);
    if (!e.ok) expect(e.reason).toMatch(/matches no entry \(3 words; each \* stays within one word\)/);
    expect(e.ok).toBe(false);
  });

  it.each<[ExecAllowEntry, RegExp | undefined]>([
    ['ls *', undefined],
    ['*', undefined],
    [' * ', undefined],
    ['ls *; reboot', /unquoted ";".*\{shell/],
    ['dmesg | tail', /unquoted "\|"/],
    ["ls 'x", /unterminated/],
    ['', /empty pattern/],
    [{ shell: '  ' }, /needs the exact command/],
    [{ shell: 'a | b' }, undefined],
  ])('compileAllowEntry(%j)', (entry, err) => {
    const c = compileAllowEntry(entry);
    if (err) expect(c.ok ? 'compiled' : c.reason).toMatch(err);
    else expect(c.ok).toBe(true);
  });
});

describe('shell words under random input', () => {
  // a small deterministic generator: the same 10 000 strings every run
  let seed = 0x5eed;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) % n;
  const alphabet = ['a', 'b', 'c', '-', '/', '.', 'x', 'y', ' ', ' ', ' ', '\t', "'", "'", '"', '\\', '*', '?', ';', '|', '&', '$', '(', ')', '`', '<', '>', '\n', '\r', '\x1b', '\x7f', '#', '~', '=', '{', '}', 'é', '😀'];
  // every other string from quotes, escapes and globs only, so the accepting paths get exercised too
  const quoting = ['a', 'b', '-', '/', ' ', "'", '"', '\\', '*', '?', 'é'];
  const sample = (i: number) => {
    const from = i % 2 ? alphabet : quoting;
    return Array.from({ length: rand(24) }, () => from[rand(from.length)]).join('');
  };

  it('never throws, never accepts a control character or unquoted metacharacter, and re-quoting gives the same words', () => {
    let accepted = 0;
    for (let i = 0; i < 10_000; i++) {
      const text = sample(i);
      const r = splitShellWords(text);
      if (!r.ok) {
        expect(r.at).toBeGreaterThanOrEqual(0);
        expect(r.at).toBeLessThanOrEqual(text.length);
        continue;
      }
      accepted++;
      const ws = r.words.map((w) => w.text);
      for (const w of ws) expect(w).not.toMatch(/[\x00-\x1f\x7f]/);
      expect(words(quoteWords(ws))).toEqual(ws);
      // what is sent for an allowed command is exactly its words, re-quoted
      // (a lone `*` entry is "any command": that sends the text as typed)
      const pattern = ws.map(() => '*').join(' ');
      const d = checkExecAllowed(text, [pattern || 'x']);
      if (ws.length > 1) expect(d).toEqual({ ok: true, command: quoteWords(ws), rule: pattern });
      if (ws.length === 1) expect(d).toEqual({ ok: true, command: text, rule: '*' });
    }
    expect(accepted).toBeGreaterThan(1000); // the generator does reach the accepting paths
  });
});
