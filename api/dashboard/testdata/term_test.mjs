// Checks term.js outside a browser: run by TestTerminalInNode with node.
// The DOM parts (rendering, events) are stubbed; what is checked is the
// text the terminal keeps and what it sends for keys.
import { Terminal } from '../static/term.js';

globalThis.document = { createElement: () => ({}) };
globalThis.requestAnimationFrame = () => {};
const pre = { addEventListener() {}, replaceChildren() {}, scrollTop: 0, clientHeight: 0, scrollHeight: 0 };

const enc = (s) => new TextEncoder().encode(s);
const output = [
  ['CR LF', ['hello\r\nworld'], 'hello\nworld'],
  ['CR overwrites', ['hello\rJ'], 'Jello'],
  ['backspace moves left', ['abc\bX'], 'abX'],
  ['backspace, space, backspace erases', ['abc\b \b'], 'ab '],
  ['erase to end of line', ['abcdef\r\x1b[3C\x1b[K'], 'abc'],
  ['erase whole line', ['abc\x1b[2K'], ''],
  ['tab stops', ['a\tb'], 'a       b'],
  ['colours are dropped', ['\x1b[1;31mRED\x1b[0m!'], 'RED!'],
  ['OSC title is dropped', ['x\x1b]0;title\x07y'], 'xy'],
  ['OSC ended by ST', ['x\x1b]2;t\x1b\\y'], 'xy'],
  ['charset selection is dropped', ['\x1b(Bok'], 'ok'],
  ['clear screen', ['line1\r\nline2\x1b[2J', 'after'], 'after'],
  ['home and erase below', ['a\r\nb\r\nc\x1b[H\x1b[J', 'top'], 'top'],
  ['delete characters', ['abcdef\r\x1b[2P'], 'cdef'],
  ['insert blanks', ['abc\r\x1b[2@'], '  abc'],
  ['cursor left', ['ab\x1b[Dz'], 'az'],
  ['cursor column', ['abcdef\x1b[3Gx'], 'abxdef'],
  ['UTF-8 split across writes', [enc('caf\u00e9').slice(0, 4), enc('caf\u00e9').slice(4)], 'caf\u00e9'],
  ['escape split across writes', ['a\x1b[3', '1mb'], 'ab'],
  ['bell and other controls are dropped', ['a\x07\x00\x7fb'], 'ab'],
  ['notice on its own line', ['prompt# ', { notice: 'stopped: stopped' }], 'prompt# \n[stopped: stopped]\n'],
];
const keys = [
  [{ key: 'a' }, 'a'],
  [{ key: 'A' }, 'A'],
  [{ key: 'Enter' }, '\r'],
  [{ key: 'Backspace' }, '\x7f'],
  [{ key: 'Tab' }, '\t'],
  [{ key: 'ArrowUp' }, '\x1b[A'],
  [{ key: 'ArrowLeft' }, '\x1b[D'],
  [{ key: 'Delete' }, '\x1b[3~'],
  [{ key: 'c', ctrlKey: true }, '\x03'],
  [{ key: 'd', ctrlKey: true }, '\x04'],
  [{ key: 'x', altKey: true }, '\x1bx'],
  [{ key: 'v', ctrlKey: true, shiftKey: true }, null], // the browser's paste
  [{ key: 'Shift' }, null],
];

let passed = 0, failed = 0;
const check = (name, got, want) => {
  if (got === want) { passed++; return; }
  failed++;
  console.log(`FAIL ${name}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
};
for (const [name, writes, want] of output) {
  const t = new Terminal(pre, () => {});
  for (const w of writes) {
    if (w.notice) t.notice(w.notice); else t.write(w);
  }
  check(name, t.text(), want);
}
for (const [ev, want] of keys) {
  let sent = null;
  const t = new Terminal(pre, (s) => { sent = s; });
  t.key({ ctrlKey: false, altKey: false, shiftKey: false, metaKey: false, ...ev, preventDefault() {} });
  check(`key ${JSON.stringify(ev)}`, sent, want);
}
{
  const sent = [];
  const t = new Terminal(pre, (s) => sent.push(s));
  t.write('ab\r\ncd\x1b[6n');
  check('cursor position report', sent.join(), '\x1b[2;3R');
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
