//! Scoring a shape before drawing it: per-row prefix sums that give the best colour and the error change of a
//! candidate shape in time proportional to its rows, not its area.
//!
//! This module owns the target, the current canvas and the exact squared error of every row. It does not search
//! (see `image_goal`) and it does not read or write files.
//!
//! # The estimate
//!
//! Blending colour `c` with alpha `a` onto a pixel `p` gives `(c·a + p·(255 − a) + 127) / 255` (integer division).
//! Dropping the rounding, `255 · new = a·c + (255 − a)·p`, so for a target `t` and `e = t − p` the scaled residual
//! after the shape is `255·e + a·(p − c)`, and before it is `255·e`. Summed over the `n` covered pixels, the change
//! of the squared error, in units of `1/255²`, is
//!
//! `Σ_channels 510·a·(Σep − c·Σe) + a²·(Σp² − 2c·Σp + c²·n)`.
//!
//! * For a fixed alpha, the least-squares colour of a channel is `c = p̄ + 255·ē / a`, rounded and clamped to
//!   `0..=255` (the error is a convex parabola in `c`, so clamping the optimum is optimal among clamped values).
//! * With the alpha solved too (primitive's `-a 0`), `t ≈ β·p + k` is a linear regression with one slope `β`
//!   shared by the channels: `β = Σ_ch cov(t, p) / Σ_ch var(p)` and `a = 255·(1 − β)`, rounded and clamped to the
//!   allowed range; the colour then follows as for a fixed alpha.
//!
//! `Σe`, `Σp` (per channel), `Σep` and `Σp²` (over the channels) are kept as prefix sums along every row, so a
//! shape made of row spans costs two look-ups per row. The estimate ignores the blend's rounding (at most half a
//! level per channel); the shape that wins is then drawn with the reference rasterizer and the exact error of its
//! rows is recomputed, so the kept image and its score are always exact.

use gvpie_raster::{Canvas, Rgba};

use crate::shape::Shape;

/// A prefix entry: sums over the pixels of a row to the left of a column. Every sum is bounded by
/// `3 · 255² · 4096 < 2^30` in size, so `i32` holds it.
#[derive(Copy, Clone, Default, Debug)]
struct Entry {
    /// `Σe` per channel.
    e: [i32; 3],
    /// `Σp` per channel.
    p: [i32; 3],
    /// `Σe·p` over the channels.
    ep: i32,
    /// `Σp²` over the channels.
    pp: i32,
}

/// The sums of [`Entry`] over the pixels of a shape.
#[derive(Copy, Clone, Default, Debug)]
struct Sums {
    n: i64,
    e: [i64; 3],
    p: [i64; 3],
    ep: i64,
    pp: i64,
}

/// The best colour for a shape and the change of the scaled squared error that it would cause.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Scored {
    /// Estimated change of the total squared error, in units of `1/255²` of a squared 8-bit level; negative is an
    /// improvement.
    pub delta: i64,
    /// The colour.
    pub color: Rgba,
    /// Pixels covered.
    pub n_pixels: u32,
}

/// The current canvas, the target and the bookkeeping that scores shapes against them.
#[derive(Clone, Debug)]
pub struct ErrorTable {
    target: Canvas,
    current: Canvas,
    /// The fixed alpha, or 0 to solve it per shape.
    alpha: u8,
    /// The smallest alpha a solved alpha may take.
    min_alpha: u8,
    /// `height` rows of `width + 1` entries each.
    prefix: Vec<Entry>,
    /// The exact `Σ(t − p)²` over the three channels of each row.
    row_sse: Vec<u64>,
}

#[inline]
fn channels(pixel: u32) -> [i32; 3] {
    [(pixel & 0xFF) as i32, (pixel >> 8 & 0xFF) as i32, (pixel >> 16 & 0xFF) as i32]
}

