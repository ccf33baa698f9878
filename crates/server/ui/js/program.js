// @ts-check
/**
 * The program being edited, shared by the text editor, the block view and the debugger, and
 * kept in localStorage so that a reload loses nothing.
 * @module program
 */

const KEY = 'gvpie.program';

/** The program shown the first time the page opens. */
export const EXAMPLE = `# A gradient of squares, then a label.
CLS 16 16 32
SET i 0
loop:
MUL c i 28
COLOR c 80 200
MUL x i 12
RECT x 8 10 10
LOOP i 8 loop
COLOR 255 255 255
TXT 4 40 Hello GPU
HALT
`;

/**
 * @typedef {object} ProgramState
 * @property {string} source PXL source
 * @property {number} width canvas width
 * @property {number} height canvas height
 * @property {string} scriptName the script it was last saved as ('' when never)
 * @property {number[]} breakpoints debugger line breakpoints
 * @property {{x: number, y: number}[]} pixelBreakpoints debugger pixel breakpoints
 */

/** @type {ProgramState} */
const state = load();
/** @type {Set<(state: ProgramState, origin: string) => void>} */
const listeners = new Set();
let saveTimer = 0;

/** @returns {ProgramState} */
function load() {
  const fallback = { source: EXAMPLE, width: 128, height: 64, scriptName: '', breakpoints: [], pixelBreakpoints: [] };
  try {
    const stored = JSON.parse(localStorage.getItem(KEY) ?? 'null');
    if (stored && typeof stored.source === 'string') return { ...fallback, ...stored };
  } catch {
    // A damaged entry is replaced by the example.
  }
  return fallback;
}

/** @returns {ProgramState} the current program (do not mutate; use {@link update}) */
export function program() {
  return state;
}

/**
 * Changes the program and tells every listener except the one named by `origin`'s owner.
 * @param {Partial<ProgramState>} changes
 * @param {string} origin who changed it (`text`, `blocks`, `load`, ...), passed to listeners
 */
export function update(changes, origin) {
  Object.assign(state, changes);
  clearTimeout(saveTimer);
  saveTimer = window.setTimeout(persist, 150);
  for (const listener of listeners) listener(state, origin);
}

/** Writes the program to localStorage now. */
export function persist() {
  clearTimeout(saveTimer);
  try {
    localStorage.setItem(KEY, JSON.stringify(state));
  } catch {
    // Storage full or disabled: nothing else to do; the page still works.
  }
}

/**
 * @param {(state: ProgramState, origin: string) => void} listener
 */
export function subscribe(listener) {
  listeners.add(listener);
}

window.addEventListener('pagehide', persist);
