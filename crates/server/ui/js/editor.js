// @ts-check
/**
 * The Editor view: the text editor and the block view over one program, live diagnostics
 * from the server's parser (`POST /api/check`), Run on the CPU or GPU (`POST /api/execute`)
 * with the canvas shown, save as an improvement script (`/api/scripts`) or as a cartridge
 * (`POST /api/cart/pack`), open a cartridge by dropping its PNG on the page
 * (`POST /api/cart/unpack`), and describe a picture in plain English: the description is
 * compiled (`POST /api/compile`) into the editor and run.
 * @module editor
 */

import { api } from './api.js';
import { BlockView } from './blocks.js';
import { CanvasView } from './canvasview.js';
import { byId, download, formatMs, fromBase64, h, toBase64, toast } from './dom.js';
import { persist, program, subscribe, update } from './program.js';
import { declaredSize } from './pxl.js';
import { TextEditor } from './textedit.js';

export class EditorView {
  /** @param {{backends: string[]}} server what `/health` said */
  constructor(server) {
    this.text = new TextEditor(byId('editor-text'), {
      label: 'PXL program',
      onChange: (source) => update({ source }, 'text'),
    });
    this.blocks = new BlockView(byId('palette'), byId('block-list'), {
      onChange: (source) => update({ source }, 'blocks'),
    });
    this.canvas = new CanvasView(byId('editor-canvas'), { label: 'Canvas drawn by the last run' });
    this.result = byId('run-result');
    this.diagnosticsBox = byId('diagnostics');
    this.checkTimer = 0;
    this.checkSeq = 0;
    this.mode = 'text';

    const state = program();
    this.text.setValue(state.source);
    byId('canvas-width').value = String(state.width);
    byId('canvas-height').value = String(state.height);
    subscribe((current, origin) => {
      if (origin !== 'size' && origin !== 'meta') this.followDeclaredSize();
      if (origin !== 'text') this.text.setValue(current.source);
      if (origin !== 'blocks' && this.mode === 'blocks') this.blocks.setValue(current.source);
      if (origin !== 'size' && origin !== 'meta') this.scheduleCheck();
    });

    byId('tab-text').addEventListener('click', () => this.showMode('text'));
    byId('tab-blocks').addEventListener('click', () => this.showMode('blocks'));
    byId('run-cpu').addEventListener('click', () => this.run('cpu'));
    const gpu = byId('run-gpu');
    gpu.addEventListener('click', () => this.run('gpu'));
    if (!server.backends.includes('gpu')) {
      gpu.disabled = true;
      gpu.title = `This server has no GPU backend (it has: ${server.backends.join(', ') || 'none'}).`;
    }
    byId('describe-form').addEventListener('submit', (/** @type {Event} */ event) => {
      event.preventDefault();
      this.describe();
    });
    byId('save-script').addEventListener('click', () => this.saveScript());
    byId('save-cart').addEventListener('click', () => this.saveCartridge());
    byId('open-cart').addEventListener('change', (/** @type {Event} */ event) => {
      const input = /** @type {HTMLInputElement} */ (event.target);
      const file = input.files?.[0];
      if (file) this.openCartridge(file);
      input.value = '';
    });
    for (const id of ['canvas-width', 'canvas-height']) {
      byId(id).addEventListener('change', () => {
        const width = clampSize(byId('canvas-width').value, 128);
        const height = clampSize(byId('canvas-height').value, 64);
        byId('canvas-width').value = String(width);
        byId('canvas-height').value = String(height);
        update({ width, height }, 'size');
      });
    }
    this.installDrop();
    this.followDeclaredSize();
    this.scheduleCheck(0);
  }

