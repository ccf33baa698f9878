// @ts-check
/**
 * PXL for the browser: the opcode table (mirrors `crates/pxl/src/op.rs`), a tokenizer for
 * syntax highlighting, and the line model shared by the block view.
 *
 * This module never decides whether a program is valid: the server's parser does
 * (`POST /api/check`). It only needs to be right about how a line looks.
 * @module pxl
 */

/** Operand kinds: a value (literal or variable), a written variable, a label, TXT's text. */
export const VALUE = 'value';
export const DEST = 'dest';
export const LABEL = 'label';
export const TEXT = 'text';

/**
 * @typedef {object} OpInfo
 * @property {string} mnemonic canonical upper-case name
 * @property {string[]} operands operand kinds in source order
 * @property {number} min operands the source must give
 * @property {string} synopsis operand names, e.g. "x y w h"
 * @property {string} group palette group: draw, math, flow, machine
 * @property {string} help one line for tooltips
 */

/** @type {OpInfo[]} */
export const OPS = [
  op('CLS', [VALUE, VALUE, VALUE], 0, 'r g b', 'draw', 'fill the canvas (default black)'),
  op('COLOR', [VALUE, VALUE, VALUE, VALUE], 3, 'r g b a', 'draw', 'set the drawing colour'),
  op('PSET', [VALUE, VALUE], 2, 'x y', 'draw', 'blend one pixel'),
  op('RECT', [VALUE, VALUE, VALUE, VALUE], 4, 'x y w h', 'draw', 'filled rectangle'),
  op('LINE', [VALUE, VALUE, VALUE, VALUE], 4, 'x0 y0 x1 y1', 'draw', 'line with both endpoints'),
  op('CIRC', [VALUE, VALUE, VALUE], 3, 'x y r', 'draw', 'circle outline'),
  op('CIRCF', [VALUE, VALUE, VALUE], 3, 'x y r', 'draw', 'filled circle'),
  op('TRI', [VALUE, VALUE, VALUE, VALUE, VALUE, VALUE], 6, 'x0 y0 x1 y1 x2 y2', 'draw', 'filled triangle'),
  op('TXT', [VALUE, VALUE, TEXT], 2, 'x y text', 'draw', 'text in the 5x7 font'),
  op('NUM', [VALUE, VALUE, VALUE], 3, 'x y value', 'draw', 'a number in the 5x7 font'),
  op('PGET', [DEST, VALUE, VALUE], 3, 'v x y', 'draw', 'read a pixel as r*65536+g*256+b'),
  op('FRAME', [], 0, '', 'draw', 'end of an animation frame'),
  op('SET', [DEST, VALUE], 2, 'v a', 'math', 'v = a'),
  op('ADD', [DEST, VALUE, VALUE], 3, 'v a b', 'math', 'v = a + b'),
  op('SUB', [DEST, VALUE, VALUE], 3, 'v a b', 'math', 'v = a - b'),
  op('MUL', [DEST, VALUE, VALUE], 3, 'v a b', 'math', 'v = a * b'),
  op('DIV', [DEST, VALUE, VALUE], 3, 'v a b', 'math', 'v = a / b (traps on 0)'),
  op('MOD', [DEST, VALUE, VALUE], 3, 'v a b', 'math', 'v = a mod b (traps on 0)'),
  op('AND', [DEST, VALUE, VALUE], 3, 'v a b', 'math', 'bitwise and'),
  op('OR', [DEST, VALUE, VALUE], 3, 'v a b', 'math', 'bitwise or'),
  op('XOR', [DEST, VALUE, VALUE], 3, 'v a b', 'math', 'bitwise xor'),
  op('SHL', [DEST, VALUE, VALUE], 3, 'v a b', 'math', 'shift left'),
  op('SHR', [DEST, VALUE, VALUE], 3, 'v a b', 'math', 'arithmetic shift right'),
  op('RAND', [DEST, VALUE], 2, 'v n', 'math', 'random number below n'),
  op('SEED', [VALUE], 1, 's', 'math', 'seed the random generator'),
  op('JMP', [LABEL], 1, 'label', 'flow', 'jump'),
  op('IF', [VALUE, 'cmp', VALUE, LABEL], 4, 'a op b label', 'flow', 'jump when the comparison holds'),
  op('LOOP', [DEST, VALUE, LABEL], 3, 'v limit label', 'flow', 'v += 1; jump while v < limit'),
  op('CALL', [LABEL], 1, 'label', 'flow', 'call a subroutine'),
  op('RET', [], 0, '', 'flow', 'return from a call'),
  op('HALT', [], 0, '', 'flow', 'stop'),
  op('PEEK', [DEST, VALUE], 2, 'v addr', 'machine', 'read a code word'),
  op('POKE', [VALUE, VALUE], 2, 'addr value', 'machine', 'write a code word'),
];

