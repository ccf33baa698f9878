// @ts-check
/**
 * The Debugger view: the CPU reference VM under `POST /api/debug`. Step, step over a CALL,
 * continue to a breakpoint, step back (the server replays deterministically from the start),
 * with the variables, the call stack, the cycle counter, the current line highlighted and the
 * canvas after each step with the pixels that step changed outlined. Breakpoints go on lines
 * (click a line number) and on writes to a pixel (click the canvas, or type x and y).
 *
 * The server keeps no session: every request sends the program and the cycle this view is at.
 * @module debugger
 */

import { api } from './api.js';
import { CanvasView } from './canvasview.js';
import { byId, fromBase64, h } from './dom.js';
import { program, subscribe, update } from './program.js';
import { renderLine } from './textedit.js';

export class DebuggerView {
  constructor() {
    this.cycle = 0;
    /** @type {any} */
    this.state = null;
    this.busy = false;
    this.stale = true;
    this.canvas = new CanvasView(byId('dbg-canvas'), {
      label: 'Canvas after the current step',
      onPixelClick: (x, y) => this.togglePixel(x, y),
    });
    byId('dbg-reset').addEventListener('click', () => this.act('reset'));
    byId('dbg-back').addEventListener('click', () => this.act('back'));
    byId('dbg-step').addEventListener('click', () => this.act('step'));
    byId('dbg-over').addEventListener('click', () => this.act('over'));
    byId('dbg-continue').addEventListener('click', () => this.act('continue'));
    byId('dbg-pixel-form').addEventListener('submit', (/** @type {SubmitEvent} */ event) => {
      event.preventDefault();
      const x = Number(byId('dbg-pixel-x').value);
      const y = Number(byId('dbg-pixel-y').value);
      if (Number.isInteger(x) && Number.isInteger(y) && x >= 0 && y >= 0) this.togglePixel(x, y, true);
    });
    subscribe((_state, origin) => {
      if (origin !== 'breakpoints' && origin !== 'meta') this.stale = true;
    });
    this.renderSource();
    this.renderPixelList();
  }

  /** Called when the view is shown: a changed program starts again from cycle 0. */
  shown() {
    if (this.stale) {
      this.stale = false;
      this.cycle = 0;
      this.renderSource();
      this.act('reset');
    }
  }

  /**
   * Sends one action to the server and shows the answer.
   * @param {'reset'|'back'|'step'|'over'|'continue'} mode
   */
  async act(mode) {
    if (this.busy) return;
    if (this.stale && mode !== 'reset') {
      this.stale = false;
      this.cycle = 0;
      this.renderSource();
    }
    this.busy = true;
    const { source, width, height, breakpoints, pixelBreakpoints } = program();
    const status = byId('dbg-status');
    status.className = 'status-pill busy';
    status.textContent = mode === 'continue' ? 'Running…' : 'Working…';
    try {
      const answer = await api('/api/debug', {
        body: {
          code: source,
          width: Math.min(width, 512),
          height: Math.min(height, 512),
          cycle: mode === 'reset' ? 0 : this.cycle,
          mode,
          breakpoints,
          pixel_breakpoints: pixelBreakpoints,
        },
      });
      this.state = answer;
      this.cycle = answer.cycle;
      this.render();
    } catch (err) {
      const error = /** @type {any} */ (err);
      this.state = null;
      status.className = 'status-pill error';
      status.textContent =
        error.kind === 'invalid_program'
          ? `The program has errors (line ${error.line}): fix them in the Editor.`
          : error.message;
      byId('dbg-message').textContent = error.kind === 'invalid_program' ? error.message : '';
    } finally {
      this.busy = false;
    }
  }

  /** Shows the program's lines with breakpoints and the current line. */
  renderSource() {
    const { source, breakpoints } = program();
    const lines = source.split('\n');
    if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
    const list = byId('dbg-source');
    const items = lines.map((line, idx) => {
      const number = idx + 1;
      const toggle = h('button', {
        type: 'button',
        class: 'bp-toggle',
        'aria-label': `Breakpoint on line ${number}`,
        'aria-pressed': String(breakpoints.includes(number)),
        text: String(number),
        onclick: () => this.toggleLine(number),
      });
      const code = h('code', {}, [renderLine(line)]);
      return h('li', { class: breakpoints.includes(number) ? 'bp' : '', 'data-line': String(number) }, [toggle, code]);
    });
    list.replaceChildren(...items);
    this.markLines();
  }