  /** Compiles the description box into a program, puts it in the editor and runs it on the CPU. */
  async describe() {
    const input = /** @type {HTMLInputElement} */ (byId('describe-input'));
    const description = input.value.trim();
    if (!description) {
      input.focus();
      return;
    }
    const { width, height } = program();
    this.result.className = 'result busy';
    this.result.textContent = 'Compiling the description…';
    try {
      const answer = await api('/api/compile', { body: { description, width, height } });
      update({ source: answer.source }, 'describe');
      await this.run('cpu');
    } catch (err) {
      this.result.className = 'result error';
      this.result.textContent = `✗ ${/** @type {Error} */ (err).message}`;
    }
  }

  /** A program that declares its size (`SIZE width height`) is run and debugged at that size. */
  followDeclaredSize() {
    const current = program();
    const declared = declaredSize(current.source);
    if (!declared || (declared.width === current.width && declared.height === current.height)) return;
    byId('canvas-width').value = String(declared.width);
    byId('canvas-height').value = String(declared.height);
    update(declared, 'size');
  }

  /** @param {'text'|'blocks'} mode */
  showMode(mode) {
    this.mode = mode;
    byId('editor-text').hidden = mode !== 'text';
    byId('editor-blocks').hidden = mode !== 'blocks';
    byId('tab-text').setAttribute('aria-selected', String(mode === 'text'));
    byId('tab-blocks').setAttribute('aria-selected', String(mode === 'blocks'));
    if (mode === 'blocks') this.blocks.setValue(program().source);
    else this.text.render();
  }

  /** Checks the program after a pause in typing. */
  scheduleCheck(delay = 250) {
    clearTimeout(this.checkTimer);
    this.checkTimer = window.setTimeout(() => this.check(), delay);
  }

  /** Asks the server's parser for diagnostics and shows them in both views. */
  async check() {
    const seq = ++this.checkSeq;
    const source = program().source;
    try {
      const answer = await api('/api/check', { body: { code: source } });
      if (seq !== this.checkSeq) return;
      this.showDiagnostics(answer.diagnostics, answer.ok ? `No problems · ${answer.n_instructions} instructions` : '');
    } catch (err) {
      if (seq !== this.checkSeq) return;
      this.diagnosticsBox.replaceChildren(h('p', { class: 'error', text: `Cannot check the program: ${/** @type {Error} */ (err).message}` }));
    }
  }

  /**
   * @param {{line: number, column: number, width: number, message: string}[]} diagnostics
   * @param {string} okText shown when there are none
   */
  showDiagnostics(diagnostics, okText) {
    this.text.setDiagnostics(diagnostics);
    this.blocks.setDiagnostics(diagnostics);
    if (!diagnostics.length) {
      this.diagnosticsBox.replaceChildren(h('p', { class: 'ok', text: okText }));
      return;
    }
    const items = diagnostics.map((d) =>
      h('li', {}, [
        h('button', {
          type: 'button',
          class: 'link diag-link',
          text: `${d.line}:${d.column}: ${d.message}`,
          onclick: () => {
            this.showMode('text');
            this.text.focusAt(d.line, d.column);
          },
        }),
      ]),
    );
    this.diagnosticsBox.replaceChildren(
      h('p', { class: 'error', text: `${diagnostics.length} problem${diagnostics.length > 1 ? 's' : ''}` }),
      h('ul', { class: 'diag-list', 'aria-label': 'Problems' }, items),
    );
  }

  /**
   * Runs the program on the server and shows the canvas.
   * @param {'cpu'|'gpu'} backend
   */
  async run(backend) {
    const { source, width, height } = program();
    persist();
    this.result.className = 'result busy';
    this.result.textContent = `Running on ${backend.toUpperCase()}…`;
    try {
      const answer = await api('/api/execute', { body: { code: source, backend, width, height, image: 'rgba' } });
      if (answer.image) this.canvas.show(fromBase64(answer.image), answer.width, answer.height);
      const ran = `${answer.cycles.toLocaleString('en-US')} cycles on ${answer.backend.toUpperCase()} in ${formatMs(answer.duration_ms)}`;
      if (answer.success) {
        this.result.className = 'result ok';
        this.result.textContent = `✓ Halted after ${ran}`;
      } else {
        const error = answer.error ?? {};
        this.result.className = 'result error';
        const where = error.line ? ` at line ${error.line}` : '';
        this.result.textContent =
          error.kind === 'parse' ? '✗ The program has errors (see the problems below the editor).' : `✗ ${error.kind}${where}: ${error.message} (${ran})`;
        if (error.kind === 'parse') this.check();
      }
    } catch (err) {
      this.result.className = 'result error';
      this.result.textContent = `✗ ${/** @type {Error} */ (err).message}`;
    }
  }

