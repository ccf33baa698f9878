// @ts-check
/**
 * The Dashboard view: what the system is doing, live. Counters and the recent history come
 * from the store (`/api/summary`, `/api/map`, `/api/goals`) when the view opens; executions
 * and daemon cycles then stream in from `GET /api/events` (success rate, throughput, backend
 * in use, a live log). Goals are charted with their score over time. The growth panel
 * (`/api/growth`) shows what the daemon did by itself: its counters, the archive's newest distinct
 * pictures and the improvements it adopted; it reloads after each daemon cycle the stream reports,
 * and every {@link GROWTH_POLL_MS} ms without one (a daemon in another process sends none here).
 * The agents panel (`/api/agents`) lists the daemons working on the database with their roles, state
 * and throughput; `agent` events (joined, left, took_over) update it at once, and it reloads shortly
 * after each and every {@link AGENTS_POLL_MS} ms (for the executions and the measured rates).
 * @module dashboard
 */

import { api, imageUrl, streamEvents } from './api.js';
import { drawChart } from './chart.js';
import { byId, formatCount, formatMs, formatScore, formatTime, h } from './dom.js';

/** Seconds of history the throughput chart shows. */
const WINDOW_S = 300;
/** Log lines kept. */
const MAX_LOG = 60;
/** The growth panel reloads at least this often while the dashboard is shown. */
const GROWTH_POLL_MS = 10_000;
/** The agents panel reloads this often while the dashboard is shown. */
const AGENTS_POLL_MS = 5_000;

/**
 * The growth counters the panel shows (`Growth` of `GET /api/growth`).
 * @typedef {{self_set_goals: number, goals_done: number, archive_kinds: number, archive_pictures: number, distinct_programs: number,
 *   with_lineage: number, adoptions: number, cycles_saved_per_run: number}} Growth
 * @typedef {{iteration: number, generator: string, parent_iteration: number|null, cycles: number}} ArchivePicture
 * @typedef {{id: number, created_ms: number, goal_id: number, original: string, successor: string,
 *   original_cycles: number, cycles: number, iteration: number|null}} AdoptionRecord
 * @typedef {{name: string, host: string, pid: number, roles: string[], state: string, last_heartbeat: string,
 *   executions: number, executions_per_minute: number|null, rate_window_s: number|null, working_on: string[],
 *   heartbeat_ms: number, started_ms: number, starts: number, stopped_ms: number|null}} Agent
 *   one agent of `GET /api/agents`
 * @typedef {{event: string, agent: string, host?: string, pid?: number, roles?: string[], state?: string,
 *   restarted?: boolean, from?: string, work?: string, seq?: number, at_ms: number}} AgentEvent
 *   an `agent` event of the stream
 */

export class DashboardView {
  /** @param {{backends: string[], version: string}} server what `/health` said */
  constructor(server) {
    this.server = server;
    /** Executions seen live (this page's session). */
    this.live = { executions: 0, successes: 0, cycles: 0, daemonCycles: 0 };
    /** @type {Map<string, number>} backend → executions seen live */
    this.backends = new Map();
    /** @type {number[]} arrival times (ms) of recent executions */
    this.arrivals = [];
    /** @type {any} */
    this.summary = null;
    this.goalTimer = 0;
    this.growthTimer = 0;
    /** When the growth panel last loaded (ms), so that polling waits while cycles reload it. */
    this.growthAt = 0;
    this.growthBusy = false;
    /** @type {Map<number, HTMLElement>} archive iteration → its thumbnail link (pictures never change) */
    this.thumbs = new Map();
    /** @type {Map<string, Agent>} the agents by name, as last loaded and updated by events */
    this.agents = new Map();
    /** @type {Set<string>} agents an event changed since the last render (their rows flash) */
    this.agentsChanged = new Set();
    this.agentsTimer = 0;
    this.agentsBusy = false;
    this.started = false;
  }

  /** Starts the stream and loads the history (once). */
  shown() {
    if (!this.started) {
      this.started = true;
      streamEvents(
        (name, data) => this.onEvent(name, data),
        (state, detail) => this.onStreamState(state, detail),
      );
      window.setInterval(() => this.renderThroughput(), 2000);
      window.setInterval(() => {
        if (!byId('view-dashboard').hidden && Date.now() - this.growthAt >= GROWTH_POLL_MS) this.loadGrowth();
      }, 2000);
      window.setInterval(() => {
        if (!byId('view-dashboard').hidden) this.loadAgents();
      }, AGENTS_POLL_MS);
    }
    this.refresh();
  }

