// @ts-check
/**
 * The infinite-map explorer: search and page through every execution the store kept
 * (`GET /api/map`), open one (`/api/map/{iteration}`) with its picture and code, see its
 * lineage tree (`/lineage`: ancestors and descendants) with thumbnails, scores and
 * generators, and the diff between a program and its parent.
 * @module explorer
 */

import { api, imageUrl } from './api.js';
import { diffLines } from './diff.js';
import { byId, formatCount, formatMs, formatScore, formatTime, h } from './dom.js';
import { update } from './program.js';
import { renderLine } from './textedit.js';

const PAGE = 25;

export class ExplorerView {
  constructor() {
    /** @type {(number|null)[]} cursors of the pages before this one */
    this.cursors = [];
    /** @type {number|null} */
    this.before = null;
    /** @type {number|null} */
    this.next = null;
    /** @type {number|null} */
    this.selected = null;
    this.loaded = false;
    byId('map-filters').addEventListener('submit', (/** @type {SubmitEvent} */ event) => {
      event.preventDefault();
      this.cursors = [];
      this.before = null;
      this.load();
    });
    byId('map-older').addEventListener('click', () => {
      if (this.next === null) return;
      this.cursors.push(this.before);
      this.before = this.next;
      this.load();
    });
    byId('map-newer').addEventListener('click', () => {
      if (!this.cursors.length) return;
      this.before = this.cursors.pop() ?? null;
      this.load();
    });
  }

  /**
   * Called when the view is shown; `iteration` comes from `#/explorer/N`.
   * @param {number|null} iteration
   */
  shown(iteration) {
    if (!this.loaded) {
      this.loaded = true;
      this.load();
    }
    if (iteration !== null && iteration !== this.selected) this.select(iteration);
  }

  /** Loads one page of the map with the filters. */
  async load() {
    const params = new URLSearchParams({ limit: String(PAGE) });
    const script = byId('map-script').value.trim();
    const goal = byId('map-goal').value.trim();
    const success = byId('map-success').value;
    if (script) params.set('script', script);
    if (goal) params.set('goal', goal);
    if (success) params.set('success', success);
    if (this.before !== null) params.set('before', String(this.before));
    const body = byId('map-rows');
    body.replaceChildren(h('tr', {}, [h('td', { colspan: '6', class: 'muted', text: 'Loading…' })]));
    try {
      const page = await api(`/api/map?${params}`);
      this.next = page.next_before;
      byId('map-older').disabled = page.next_before === null;
      byId('map-newer').disabled = !this.cursors.length;
      if (!page.entries.length) {
        const filtered = script || goal || success;
        body.replaceChildren(
          h('tr', {}, [
            h('td', {
              colspan: '6',
              class: 'empty',
              text: filtered ? 'No execution matches these filters.' : 'The map is empty: executions the daemon records appear here (start it with gvpie up).',
            }),
          ]),
        );
        return;
      }
      body.replaceChildren(...groupReruns(page.entries).map(({ entry, runs }) => this.row(entry, runs)));
    } catch (err) {
      body.replaceChildren(h('tr', {}, [h('td', { colspan: '6', class: 'error', text: `Cannot load the map: ${/** @type {Error} */ (err).message}` })]));
    }
  }

