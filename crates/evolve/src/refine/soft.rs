//! The soft renderer: smoothed coverage of every PXL shape, the blending rule in floating point, the loss and its
//! gradient with respect to every number of every drawing call (the CPU twin of `crates/gpu/shaders/refine.wgsl`).
//!
//! # Coverage
//!
//! Each exact rule of `gvpie-raster` is "a pixel centre `(px, py)` is covered when some inequalities hold". The
//! soft renderer replaces each inequality `u >= 0` (scaled so that `u` is a distance in pixels, offset by half the
//! gap between the last covered and the first uncovered integer value) by the logistic `S(u / σ)`, and multiplies
//! them. As the softness `σ` goes to 0 and the numbers are integers, every coverage goes to exactly 0 or 1 and the
//! exact rule is recovered (except for `LINE`'s rounding ties, which the polish settles). With `S' = S (1 - S)`:
//!
//! * `RECT x y w h`: `S((px-x+½)/σ) S((x+w-½-px)/σ)` times the same in y. `PSET x y` is `RECT x y 1 1`.
//! * `TRI`: with `s` the sign of the doubled area (0 draws nothing), each directed edge `a→b` gives
//!   `E = (bx-ax)(py-ay) - (by-ay)(px-ax)` and the factor `S((s E + ½) / (|b-a| σ))`.
//! * `CIRCF x y r`: `S((r|r| + ½ - D) / (2σ(|r|+½)))` with `D = (px-x)² + (py-y)²`; a negative radius draws
//!   nothing. `CIRC` (outline) is `in(p) (1 - in(left) in(right) in(up) in(down))`, the exact rule's "inside with a
//!   neighbour outside".
//! * `LINE`: along its major axis the span `S((px-min+½)/σ) S((max+½-px)/σ)`; across it, with `e` the offset of the
//!   pixel from the line, `S((½+ε-e)/σ) S((½-ε+e)/σ)` (the exact rule rounds half up; `ε = 10⁻³` picks that side).
//!   A line whose endpoints coincide is `PSET`.
//! * `CLS` covers everything and replaces; `TXT`/`NUM` are fixed masks.
//!
//! Coverage is evaluated only inside the shape's bounding box widened by `1 + 10σ` pixels.
//!
//! # Blending and loss
//!
//! In 0..255 units, a call with colour `s` (channels clamped to 0..255) and alpha `a` (clamped, `α = a/255`)
//! turns a pixel `d` into `d + c α (s - d)`, the exact rule without its rounding. The loss is
//! `Σ w (d - t)² / (3 · 255² · Σ w)` over pixels and RGB (`w = 1`: the mean squared error on the 0..1 scale, whose
//! root is `rmse`), and the backward pass walks each pixel's calls in reverse.

// Numeric code indexes several parallel arrays by the same slot.
#![allow(clippy::needless_range_loop)]

use super::scene::{COLOR_SLOT, Draw, DrawKind, SLOTS};

/// One drawing call with its numbers resolved: its kind, its mask index ([`DrawKind::Mask`]) and its slots.
pub type Call = (DrawKind, u32, [f64; SLOTS]);

/// Bounding boxes are widened by `1 + BOX_SIGMAS · σ` pixels.
pub const BOX_SIGMAS: f64 = 10.0;
/// `LINE`'s tie-breaking offset.
pub const LINE_TIE: f64 = 1e-3;

#[inline]
fn sig(u: f64) -> f64 {
    1.0 / (1.0 + (-u).exp())
}

/// A logistic factor and its derivative with respect to its argument.
#[inline]
fn sig_d(u: f64) -> (f64, f64) {
    let s = sig(u);
    (s, s * (1.0 - s))
}