  /** Reloads the store's numbers and the goal chart. */
  async refresh() {
    byId('dash-backends').textContent = this.server.backends.join(', ').toUpperCase() || '—';
    try {
      this.summary = await api('/api/summary');
      // The summary now holds what the daemon recorded so far: count live events from here.
      this.live = { executions: 0, successes: 0, cycles: 0, daemonCycles: 0 };
      this.renderCounters();
      const page = await api('/api/map?limit=100');
      this.renderHistory(page.entries);
    } catch (err) {
      byId('dash-store').textContent = `History unavailable: ${/** @type {Error} */ (err).message}`;
    }
    this.loadGoals();
    this.loadGrowth();
    this.loadAgents();
  }

  renderCounters() {
    const summary = this.summary;
    const total = (summary?.executions ?? 0) + this.live.executions;
    const successes = (summary?.successes ?? 0) + this.live.successes;
    byId('dash-executions').textContent = formatCount(total);
    byId('dash-success').textContent = total ? `${((100 * successes) / total).toFixed(1)}%` : '—';
    byId('dash-cycles').textContent = formatCount((summary?.daemon_cycles ?? 0) + this.live.daemonCycles);
    byId('dash-store').textContent = summary
      ? `${formatCount(summary.scripts)} scripts (${formatCount(summary.enabled_scripts)} enabled) · ${formatCount(summary.programs)} programs · ${formatCount(summary.images_kept)} images kept · ${formatCount(summary.cartridges)} cartridges`
      : '';
    const used = [...this.backends.entries()].sort((a, b) => b[1] - a[1]);
    byId('dash-backend-used').textContent = used.length
      ? used.map(([name, n]) => `${name.toUpperCase()} ${formatCount(n)}`).join(' · ')
      : 'no executions seen yet';
  }

  /**
   * Shows the newest executions from the store in the log, so the page is not empty.
   * @param {any[]} entries newest first
   */
  renderHistory(entries) {
    const log = byId('dash-log');
    if (log.dataset.live === 'true') return;
    if (!entries.length) {
      log.replaceChildren(
        h('li', { class: 'empty', text: 'No executions yet. Run a program in the Editor, or start the daemon (gvpie up): they appear here live.' }),
      );
      return;
    }
    for (const entry of entries) this.backends.set(entry.backend, (this.backends.get(entry.backend) ?? 0) + 1);
    this.renderCounters();
    log.replaceChildren(
      ...entries.slice(0, MAX_LOG).map((entry) =>
        logLine(entry.started_ms, entry.success, `#${entry.iteration} ${entry.script_name ?? entry.generator ?? 'api'} · ${formatCount(entry.cycles)} cycles · ${entry.backend} · ${formatMs(entry.duration_ms)}${entry.success ? '' : ' · ' + (entry.error?.kind ?? 'failed')}`),
      ),
    );
  }

  /**
   * @param {'connecting'|'live'|'down'} state
   * @param {string} [detail]
   */
  onStreamState(state, detail) {
    const pill = byId('conn-status');
    pill.className = `status-pill ${state === 'live' ? 'ok' : state === 'down' ? 'error' : 'busy'}`;
    pill.textContent = state === 'live' ? '● live' : state === 'down' ? '● offline' : '● connecting';
    pill.title = detail ?? (state === 'live' ? 'Receiving live events from the server' : '');
  }

  /**
   * One event from the stream.
   * @param {string} name
   * @param {any} data
   */
  onEvent(name, data) {
    const log = byId('dash-log');
    if (log.dataset.live !== 'true') {
      log.dataset.live = 'true';
      log.querySelector('.empty')?.remove();
    }
    if (name === 'execution') {
      this.live.executions += 1;
      if (data.success) this.live.successes += 1;
      this.backends.set(data.backend, (this.backends.get(data.backend) ?? 0) + 1);
      this.arrivals.push(data.at_ms);
      const who = data.origin === 'daemon' ? `${data.agent ?? 'daemon'} ${data.script ?? ''}${data.iteration ? ' #' + data.iteration : ''}` : 'api';
      log.prepend(
        logLine(data.at_ms, data.success, `${who} · ${formatCount(data.cycles)} cycles · ${data.backend} · ${formatMs(data.duration_ms)}${data.success ? '' : ' · ' + (data.error_kind ?? 'failed')}`),
      );
      this.renderCounters();
    } else if (name === 'daemon') {
      if (data.event === 'cycle_finished') {
        this.live.daemonCycles += 1;
        this.renderCounters();
        clearTimeout(this.goalTimer);
        this.goalTimer = window.setTimeout(() => this.loadGoals(), 1500);
        clearTimeout(this.growthTimer);
        this.growthTimer = window.setTimeout(() => this.loadGrowth(), 1500);
      }
      byId('dash-daemon').textContent = `${data.event.replaceAll('_', ' ')} · ${formatTime(data.at_ms)}`;
      log.prepend(logLine(data.at_ms, true, `daemon: ${data.event.replaceAll('_', ' ')}`, 'daemon'));
    } else if (name === 'agent') {
      this.onAgentEvent(/** @type {AgentEvent} */ (data));
      log.prepend(logLine(data.at_ms, data.event !== 'left' || data.state === 'stopped', agentLogText(data), 'daemon'));
    } else if (name === 'lagged') {
      log.prepend(logLine(Date.now(), false, `missed ${data.missed} events (this page fell behind)`));
    }
    while (log.children.length > MAX_LOG) log.lastElementChild?.remove();
  }