/**
 * @param {string} mnemonic
 * @param {string[]} operands
 * @param {number} min
 * @param {string} synopsis
 * @param {string} group
 * @param {string} help
 * @returns {OpInfo}
 */
function op(mnemonic, operands, min, synopsis, group, help) {
  return { mnemonic, operands, min, synopsis, group, help };
}

/**
 * Directives: lines that are no instruction and cost no cycle (gvpie-pxl's `SIZE_DIRECTIVE`).
 * @type {OpInfo[]}
 */
export const DIRECTIVES = [
  op('SIZE', [VALUE, VALUE], 2, 'width height', 'directive', 'the canvas size this program is drawn at (0 cycles)'),
];

/** Mnemonic or directive (upper case) → info. */
export const OP_BY_NAME = new Map([...OPS, ...DIRECTIVES].map((info) => [info.mnemonic, info]));

/** The largest canvas side a program may declare. */
export const MAX_SIDE = 4096;

/**
 * The canvas size a program declares with `SIZE width height` (1 to 4096 each), or null.
 * @param {string} source
 * @returns {{width: number, height: number} | null}
 */
export function declaredSize(source) {
  for (const raw of source.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (!/^\s*(?:[^\s:#;]+:\s*)?size(?:[\s#;]|$)/i.test(line)) continue;
    const m = /^\s*(?:[A-Za-z_][A-Za-z0-9_]*:\s*)?size[ \t]+([0-9]+)[ \t]+([0-9]+)[ \t]*(?:[#;].*)?$/i.exec(line);
    if (!m) return null;
    const [width, height] = [Number(m[1]), Number(m[2])];
    const fits = (/** @type {number} */ side) => side >= 1 && side <= MAX_SIDE;
    return fits(width) && fits(height) ? { width, height } : null;
  }
  return null;
}

/** The comparisons of IF. */
export const COMPARISONS = ['==', '!=', '<', '<=', '>', '>='];

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NUMBER = /^(-?[0-9]+|0[xX][0-9A-Fa-f]+)$/;

/**
 * @typedef {object} Token
 * @property {string} text
 * @property {string} cls CSS class without the `tok-` prefix: op, bad, num, var, label, labeldef,
 *   cmp, str, comment, ws
 */

/**
 * Splits one source line into highlighted tokens whose texts join back to the line exactly.
 * @param {string} line one line without its newline
 * @returns {Token[]}
 */
export function tokenizeLine(line) {
  /** @type {Token[]} */
  const tokens = [];
  let rest = line;
  const push = (/** @type {string} */ text, /** @type {string} */ cls) => {
    if (text) tokens.push({ text, cls });
  };
  // A label definition at the start: `name:`.
  const labelMatch = /^(\s*)([^\s:#;]+)(:)/.exec(rest);
  if (labelMatch) {
    push(labelMatch[1], 'ws');
    push(labelMatch[2] + labelMatch[3], NAME.test(labelMatch[2]) ? 'labeldef' : 'bad');
    rest = rest.slice(labelMatch[0].length);
  }
  const lead = /^\s*/.exec(rest)?.[0] ?? '';
  push(lead, 'ws');
  rest = rest.slice(lead.length);
  const wordMatch = /^[^\s#;]+/.exec(rest);
  if (!wordMatch) {
    push(rest, rest ? 'comment' : 'ws');
    return tokens;
  }
  const mnemonic = wordMatch[0];
  const info = OP_BY_NAME.get(mnemonic.toUpperCase());
  push(mnemonic, info ? 'op' : 'bad');
  rest = rest.slice(mnemonic.length);
  if (info?.mnemonic === 'TXT') {
    // TXT x y text: the text is everything after the separator that follows y, verbatim.
    const m = /^([ \t]+)(\S+)([ \t]+)(\S+)([ \t])?(.*)$/.exec(rest);
    if (m) {
      push(m[1], 'ws');
      push(m[2], operandClass(m[2], VALUE));
      push(m[3], 'ws');
      push(m[4], operandClass(m[4], VALUE));
      push(m[5] ?? '', 'ws');
      push(m[6], 'str');
      return tokens;
    }
  }
  let index = 0;
  const kinds = info ? info.operands : [];
  while (rest) {
    const ws = /^\s+/.exec(rest)?.[0];
    if (ws) {
      push(ws, 'ws');
      rest = rest.slice(ws.length);
      continue;
    }
    if (rest[0] === '#' || rest[0] === ';') {
      push(rest, 'comment');
      break;
    }
    const word = /^[^\s#;]+/.exec(rest)?.[0] ?? rest;
    push(word, operandClass(word, kinds[index] ?? VALUE));
    index += 1;
    rest = rest.slice(word.length);
  }
  return tokens;
}

/** @param {string} word @param {string} kind */
function operandClass(word, kind) {
  if (kind === 'cmp') return COMPARISONS.includes(word) ? 'cmp' : 'bad';
  if (kind === LABEL) return NAME.test(word) ? 'label' : 'bad';
  if (NUMBER.test(word)) return kind === DEST ? 'bad' : 'num';
  return NAME.test(word) ? 'var' : 'bad';
}

/**
 * One line of a program as the block view sees it.
 * @typedef {object} LineModel
 * @property {'instr'|'label'|'comment'|'blank'|'raw'} kind
 * @property {string} [label] label name (kind `label`, or an instruction after `name:`)
 * @property {string} [mnemonic] canonical mnemonic (kind `instr`)
 * @property {string[]} [args] operands as written; TXT's text is the last one
 * @property {string} [comment] trailing comment text including `#` or `;`
 * @property {string} [text] the whole line (kinds `comment`, `raw`)
 */

/**
 * Reads one line into the block model. Lines the model cannot represent faithfully are `raw`.
 * @param {string} line
 * @returns {LineModel}
 */
export function parseLine(line) {
  const trimmed = line.trim();
  if (!trimmed) return { kind: 'blank' };
  if (trimmed.startsWith('#') || trimmed.startsWith(';')) return { kind: 'comment', text: trimmed };
  let rest = trimmed;
  let label;
  const labelMatch = /^([A-Za-z_][A-Za-z0-9_]*):\s*/.exec(rest);
  if (labelMatch) {
    label = labelMatch[1];
    rest = rest.slice(labelMatch[0].length);
    if (!rest) return { kind: 'label', label };
  }
  const mnemonic = /^\S+/.exec(rest)?.[0] ?? '';
  const info = OP_BY_NAME.get(mnemonic.toUpperCase());
  if (!info || label) {
    // A label before an instruction on one line: keep it as two blocks would change lines,
    // so it stays raw (still editable as text).
    return { kind: 'raw', text: trimmed };
  }
  rest = rest.slice(mnemonic.length);
  if (info.mnemonic === 'TXT') {
    const m = /^[ \t]+(\S+)[ \t]+(\S+)(?:[ \t](.*))?$/.exec(rest);
    if (!m) return { kind: 'raw', text: trimmed };
    return { kind: 'instr', mnemonic: 'TXT', args: [m[1], m[2], m[3] ?? ''] };
  }
  let comment;
  const commentAt = rest.search(/[#;]/);
  if (commentAt >= 0) {
    comment = rest.slice(commentAt).trim();
    rest = rest.slice(0, commentAt);
  }
  const args = rest.split(/\s+/).filter(Boolean);
  return { kind: 'instr', mnemonic: info.mnemonic, args, comment };
}

/**
 * Writes a line model back as source.
 * @param {LineModel} model
 * @returns {string}
 */
export function printLine(model) {
  switch (model.kind) {
    case 'blank':
      return '';
    case 'label':
      return `${model.label}:`;
    case 'comment':
    case 'raw':
      return model.text ?? '';
    case 'instr': {
      const args = (model.args ?? []).map((a) => a.trim());
      if (model.mnemonic === 'TXT') {
        const [x = '0', y = '0', text = ''] = model.args ?? [];
        return `TXT ${x.trim() || '0'} ${y.trim() || '0'}${text ? ' ' + text : ''}`;
      }
      const body = [model.mnemonic, ...args.filter(Boolean)].join(' ');
      return model.comment ? `${body} ${model.comment}` : body;
    }
    default:
      return '';
  }
}

/**
 * The default operands of a new block from the palette.
 * @param {string} mnemonic
 * @returns {string[]}
 */
export function defaultArgs(mnemonic) {
  const info = OP_BY_NAME.get(mnemonic);
  if (!info) return [];
  const names = info.synopsis.split(' ').filter(Boolean);
  return info.operands.slice(0, Math.max(info.min, info.mnemonic === 'COLOR' ? 3 : info.min)).map((kind, idx) => {
    if (kind === DEST) return names[idx] === 'v' ? 'v' : names[idx];
    if (kind === LABEL) return 'loop';
    if (kind === TEXT) return 'Hello';
    if (kind === 'cmp') return '<';
    if (info.mnemonic === 'COLOR') return '255';
    if (/^(w|h|r)$/.test(names[idx] ?? '')) return '8';
    return '0';
  });
}
