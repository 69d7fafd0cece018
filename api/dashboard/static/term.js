// A small serial terminal in a <pre>: it keeps lines of text and a
// cursor, understands CR, LF, backspace, tab and the common CSI sequences
// (cursor moves, erase line/screen, insert/delete characters, cursor
// position report), and drops every other escape sequence and colour.

const maxLines = 3000;
const screenRows = 24; // rows a cursor position counts from the bottom of
const keys = {
  Enter: '\r', Backspace: '\x7f', Tab: '\t', Escape: '\x1b',
  ArrowUp: '\x1b[A', ArrowDown: '\x1b[B', ArrowRight: '\x1b[C', ArrowLeft: '\x1b[D',
  Home: '\x1b[H', End: '\x1b[F', Insert: '\x1b[2~', Delete: '\x1b[3~', PageUp: '\x1b[5~', PageDown: '\x1b[6~',
};

export class Terminal {
  // onInput receives what the user types, as a string of characters.
  constructor(pre, onInput) {
    this.pre = pre;
    this.onInput = onInput;
    this.pre.tabIndex = 0;
    this.pre.addEventListener('keydown', (e) => this.key(e));
    this.pre.addEventListener('paste', (e) => {
      e.preventDefault();
      this.onInput(e.clipboardData.getData('text').replace(/\r?\n/g, '\r'));
    });
    this.reset();
  }

  reset() {
    this.lines = [''];
    this.row = 0;
    this.col = 0;
    this.state = 'text';
    this.params = '';
    this.decoder = new TextDecoder();
    this.render();
  }

  // write takes guest output: a Uint8Array of UTF-8, or a string.
  write(data) {
    const s = typeof data === 'string' ? data : this.decoder.decode(data, { stream: true });
    for (const ch of s) this.put(ch);
    if (this.lines.length > maxLines) {
      const drop = this.lines.length - maxLines;
      this.lines.splice(0, drop);
      this.row = Math.max(0, this.row - drop);
    }
    if (!this.pending) {
      this.pending = true;
      requestAnimationFrame(() => { this.pending = false; this.render(); });
    }
  }

  // notice writes a line of the dashboard's own, apart from guest output.
  notice(text) {
    if (this.col > 0 || this.lines[this.row] !== '') this.write('\r\n');
    this.write(`[${text}]\r\n`);
  }

  text() { return this.lines.join('\n'); }

  put(ch) {
    switch (this.state) {
      case 'esc':
        this.state = ch === '[' ? 'csi' : ch === ']' ? 'osc' : '()#'.includes(ch) ? 'skip1' : 'text';
        this.params = '';
        return;
      case 'skip1': this.state = 'text'; return;
      case 'csi':
        if (ch >= '@' && ch <= '~') { this.state = 'text'; this.csi(ch, this.params); } else this.params += ch;
        return;
      case 'osc': // ends at BEL or ST (ESC \)
        if (ch === '\x07') this.state = 'text'; else if (ch === '\x1b') this.state = 'skip1';
        return;
    }
    switch (ch) {
      case '\x1b': this.state = 'esc'; return;
      case '\r': this.col = 0; return;
      case '\n':
        this.row++;
        if (this.row === this.lines.length) this.lines.push('');
        return;
      case '\b': if (this.col > 0) this.col--; return;
      case '\t': do this.putChar(' '); while (this.col % 8); return;
    }
    if (ch >= ' ' && ch !== '\x7f') this.putChar(ch);
  }

  putChar(ch) {
    const line = this.lines[this.row].padEnd(this.col);
    this.lines[this.row] = line.slice(0, this.col) + ch + line.slice(this.col + 1);
    this.col++;
  }

  csi(final, params) {
    const args = params.replace(/^[?>=]/, '').split(';').map((p) => parseInt(p, 10));
    const n = (i, d) => (Number.isNaN(args[i]) || args[i] === undefined ? d : args[i]);
    const line = this.lines[this.row];
    const top = Math.max(0, this.lines.length - screenRows);
    switch (final) {
      case 'A': this.row = Math.max(top, this.row - n(0, 1)); break;
      case 'B': this.moveTo(this.row + n(0, 1), this.col); break;
      case 'C': this.col += n(0, 1); break;
      case 'D': this.col = Math.max(0, this.col - n(0, 1)); break;
      case 'G': this.col = Math.max(0, n(0, 1) - 1); break;
      case 'H': case 'f': this.moveTo(top + Math.max(0, n(0, 1) - 1), Math.max(0, n(1, 1) - 1)); break;
      case 'K': // erase in line
        if (n(0, 0) === 0) this.lines[this.row] = line.slice(0, this.col);
        else if (n(0, 0) === 1) this.lines[this.row] = ' '.repeat(this.col) + line.slice(this.col);
        else this.lines[this.row] = '';
        break;
      case 'J': // erase in display
        if (n(0, 0) >= 2) { this.lines = ['']; this.row = 0; this.col = 0; break; }
        if (n(0, 0) === 0) { this.lines.length = this.row + 1; this.lines[this.row] = line.slice(0, this.col); }
        break;
      case 'P': this.lines[this.row] = line.slice(0, this.col) + line.slice(this.col + n(0, 1)); break;
      case '@': this.lines[this.row] = line.slice(0, this.col) + ' '.repeat(n(0, 1)) + line.slice(this.col); break;
      case 'n': // a cursor position report keeps line editors (BusyBox) happy
        if (n(0, 0) === 6) this.onInput(`\x1b[${this.row - top + 1};${this.col + 1}R`);
        break;
      // everything else (colours, modes, scroll regions) is dropped
    }
  }

  moveTo(row, col) {
    while (this.lines.length <= row) this.lines.push('');
    this.row = row;
    this.col = col;
  }

  render() {
    const atBottom = this.pre.scrollTop + this.pre.clientHeight >= this.pre.scrollHeight - 4;
    const before = this.lines.slice(0, this.row).concat(this.lines[this.row].slice(0, this.col).padEnd(this.col)).join('\n');
    const under = this.lines[this.row][this.col] || ' ';
    const after = this.lines[this.row].slice(this.col + 1) + (this.row + 1 < this.lines.length ? '\n' : '') + this.lines.slice(this.row + 1).join('\n');
    const cursor = document.createElement('span');
    cursor.className = 'cursor';
    cursor.textContent = under;
    this.pre.replaceChildren(before, cursor, after);
    if (atBottom) this.pre.scrollTop = this.pre.scrollHeight;
  }

  key(e) {
    if (e.metaKey || (e.ctrlKey && e.shiftKey)) return; // leave the browser's copy and paste alone
    let s = null;
    if (e.ctrlKey && !e.altKey && e.key.length === 1) {
      const c = e.key.toUpperCase().charCodeAt(0);
      if (c >= 64 && c <= 95) s = String.fromCharCode(c - 64);
    } else if (keys[e.key]) {
      s = keys[e.key];
    } else if (e.key.length === 1 && !e.ctrlKey) {
      s = (e.altKey ? '\x1b' : '') + e.key;
    }
    if (s === null) return;
    e.preventDefault();
    this.onInput(s);
  }
}