  /** Executions per second over the last {@link WINDOW_S} seconds, in 10 s buckets. */
  renderThroughput() {
    const now = Date.now();
    this.arrivals = this.arrivals.filter((t) => t > now - WINDOW_S * 1000);
    const recent = this.arrivals.filter((t) => t > now - 10_000).length;
    byId('dash-throughput').textContent = `${(recent / 10).toFixed(1)}/s`;
    const buckets = [];
    for (let start = now - WINDOW_S * 1000; start < now; start += 10_000) {
      const n = this.arrivals.filter((t) => t >= start && t < start + 10_000).length;
      buckets.push({ t: start + 10_000, v: n / 10 });
    }
    const canvas = /** @type {HTMLCanvasElement} */ (byId('dash-throughput-chart'));
    if (canvas.offsetParent !== null) {
      drawChart(canvas, this.arrivals.length ? [{ name: 'executions/s (live)', points: buckets }] : [], {
        empty: 'Waiting for executions… (the stream is live)',
      });
    }
  }

  /**
   * Applies an agent event to the panel at once; the counts and rates follow from a reload.
   * @param {AgentEvent} event
   */
  onAgentEvent(event) {
    const known = this.agents.get(event.agent);
    /** @type {Agent} */
    const agent = known ?? {
      name: event.agent, host: event.host ?? '', pid: event.pid ?? 0, roles: event.roles ?? [], state: 'alive',
      last_heartbeat: '', executions: 0, executions_per_minute: null, rate_window_s: null, working_on: [],
      heartbeat_ms: event.at_ms, started_ms: event.at_ms, starts: 1, stopped_ms: null,
    };
    if (event.event === 'joined') {
      agent.state = 'alive';
      if (event.host) agent.host = event.host;
      if (event.pid) agent.pid = event.pid;
      if (event.roles) agent.roles = event.roles;
    } else if (event.event === 'left') {
      agent.state = event.state ?? 'stale';
      agent.working_on = [];
    } else if (event.event === 'took_over' && event.work) {
      agent.working_on = [...agent.working_on.filter((w) => w !== event.work), event.work];
      const from = event.from ? this.agents.get(event.from) : undefined;
      if (from) from.working_on = from.working_on.filter((w) => w !== event.work);
    }
    this.agents.set(agent.name, agent);
    this.agentsChanged.add(agent.name);
    this.renderAgents();
    clearTimeout(this.agentsTimer);
    this.agentsTimer = window.setTimeout(() => this.loadAgents(), 700);
  }

  /** Loads `/api/agents` into the agents panel (one request at a time). */
  async loadAgents() {
    if (this.agentsBusy) return;
    this.agentsBusy = true;
    const panel = byId('agents-panel');
    try {
      /** @type {{agents: Agent[]}} */
      const answer = await api('/api/agents');
      this.agents = new Map(answer.agents.map((agent) => [agent.name, agent]));
      this.renderAgents();
      panel.dataset.loaded = 'true';
    } catch (err) {
      byId('agents-note').textContent = `unavailable: ${/** @type {Error} */ (err).message}`;
    } finally {
      this.agentsBusy = false;
    }
  }