/// The solved alpha of the module docs in exact integers, so that every device computes the same one (the GPU's
/// shape scorer does, in 64 bits): with `nV = n·Σp² − Σ_ch (Σp)²` (n times the variance of `p`) and
/// `D = Σ_ch Σe·Σp − n·Σep` (n times variance minus covariance), `a = 255·(1 − β) = 255·D / nV`, rounded half up
/// and clamped to `min_alpha..=255`. A flat patch (variance at most ½) is painted over opaquely.
#[inline]
fn solved_alpha<T>(s: &Sums, min_alpha: u8) -> i64
where
    T: Copy
        + From<i64>
        + std::ops::Add<Output = T>
        + std::ops::Sub<Output = T>
        + std::ops::Mul<Output = T>
        + PartialOrd,
{
    let n = T::from(s.n);
    let mut n_var = n * T::from(s.pp);
    let mut d = T::from(0) - n * T::from(s.ep);
    for ch in 0..3 {
        let (e, p) = (T::from(s.e[ch]), T::from(s.p[ch]));
        n_var = n_var - p * p;
        d = d + e * p;
    }
    if T::from(2) * n_var <= n {
        return 255;
    }
    let min_alpha = i64::from(min_alpha.max(1));
    // floor((510·D + nV) / (2·nV)) >= k exactly when (2k − 1)·nV <= 510·D: the largest such k in 1..=255.
    let d510 = T::from(510) * d;
    if n_var > d510 {
        return min_alpha;
    }
    let mut k = 0i64;
    let mut bit = 128;
    while bit > 0 {
        let candidate = k | bit;
        if T::from(2 * candidate - 1) * n_var <= d510 {
            k = candidate;
        }
        bit >>= 1;
    }
    k.clamp(min_alpha, 255)
}

impl ErrorTable {
    /// A table for drawing onto `current` towards `target` with shapes of alpha `alpha` (1..=255), or with the
    /// alpha solved per shape (at least `min_alpha`) when `alpha` is 0. Both canvases must have the same size (the
    /// caller checks).
    pub fn new(target: Canvas, current: Canvas, alpha: u8, min_alpha: u8) -> ErrorTable {
        debug_assert_eq!((target.width(), target.height()), (current.width(), current.height()));
        let (w, h) = (target.width() as usize, target.height() as usize);
        let mut table = ErrorTable {
            target,
            current,
            alpha,
            min_alpha: min_alpha.max(1),
            prefix: vec![Entry::default(); h * (w + 1)],
            row_sse: vec![0; h],
        };
        for y in 0..h {
            table.refresh_row(y);
        }
        table
    }

    /// The canvas drawn so far.
    pub fn current(&self) -> &Canvas {
        &self.current
    }

    /// The target image.
    pub fn target(&self) -> &Canvas {
        &self.target
    }

    /// The prefix table as words, row by row, `width + 1` entries of 8 words each (Σe and Σp per channel, Σe·p and
    /// Σp² over the channels): what a batch scorer on another device (`gvpie-gpu`'s shape scorer) uploads.
    pub fn prefix_words(&self) -> Vec<i32> {
        let mut words = Vec::with_capacity(self.prefix.len() * 8);
        for entry in &self.prefix {
            words.extend_from_slice(&entry.e);
            words.extend_from_slice(&entry.p);
            words.push(entry.ep);
            words.push(entry.pp);
        }
        words
    }

    /// The fixed alpha of the shapes, or 0 when it is solved per shape.
    pub fn alpha(&self) -> u8 {
        self.alpha
    }

    /// The smallest alpha a solved alpha may take (at least 1).
    pub fn min_alpha(&self) -> u8 {
        self.min_alpha
    }

    /// The exact sum of squared channel differences between the current canvas and the target.
    pub fn sse(&self) -> u64 {
        self.row_sse.iter().sum()
    }

    /// The root mean square error over the RGB channels, scaled to 0..1 (primitive's score).
    pub fn rmse(&self) -> f64 {
        rmse_from_sse(self.sse(), self.target.width(), self.target.height())
    }