/// The pixel box `(x0, y0, x1, y1)` (inclusive, possibly empty or off the canvas) outside which call `v` of
/// `kind` is taken to cover nothing.
pub fn bounds(kind: DrawKind, v: &[f64; SLOTS], sigma: f64, width: u32, height: u32) -> (i64, i64, i64, i64) {
    let m = 1.0 + BOX_SIGMAS * sigma;
    let (lo_x, lo_y, hi_x, hi_y) = match kind {
        DrawKind::Cls | DrawKind::Mask => return (0, 0, i64::from(width) - 1, i64::from(height) - 1),
        DrawKind::Rect => (v[0].min(v[0] + v[2]), v[1].min(v[1] + v[3]), v[0].max(v[0] + v[2]), v[1].max(v[1] + v[3])),
        DrawKind::Pset => (v[0], v[1], v[0] + 1.0, v[1] + 1.0),
        DrawKind::Line => (v[0].min(v[2]), v[1].min(v[3]), v[0].max(v[2]), v[1].max(v[3])),
        DrawKind::Circ | DrawKind::Circf => {
            let r = v[2].abs() + 1.0;
            (v[0] - r, v[1] - r, v[0] + r, v[1] + r)
        }
        DrawKind::Tri => {
            (v[0].min(v[2]).min(v[4]), v[1].min(v[3]).min(v[5]), v[0].max(v[2]).max(v[4]), v[1].max(v[3]).max(v[5]))
        }
    };
    let clampi = |x: f64, hi: u32| -> i64 { x.clamp(-1.0, f64::from(hi)) as i64 };
    (
        clampi((lo_x - m).floor(), width),
        clampi((lo_y - m).floor(), height),
        clampi((hi_x + m).ceil(), width),
        clampi((hi_y + m).ceil(), height),
    )
}

/// A box `[lo, hi]` along one axis: `S((p-lo+½)/σ) S((hi+½-p)/σ)`, with the derivatives by `lo` and `hi`.
#[inline]
fn span(p: f64, lo: f64, hi: f64, inv: f64) -> (f64, f64, f64) {
    let (a, da) = sig_d((p - lo + 0.5) * inv);
    let (b, db) = sig_d((hi + 0.5 - p) * inv);
    (a * b, -da * inv * b, a * db * inv)
}

/// The disc's inside factor at offsets `(dx, dy)` (pixel minus centre) and radius `r`, with its derivatives by
/// the centre's x, y and by r.
#[inline]
fn disc(dx: f64, dy: f64, r: f64, sigma: f64) -> (f64, [f64; 3]) {
    let d = dx * dx + dy * dy;
    let q = r * r.abs();
    let den = 2.0 * sigma * (r.abs() + 0.5);
    let num = q + 0.5 - d;
    let (s, ds) = sig_d(num / den);
    let sign = if r > 0.0 {
        1.0
    } else if r < 0.0 {
        -1.0
    } else {
        0.0
    };
    let du_dr = (2.0 * r.abs() * den - num * 2.0 * sigma * sign) / (den * den);
    (s, [ds * 2.0 * dx / den, ds * 2.0 * dy / den, ds * du_dr])
}

/// The soft coverage of pixel `(px, py)` by call `v` of `kind` (not [`DrawKind::Mask`], which is a table), and,
/// when `grad` is given, its derivatives by the geometry slots added to `grad` times `scale`.
pub fn coverage(
    kind: DrawKind,
    v: &[f64; SLOTS],
    px: f64,
    py: f64,
    sigma: f64,
    grad: Option<(&mut [f64], f64)>,
) -> f64 {
    let inv = 1.0 / sigma;
    match kind {
        DrawKind::Cls | DrawKind::Mask => 1.0,
        DrawKind::Rect | DrawKind::Pset => {
            let (w, h) = if kind == DrawKind::Rect { (v[2], v[3]) } else { (1.0, 1.0) };
            let (cx, dx_lo, dx_hi) = span(px, v[0], v[0] + w - 1.0, inv);
            let (cy, dy_lo, dy_hi) = span(py, v[1], v[1] + h - 1.0, inv);
            if let Some((g, scale)) = grad {
                g[0] += scale * (dx_lo + dx_hi) * cy;
                g[1] += scale * (dy_lo + dy_hi) * cx;
                if kind == DrawKind::Rect {
                    g[2] += scale * dx_hi * cy;
                    g[3] += scale * dy_hi * cx;
                }
            }
            cx * cy
        }
        DrawKind::Circf => {
            let (c, d) = disc(px - v[0], py - v[1], v[2], sigma);
            if let Some((g, scale)) = grad {
                g[0] += scale * d[0];
                g[1] += scale * d[1];
                g[2] += scale * d[2];
            }
            c
        }
        DrawKind::Circ => {
            let (c, d) = disc(px - v[0], py - v[1], v[2], sigma);
            let mut n = [(0.0, [0.0; 3]); 4];
            for (k, (ox, oy)) in [(-1.0, 0.0), (1.0, 0.0), (0.0, -1.0), (0.0, 1.0)].into_iter().enumerate() {
                n[k] = disc(px + ox - v[0], py + oy - v[1], v[2], sigma);
            }
            let prod: f64 = n.iter().map(|(s, _)| s).product();
            if let Some((g, scale)) = grad {
                for j in 0..3 {
                    // d(prod) = Σ_k dn_k Π_{m≠k} n_m.
                    let mut dprod = 0.0;
                    for k in 0..4 {
                        let others: f64 = (0..4).filter(|&m| m != k).map(|m| n[m].0).product();
                        dprod += n[k].1[j] * others;
                    }
                    let dc = d[j] * (1.0 - prod) - c * dprod;
                    g[j] += scale * dc;
                }
            }
            c * (1.0 - prod)
        }
        DrawKind::Tri => tri(v, px, py, inv, grad),
        DrawKind::Line => line(v, px, py, inv, grad),
    }
}