  /**
   * @param {any} entry the newest of its identical runs
   * @param {any[]} runs every identical run on the page, newest first
   */
  row(entry, runs) {
    const open = () => {
      location.hash = `#/explorer/${entry.iteration}`;
    };
    const name = entry.script_name ?? entry.generator ?? '—';
    const reruns = runs.length > 1
      ? [h('span', { class: 'reruns', title: `${runs.length} identical runs on this page: ${runs.map((/** @type {any} */ r) => `#${r.iteration}`).join(', ')}`, text: ` ×${runs.length}` })]
      : [];
    const attributes = { class: entry.iteration === this.selected ? 'selected' : '', 'data-iteration': String(entry.iteration), tabindex: '0', onclick: open };
    if (runs.length > 1) Object.assign(attributes, { 'data-reruns': String(runs.length) });
    const row = h('tr', attributes, [
      h('td', { class: 'num' }, [h('a', { href: `#/explorer/${entry.iteration}`, text: `#${entry.iteration}` })]),
      h('td', { text: formatTime(entry.started_ms) }),
      h('td', {}, [name, ...reruns]),
      h('td', { class: entry.success ? 'ok' : 'error', text: entry.success ? '✓' : `✗ ${entry.error?.kind ?? ''}` }),
      h('td', { class: 'num', text: formatCount(entry.cycles) }),
      h('td', { class: 'num', text: entry.score === null ? '—' : formatScore(entry.score) }),
    ]);
    row.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') open();
    });
    return row;
  }

  /**
   * Opens one execution: details, lineage, diff with its parent.
   * @param {number} iteration
   */
  async select(iteration) {
    this.selected = iteration;
    for (const row of byId('map-rows').children) row.classList.toggle('selected', Number(/** @type {HTMLElement} */ (row).dataset.iteration) === iteration);
    const detail = byId('map-detail');
    detail.replaceChildren(h('p', { class: 'muted', text: `Loading #${iteration}…` }));
    try {
      const [entry, lineage] = await Promise.all([api(`/api/map/${iteration}`), api(`/api/map/${iteration}/lineage?depth=20`)]);
      detail.replaceChildren(this.details(entry), this.lineageTree(lineage), await this.diffBlock(entry));
    } catch (err) {
      detail.replaceChildren(h('p', { class: 'error', text: `Cannot open #${iteration}: ${/** @type {Error} */ (err).message}` }));
    }
  }

  /** @param {any} entry */
  details(entry) {
    const image = h('img', { class: 'thumb large', alt: `Canvas drawn by #${entry.iteration}` });
    thumbnail(/** @type {HTMLImageElement} */ (image), entry.iteration);
    const facts = [
      ['script', entry.script_name ?? '—'],
      ['generator', entry.generator ?? '—'],
      ['parent', entry.parent_iteration === null ? '—' : `#${entry.parent_iteration}`],
      ['score', entry.score === null ? '—' : formatScore(entry.score, 4)],
      ['result', entry.success ? `halted, ${formatCount(entry.cycles)} cycles` : `${entry.error?.kind ?? 'failed'}: ${entry.error?.message ?? ''}`],
      ['backend', `${entry.backend} · ${formatMs(entry.duration_ms)}`],
      ['when', formatTime(entry.started_ms)],
    ];
    const openInEditor = (/** @type {string} */ target) => {
      update({ source: entry.code ?? '', width: entry.width ?? 128, height: entry.height ?? 64, scriptName: '' }, 'load');
      location.hash = target;
    };
    return h('section', { class: 'entry', 'aria-label': `Execution ${entry.iteration}` }, [
      h('h2', { text: `Execution #${entry.iteration}` }),
      h('div', { class: 'entry-body' }, [
        image,
        h('dl', {}, facts.flatMap(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })])),
      ]),
      h('div', { class: 'row' }, [
        h('button', { type: 'button', text: 'Open in Editor', disabled: !entry.code, onclick: () => openInEditor('#/editor') }),
        h('button', { type: 'button', text: 'Debug', disabled: !entry.code, onclick: () => openInEditor('#/debugger') }),
      ]),
    ]);
  }

  /**
   * The lineage: ancestors (oldest first) above the execution, its descendants as a tree below.
   * @param {any} lineage
   */
  lineageTree(lineage) {
    const node = (/** @type {any} */ entry, /** @type {string} */ role) => {
      const image = h('img', { class: 'thumb', alt: '', loading: 'lazy' });
      thumbnail(/** @type {HTMLImageElement} */ (image), entry.iteration);
      return h(
        'a',
        { class: `node ${role}`, href: `#/explorer/${entry.iteration}`, 'data-iteration': String(entry.iteration), 'aria-current': role === 'self' ? 'true' : undefined },
        [
          image,
          h('span', { class: 'node-title', text: `#${entry.iteration}` }),
          h('span', { class: 'node-score', text: entry.score === null ? 'no score' : `score ${formatScore(entry.score)}` }),
          h('span', { class: 'node-gen', text: entry.generator ?? entry.script_name ?? '—' }),
          h('span', { class: entry.success ? 'ok' : 'error', text: entry.success ? '✓' : '✗' }),
        ],
      );
    };
    const ancestors = [...lineage.ancestors].sort((a, b) => b.depth - a.depth).map((/** @type {any} */ n) => h('li', {}, [node(n.entry, 'ancestor')]));
    /** @type {Map<number, any[]>} */
    const children = new Map();
    for (const { entry } of lineage.descendants) {
      const parent = entry.parent_iteration;
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent)?.push(entry);
    }
    /** @type {(iteration: number) => HTMLElement | null} */
    const subtree = (iteration) => {
      const kids = children.get(iteration) ?? [];
      if (!kids.length) return null;
      return h('ul', { class: 'tree' }, kids.map((kid) => h('li', {}, [node(kid, 'descendant'), subtree(kid.iteration)])));
    };
    const self = h('li', {}, [node(lineage.entry, 'self'), subtree(lineage.entry.iteration)]);
    const empty = !ancestors.length && !lineage.descendants.length;
    return h('section', { class: 'lineage', 'aria-label': 'Lineage' }, [
      h('h3', { text: 'Lineage' }),
      empty ? h('p', { class: 'muted', text: 'No parent and no children: this execution was not derived from another, and nothing was derived from it yet.' }) : null,
      h('ol', { class: 'ancestors' }, [...ancestors, self]),
    ]);
  }

  /**
   * The diff from the parent's code to this one's.
   * @param {any} entry
   */
  async diffBlock(entry) {
    const section = h('section', { class: 'diff', 'aria-label': 'Diff from the parent' }, [h('h3', { text: 'Diff from the parent' })]);
    if (entry.parent_iteration === null) {
      section.append(h('p', { class: 'muted', text: 'This execution has no parent.' }));
      return section;
    }
    try {
      const parent = await api(`/api/map/${entry.parent_iteration}`);
      const lines = diffLines(parent.code ?? '', entry.code ?? '');
      const added = lines.filter((l) => l.op === '+').length;
      const removed = lines.filter((l) => l.op === '-').length;
      section.append(
        h('p', { class: 'muted', text: `#${entry.parent_iteration} → #${entry.iteration}: ${added} line${added === 1 ? '' : 's'} added, ${removed} removed` }),
        h(
          'pre',
          { class: 'diff-lines' },
          lines.map((line) => h('div', { class: line.op === '+' ? 'add' : line.op === '-' ? 'del' : 'same' }, [h('span', { class: 'diff-op', text: line.op }), renderLine(line.text)])),
        ),
      );
    } catch (err) {
      section.append(h('p', { class: 'error', text: `Cannot load the parent: ${/** @type {Error} */ (err).message}` }));
    }
    return section;
  }
}

/**
 * A page of the map with identical reruns folded: runs of one script (or generator) with the same
 * program, outcome, cycles and picture are one row, at the newest run, counting them all. So the
 * explorer opens on the distinct programs, not on rows of the same rerun.
 * @param {any[]} entries newest first
 * @returns {{entry: any, runs: any[]}[]}
 */
export function groupReruns(entries) {
  /** @type {Map<string, {entry: any, runs: any[]}>} */
  const groups = new Map();
  for (const entry of entries) {
    const key = entry.program_hash
      ? [entry.script_name ?? entry.generator ?? '', entry.program_hash, entry.success, entry.cycles, entry.image_hash ?? ''].join('|')
      : `#${entry.iteration}`;
    const group = groups.get(key);
    if (group) group.runs.push(entry);
    else groups.set(key, { entry, runs: [entry] });
  }
  return [...groups.values()];
}

/**
 * Loads an execution's picture into `image` (with the token), or marks it as missing.
 * @param {HTMLImageElement} image
 * @param {number} iteration
 */
async function thumbnail(image, iteration) {
  const url = await imageUrl(`/api/map/${iteration}/image`);
  if (url) image.src = url;
  else {
    image.classList.add('missing');
    image.alt = 'no image kept';
  }
}
