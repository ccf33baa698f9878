// @ts-check
/**
 * A small line chart drawn on a `<canvas>`: one or more series of (time, value) points with
 * axes, a few labelled ticks and a legend. Used for goal scores over time and throughput.
 * @module chart
 */

const COLOURS = ['#4fc3f7', '#ffb74d', '#81c784', '#e57373', '#ba68c8', '#fff176'];

/**
 * @typedef {object} Series
 * @property {string} name
 * @property {{t: number, v: number}[]} points t in ms since the epoch
 */

/**
 * Draws `series` into `canvas` at its CSS size (sharp on high-DPI screens).
 * @param {HTMLCanvasElement} canvas
 * @param {Series[]} series
 * @param {{yLabel?: string, empty?: string}} [options]
 */
export function drawChart(canvas, series, options = {}) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 400;
  const height = canvas.clientHeight || 160;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const context = canvas.getContext('2d');
  if (!context) return;
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  context.font = '11px system-ui, sans-serif';
  const points = series.flatMap((s) => s.points);
  if (!points.length) {
    context.fillStyle = '#8892a6';
    context.textAlign = 'center';
    context.fillText(options.empty ?? 'No data yet.', width / 2, height / 2);
    return;
  }
  const left = 44;
  const right = width - 10;
  const top = 10;
  const bottom = height - 34;
  let tMin = Math.min(...points.map((p) => p.t));
  let tMax = Math.max(...points.map((p) => p.t));
  let vMin = Math.min(...points.map((p) => p.v));
  let vMax = Math.max(...points.map((p) => p.v));
  if (tMax === tMin) {
    tMin -= 1000;
    tMax += 1000;
  }
  if (vMax === vMin) {
    vMin -= 1;
    vMax += 1;
  }
  const x = (/** @type {number} */ t) => left + ((t - tMin) / (tMax - tMin)) * (right - left);
  const y = (/** @type {number} */ v) => bottom - ((v - vMin) / (vMax - vMin)) * (bottom - top);
  context.strokeStyle = '#3a4356';
  context.fillStyle = '#8892a6';
  context.lineWidth = 1;
  context.textAlign = 'right';
  for (let i = 0; i <= 4; i += 1) {
    const v = vMin + ((vMax - vMin) * i) / 4;
    context.beginPath();
    context.moveTo(left, Math.round(y(v)) + 0.5);
    context.lineTo(right, Math.round(y(v)) + 0.5);
    context.stroke();
    context.fillText(formatValue(v), left - 4, y(v) + 4);
  }
  context.textAlign = 'center';
  for (let i = 0; i <= 3; i += 1) {
    const t = tMin + ((tMax - tMin) * i) / 3;
    context.fillText(new Date(t).toLocaleTimeString('en-GB'), Math.min(Math.max(x(t), left + 20), right - 20), bottom + 14);
  }
  series.forEach((s, idx) => {
    const colour = COLOURS[idx % COLOURS.length];
    const sorted = [...s.points].sort((a, b) => a.t - b.t);
    context.strokeStyle = colour;
    context.fillStyle = colour;
    context.lineWidth = 2;
    context.beginPath();
    sorted.forEach((p, i) => (i ? context.lineTo(x(p.t), y(p.v)) : context.moveTo(x(p.t), y(p.v))));
    context.stroke();
    for (const p of sorted.length < 60 ? sorted : []) {
      context.beginPath();
      context.arc(x(p.t), y(p.v), 2.5, 0, Math.PI * 2);
      context.fill();
    }
    context.textAlign = 'left';
    context.fillText(s.name, left + 4 + idx * 140, height - 4);
  });
  if (options.yLabel) {
    context.fillStyle = '#8892a6';
    context.textAlign = 'left';
    context.fillText(options.yLabel, left + 4, top + 10);
  }
}

/** @param {number} v */
function formatValue(v) {
  const abs = Math.abs(v);
  if (abs >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (abs >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  if (abs >= 10 || v === 0) return v.toFixed(0);
  return v.toFixed(2);
}