  /** Saves as an improvement script: asks for a name the first time, then updates it. */
  async saveScript() {
    const state = program();
    persist();
    let name = state.scriptName;
    if (!name) {
      name = await askName();
      if (!name) return;
    }
    try {
      const { scripts } = await api('/api/scripts');
      const existing = scripts.find((/** @type {any} */ s) => s.name === name);
      if (existing) await api(`/api/scripts/${existing.id}`, { method: 'PATCH', body: { code: state.source } });
      else await api('/api/scripts', { body: { name, code: state.source, lang: 'pixel', purpose: 'saved from the web UI' } });
      update({ scriptName: name }, 'meta');
      toast(`Saved as script “${name}”${existing ? ' (updated)' : ''}.`);
    } catch (err) {
      toast(`Could not save the script: ${/** @type {Error} */ (err).message}`, 'error');
    }
  }

  /** Packs a cartridge on the server and downloads it. */
  async saveCartridge() {
    const { source, width, height, scriptName } = program();
    try {
      const answer = await api('/api/cart/pack', { body: { code: source, width, height } });
      download(fromBase64(answer.cartridge), `${scriptName || 'program'}.png`, 'image/png');
      toast(`Cartridge saved (${answer.bytes.toLocaleString('en-US')} bytes).`);
    } catch (err) {
      toast(`Could not make a cartridge: ${/** @type {Error} */ (err).message}`, 'error');
    }
  }

  /**
   * Opens a cartridge PNG: its source replaces the program.
   * @param {File} file
   */
  async openCartridge(file) {
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const answer = await api('/api/cart/unpack', { body: { cartridge: toBase64(bytes) } });
      update({ source: answer.code, scriptName: '' }, 'load');
      location.hash = '#/editor';
      toast(`Opened cartridge ${file.name}.`);
    } catch (err) {
      toast(`${file.name}: ${/** @type {Error} */ (err).message}`, 'error');
    }
  }

  /** Dropping a PNG anywhere on the page opens it as a cartridge. */
  installDrop() {
    const overlay = byId('drop-overlay');
    const hasFiles = (/** @type {DragEvent} */ event) => event.dataTransfer?.types.includes('Files');
    document.addEventListener('dragover', (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      overlay.hidden = false;
    });
    document.addEventListener('dragleave', (event) => {
      if (!event.relatedTarget) overlay.hidden = true;
    });
    document.addEventListener('drop', (event) => {
      overlay.hidden = true;
      if (!hasFiles(event)) return;
      event.preventDefault();
      const file = event.dataTransfer?.files[0];
      if (file) this.openCartridge(file);
    });
  }
}

/**
 * @param {string} text
 * @param {number} fallback
 */
function clampSize(text, fallback) {
  const n = Math.round(Number(text));
  return Number.isFinite(n) && n >= 1 ? Math.min(n, 512) : fallback;
}

/**
 * Asks for a script name in the page's dialog.
 * @returns {Promise<string>} '' when cancelled
 */
function askName() {
  const dialog = /** @type {HTMLDialogElement} */ (byId('name-dialog'));
  const input = /** @type {HTMLInputElement} */ (byId('name-input'));
  input.value = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok' ? input.value.trim() : ''), { once: true });
  });
}