  /** The agents table: live ones first, then by name. */
  renderAgents() {
    const order = { alive: 0, stale: 1, stopped: 2 };
    const agents = [...this.agents.values()].sort(
      (a, b) => (order[/** @type {keyof typeof order} */ (a.state)] ?? 3) - (order[/** @type {keyof typeof order} */ (b.state)] ?? 3) || a.name.localeCompare(b.name),
    );
    const alive = agents.filter((agent) => agent.state === 'alive').length;
    byId('agents-note').textContent = agents.length ? `${alive} alive of ${agents.length}` : '';
    const table = byId('dash-agents');
    if (!agents.length) {
      table.replaceChildren(h('tr', {}, [h('td', { colspan: '5', class: 'empty', text: 'No agents yet. Each gvpie daemon or gvpie up on this database is one (docs/agents.md).' })]));
      return;
    }
    table.replaceChildren(
      ...agents.map((agent) => {
        const rate = agent.executions_per_minute;
        const working = agent.working_on.length ? ` · working on ${agent.working_on.join(', ')}` : '';
        const row = h('tr', { 'data-agent': agent.name, 'data-state': agent.state, class: this.agentsChanged.has(agent.name) ? 'changed' : '' }, [
          h('td', { class: 'agent-name', text: agent.name, title: `${agent.host} pid ${agent.pid}${agent.starts > 1 ? ` · started ${agent.starts} times` : ''}${agent.last_heartbeat ? ` · last heartbeat ${agent.last_heartbeat} UTC` : ''}${working}` }),
          h('td', { class: 'roles', text: agent.roles.join(', ') }),
          h('td', { class: `state ${agent.state}`, text: agent.state }),
          h('td', {
            class: 'num rate',
            text: rate === null ? '—' : formatRate(rate),
            title: rate === null ? 'measured once the server has read this agent for a second' : `over the last ${agent.rate_window_s} s`,
          }),
          h('td', { class: 'num executions', text: formatCount(agent.executions) }),
        ]);
        return row;
      }),
    );
    this.agentsChanged.clear();
  }

  /** Loads the goals and each one's scores over time. */
  async loadGoals() {
    const table = byId('dash-goals');
    const canvas = /** @type {HTMLCanvasElement} */ (byId('dash-goal-chart'));
    try {
      const { goals } = await api('/api/goals');
      if (!goals.length) {
        table.replaceChildren(h('tr', {}, [h('td', { colspan: '4', class: 'empty', text: 'No goals yet. The daemon’s improvement engine adds them; their scores are charted here.' })]));
        drawChart(canvas, [], { empty: 'No goal scores yet.' });
        return;
      }
      table.replaceChildren(
        ...goals.map((/** @type {any} */ goal) =>
          h('tr', {}, [
            h('td', { text: goal.goal }),
            h('td', { text: goal.status }),
            h('td', { class: 'num', text: goal.best_score === null ? '—' : formatScore(goal.best_score) }),
            h('td', {}, [goal.best_iteration === null ? '—' : h('a', { href: `#/explorer/${goal.best_iteration}`, text: `#${goal.best_iteration}` })]),
          ]),
        ),
      );
      const series = [];
      for (const goal of goals.slice(0, 6)) {
        const page = await api(`/api/map?goal=${goal.id}&limit=500`);
        const points = page.entries.filter((/** @type {any} */ e) => e.score !== null).map((/** @type {any} */ e) => ({ t: e.started_ms, v: e.score }));
        series.push({ name: goal.goal.slice(0, 24), points });
      }
      drawChart(canvas, series, { empty: 'No scored executions yet.', yLabel: 'score' });
    } catch (err) {
      table.replaceChildren(h('tr', {}, [h('td', { colspan: '4', class: 'error', text: `Goals unavailable: ${/** @type {Error} */ (err).message}` })]));
      drawChart(canvas, [], { empty: 'Goals unavailable.' });
    }
  }

  /** Loads `/api/growth` into the growth panel (one request at a time). */
  async loadGrowth() {
    if (this.growthBusy) return;
    this.growthBusy = true;
    this.growthAt = Date.now();
    const panel = byId('growth-panel');
    try {
      /** @type {{growth: Growth, archive: ArchivePicture[], adoptions: AdoptionRecord[]}} */
      const answer = await api('/api/growth');
      this.renderGrowth(answer.growth, answer.archive, answer.adoptions);
      panel.dataset.loaded = 'true';
    } catch (err) {
      byId('growth-note').textContent = `Growth unavailable: ${/** @type {Error} */ (err).message}`;
    } finally {
      this.growthAt = Date.now();
      this.growthBusy = false;
    }
  }

