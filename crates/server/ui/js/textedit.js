// @ts-check
/**
 * The text editor: a plain `<textarea>` over a highlighted copy of its text (same font, same
 * metrics), a line-number gutter, and the server's diagnostics drawn in place: a wavy
 * underline under the offending span, the message at the end of the line, a marker in the
 * gutter.
 *
 * The textarea keeps all the native editing (undo, selection, IME, accessibility); the layer
 * under it is only paint.
 * @module textedit
 */

import { h } from './dom.js';
import { tokenizeLine } from './pxl.js';

/**
 * @typedef {object} Diagnostic
 * @property {number} line 1-based
 * @property {number} column 1-based, in characters
 * @property {number} width characters marked
 * @property {string} message
 */

/**
 * Renders one source line as highlighted nodes, with the spans of `diagnostics` underlined.
 * @param {string} line
 * @param {Diagnostic[]} [diagnostics] those of this line
 * @returns {DocumentFragment}
 */
export function renderLine(line, diagnostics = []) {
  const fragment = document.createDocumentFragment();
  const ranges = diagnostics.map((d) => [d.column - 1, Math.max(d.column, d.column - 1 + d.width)]);
  const inDiagnostic = (/** @type {number} */ at) => ranges.some(([start, end]) => at >= start && at < end);
  let at = 0;
  for (const token of tokenizeLine(line)) {
    // Split the token where a diagnostic range starts or ends.
    let start = 0;
    while (start < token.text.length) {
      const flag = inDiagnostic(at + start);
      let end = start + 1;
      while (end < token.text.length && inDiagnostic(at + end) === flag) end += 1;
      const span = h('span', { class: `tok-${token.cls}${flag ? ' diag' : ''}`, text: token.text.slice(start, end) });
      fragment.append(span);
      start = end;
    }
    at += token.text.length;
  }
  // A diagnostic past the end of the line (a missing operand) still gets a mark.
  if (ranges.some(([start]) => start >= line.length)) fragment.append(h('span', { class: 'diag diag-eol', text: ' ' }));
  if (diagnostics.length) {
    fragment.append(h('span', { class: 'diag-msg', text: `  ${diagnostics.map((d) => d.message).join('; ')}` }));
  }
  return fragment;
}

export class TextEditor {
  /**
   * @param {HTMLElement} host
   * @param {{label: string, onChange: (text: string) => void}} options
   */
  constructor(host, options) {
    /** @type {Diagnostic[]} */
    this.diagnostics = [];
    this.onChange = options.onChange;
    this.gutterInner = h('div', { class: 'gutter-inner' });
    this.gutter = h('div', { class: 'gutter', 'aria-hidden': 'true' }, [this.gutterInner]);
    this.highlight = h('pre', { class: 'highlight', 'aria-hidden': 'true' });
    this.textarea = /** @type {HTMLTextAreaElement} */ (
      h('textarea', {
        class: 'code-input',
        spellcheck: false,
        autocomplete: 'off',
        autocapitalize: 'off',
        wrap: 'off',
        'aria-label': options.label,
      })
    );
    this.textarea.setAttribute('autocorrect', 'off');
    host.classList.add('code-editor');
    host.append(this.gutter, h('div', { class: 'code-area' }, [this.highlight, this.textarea]));
    this.textarea.addEventListener('input', () => {
      this.render();
      this.onChange(this.textarea.value);
    });
    this.textarea.addEventListener('scroll', () => this.syncScroll());
  }

  /** @returns {string} */
  get value() {
    return this.textarea.value;
  }

  /**
   * Replaces the text (keeps the caret where it can).
   * @param {string} text
   */
  setValue(text) {
    if (text === this.textarea.value) return;
    const caret = this.textarea.selectionStart;
    this.textarea.value = text;
    this.textarea.selectionStart = this.textarea.selectionEnd = Math.min(caret, text.length);
    this.render();
  }

  /** @param {Diagnostic[]} diagnostics */
  setDiagnostics(diagnostics) {
    this.diagnostics = diagnostics;
    this.render();
  }

  /**
   * Puts the caret at a position and scrolls to it.
   * @param {number} line 1-based
   * @param {number} [column] 1-based
   */
  focusAt(line, column = 1) {
    const lines = this.textarea.value.split('\n');
    let offset = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i += 1) offset += lines[i].length + 1;
    offset += Math.min(column - 1, (lines[line - 1] ?? '').length);
    this.textarea.focus();
    this.textarea.setSelectionRange(offset, offset);
    const lineHeight = parseFloat(getComputedStyle(this.textarea).lineHeight) || 18;
    this.textarea.scrollTop = Math.max(0, (line - 4) * lineHeight);
  }

  /** Repaints the highlight layer and the gutter from the text. */
  render() {
    const lines = this.textarea.value.split('\n');
    /** @type {Map<number, Diagnostic[]>} */
    const byLine = new Map();
    for (const d of this.diagnostics) {
      if (!byLine.has(d.line)) byLine.set(d.line, []);
      byLine.get(d.line)?.push(d);
    }
    const code = document.createDocumentFragment();
    const numbers = document.createDocumentFragment();
    lines.forEach((line, idx) => {
      const own = byLine.get(idx + 1) ?? [];
      code.append(h('div', { class: own.length ? 'line has-diag' : 'line' }, [renderLine(line, own)]));
      numbers.append(
        h('div', { class: own.length ? 'num has-diag' : 'num', title: own.map((d) => d.message).join('\n') || undefined }, [
          String(idx + 1),
        ]),
      );
    });
    // A trailing newline must still give the pre its last (empty) row.
    this.highlight.replaceChildren(code);
    this.gutterInner.replaceChildren(numbers);
    this.syncScroll();
  }

  syncScroll() {
    const { scrollTop, scrollLeft } = this.textarea;
    this.highlight.style.transform = `translate(${-scrollLeft}px, ${-scrollTop}px)`;
    this.gutterInner.style.transform = `translateY(${-scrollTop}px)`;
  }
}
