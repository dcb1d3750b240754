/**
 * Terminal output without dependencies: colours (only on a TTY, and never with NO_COLOR set), and a live
 * area at the bottom of the screen that is redrawn in place while event lines scroll above it.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: matches ANSI escape sequences
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

export function palette(enabled) {
  const style = (open, close) =>
    enabled ? (text) => `\x1b[${open}m${text}\x1b[${close}m` : (text) => `${text}`;
  return {
    bold: style(1, 22),
    dim: style(2, 22),
    red: style(31, 39),
    green: style(32, 39),
    yellow: style(33, 39),
    blue: style(34, 39),
    magenta: style(35, 39),
    cyan: style(36, 39),
    gray: style(90, 39),
  };
}

export function visibleLength(text) {
  return text.replace(ANSI, '').length;
}

/** Cuts a line to `width` visible characters, keeping escape sequences intact. */
export function clip(text, width) {
  if (visibleLength(text) <= width) return text;
  let out = '';
  let shown = 0;
  let index = 0;
  while (index < text.length && shown < width - 1) {
    ANSI.lastIndex = index;
    const sequence = ANSI.exec(text);
    if (sequence && sequence.index === index) {
      out += sequence[0];
      index += sequence[0].length;
      continue;
    }
    out += text[index];
    shown++;
    index++;
  }
  return `${out}…\x1b[0m`;
}

export function pad(text, width) {
  return text + ' '.repeat(Math.max(0, width - visibleLength(text)));
}

export function padStart(text, width) {
  return ' '.repeat(Math.max(0, width - visibleLength(text))) + text;
}

/** A live area redrawn in place on a TTY. `log()` prints a line above it that stays in the scrollback. */
export class LiveArea {
  #stream;
  #lines = [];
  #drawn = 0;

  constructor(stream) {
    this.#stream = stream;
    stream.write('\x1b[?25l');
  }

  #width() {
    return Math.max(20, (this.#stream.columns ?? 100) - 1);
  }

  #erase() {
    return this.#drawn > 0 ? `\r\x1b[${this.#drawn}A\x1b[J` : '';
  }

  #paint() {
    const width = this.#width();
    this.#drawn = this.#lines.length;
    return this.#lines.map((line) => `${clip(line, width)}\x1b[K\n`).join('');
  }

  render(lines) {
    this.#lines = lines;
    this.#stream.write(this.#erase() + this.#paint());
  }

  log(line) {
    this.#stream.write(`${this.#erase()}${line}\x1b[K\n${this.#paint()}`);
  }

  /** Leaves the last frame on screen and gives the cursor back. */
  close() {
    this.#stream.write('\x1b[?25h');
    this.#lines = [];
    this.#drawn = 0;
  }
}
