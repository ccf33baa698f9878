//! Lines, circles and filled triangles.
//!
//! This module adds [`Canvas::line`], [`Canvas::circle`] and
//! [`Canvas::triangle`]. It does not do anti-aliasing, thick strokes or
//! sub-pixel positions: every rule below is exact integer (`i32`) arithmetic
//! on integer pixel coordinates, so the GPU backend can reproduce it bit for
//! bit. Each shape blends every pixel it covers exactly once per call (see
//! `color` for the blending rule), and never panics for any `i32` input.
//!
//! # Coordinate clamp
//!
//! Before anything else, shape coordinates are clamped to
//! `[-COORD_LIMIT, COORD_LIMIT]` (and a circle's radius to at most
//! `COORD_LIMIT`). The drawn shape is the one with the clamped coordinates:
//! for a point far off the canvas this changes which pixels a line or
//! triangle covers (its slope changes), which is the documented behaviour.
//! The clamp is what keeps every product below inside `i32`.
//!
//! # LINE
//!
//! `dx = x1 - x0`, `dy = y1 - y0`.
//!
//! * If `|dx| >= |dy|` (x-major, which includes a single point): order the
//!   endpoints so that `x0 <= x1`, swapping both points if needed. If
//!   `dx == 0`, plot the single pixel `(x0, y0)`. Otherwise, for every `x` in
//!   `[x0, x1]` (only the part inside the canvas is visited), with
//!   `t = x - x0`, plot `(x, y0 + floor_div(2*dy*t + dx, 2*dx))` if it is on
//!   the canvas.
//! * Otherwise (y-major) the same with x and y swapped: order so that
//!   `y0 <= y1`, and for every `y` plot
//!   `(x0 + floor_div(2*dx*t + dy, 2*dy), y)`.
//!
//! Both endpoints are always plotted, and because the endpoints are ordered
//! first, `line(a, b)` and `line(b, a)` cover the same pixels.
//!
//! # CIRC
//!
//! Clamp `cx`, `cy`; clamp `r` to at most `COORD_LIMIT`; `r < 0` draws
//! nothing. `inside(px, py) := (px-cx)^2 + (py-cy)^2 <= r^2`.
//!
//! * Filled: every canvas pixel that is `inside`.
//! * Outline: every canvas pixel that is `inside` and has at least one of
//!   its 4 neighbours `(px±1, py)`, `(px, py±1)` not `inside` (neighbours may
//!   lie off the canvas; the formula is evaluated anyway).
//!
//! `r == 0` gives just the centre pixel either way. The implementation walks
//! rows: on row `py` the inside pixels are exactly
//! `|px - cx| <= isqrt(r^2 - (py-cy)^2)` (exact integer square root), which
//! turns both cases into at most two runs per row with no per-pixel test.
//!
//! # TRI
//!
//! Clamp all coordinates. `area2 = (x1-x0)*(y2-y0) - (y1-y0)*(x2-x0)`;
//! `area2 == 0` draws nothing; if `area2 < 0`, swap vertices 1 and 2. A pixel
//! `(px, py)` (integer coordinates, no half-pixel offset) is covered iff for
//! each directed edge `a -> b` in `v0 -> v1`, `v1 -> v2`, `v2 -> v0`:
//! `(bx-ax)*(py-ay) - (by-ay)*(px-ax) >= 0`, so edges and vertices are
//! included. The implementation solves each edge inequality for `px` on each
//! row (with floor division) instead of testing every pixel; the covered set
//! is identical.

use crate::canvas::Canvas;
use crate::color::Rgba;

/// Shape coordinates are clamped to `[-COORD_LIMIT, COORD_LIMIT]` before
/// drawing; see the [module docs](self).
pub const COORD_LIMIT: i32 = 8192;

#[inline]
fn clamp(v: i32) -> i32 {
    v.clamp(-COORD_LIMIT, COORD_LIMIT)
}

/// Floor division for a positive divisor. For `d > 0` Euclidean division
/// is exactly floor division, and it cannot overflow.
#[inline]
fn floor_div(n: i32, d: i32) -> i32 {
    debug_assert!(d > 0);
    n.div_euclid(d)
}

/// The canvas side as `i32` (sides are at most 4096, so this is lossless).
#[inline]
fn side(v: u32) -> i32 {
    v as i32
}

impl Canvas {
    /// Draws a one-pixel-wide line from `(x0, y0)` to `(x1, y1)`, both
    /// endpoints included, following the LINE rule in the
    /// [`shapes`](crate::shapes) module docs.
    pub fn line(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, color: Rgba) {
        let (x0, y0, x1, y1) = (clamp(x0), clamp(y0), clamp(x1), clamp(y1));
        // |dx|, |dy| <= 2 * COORD_LIMIT, so these cannot overflow.
        if (x1 - x0).abs() >= (y1 - y0).abs() {
            let (x0, y0, x1, y1) = if x0 <= x1 { (x0, y0, x1, y1) } else { (x1, y1, x0, y0) };
            let (dx, dy) = (x1 - x0, y1 - y0);
            if dx == 0 {
                self.pset(x0, y0, color);
                return;
            }
            for x in x0.max(0)..=x1.min(side(self.width()) - 1) {
                let t = x - x0;
                // |2*dy*t| <= 2 * 2^14 * 2^14 = 2^29: fits i32.
                let y = y0 + floor_div(2 * dy * t + dx, 2 * dx);
                self.pset(x, y, color);
            }
        } else {
            let (x0, y0, x1, y1) = if y0 <= y1 { (x0, y0, x1, y1) } else { (x1, y1, x0, y0) };
            // dy > 0 here, because |dy| > |dx| >= 0.
            let (dx, dy) = (x1 - x0, y1 - y0);
            for y in y0.max(0)..=y1.min(side(self.height()) - 1) {
                let t = y - y0;
                let x = x0 + floor_div(2 * dx * t + dy, 2 * dy);
                self.pset(x, y, color);
            }
        }
    }

