// @ts-check
/**
 * A zoomable view of a PXL canvas: nearest-neighbour scaling, a pixel grid from zoom 4 up,
 * highlighted pixels (what a debugger step changed, watched pixels), and the coordinates and
 * colour under the pointer.
 *
 * Pixel (x, y) covers the square from (x·zoom, y·zoom) of the displayed canvas; the grid is
 * drawn on the square's top and left edges only, so the centre of every square shows the
 * pixel's exact colour (the browser tests read pixels back there).
 * @module canvasview
 */

import { h } from './dom.js';

export class CanvasView {
  /**
   * @param {HTMLElement} host the element to fill
   * @param {{label: string, onPixelClick?: (x: number, y: number) => void}} options
   */
  constructor(host, options) {
    this.zoom = 4;
    this.width = 0;
    this.height = 0;
    /** @type {Uint8ClampedArray<ArrayBuffer>|null} */
    this.rgba = null;
    /** @type {[number, number][]} */
    this.changed = [];
    /** @type {{x: number, y: number}[]} */
    this.watched = [];
    this.onPixelClick = options.onPixelClick;
    this.source = document.createElement('canvas');
    this.canvas = /** @type {HTMLCanvasElement} */ (h('canvas', { class: 'pixels', role: 'img', 'aria-label': options.label }));
    this.readout = h('span', { class: 'readout', 'aria-live': 'off', text: '' });
    this.zoomLabel = h('span', { class: 'zoom-label', text: '' });
    const zoomOut = h('button', { type: 'button', title: 'Zoom out', 'aria-label': 'Zoom out', text: '−', onclick: () => this.setZoom(this.zoom / 2) });
    const zoomIn = h('button', { type: 'button', title: 'Zoom in', 'aria-label': 'Zoom in', text: '+', onclick: () => this.setZoom(this.zoom * 2) });
    const fit = h('button', { type: 'button', title: 'Fit to the panel', text: 'Fit', onclick: () => this.fit() });
    this.gridBox = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', checked: true, onchange: () => this.draw() }));
    const grid = h('label', { class: 'check' }, [this.gridBox, ' grid']);
    this.scroller = h('div', { class: 'canvas-scroll' }, [this.canvas]);
    this.empty = h('div', { class: 'empty', text: 'Nothing drawn yet.' });
    host.append(
      h('div', { class: 'canvas-tools' }, [zoomOut, this.zoomLabel, zoomIn, fit, grid, this.readout]),
      this.scroller,
      this.empty,
    );
    this.canvas.addEventListener('mousemove', (event) => this.hover(event));
    this.canvas.addEventListener('mouseleave', () => (this.readout.textContent = ''));
    this.canvas.addEventListener('click', (event) => {
      const at = this.pixelAt(event);
      if (at && this.onPixelClick) this.onPixelClick(at[0], at[1]);
    });
    this.scroller.addEventListener(
      'wheel',
      (event) => {
        if (!event.ctrlKey) return;
        event.preventDefault();
        this.setZoom(event.deltaY < 0 ? this.zoom * 2 : this.zoom / 2);
      },
      { passive: false },
    );
    this.draw();
  }

  /**
   * Shows a canvas.
   * @param {Uint8Array|Uint8ClampedArray} rgba raw RGBA, 4 bytes per pixel, row by row
   * @param {number} width
   * @param {number} height
   * @param {[number, number][]} [changed] pixels to outline (the last step's changes)
   */
  show(rgba, width, height, changed = []) {
    const sizeChanged = width !== this.width || height !== this.height;
    this.rgba = new Uint8ClampedArray(rgba);
    this.width = width;
    this.height = height;
    this.changed = changed;
    this.source.width = width;
    this.source.height = height;
    const context = this.source.getContext('2d');
    if (context) context.putImageData(new ImageData(this.rgba, width, height), 0, 0);
    if (sizeChanged) this.fit();
    else this.draw();
  }

  /** Forgets the canvas (the empty state shows). */
  clear() {
    this.rgba = null;
    this.width = 0;
    this.height = 0;
    this.draw();
  }

