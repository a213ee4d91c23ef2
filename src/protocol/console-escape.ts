/**
 * The escapes of an interactive serial console, as ssh, conman and ipmitool read them: at the start
 * of a line (after Enter, or first), `~` introduces `~.` leave, `~B` break, `~?` help, `~~` a `~`;
 * any other character after `~` is sent with the `~`. Pure: keys in, bytes to send and actions out.
 */

export type ConsoleAction = 'leave' | 'break' | 'help';

export interface EscapeResult {
  /** what goes to the node */
  send: string;
  actions: ConsoleAction[];
}

export const CONSOLE_HELP = ['~.  leave the console', '~B  send a serial break', '~?  this help', '~~  type a ~'];

export class ConsoleEscapes {
  private lineStart = true;
  private tilde = false;

  feed(text: string): EscapeResult {
    let send = '';
    const actions: ConsoleAction[] = [];
    for (const c of text) {
      if (this.tilde) {
        this.tilde = false;
        if (c === '.') actions.push('leave');
        else if (c === 'B') actions.push('break');
        else if (c === '?') actions.push('help');
        else if (c === '~') send += '~';
        else {
          send += '~' + c;
          this.lineStart = c === '\r' || c === '\n';
        }
        continue;
      }
      if (this.lineStart && c === '~') {
        this.tilde = true;
        continue;
      }
      send += c;
      this.lineStart = c === '\r' || c === '\n';
    }
    return { send, actions };
  }
}