    /// Draws a circle of radius `r` centred on `(cx, cy)`, filled or as a
    /// one-pixel outline, following the CIRC rule in the
    /// [`shapes`](crate::shapes) module docs.
    pub fn circle(&mut self, cx: i32, cy: i32, r: i32, filled: bool, color: Rgba) {
        if r < 0 {
            return;
        }
        let (cx, cy, r) = (clamp(cx), clamp(cy), r.min(COORD_LIMIT));
        // Half-width of the inside run on row py, or -1 if the row has none.
        // |py - cy| <= 4097 + 8192 for any row looked at, so d*d < 2^28, and
        // r*r <= 2^26: all in i32.
        let half = |py: i32| -> i32 {
            let d = py - cy;
            if d.abs() > r {
                return -1;
            }
            // 0 <= r*r - d*d <= 2^26, and its root <= 2^13: casts are lossless.
            ((r * r - d * d) as u32).isqrt() as i32
        };
        let y_lo = (cy - r).max(0);
        let y_hi = (cy + r).min(side(self.height()) - 1);
        for py in y_lo..=y_hi {
            let h = half(py);
            if h < 0 {
                continue;
            }
            if filled {
                self.span(py, cx - h, cx + h, color);
                continue;
            }
            // A pixel of this row's run is interior (all 4 neighbours inside)
            // iff |px - cx| <= m: not at the run's ends (h - 1), and within
            // the runs of the rows above and below. The outline is the rest.
            let m = (h - 1).min(half(py - 1)).min(half(py + 1));
            if m < 0 {
                self.span(py, cx - h, cx + h, color);
            } else {
                self.span(py, cx - h, cx - m - 1, color);
                self.span(py, cx + m + 1, cx + h, color);
            }
        }
    }

    /// Fills the triangle with vertices `(x0, y0)`, `(x1, y1)`, `(x2, y2)`,
    /// edges included, following the TRI rule in the
    /// [`shapes`](crate::shapes) module docs. Either winding gives the same
    /// pixels; a degenerate (zero-area) triangle draws nothing.
    #[allow(clippy::too_many_arguments)] // The VM's call shape: 3 points + colour.
    pub fn triangle(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, x2: i32, y2: i32, color: Rgba) {
        let v0 = (clamp(x0), clamp(y0));
        let (mut v1, mut v2) = ((clamp(x1), clamp(y1)), (clamp(x2), clamp(y2)));
        // Each factor is at most 2^14 in size, so area2 fits in i32.
        let area2 = (v1.0 - v0.0) * (v2.1 - v0.1) - (v1.1 - v0.1) * (v2.0 - v0.0);
        if area2 == 0 {
            return;
        }
        if area2 < 0 {
            std::mem::swap(&mut v1, &mut v2);
        }
        let edges = [(v0, v1), (v1, v2), (v2, v0)];
        let x_lo = v0.0.min(v1.0).min(v2.0).max(0);
        let x_hi = v0.0.max(v1.0).max(v2.0).min(side(self.width()) - 1);
        let y_lo = v0.1.min(v1.1).min(v2.1).max(0);
        let y_hi = v0.1.max(v1.1).max(v2.1).min(side(self.height()) - 1);
        'rows: for py in y_lo..=y_hi {
            let (mut lo, mut hi) = (x_lo, x_hi);
            for &((ax, ay), (bx, by)) in &edges {
                // E(px) = c - ey * (px - ax) >= 0, solved for px.
                // |ex| <= 2^14 and |py - ay| <= 4095 + 8192, so |c| < 2^28.
                let (ex, ey) = (bx - ax, by - ay);
                let c = ex * (py - ay);
                match ey {
                    // E is constant along the row.
                    0 if c < 0 => continue 'rows,
                    0 => {}
                    // px - ax <= c / ey.
                    1.. => hi = hi.min(ax + floor_div(c, ey)),
                    // px - ax >= -c / -ey, i.e. >= -floor(c / -ey).
                    _ => lo = lo.max(ax - floor_div(c, -ey)),
                }
            }
            if lo <= hi {
                self.span(py, lo, hi, color);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_div_rounds_down() {
        assert_eq!(floor_div(7, 2), 3);
        assert_eq!(floor_div(-7, 2), -4);
        assert_eq!(floor_div(-8, 2), -4);
        assert_eq!(floor_div(0, 5), 0);
    }

    #[test]
    fn clamp_limits() {
        assert_eq!(clamp(i32::MIN), -COORD_LIMIT);
        assert_eq!(clamp(i32::MAX), COORD_LIMIT);
        assert_eq!(clamp(-5), -5);
    }
}
