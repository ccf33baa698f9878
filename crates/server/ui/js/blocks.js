// @ts-check
/**
 * The block view: every source line is a block; opcodes are dragged from a palette into the
 * program, blocks are dragged (or moved with Alt+↑/↓) to reorder them, and operands are edited
 * in place. It edits the same text as the text editor: only the lines it touches are
 * rewritten, so the rest keeps its formatting and comments.
 * @module blocks
 */

import { h } from './dom.js';
import { OPS, OP_BY_NAME, defaultArgs, parseLine, printLine } from './pxl.js';

const BLOCK_TYPE = 'application/x-gvpie-block';
const OP_TYPE = 'application/x-gvpie-op';

export class BlockView {
  /**
   * @param {HTMLElement} paletteHost where the palette goes
   * @param {HTMLElement} listHost where the blocks go
   * @param {{onChange: (text: string) => void}} options
   */
  constructor(paletteHost, listHost, options) {
    this.onChange = options.onChange;
    /** @type {string[]} */
    this.lines = [];
    /** @type {Map<number, {line: number, message: string}[]>} */
    this.diagnostics = new Map();
    this.list = h('ol', { class: 'blocks', 'aria-label': 'Program blocks' });
    this.marker = h('li', { class: 'drop-marker', 'aria-hidden': 'true' });
    listHost.append(this.list);
    this.buildPalette(paletteHost);
    this.list.addEventListener('dragover', (event) => this.dragOver(event));
    this.list.addEventListener('dragleave', (event) => {
      if (!this.list.contains(/** @type {Node} */ (event.relatedTarget))) this.marker.remove();
    });
    this.list.addEventListener('drop', (event) => this.drop(event));
  }

  /** @param {HTMLElement} host */
  buildPalette(host) {
    const groups = ['draw', 'math', 'flow', 'machine'];
    for (const group of groups) {
      const chips = OPS.filter((info) => info.group === group).map((info) => {
        const chip = h('button', {
          type: 'button',
          class: `chip op-${group}`,
          draggable: 'true',
          title: `${info.mnemonic} ${info.synopsis} — ${info.help}. Drag into the program, or click to add at the end.`,
          'data-op': info.mnemonic,
          text: info.mnemonic,
          onclick: () => this.insert(this.lines.length, info.mnemonic),
        });
        chip.addEventListener('dragstart', (event) => {
          event.dataTransfer?.setData(OP_TYPE, info.mnemonic);
          if (event.dataTransfer) event.dataTransfer.effectAllowed = 'copy';
        });
        return chip;
      });
      host.append(h('div', { class: 'palette-group', role: 'group', 'aria-label': `${group} opcodes` }, [
        h('div', { class: 'palette-title', text: group }),
        h('div', { class: 'palette-chips' }, chips),
      ]));
    }
  }

  /**
   * Shows `text` as blocks.
   * @param {string} text
   */
  setValue(text) {
    this.lines = text.split('\n');
    // A final newline is not a block of its own.
    if (this.lines.length > 1 && this.lines[this.lines.length - 1] === '') this.lines.pop();
    this.render();
  }

  /** @param {{line: number, message: string}[]} diagnostics */
  setDiagnostics(diagnostics) {
    this.diagnostics = new Map();
    for (const d of diagnostics) {
      if (!this.diagnostics.has(d.line)) this.diagnostics.set(d.line, []);
      this.diagnostics.get(d.line)?.push(d);
    }
    for (const element of this.list.querySelectorAll('li.block')) {
      const index = Number(/** @type {HTMLElement} */ (element).dataset.index);
      const own = this.diagnostics.get(index + 1);
      element.classList.toggle('has-diag', Boolean(own));
      element.setAttribute('title', own ? own.map((d) => d.message).join('\n') : '');
    }
  }

  /** @returns {string} */
  text() {
    return this.lines.join('\n') + '\n';
  }

  emit() {
    this.onChange(this.text());
  }

  render() {
    const items = this.lines.map((line, index) => this.block(line, index));
    if (!items.length || (this.lines.length === 1 && !this.lines[0].trim())) {
      this.list.replaceChildren(h('li', { class: 'empty', text: 'No blocks yet: drag an opcode from the palette here.' }));
      return;
    }
    this.list.replaceChildren(...items);
    this.setDiagnostics([...this.diagnostics.values()].flat());
  }