fn tri(v: &[f64; SLOTS], px: f64, py: f64, inv: f64, grad: Option<(&mut [f64], f64)>) -> f64 {
    let area2 = (v[2] - v[0]) * (v[5] - v[1]) - (v[3] - v[1]) * (v[4] - v[0]);
    if area2 == 0.0 {
        return 0.0;
    }
    let s = area2.signum();
    let mut f = [0.0; 3];
    let mut df = [0.0; 3];
    // du_i / d(ax, ay, bx, by) for edge i.
    let mut du = [[0.0; 4]; 3];
    for i in 0..3 {
        let (a, b) = (i, (i + 1) % 3);
        let (ax, ay, bx, by) = (v[2 * a], v[2 * a + 1], v[2 * b], v[2 * b + 1]);
        let (ex, ey) = (bx - ax, by - ay);
        let len = (ex * ex + ey * ey).sqrt().max(1e-9);
        let e = ex * (py - ay) - ey * (px - ax);
        let num = s * e + 0.5;
        let u = num * inv / len;
        let (fi, dfi) = sig_d(u);
        f[i] = fi;
        df[i] = dfi;
        if grad.is_some() {
            // dE: ax → by - py, ay → px - bx, bx → py - ay, by → -(px - ax); dL: ∓ex/len, ∓ey/len.
            let de = [by - py, px - bx, py - ay, -(px - ax)];
            let dl = [-ex / len, -ey / len, ex / len, ey / len];
            for k in 0..4 {
                du[i][k] = s * de[k] * inv / len - num * inv / (len * len) * dl[k];
            }
        }
    }
    let c = f[0] * f[1] * f[2];
    if let Some((g, scale)) = grad {
        for i in 0..3 {
            let others = f[(i + 1) % 3] * f[(i + 2) % 3];
            let k = scale * df[i] * others;
            let (a, b) = (i, (i + 1) % 3);
            g[2 * a] += k * du[i][0];
            g[2 * a + 1] += k * du[i][1];
            g[2 * b] += k * du[i][2];
            g[2 * b + 1] += k * du[i][3];
        }
    }
    c
}

