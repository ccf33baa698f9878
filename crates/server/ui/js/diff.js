// @ts-check
/**
 * A line diff (longest common subsequence) for showing what changed from a parent program to
 * its child. Programs are small (the server caps them), so the quadratic table is fine; past
 * 2000 lines a side it falls back to "everything changed".
 * @module diff
 */

/**
 * @typedef {object} DiffLine
 * @property {' '|'+'|'-'} op
 * @property {string} text
 */

/**
 * The lines of `after` against `before`.
 * @param {string} before
 * @param {string} after
 * @returns {DiffLine[]}
 */
export function diffLines(before, after) {
  const a = before.replace(/\n$/, '').split('\n');
  const b = after.replace(/\n$/, '').split('\n');
  if (a.length > 2000 || b.length > 2000) {
    return [...a.map((text) => ({ op: /** @type {'-'} */ ('-'), text })), ...b.map((text) => ({ op: /** @type {'+'} */ ('+'), text }))];
  }
  // lengths[i][j]: the LCS length of a[i..] and b[j..].
  const lengths = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      lengths[i][j] = a[i] === b[j] ? lengths[i + 1][j + 1] + 1 : Math.max(lengths[i + 1][j], lengths[i][j + 1]);
    }
  }
  /** @type {DiffLine[]} */
  const out = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push({ op: ' ', text: a[i] });
      i += 1;
      j += 1;
    } else if (lengths[i + 1][j] >= lengths[i][j + 1]) {
      out.push({ op: '-', text: a[i] });
      i += 1;
    } else {
      out.push({ op: '+', text: b[j] });
      j += 1;
    }
  }
  while (i < a.length) out.push({ op: '-', text: a[i++] });
  while (j < b.length) out.push({ op: '+', text: b[j++] });
  return out;
}