    fn refresh_row(&mut self, y: usize) {
        let w = self.target.width() as usize;
        let row = y * w..(y + 1) * w;
        let (target, current) = (&self.target.pixels()[row.clone()], &self.current.pixels()[row]);
        let base = y * (w + 1);
        let mut acc = Entry::default();
        let mut sse = 0u64;
        self.prefix[base] = acc;
        for (x, (&t, &p)) in target.iter().zip(current).enumerate() {
            let (t, p) = (channels(t), channels(p));
            for ch in 0..3 {
                let e = t[ch] - p[ch];
                acc.e[ch] += e;
                acc.p[ch] += p[ch];
                acc.ep += e * p[ch];
                acc.pp += p[ch] * p[ch];
                sse += (e * e) as u64;
            }
            self.prefix[base + x + 1] = acc;
        }
        self.row_sse[y] = sse;
    }

    /// Scores `shape` with the estimate of the module docs, or `None` if it covers no pixel.
    #[inline]
    pub fn score(&self, shape: &Shape) -> Option<Scored> {
        let (w, h) = (self.target.width(), self.target.height());
        let stride = w as usize + 1;
        let mut sums = Sums::default();
        shape.for_each_span(w, h, |y, lo, hi| {
            let base = y as usize * stride;
            // The spans are clipped to the canvas, so these indices are in range.
            let left = &self.prefix[base + lo as usize];
            let right = &self.prefix[base + hi as usize + 1];
            sums.n += i64::from(hi - lo + 1);
            for ch in 0..3 {
                sums.e[ch] += i64::from(right.e[ch] - left.e[ch]);
                sums.p[ch] += i64::from(right.p[ch] - left.p[ch]);
            }
            sums.ep += i64::from(right.ep - left.ep);
            sums.pp += i64::from(right.pp - left.pp);
        });
        (sums.n > 0).then(|| self.finish(&sums))
    }

    /// The alpha to use for a shape with these sums: the fixed one, or the regression of the module docs.
    #[inline]
    fn solve_alpha(&self, s: &Sums) -> i64 {
        if self.alpha != 0 {
            return i64::from(self.alpha);
        }
        // Below 2^17 pixels every product fits i64 (|510·D| < 2·510·3·255²·n²); larger shapes (on canvases over
        // 256x512) take i128. Both are the same exact integers.
        if s.n < 1 << 17 { solved_alpha::<i64>(s, self.min_alpha) } else { solved_alpha::<i128>(s, self.min_alpha) }
    }

    /// The colour and error change from the sums of the covered pixels.
    #[inline]
    fn finish(&self, s: &Sums) -> Scored {
        let a = self.solve_alpha(s);
        let an = a * s.n;
        let mut color = [0u8; 3];
        let mut linear = s.ep;
        let mut quadratic = s.pp;
        for (ch, slot) in color.iter_mut().enumerate() {
            // c = p̄ + 255·ē/a = (a·Σp + 255·Σe) / (a·n), rounded half up and clamped.
            let c = (2 * (a * s.p[ch] + 255 * s.e[ch]) + an).div_euclid(2 * an).clamp(0, 255);
            *slot = c as u8;
            linear -= c * s.e[ch];
            quadratic += c * (c * s.n - 2 * s.p[ch]);
        }
        let delta = 510 * a * linear + a * a * quadratic;
        Scored { delta, color: Rgba::new(color[0], color[1], color[2], a as u8), n_pixels: s.n as u32 }
    }

    /// Scores `shape` pixel by pixel with the exact blend, the way a plain implementation would: the colour (and
    /// alpha) from the same closed form, then the true change of `Σ(t − p)²` in squared 8-bit levels (not scaled).
    /// `None` if it covers no pixel. Used by the plain baseline and by tests.
    pub fn score_exact(&self, shape: &Shape) -> Option<(i64, Rgba)> {
        let (w, h) = (self.target.width(), self.target.height());
        let (target, current) = (self.target.pixels(), self.current.pixels());
        let mut sums = Sums::default();
        shape.for_each_span(w, h, |y, lo, hi| {
            let base = y as usize * w as usize;
            for x in lo..=hi {
                let (t, p) = (channels(target[base + x as usize]), channels(current[base + x as usize]));
                sums.n += 1;
                for ch in 0..3 {
                    let (e, p) = (i64::from(t[ch] - p[ch]), i64::from(p[ch]));
                    sums.e[ch] += e;
                    sums.p[ch] += p;
                    sums.ep += e * p;
                    sums.pp += p * p;
                }
            }
        });
        if sums.n == 0 {
            return None;
        }
        let color = self.finish(&sums).color;
        let mut delta: i64 = 0;
        shape.for_each_span(w, h, |y, lo, hi| {
            let base = y as usize * w as usize;
            for x in lo..=hi {
                let i = base + x as usize;
                let (t, p) = (channels(target[i]), channels(current[i]));
                let q = channels(gvpie_raster::color::blend(current[i], color));
                for ch in 0..3 {
                    let (before, after) = (t[ch] - p[ch], t[ch] - q[ch]);
                    delta += i64::from(after * after - before * before);
                }
            }
        });
        Some((delta, color))
    }