fn line(v: &[f64; SLOTS], px: f64, py: f64, inv: f64, grad: Option<(&mut [f64], f64)>) -> f64 {
    let (dx, dy) = (v[2] - v[0], v[3] - v[1]);
    if dx == 0.0 && dy == 0.0 {
        let p = [v[0], v[1], 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        return coverage(DrawKind::Pset, &p, px, py, 1.0 / inv, grad);
    }
    // x-major: the major axis is x (slot offset 0), else y (slot offset 1).
    let major = if dx.abs() >= dy.abs() { 0 } else { 1 };
    let minor = 1 - major;
    let (p_major, p_minor) = if major == 0 { (px, py) } else { (py, px) };
    let (a0, a1) = (v[major], v[2 + major]);
    let (b0, b1) = (v[minor], v[2 + minor]);
    let da = a1 - a0;
    // The span along the major axis.
    let (lo, hi) = (a0.min(a1), a0.max(a1));
    let (cs, d_lo, d_hi) = span(p_major, lo, hi, inv);
    // The offset across: e = p_minor - (b0 + (b1 - b0) t), t = (p_major - a0) / da.
    let t = (p_major - a0) / da;
    let e = p_minor - (b0 + (b1 - b0) * t);
    let (f1, df1) = sig_d((0.5 + LINE_TIE - e) * inv);
    let (f2, df2) = sig_d((0.5 - LINE_TIE + e) * inv);
    let c = cs * f1 * f2;
    if let Some((g, scale)) = grad {
        // dc/de.
        let dc_de = cs * (-df1 * inv * f2 + f1 * df2 * inv);
        // de/d(a0, b0, a1, b1).
        let db = b1 - b0;
        let de_a0 = -db * (p_major - a1) / (da * da);
        let de_a1 = db * (p_major - a0) / (da * da);
        let de_b0 = -(1.0 - t);
        let de_b1 = -t;
        let f12 = f1 * f2;
        // The span's lo/hi belong to whichever endpoint is smaller/larger.
        let (d_a0_span, d_a1_span) = if a0 <= a1 { (d_lo, d_hi) } else { (d_hi, d_lo) };
        g[major] += scale * (dc_de * de_a0 + d_a0_span * f12);
        g[2 + major] += scale * (dc_de * de_a1 + d_a1_span * f12);
        g[minor] += scale * dc_de * de_b0;
        g[2 + minor] += scale * dc_de * de_b1;
    }
    c
}

/// A triangle's edges, computed once per evaluation rather than per pixel: for each directed edge `a→b` its start,
/// direction, length, and `s/(|b-a| σ)` (see [`tri`], whose numbers these are).
#[derive(Debug, Clone, Copy)]
struct TriEdges {
    s: f64,
    inv: f64,
    edges: [(f64, f64, f64, f64, f64); 3],
}

impl TriEdges {
    fn new(v: &[f64; SLOTS], inv: f64) -> Option<TriEdges> {
        let area2 = (v[2] - v[0]) * (v[5] - v[1]) - (v[3] - v[1]) * (v[4] - v[0]);
        if area2 == 0.0 {
            return None;
        }
        let edges = std::array::from_fn(|i| {
            let (a, b) = (i, (i + 1) % 3);
            let (ax, ay, ex, ey) = (v[2 * a], v[2 * a + 1], v[2 * b] - v[2 * a], v[2 * b + 1] - v[2 * a + 1]);
            (ax, ay, ex, ey, (ex * ex + ey * ey).sqrt().max(1e-9))
        });
        Some(TriEdges { s: area2.signum(), inv, edges })
    }

    /// The coverage at `(px, py)` and each edge's logistic factor and its derivative.
    #[inline]
    fn coverage(&self, px: f64, py: f64) -> (f64, [f64; 3], [f64; 3]) {
        let (mut f, mut df) = ([0.0; 3], [0.0; 3]);
        for (i, &(ax, ay, ex, ey, len)) in self.edges.iter().enumerate() {
            let e = ex * (py - ay) - ey * (px - ax);
            (f[i], df[i]) = sig_d((self.s * e + 0.5) * self.inv / len);
        }
        (f[0] * f[1] * f[2], f, df)
    }

    /// Adds the coverage's derivatives by the six coordinates times `scale` to `g`, from the factors
    /// [`TriEdges::coverage`] gave at the same pixel (the numbers of [`tri`]).
    #[inline]
    fn gradient(&self, px: f64, py: f64, f: &[f64; 3], df: &[f64; 3], g: &mut [f64], scale: f64) {
        for (i, &(ax, ay, ex, ey, len)) in self.edges.iter().enumerate() {
            let (bx, by) = (ax + ex, ay + ey);
            let num = self.s * (ex * (py - ay) - ey * (px - ax)) + 0.5;
            let de = [by - py, px - bx, py - ay, -(px - ax)];
            let dl = [-ex / len, -ey / len, ex / len, ey / len];
            let k = scale * df[i] * f[(i + 1) % 3] * f[(i + 2) % 3];
            let (a, b) = (i, (i + 1) % 3);
            let du = |j: usize| self.s * de[j] * self.inv / len - num * self.inv / (len * len) * dl[j];
            g[2 * a] += k * du(0);
            g[2 * a + 1] += k * du(1);
            g[2 * b] += k * du(2);
            g[2 * b + 1] += k * du(3);
        }
    }
}

/// A call covering a pixel, as the forward pass leaves it for the backward pass: the call, the colour under it,
/// its coverage, and a triangle's edge factors and their derivatives.
type Layer = (usize, [f64; 3], f64, [f64; 3], [f64; 3]);

/// The target and what the loss weighs, shared by every evaluation of one refinement.
#[derive(Debug, Clone)]
pub struct SoftTarget {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// RGB per pixel, 0..255, row-major.
    pub rgb: Vec<[f32; 3]>,
    /// The weight of each pixel in the loss (all 1 for the plain mean squared error).
    pub weight: Vec<f32>,
}

impl SoftTarget {
    /// The target `canvas` with plain weights, or with `1 + edge · |∇t|/255` (the target's gradient magnitude,
    /// central differences over the channel sum / 3) when `edge` is positive.
    pub fn new(canvas: &gvpie_raster::Canvas, edge: f64) -> SoftTarget {
        let (width, height) = (canvas.width(), canvas.height());
        let rgb: Vec<[f32; 3]> = canvas
            .pixels()
            .iter()
            .map(|&p| [(p & 0xFF) as f32, (p >> 8 & 0xFF) as f32, (p >> 16 & 0xFF) as f32])
            .collect();
        let (w, h) = (width as usize, height as usize);
        let lum = |x: usize, y: usize| -> f64 { rgb[y * w + x].iter().map(|&c| f64::from(c)).sum::<f64>() / 3.0 };
        let weight = (0..w * h)
            .map(|i| {
                if edge <= 0.0 {
                    return 1.0;
                }
                let (x, y) = (i % w, i / w);
                let gx = lum((x + 1).min(w - 1), y) - lum(x.saturating_sub(1), y);
                let gy = lum(x, (y + 1).min(h - 1)) - lum(x, y.saturating_sub(1));
                (1.0 + edge * (gx * gx + gy * gy).sqrt() / 2.0 / 255.0) as f32
            })
            .collect();
        SoftTarget { width, height, rgb, weight }
    }
}

/// One evaluation: the loss and, per drawing call, the derivatives by its [`SLOTS`] numbers.
#[derive(Debug, Clone, Default)]
pub struct SoftResult {
    /// The loss (see the module docs).
    pub loss: f64,
    /// Per call, the loss's derivative by each slot (colour slots by the unclamped values).
    pub grads: Vec<[f64; SLOTS]>,
}

/// Rows of one unit of work of [`evaluate`]: small enough that threads share uneven rows well, large enough that
/// a unit's partial sums cost little.
const ROWS_PER_CHUNK: usize = 4;

/// Evaluates the soft render of `draws` (each with its slot values resolved) against `target` with softness
/// `sigma`, on `threads` threads. Rows are cut into chunks of [`ROWS_PER_CHUNK`] that the threads take in turn
/// (shapes cover rows unevenly: fixed bands left most threads waiting for one), and the chunks' sums are added in
/// row order, so the result is the same, to the last bit, whatever the number of threads.
pub fn evaluate(target: &SoftTarget, masks: &[Vec<bool>], draws: &[Call], sigma: f64, threads: usize) -> SoftResult {
    let (w, h) = (target.width, target.height);
    let boxes: Vec<(i64, i64, i64, i64)> = draws.iter().map(|(k, _, v)| bounds(*k, v, sigma, w, h)).collect();
    let triangles: Vec<Option<TriEdges>> =
        draws.iter().map(|(k, _, v)| if *k == DrawKind::Tri { TriEdges::new(v, 1.0 / sigma) } else { None }).collect();
    let weight_sum: f64 = target.weight.iter().map(|&x| f64::from(x)).sum::<f64>().max(1e-12);
    let norm = 1.0 / (3.0 * 255.0 * 255.0 * weight_sum);
    let n_chunks = (h as usize).div_ceil(ROWS_PER_CHUNK);
    let threads = threads.clamp(1, n_chunks.max(1));
    let work = |rows: std::ops::Range<usize>| -> SoftResult {
        let mut out = SoftResult { loss: 0.0, grads: vec![[0.0; SLOTS]; draws.len()] };
        let mut stack: Vec<Layer> = Vec::new();
        for y in rows {
            let active: Vec<usize> =
                (0..draws.len()).filter(|&k| boxes[k].1 <= y as i64 && y as i64 <= boxes[k].3).collect();
            for x in 0..w as usize {
                let (px, py) = (x as f64, y as f64);
                let pixel = y * w as usize + x;
                stack.clear();
                let mut d = [0.0f64; 3];
                for &k in &active {
                    let (kind, mask, v) = &draws[k];
                    if (x as i64) < boxes[k].0 || (x as i64) > boxes[k].2 {
                        continue;
                    }
                    let (c, f, df) = match kind {
                        DrawKind::Mask => {
                            if masks.get(*mask as usize).and_then(|m| m.get(pixel)).copied().unwrap_or(false) {
                                (1.0, [0.0; 3], [0.0; 3])
                            } else {
                                continue;
                            }
                        }
                        DrawKind::Tri => match &triangles[k] {
                            Some(t) => t.coverage(px, py),
                            None => (0.0, [0.0; 3], [0.0; 3]),
                        },
                        _ => (coverage(*kind, v, px, py, sigma, None), [0.0; 3], [0.0; 3]),
                    };
                    stack.push((k, d, c, f, df));
                    let s = channels(v);
                    if *kind == DrawKind::Cls {
                        d = s;
                    } else {
                        let m = c * alpha(v);
                        for ch in 0..3 {
                            d[ch] += m * (s[ch] - d[ch]);
                        }
                    }
                }
                let t = target.rgb[pixel];
                let wt = f64::from(target.weight[pixel]);
                let mut g = [0.0f64; 3];
                for ch in 0..3 {
                    let diff = d[ch] - f64::from(t[ch]);
                    out.loss += wt * diff * diff * norm;
                    g[ch] = 2.0 * wt * diff * norm;
                }
                for &(k, prev, c, f, df) in stack.iter().rev() {
                    let (kind, _, v) = &draws[k];
                    let s = channels(v);
                    let gk = &mut out.grads[k];
                    if *kind == DrawKind::Cls {
                        for ch in 0..3 {
                            if (0.0..=255.0).contains(&v[COLOR_SLOT + ch]) {
                                gk[COLOR_SLOT + ch] += g[ch];
                            }
                        }
                        break;
                    }
                    let a = alpha(v);
                    let m = c * a;
                    let mut dm = 0.0;
                    for ch in 0..3 {
                        dm += g[ch] * (s[ch] - prev[ch]);
                        if (0.0..=255.0).contains(&v[COLOR_SLOT + ch]) {
                            gk[COLOR_SLOT + ch] += g[ch] * m;
                        }
                    }
                    if (0.0..=255.0).contains(&v[COLOR_SLOT + 3]) {
                        gk[COLOR_SLOT + 3] += dm * c / 255.0;
                    }
                    let dc = dm * a;
                    if dc != 0.0 && *kind != DrawKind::Mask {
                        match (&triangles[k], kind) {
                            (Some(t), DrawKind::Tri) => t.gradient(px, py, &f, &df, &mut gk[..COLOR_SLOT], dc),
                            (None, DrawKind::Tri) => {}
                            _ => {
                                coverage(*kind, v, px, py, sigma, Some((&mut gk[..COLOR_SLOT], dc)));
                            }
                        }
                    }
                    for gc in &mut g {
                        *gc *= 1.0 - m;
                    }
                }
            }
        }
        out
    };
    let chunk_rows = |c: usize| c * ROWS_PER_CHUNK..((c + 1) * ROWS_PER_CHUNK).min(h as usize);
    let parts: Vec<SoftResult> = if threads == 1 {
        (0..n_chunks).map(|c| work(chunk_rows(c))).collect()
    } else {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let mut done: Vec<(usize, SoftResult)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut mine = Vec::new();
                        loop {
                            let c = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if c >= n_chunks {
                                break mine;
                            }
                            mine.push((c, work(chunk_rows(c))));
                        }
                    })
                })
                .collect();
            handles.into_iter().flat_map(|handle| handle.join().unwrap_or_default()).collect()
        });
        done.sort_by_key(|(c, _)| *c);
        done.into_iter().map(|(_, part)| part).collect()
    };
    let mut total = SoftResult { loss: 0.0, grads: vec![[0.0; SLOTS]; draws.len()] };
    for part in parts {
        total.loss += part.loss;
        for (t, p) in total.grads.iter_mut().zip(&part.grads) {
            for (a, b) in t.iter_mut().zip(p) {
                *a += b;
            }
        }
    }
    total
}

/// The call's colour channels, clamped to 0..255.
#[inline]
fn channels(v: &[f64; SLOTS]) -> [f64; 3] {
    [v[COLOR_SLOT].clamp(0.0, 255.0), v[COLOR_SLOT + 1].clamp(0.0, 255.0), v[COLOR_SLOT + 2].clamp(0.0, 255.0)]
}

/// The call's alpha as a fraction.
#[inline]
fn alpha(v: &[f64; SLOTS]) -> f64 {
    v[COLOR_SLOT + 3].clamp(0.0, 255.0) / 255.0
}

/// The draw list of `scene` with the parameters at `values`, as [`evaluate`] takes it.
pub fn resolve(draws: &[Draw], values: &[f64]) -> Vec<Call> {
    draws.iter().map(|d| (d.kind, d.mask, d.resolved(values))).collect()
}