  /** Highlights the next line to run, the line just run and a trapping line. */
  markLines() {
    const list = byId('dbg-source');
    const state = this.state;
    for (const item of list.children) {
      const line = Number(/** @type {HTMLElement} */ (item).dataset.line);
      item.classList.toggle('current', Boolean(state && state.status === 'running' && state.line === line));
      item.classList.toggle('last', Boolean(state && state.last_line === line));
      item.classList.toggle('trap', Boolean(state && state.trap && state.trap.line === line));
      if (item.classList.contains('current') || item.classList.contains('trap')) {
        item.setAttribute('aria-current', 'step');
        /** @type {HTMLElement} */ (item).scrollIntoView({ block: 'nearest' });
      } else item.removeAttribute('aria-current');
    }
  }

  /** @param {number} line */
  toggleLine(line) {
    const breakpoints = [...program().breakpoints];
    const at = breakpoints.indexOf(line);
    if (at >= 0) breakpoints.splice(at, 1);
    else breakpoints.push(line);
    update({ breakpoints }, 'breakpoints');
    this.renderSource();
  }

  /**
   * @param {number} x
   * @param {number} y
   * @param {boolean} [onlyAdd]
   */
  togglePixel(x, y, onlyAdd = false) {
    const pixels = [...program().pixelBreakpoints];
    const at = pixels.findIndex((p) => p.x === x && p.y === y);
    if (at >= 0 && !onlyAdd) pixels.splice(at, 1);
    else if (at < 0) pixels.push({ x, y });
    update({ pixelBreakpoints: pixels }, 'breakpoints');
    this.renderPixelList();
  }

  renderPixelList() {
    const pixels = program().pixelBreakpoints;
    this.canvas.watched = pixels;
    this.canvas.draw();
    const list = byId('dbg-pixels');
    if (!pixels.length) {
      list.replaceChildren(h('li', { class: 'muted', text: 'None. Click a pixel of the canvas to stop when it changes.' }));
      return;
    }
    list.replaceChildren(
      ...pixels.map((p) =>
        h('li', {}, [
          `(${p.x}, ${p.y}) `,
          h('button', { type: 'button', class: 'icon', 'aria-label': `Remove pixel breakpoint ${p.x}, ${p.y}`, text: '×', onclick: () => this.togglePixel(p.x, p.y) }),
        ]),
      ),
    );
  }

  /** Shows the last answer. */
  render() {
    const state = this.state;
    if (!state) return;
    byId('dbg-cycle').textContent = state.cycle.toLocaleString('en-US');
    byId('dbg-back').disabled = state.cycle === 0;
    const status = byId('dbg-status');
    const message = byId('dbg-message');
    if (state.status === 'running') {
      status.className = 'status-pill running';
      status.textContent = `paused · next line ${state.line}`;
    } else if (state.status === 'halted') {
      status.className = 'status-pill ok';
      status.textContent = 'halted';
    } else {
      status.className = 'status-pill error';
      status.textContent = `trapped: ${state.trap.kind} at line ${state.trap.line}`;
    }
    const reasons = {
      breakpoint: `Stopped at the breakpoint on line ${state.line}.`,
      pixel_breakpoint: state.hit_pixel ? `Pixel (${state.hit_pixel.x}, ${state.hit_pixel.y}) changed on line ${state.last_line}.` : '',
      returned: 'Stepped over the call.',
      time_limit: 'Stopped by the server’s time limit; continue again to go on.',
      end: state.trap ? state.trap.message : 'The program finished.',
    };
    message.textContent = /** @type {any} */ (reasons)[state.reason] ?? '';
    const changedText = state.n_changed ? `${state.n_changed} pixel${state.n_changed > 1 ? 's' : ''} changed` : 'no pixels changed';
    byId('dbg-changed').textContent = state.cycle ? `Last step: ${changedText}.` : 'Nothing has run yet.';
    this.canvas.watched = program().pixelBreakpoints;
    this.canvas.show(fromBase64(state.canvas), state.width, state.height, state.changed);

    const body = byId('dbg-vars').querySelector('tbody');
    if (!state.variables.length) {
      body.replaceChildren(h('tr', {}, [h('td', { colspan: '2', class: 'muted', text: 'This program has no variables.' })]));
    } else {
      body.replaceChildren(
        ...state.variables.map((/** @type {any} */ v) =>
          h('tr', { class: v.changed ? 'changed' : '', 'data-name': v.name }, [h('th', { scope: 'row', text: v.name }), h('td', { text: String(v.value) })]),
        ),
      );
    }
    const frames = [...state.call_stack].reverse().map((/** @type {any} */ f) => h('li', { text: `returns to line ${f.return_line} (called at line ${f.call_line})` }));
    byId('dbg-stack').replaceChildren(
      h('li', { class: 'frame-top', text: state.status === 'running' ? `line ${state.line} (current)` : state.status }),
      ...frames,
    );
    const [r, g, b, a] = state.color;
    byId('dbg-color').textContent = `colour ${r}, ${g}, ${b}, ${a}`;
    this.markLines();
  }
}