    /// Draws `shape` in `color` with the reference rasterizer and brings the sums of the rows it touched up to
    /// date.
    pub fn draw(&mut self, shape: &Shape, color: Rgba) {
        shape.draw(&mut self.current, color);
        let (lo, hi) = shape.row_range(self.target.height());
        for y in lo.max(0)..=hi {
            self.refresh_row(y as usize);
        }
    }
}

/// The RMSE over RGB, scaled to 0..1, of a sum of squared 8-bit channel differences over a `width` x `height`
/// image.
pub fn rmse_from_sse(sse: u64, width: u32, height: u32) -> f64 {
    let n = 3.0 * f64::from(width) * f64::from(height);
    (sse as f64 / n).sqrt() / 255.0
}

/// The sum of squared 8-bit channel differences over RGB between two canvases of the same size; `None` if the
/// sizes differ.
pub fn sse(a: &Canvas, b: &Canvas) -> Option<u64> {
    if (a.width(), a.height()) != (b.width(), b.height()) {
        return None;
    }
    let sum = a
        .pixels()
        .iter()
        .zip(b.pixels())
        .map(|(&p, &q)| {
            let (p, q) = (channels(p), channels(q));
            (0..3).map(|ch| ((p[ch] - q[ch]) * (p[ch] - q[ch])) as u64).sum::<u64>()
        })
        .sum();
    Some(sum)
}

/// The RMSE over RGB, scaled to 0..1, between two canvases of the same size (primitive's score); `None` if the
/// sizes differ.
pub fn rmse(a: &Canvas, b: &Canvas) -> Option<f64> {
    sse(a, b).map(|sum| rmse_from_sse(sum, a.width(), a.height()))
}