  /**
   * @param {Growth} growth
   * @param {ArchivePicture[]} archive newest first
   * @param {AdoptionRecord[]} adoptions newest first
   */
  renderGrowth(growth, archive, adoptions) {
    for (const cell of document.querySelectorAll('#growth-panel [data-growth]')) {
      const key = /** @type {keyof Growth} */ (/** @type {HTMLElement} */ (cell).dataset.growth);
      cell.textContent = formatCount(growth[key] ?? 0);
    }
    byId('growth-note').textContent = `${formatCount(growth.goals_done)} goals done · ${formatCount(growth.distinct_programs)} distinct programs`
      + (growth.archive_pictures > archive.length ? ` · the newest ${archive.length} of ${formatCount(growth.archive_pictures)} pictures` : '');

    const grid = byId('growth-archive');
    if (!archive.length) {
      grid.replaceChildren(h('p', { class: 'empty', text: 'No pictures yet. Left alone, the daemon (gvpie up) explores new kinds of pictures; the distinct ones appear here.' }));
    } else {
      const shown = new Set(archive.map((picture) => picture.iteration));
      for (const [iteration, link] of this.thumbs) {
        if (shown.has(iteration)) continue;
        const src = link.querySelector('img')?.src;
        if (src?.startsWith('blob:')) URL.revokeObjectURL(src);
        this.thumbs.delete(iteration);
      }
      grid.replaceChildren(...archive.map((picture) => this.archiveThumb(picture)));
    }

    const list = byId('growth-adopted');
    list.replaceChildren(
      ...(adoptions.length
        ? adoptions.map(adoptionLine)
        : [h('li', { class: 'empty', text: 'None yet. A self-set goal adopts a program that draws the same pixels in fewer cycles; the original is kept.' })]),
    );
  }

  /**
   * The thumbnail of an archive picture, linked to the explorer (made once per picture).
   * @param {ArchivePicture} picture
   * @returns {HTMLElement}
   */
  archiveThumb(picture) {
    const known = this.thumbs.get(picture.iteration);
    if (known) return known;
    const from = picture.parent_iteration === null ? '' : ` · from #${picture.parent_iteration}`;
    const image = /** @type {HTMLImageElement} */ (h('img', { class: 'thumb', alt: `Picture #${picture.iteration}` }));
    const link = h('a', { href: `#/explorer/${picture.iteration}`, title: `#${picture.iteration} · ${picture.generator} · ${formatCount(picture.cycles)} cycles${from}` }, [image]);
    this.thumbs.set(picture.iteration, link);
    imageUrl(`/api/map/${picture.iteration}/image`).then((url) => {
      if (url) image.src = url;
      else {
        image.classList.add('missing');
        image.alt = 'no image kept';
      }
    });
    return link;
  }
}

/**
 * @param {AdoptionRecord} adoption
 * @returns {HTMLElement} "test_rect → test_rect.optimized: 2 → 1 cycles", linked to the successor's execution
 */
function adoptionLine(adoption) {
  const saved = adoption.original_cycles - adoption.cycles;
  const text = `${adoption.original} → ${adoption.successor}: ${formatCount(adoption.original_cycles)} → ${formatCount(adoption.cycles)} cycles`;
  return h('li', { 'data-id': adoption.id }, [
    adoption.iteration === null
      ? h('span', { text })
      : h('a', { href: `#/explorer/${adoption.iteration}`, text, title: `The successor's program, #${adoption.iteration}` }),
    h('small', {}, [
      h('span', { class: 'saved', text: `−${formatCount(saved)} ${saved === 1 ? 'cycle' : 'cycles'} a run` }),
      ` · goal ${adoption.goal_id} · `,
      h('time', { text: formatTime(adoption.created_ms), datetime: new Date(adoption.created_ms).toISOString() }),
    ]),
  ]);
}

/**
 * @param {number} perMinute
 * @returns {string} "512/min", or "1.5/min" below 10
 */
function formatRate(perMinute) {
  return `${perMinute < 10 ? perMinute.toFixed(1) : formatCount(Math.round(perMinute))}/min`;
}

/**
 * @param {AgentEvent} event
 * @returns {string} the live log's line for an agent event
 */
function agentLogText(event) {
  if (event.event === 'joined') return `agent ${event.agent} ${event.restarted ? 'restarted' : 'joined'}${event.roles ? ` (${event.roles.join(', ')})` : ''}${event.host ? ` on ${event.host}` : ''}`;
  if (event.event === 'left') return `agent ${event.agent} left (${event.state ?? 'gone'})`;
  if (event.event === 'took_over') return `agent ${event.agent} took over ${event.work ?? 'work'} from ${event.from ?? 'a stale agent'}`;
  return `agent ${event.agent}: ${event.event}`;
}

/**
 * @param {number} at ms
 * @param {boolean} ok
 * @param {string} text
 * @param {string} [kind]
 */
function logLine(at, ok, text, kind = '') {
  return h('li', { class: `${ok ? 'ok' : 'failed'} ${kind}` }, [
    h('time', { text: new Date(at).toLocaleTimeString('en-GB') }),
    h('span', { class: 'mark', text: ok ? '✓' : '✗', 'aria-label': ok ? 'succeeded' : 'failed' }),
    h('span', { text }),
  ]);
}