  /**
   * One block.
   * @param {string} line
   * @param {number} index
   */
  block(line, index) {
    const model = parseLine(line);
    const item = h('li', { class: `block kind-${model.kind}`, draggable: 'true', 'data-index': String(index), tabindex: '0' });
    item.setAttribute('aria-label', `Line ${index + 1}: ${line.trim() || 'blank'}`);
    const handle = h('span', { class: 'handle', 'aria-hidden': 'true', text: '⠿' });
    const number = h('span', { class: 'block-line', text: String(index + 1) });
    const remove = h('button', {
      type: 'button',
      class: 'icon remove',
      'aria-label': `Delete line ${index + 1}`,
      title: 'Delete this block',
      text: '×',
      onclick: () => {
        this.lines.splice(index, 1);
        this.render();
        this.emit();
      },
    });
    /** @type {(Node|string)[]} */
    let body = [];
    const rewrite = () => {
      this.lines[index] = printLine(model);
      item.setAttribute('aria-label', `Line ${index + 1}: ${this.lines[index].trim() || 'blank'}`);
      this.emit();
    };
    if (model.kind === 'instr' && model.mnemonic) {
      const info = OP_BY_NAME.get(model.mnemonic);
      const names = (info?.synopsis ?? '').split(' ').filter(Boolean);
      const args = model.args ?? [];
      body = [h('span', { class: `chip op-${info?.group ?? 'flow'}`, text: model.mnemonic })];
      const count = Math.max(args.length, info?.min ?? 0);
      for (let i = 0; i < count; i += 1) {
        const name = names[i] ?? `arg${i + 1}`;
        const input = /** @type {HTMLInputElement} */ (
          h('input', {
            class: `operand${model.mnemonic === 'TXT' && i === 2 ? ' wide' : ''}`,
            value: args[i] ?? '',
            placeholder: name,
            size: Math.max(2, (args[i] ?? name).length + 1),
            'aria-label': `${model.mnemonic} ${name} (line ${index + 1})`,
          })
        );
        input.addEventListener('input', () => {
          (model.args ??= [])[i] = input.value;
          input.size = Math.max(2, input.value.length + 1);
          rewrite();
        });
        body.push(input);
      }
      if (model.comment) body.push(h('span', { class: 'tok-comment', text: model.comment }));
    } else if (model.kind === 'label') {
      const input = /** @type {HTMLInputElement} */ (
        h('input', { class: 'operand', value: model.label ?? '', 'aria-label': `Label name (line ${index + 1})` })
      );
      input.addEventListener('input', () => {
        model.label = input.value;
        rewrite();
      });
      body = [input, h('span', { class: 'tok-labeldef', text: ':' })];
    } else if (model.kind === 'blank') {
      body = [h('span', { class: 'muted', text: '(blank line)' })];
    } else {
      const input = /** @type {HTMLInputElement} */ (
        h('input', {
          class: `operand wide ${model.kind === 'comment' ? 'tok-comment' : ''}`,
          value: model.text ?? '',
          'aria-label': `${model.kind === 'comment' ? 'Comment' : 'Line'} ${index + 1}`,
        })
      );
      input.addEventListener('input', () => {
        model.text = input.value;
        rewrite();
      });
      body = [input];
    }
    item.append(handle, number, ...body, remove);
    item.addEventListener('dragstart', (event) => {
      if (/** @type {HTMLElement} */ (event.target).tagName === 'INPUT') return;
      event.dataTransfer?.setData(BLOCK_TYPE, String(index));
      if (event.dataTransfer) event.dataTransfer.effectAllowed = 'move';
      item.classList.add('dragging');
    });
    item.addEventListener('dragend', () => {
      item.classList.remove('dragging');
      this.marker.remove();
    });
    item.addEventListener('keydown', (event) => {
      if (!event.altKey || (event.key !== 'ArrowUp' && event.key !== 'ArrowDown')) return;
      event.preventDefault();
      const to = event.key === 'ArrowUp' ? index - 1 : index + 2;
      if (to < 0 || to > this.lines.length) return;
      const moved = this.move(index, to);
      this.render();
      this.emit();
      /** @type {HTMLElement|null} */ (this.list.querySelector(`li[data-index="${moved}"]`))?.focus();
    });
    return item;
  }

  /**
   * Where a drop at this pointer position would insert, as a line index.
   * @param {DragEvent} event
   */
  dropIndex(event) {
    const blocks = [...this.list.querySelectorAll('li.block')];
    for (const element of blocks) {
      const box = element.getBoundingClientRect();
      if (event.clientY < box.top + box.height / 2) return Number(/** @type {HTMLElement} */ (element).dataset.index);
    }
    return this.lines.length;
  }

  /** @param {DragEvent} event */
  dragOver(event) {
    const types = event.dataTransfer?.types ?? [];
    if (!types.includes(BLOCK_TYPE) && !types.includes(OP_TYPE)) return;
    event.preventDefault();
    const index = this.dropIndex(event);
    const before = this.list.querySelector(`li.block[data-index="${index}"]`);
    if (before) this.list.insertBefore(this.marker, before);
    else this.list.append(this.marker);
  }

  /** @param {DragEvent} event */
  drop(event) {
    const data = event.dataTransfer;
    if (!data) return;
    const index = this.dropIndex(event);
    this.marker.remove();
    const op = data.getData(OP_TYPE);
    const from = data.getData(BLOCK_TYPE);
    if (op) {
      event.preventDefault();
      this.insert(index, op);
    } else if (from !== '') {
      event.preventDefault();
      this.move(Number(from), index);
      this.render();
      this.emit();
    }
  }

  /**
   * Moves line `from` so that it lands before what is now line `to`.
   * @param {number} from
   * @param {number} to
   * @returns {number} its new index
   */
  move(from, to) {
    const [line] = this.lines.splice(from, 1);
    const at = to > from ? to - 1 : to;
    this.lines.splice(at, 0, line);
    return at;
  }

  /**
   * Inserts a new instruction with default operands.
   * @param {number} index
   * @param {string} mnemonic
   */
  insert(index, mnemonic) {
    if (this.lines.length === 1 && !this.lines[0].trim()) this.lines = [];
    this.lines.splice(index, 0, printLine({ kind: 'instr', mnemonic, args: defaultArgs(mnemonic) }));
    this.render();
    this.emit();
    const input = /** @type {HTMLElement|null} */ (this.list.querySelector(`li[data-index="${index}"] input`));
    input?.focus();
  }
}
