// @ts-check
/**
 * Small DOM helpers shared by the views: element creation, toasts and formatting.
 * @module dom
 */

/**
 * Creates an element.
 * @param {string} tag
 * @param {Record<string, any>} [props] attributes (`class`, `text`, `on*` handlers, `aria-*`, ...)
 * @param {(Node|string|null|undefined|false)[]} [children]
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, children = []) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') element.className = value;
    else if (key === 'text') element.textContent = value;
    else if (key.startsWith('on') && typeof value === 'function') element.addEventListener(key.slice(2), value);
    else if (key in element && !key.includes('-')) /** @type {any} */ (element)[key] = value;
    else element.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return element;
}

/**
 * The element with this id (throws when the page lacks it, which is a bug).
 * @param {string} id
 * @returns {any}
 */
export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`missing #${id}`);
  return element;
}

let toastTimer = 0;

/**
 * Shows a short message at the bottom of the page (errors stay longer).
 * @param {string} message
 * @param {'info'|'error'} [kind]
 */
export function toast(message, kind = 'info') {
  const box = byId('toast');
  box.textContent = message;
  box.className = `toast visible ${kind}`;
  clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => (box.className = 'toast'), kind === 'error' ? 8000 : 3000);
}

/** @param {number} ms */
export function formatMs(ms) {
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * A score as people read it: a whole number (an optimize goal's cycles) without decimals,
 * anything else (an image goal's RMSE) with `digits` of them.
 * @param {number} score
 * @param {number} [digits]
 */
export function formatScore(score, digits = 3) {
  return Number.isInteger(score) ? String(score) : score.toFixed(digits);
}

/** @param {number} n */
export function formatCount(n) {
  return n.toLocaleString('en-US');
}

/** @param {number} ms epoch milliseconds */
export function formatTime(ms) {
  const date = new Date(ms);
  return date.toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'medium' });
}

/**
 * Decodes base64 into bytes.
 * @param {string} base64
 * @returns {Uint8Array<ArrayBuffer>}
 */
export function fromBase64(base64) {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Encodes bytes as base64.
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function toBase64(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/**
 * Offers bytes as a download.
 * @param {Uint8Array<ArrayBuffer>} bytes
 * @param {string} name
 * @param {string} type
 */
export function download(bytes, name, type) {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const link = h('a', { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
