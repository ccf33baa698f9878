// @ts-check
/**
 * The UI's entry point: asks the server what it is (`GET /health`), builds the four views,
 * routes between them by the URL hash (`#/dashboard`, `#/editor`, `#/debugger`,
 * `#/explorer/N`) and binds the keyboard: F5 run (continue in the debugger), F10 step,
 * Shift+F10 step over, F8 step back, Shift+F5 restart the debugger, Ctrl-S save.
 * @module main
 */

import { api, setToken, token } from './api.js';
import { DashboardView } from './dashboard.js';
import { DebuggerView } from './debugger.js';
import { byId, toast } from './dom.js';
import { EditorView } from './editor.js';
import { ExplorerView } from './explorer.js';

const VIEWS = ['dashboard', 'editor', 'debugger', 'explorer'];

async function main() {
  /** @type {{backends: string[], version: string}} */
  let server = { backends: [], version: '' };
  try {
    server = await api('/health');
    byId('server-version').textContent = `v${server.version}`;
  } catch (err) {
    toast(`Cannot reach the gvpie server: ${/** @type {Error} */ (err).message}`, 'error');
  }
  const dashboard = new DashboardView(server);
  const editor = new EditorView(server);
  const debuggerView = new DebuggerView();
  const explorer = new ExplorerView();

  const route = () => {
    const [, name = 'dashboard', arg] = location.hash.split('/');
    const view = VIEWS.includes(name) ? name : 'dashboard';
    for (const other of VIEWS) {
      byId(`view-${other}`).hidden = other !== view;
      const link = document.querySelector(`nav a[data-view="${other}"]`);
      if (other === view) link?.setAttribute('aria-current', 'page');
      else link?.removeAttribute('aria-current');
    }
    document.title = `gvpie · ${view[0].toUpperCase()}${view.slice(1)}`;
    if (view === 'dashboard') dashboard.shown();
    if (view === 'debugger') debuggerView.shown();
    if (view === 'explorer') explorer.shown(arg !== undefined && /^\d+$/.test(arg) ? Number(arg) : null);
    if (view === 'editor') editor.text.render();
    return view;
  };
  window.addEventListener('hashchange', route);
  route();

  document.addEventListener('keydown', (event) => {
    const view = (location.hash.split('/')[1] ?? 'dashboard') || 'dashboard';
    if (event.key === 'F5') {
      event.preventDefault();
      if (view === 'debugger') debuggerView.act(event.shiftKey ? 'reset' : 'continue');
      else {
        if (view !== 'editor') location.hash = '#/editor';
        editor.run('cpu');
      }
    } else if (event.key === 'F10') {
      event.preventDefault();
      if (view !== 'debugger') location.hash = '#/debugger';
      debuggerView.act(event.shiftKey ? 'over' : 'step');
    } else if (event.key === 'F8' && view === 'debugger') {
      event.preventDefault();
      debuggerView.act('back');
    } else if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 's') {
      event.preventDefault();
      editor.saveScript();
    }
  });

  byId('token-button').addEventListener('click', () => {
    const dialog = /** @type {HTMLDialogElement} */ (byId('token-dialog'));
    const input = /** @type {HTMLInputElement} */ (byId('token-input'));
    input.value = token();
    dialog.showModal();
    dialog.addEventListener(
      'close',
      () => {
        if (dialog.returnValue === 'ok') {
          setToken(input.value.trim());
          location.reload();
        }
      },
      { once: true },
    );
  });
  document.body.dataset.ready = 'true';
}

main();