/// The average colour of an image, rounded (the starting `CLS` colour).
pub fn average_color(image: &Canvas) -> [u8; 3] {
    let mut sum = [0u64; 3];
    for &p in image.pixels() {
        let c = channels(p);
        for ch in 0..3 {
            sum[ch] += c[ch] as u64;
        }
    }
    let n = image.pixels().len() as u64;
    // Each average is at most 255, so the cast is lossless.
    sum.map(|s| ((2 * s + n) / (2 * n)) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::shape::ShapeKinds;

    fn noise(w: u32, h: u32, seed: u64) -> Canvas {
        let mut rng = Rng::new(seed);
        let bytes: Vec<u8> = (0..w * h * 4).map(|_| rng.below(256) as u8).collect();
        Canvas::from_rgba8(w, h, &bytes).expect("size")
    }

    #[test]
    fn estimate_is_close_to_exact_and_draw_keeps_sse_exact() {
        for alpha in [128, 0] {
            check_estimate(alpha);
        }
    }

    fn check_estimate(alpha: u8) {
        let target = noise(40, 30, 1);
        let mut current = Canvas::new(40, 30).expect("size");
        current.clear(Rgba::new(100, 90, 80, 255));
        let mut table = ErrorTable::new(target.clone(), current, alpha, 1);
        let mut rng = Rng::new(2);
        for _ in 0..200 {
            let shape = Shape::random(ShapeKinds::Both, 40, 30, &mut rng).mutate(40, 30, &mut rng);
            let (Some(est), Some((exact, color))) = (table.score(&shape), table.score_exact(&shape)) else {
                continue;
            };
            assert_eq!(est.color, color);
            // Rounding moves each channel by at most one level: |Δ| <= n·3·(2·255 + 1)·255².
            let scaled = exact * 65025;
            let slack = i64::from(est.n_pixels) * 3 * 511 * 65025;
            assert!((est.delta - scaled).abs() <= slack, "estimate {} exact {}", est.delta, scaled);
            table.draw(&shape, color);
            assert_eq!(Some(table.sse()), sse(&target, table.current()));
        }
    }

    /// The solved alpha in integers is the rounded regression: the same as a division in i128, and within one
    /// level of the floating-point formula it replaced.
    #[test]
    fn solved_alpha_is_the_rounded_regression() {
        let mut rng = Rng::new(9);
        for round in 0..20_000 {
            let n = 1 + rng.below(if round % 2 == 0 { 400 } else { 200_000 }) as i64;
            let mut s = Sums { n, ..Sums::default() };
            let (mut ep, mut pp) = (0i64, 0i64);
            // Sums of n pixels drawn around a random level (some flat, some spread), as a shape would cover.
            let spread = [0, 1, 3, 40, 255][rng.below(5) as usize];
            for ch in 0..3 {
                let (level, target) = (rng.below(256) as i64, rng.below(256) as i64);
                let (mut sp, mut se) = (0i64, 0i64);
                for i in 0..n.min(64) {
                    let p = (level + (i % 7 - 3) * spread / 3).clamp(0, 255);
                    let t = (target + (i % 5 - 2) * rng.below(spread as u32 + 1) as i64).clamp(0, 255);
                    let weight = n / n.min(64) + i64::from(i < n % n.min(64));
                    sp += p * weight;
                    se += (t - p) * weight;
                    ep += (t - p) * p * weight;
                    pp += p * p * weight;
                }
                s.e[ch] = se;
                s.p[ch] = sp;
            }
            s.ep = ep;
            s.pp = pp;
            let min_alpha = [1u8, 20][round % 2];
            let solved =
                if n < 1 << 17 { solved_alpha::<i64>(&s, min_alpha) } else { solved_alpha::<i128>(&s, min_alpha) };
            assert_eq!(solved, solved_alpha::<i128>(&s, min_alpha), "{s:?}");
            let (nn, mut n_var, mut d) =
                (i128::from(n), i128::from(n) * i128::from(pp), -i128::from(n) * i128::from(ep));
            for ch in 0..3 {
                n_var -= i128::from(s.p[ch]) * i128::from(s.p[ch]);
                d += i128::from(s.e[ch]) * i128::from(s.p[ch]);
            }
            let by_division = if 2 * n_var <= nn {
                255
            } else {
                (510 * d + n_var).div_euclid(2 * n_var).clamp(i128::from(min_alpha), 255) as i64
            };
            assert_eq!(solved, by_division, "{s:?}");
            // The floating-point regression of the module docs.
            let nf = n as f64;
            let (mut cov, mut var) = ((ep + pp) as f64, pp as f64);
            for ch in 0..3 {
                let (se, sp) = (s.e[ch] as f64, s.p[ch] as f64);
                cov -= (se + sp) * sp / nf;
                var -= sp * sp / nf;
            }
            let beta = if var > 0.5 { cov / var } else { 0.0 };
            let float = (255.0 * (1.0 - beta)).round().clamp(f64::from(min_alpha), 255.0) as i64;
            assert!((solved - float).abs() <= 1, "integer {solved} float {float}: {s:?}");
        }
    }

    #[test]
    fn average_and_rmse() {
        let mut a = Canvas::new(2, 1).expect("size");
        a.pset(0, 0, Rgba::new(255, 0, 10, 255));
        assert_eq!(average_color(&a), [128, 0, 5]);
        let b = Canvas::new(2, 1).expect("size");
        let expected = ((255.0f64 * 255.0 + 100.0) / 6.0).sqrt() / 255.0;
        assert!((rmse(&a, &b).expect("same size") - expected).abs() < 1e-12);
        assert_eq!(rmse(&a, &Canvas::new(1, 1).expect("size")), None);
    }
}
