// @ts-check
/**
 * The HTTP API client: JSON calls with the optional bearer token, images as object URLs, and
 * the live event stream (Server-Sent Events read through `fetch`, so the token can be sent,
 * which `EventSource` cannot do).
 *
 * Every failed call throws an {@link ApiError} carrying the server's one error shape
 * (`{"error": {"kind", "message", "line"?, "column"?}}`, see docs/api.md).
 * @module api
 */

const TOKEN_KEY = 'gvpie.token';

/** An API error: the HTTP status plus the server's error kind and message. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} kind
   * @param {string} message
   * @param {number} [line]
   * @param {number} [column]
   */
  constructor(status, kind, message, line, column) {
    super(message);
    this.status = status;
    this.kind = kind;
    this.line = line;
    this.column = column;
  }
}

/** @returns {string} the stored token, or '' */
export function token() {
  return localStorage.getItem(TOKEN_KEY) ?? '';
}

/** @param {string} value an empty string forgets the token */
export function setToken(value) {
  if (value) localStorage.setItem(TOKEN_KEY, value);
  else localStorage.removeItem(TOKEN_KEY);
}

/** @returns {Record<string, string>} */
function authHeaders() {
  const value = token();
  return value ? { Authorization: `Bearer ${value}` } : {};
}

/**
 * Turns a failed response into an ApiError.
 * @param {Response} response
 * @returns {Promise<ApiError>}
 */
async function errorOf(response) {
  try {
    const body = await response.json();
    const detail = body?.error ?? {};
    let message = detail.message ?? response.statusText;
    if (response.status === 401) message = 'This server needs a token: set it with the Token button. ' + message;
    return new ApiError(response.status, detail.kind ?? 'http', message, detail.line, detail.column);
  } catch {
    return new ApiError(response.status, 'http', `${response.status} ${response.statusText}`);
  }
}

/**
 * Calls a JSON endpoint.
 * @param {string} path e.g. `/api/execute`
 * @param {{method?: string, body?: any, signal?: AbortSignal}} [options] a `body` makes it a POST
 * @returns {Promise<any>} the parsed JSON answer
 * @throws {ApiError}
 */
export async function api(path, options = {}) {
  const method = options.method ?? (options.body !== undefined ? 'POST' : 'GET');
  /** @type {Record<string, string>} */
  const headers = { ...authHeaders() };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
      signal: options.signal,
    });
  } catch (err) {
    if (/** @type {any} */ (err)?.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'Cannot reach the gvpie server. Is `gvpie serve` running?');
  }
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

/**
 * Fetches an image (with the token) as an object URL for an `<img>`; null when it is absent.
 * @param {string} path
 * @returns {Promise<string|null>}
 */
export async function imageUrl(path) {
  try {
    const response = await fetch(path, { headers: authHeaders() });
    if (!response.ok) return null;
    return URL.createObjectURL(await response.blob());
  } catch {
    return null;
  }
}

/**
 * Follows `GET /api/events` until closed, reconnecting with a growing delay.
 * @param {(name: string, data: any) => void} onEvent called with the SSE event name and its JSON
 * @param {(state: 'connecting'|'live'|'down', detail?: string) => void} onState
 * @returns {{close: () => void}}
 */
export function streamEvents(onEvent, onState) {
  let closed = false;
  let controller = new AbortController();
  let delay = 500;
  const run = async () => {
    while (!closed) {
      onState('connecting');
      try {
        const response = await fetch('/api/events', { headers: authHeaders(), signal: controller.signal });
        if (!response.ok || !response.body) throw await errorOf(response);
        onState('live');
        delay = 500;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            dispatch(buffer.slice(0, end), onEvent);
            buffer = buffer.slice(end + 2);
          }
        }
        onState('down', 'the server closed the stream');
      } catch (err) {
        if (closed) return;
        onState('down', err instanceof ApiError ? err.message : 'cannot reach the server');
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 10_000);
      controller = new AbortController();
    }
  };
  run();
  return {
    close() {
      closed = true;
      controller.abort();
    },
  };
}

/**
 * Parses one SSE block (`event:` and `data:` lines) and hands it on.
 * @param {string} block
 * @param {(name: string, data: any) => void} onEvent
 */
function dispatch(block, onEvent) {
  let name = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    if (line.startsWith('event:')) name = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (!data.length) return;
  try {
    onEvent(name, JSON.parse(data.join('\n')));
  } catch {
    // A line that is not JSON is not ours; skip it.
  }
}