  /**
   * The colour of one pixel as [r, g, b, a], from the data shown.
   * @param {number} x
   * @param {number} y
   * @returns {number[]|null}
   */
  pixel(x, y) {
    if (!this.rgba || x < 0 || y < 0 || x >= this.width || y >= this.height) return null;
    const at = (y * this.width + x) * 4;
    return Array.from(this.rgba.slice(at, at + 4));
  }

  /** Picks the largest power-of-two zoom (1 to 32) that fits the panel. */
  fit() {
    if (!this.width) return this.draw();
    const box = this.scroller.getBoundingClientRect();
    const fitsWidth = Math.max(1, (box.width || 512) - 8) / this.width;
    const fitsHeight = Math.max(1, (box.height || 256) - 8) / this.height;
    let zoom = 1;
    while (zoom * 2 <= Math.min(fitsWidth, fitsHeight) && zoom < 32) zoom *= 2;
    this.setZoom(zoom);
  }

  /** @param {number} zoom clamped to 1..64 */
  setZoom(zoom) {
    this.zoom = Math.min(64, Math.max(1, Math.round(zoom)));
    this.draw();
  }

  /** Redraws at the current zoom. */
  draw() {
    const empty = !this.rgba;
    this.empty.hidden = !empty;
    this.canvas.hidden = empty;
    this.zoomLabel.textContent = `${this.zoom}×`;
    if (empty) return;
    const zoom = this.zoom;
    this.canvas.width = this.width * zoom;
    this.canvas.height = this.height * zoom;
    this.canvas.dataset.zoom = String(zoom);
    const context = this.canvas.getContext('2d');
    if (!context) return;
    context.imageSmoothingEnabled = false;
    context.drawImage(this.source, 0, 0, this.width * zoom, this.height * zoom);
    if (zoom >= 4 && this.gridBox.checked) {
      context.fillStyle = 'rgba(128, 128, 128, 0.35)';
      for (let x = 0; x < this.width; x += 1) context.fillRect(x * zoom, 0, 1, this.height * zoom);
      for (let y = 0; y < this.height; y += 1) context.fillRect(0, y * zoom, this.width * zoom, 1);
    }
    // Highlights are drawn around pixels, never over them: the colour a step drew stays visible.
    // Changed pixels get one outline around each region they form (edges next to an unchanged
    // pixel), drawn on the outside of the region.
    const width = zoom >= 4 ? 2 : 1;
    /**
     * @param {Set<string>} cells `x,y` of the pixels to outline together
     * @param {string} colour
     */
    const outline = (cells, colour) => {
      context.fillStyle = colour;
      for (const cell of cells) {
        const [x, y] = cell.split(',').map(Number);
        const [left, top] = [x * zoom, y * zoom];
        if (!cells.has(`${x - 1},${y}`)) context.fillRect(left - width, top - width, width, zoom + 2 * width);
        if (!cells.has(`${x + 1},${y}`)) context.fillRect(left + zoom, top - width, width, zoom + 2 * width);
        if (!cells.has(`${x},${y - 1}`)) context.fillRect(left, top - width, zoom, width);
        if (!cells.has(`${x},${y + 1}`)) context.fillRect(left, top + zoom, zoom, width);
      }
    };
    outline(new Set(this.changed.map(([x, y]) => `${x},${y}`)), '#ff3df2');
    for (const { x, y } of this.watched) outline(new Set([`${x},${y}`]), '#ffd400');
  }

  /**
   * @param {MouseEvent} event
   * @returns {[number, number]|null}
   */
  pixelAt(event) {
    if (!this.width) return null;
    const box = this.canvas.getBoundingClientRect();
    const x = Math.floor(((event.clientX - box.left) / box.width) * this.width);
    const y = Math.floor(((event.clientY - box.top) / box.height) * this.height);
    return x >= 0 && y >= 0 && x < this.width && y < this.height ? [x, y] : null;
  }

  /** @param {MouseEvent} event */
  hover(event) {
    const at = this.pixelAt(event);
    const colour = at && this.pixel(at[0], at[1]);
    if (!at || !colour) return;
    const hex = colour.slice(0, 3).map((c) => c.toString(16).padStart(2, '0')).join('');
    this.readout.textContent = `(${at[0]}, ${at[1]}) #${hex}`;
  }
}
