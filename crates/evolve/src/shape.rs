//! The shapes an image goal places: triangles and rectangles, with the exact pixel rules of PXL.
//!
//! This module turns a [`Shape`] into the rows of pixels it covers ([`Shape::for_each_span`]), makes random shapes
//! and mutates them, writes a shape as a PXL instruction and draws it on a [`Canvas`]. The span rules are the ones
//! of `docs/pxl.md` (`TRI` and `RECT`), computed here without touching a canvas so that a candidate can be scored
//! before it is drawn; a property test checks that they cover exactly the pixels `gvpie-raster` draws. It does not
//! score shapes or choose colours (see `error_table`).

use gvpie_raster::{COORD_LIMIT, Canvas, Rgba};

use crate::rng::Rng;

/// Which shapes a search may place.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ShapeKinds {
    /// Only triangles (`TRI`), like primitive's mode 1.
    Triangles,
    /// Only axis-aligned rectangles (`RECT`), like primitive's mode 2.
    Rectangles,
    /// Triangles and rectangles, chosen at random per restart.
    Both,
}

/// One shape, in canvas pixel coordinates.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Shape {
    /// A filled triangle `TRI x0 y0 x1 y1 x2 y2`.
    Triangle([i32; 6]),
    /// A rectangle covering `x0..=x1` by `y0..=y1` (corners inclusive, `x0 <= x1`, `y0 <= y1`), written as
    /// `RECT x0 y0 (x1 - x0 + 1) (y1 - y0 + 1)`.
    Rectangle([i32; 4]),
}

/// How far outside the canvas a triangle vertex may go, as primitive allows.
const MARGIN: i32 = 16;

/// Tries before a mutation gives up and returns the shape unchanged (only where no different shape exists, such as
/// a rectangle on a 1x1 canvas).
const MAX_MUTATION_TRIES: u32 = 1000;

/// The standard deviation of a vertex move, in pixels, as in primitive.
const MUTATION_SIGMA: f64 = 16.0;

impl Shape {
    /// A random shape of the given kind on a `width` x `height` canvas: as in primitive, one corner is uniform on
    /// the canvas and the others lie within 15 pixels of it (a rectangle up to 32 pixels wide).
    pub fn random(kinds: ShapeKinds, width: u32, height: u32, rng: &mut Rng) -> Shape {
        Shape::random_within(kinds, width, height, 15, rng)
    }

    /// As [`Shape::random`], with the other corners within `spread` pixels of the first (a rectangle up to
    /// `2 * spread + 2` wide): the evaluator cascade scales primitive's 15 down to its small canvas.
    pub fn random_within(kinds: ShapeKinds, width: u32, height: u32, spread: i32, rng: &mut Rng) -> Shape {
        let (w, h) = (width as i32, height as i32);
        let spread = spread.max(1);
        let triangle = match kinds {
            ShapeKinds::Triangles => true,
            ShapeKinds::Rectangles => false,
            ShapeKinds::Both => rng.coin(),
        };
        let x = rng.range(0, w - 1);
        let y = rng.range(0, h - 1);
        if triangle {
            loop {
                let v = [
                    x,
                    y,
                    x + rng.range(-spread, spread),
                    y + rng.range(-spread, spread),
                    x + rng.range(-spread, spread),
                    y + rng.range(-spread, spread),
                ];
                if area2(&v) != 0 {
                    return Shape::Triangle(v);
                }
            }
        } else {
            let x1 = (x + rng.range(0, 2 * spread + 1)).min(w - 1);
            let y1 = (y + rng.range(0, 2 * spread + 1)).min(h - 1);
            Shape::Rectangle([x, y, x1, y1])
        }
    }

    /// A random neighbour: one vertex (or corner) moved by a normal step of 16 pixels, kept within the canvas
    /// (plus a margin for triangles) and never degenerate; the shape itself where no other one exists (a rectangle
    /// on a 1x1 canvas).
    pub fn mutate(&self, width: u32, height: u32, rng: &mut Rng) -> Shape {
        self.mutate_by(width, height, MUTATION_SIGMA, MARGIN, rng)
    }

    /// As [`Shape::mutate`], with a step of standard deviation `sigma` pixels and triangle vertices kept within
    /// `margin` pixels of the canvas: the evaluator cascade scales both to its small canvas.
    pub fn mutate_by(&self, width: u32, height: u32, sigma: f64, margin: i32, rng: &mut Rng) -> Shape {
        let (w, h) = (width as i32, height as i32);
        let step = |rng: &mut Rng| (rng.normal() * sigma).round() as i32;
        match *self {
            Shape::Triangle(v) => {
                for _ in 0..MAX_MUTATION_TRIES {
                    let mut next = v;
                    let k = rng.below(3) as usize * 2;
                    next[k] = (next[k] + step(rng)).clamp(-margin, w - 1 + margin);
                    next[k + 1] = (next[k + 1] + step(rng)).clamp(-margin, h - 1 + margin);
                    if area2(&next) != 0 && next != v {
                        return Shape::Triangle(next);
                    }
                }
                *self
            }
            Shape::Rectangle(r) => {
                for _ in 0..MAX_MUTATION_TRIES {
                    let mut next = r;
                    let k = rng.below(2) as usize * 2;
                    next[k] = (next[k] + step(rng)).clamp(0, w - 1);
                    next[k + 1] = (next[k + 1] + step(rng)).clamp(0, h - 1);
                    let fixed =
                        [next[0].min(next[2]), next[1].min(next[3]), next[0].max(next[2]), next[1].max(next[3])];
                    if fixed != r {
                        return Shape::Rectangle(fixed);
                    }
                }
                // On a 1x1 canvas no other rectangle exists; the caller sees no improvement.
                *self
            }
        }
    }

    /// The shapes one pixel away: each coordinate moved by ±1 (used to polish a shape after the hill climb).
    pub fn neighbours(&self, width: u32, height: u32) -> Vec<Shape> {
        let (w, h) = (width as i32, height as i32);
        let mut out = Vec::with_capacity(12);
        match *self {
            Shape::Triangle(v) => {
                for k in 0..6 {
                    let limit = if k % 2 == 0 { w - 1 + MARGIN } else { h - 1 + MARGIN };
                    for d in [-1, 1] {
                        let mut next = v;
                        next[k] = (next[k] + d).clamp(-MARGIN, limit);
                        if next != v && area2(&next) != 0 {
                            out.push(Shape::Triangle(next));
                        }
                    }
                }
            }
            Shape::Rectangle(r) => {
                for k in 0..4 {
                    let limit = if k % 2 == 0 { w - 1 } else { h - 1 };
                    for d in [-1, 1] {
                        let mut next = r;
                        next[k] = (next[k] + d).clamp(0, limit);
                        if next != r && next[0] <= next[2] && next[1] <= next[3] {
                            out.push(Shape::Rectangle(next));
                        }
                    }
                }
            }
        }
        out
    }

    /// The PXL instruction that draws this shape (without the colour).
    pub fn to_pxl(&self) -> String {
        match *self {
            Shape::Triangle([x0, y0, x1, y1, x2, y2]) => format!("TRI {x0} {y0} {x1} {y1} {x2} {y2}"),
            Shape::Rectangle([x0, y0, x1, y1]) => format!("RECT {x0} {y0} {} {}", x1 - x0 + 1, y1 - y0 + 1),
        }
    }

    /// Draws the shape on `canvas` in `color` with the reference rasterizer (the pixels the VM draws).
    pub fn draw(&self, canvas: &mut Canvas, color: Rgba) {
        match *self {
            Shape::Triangle([x0, y0, x1, y1, x2, y2]) => canvas.triangle(x0, y0, x1, y1, x2, y2, color),
            Shape::Rectangle([x0, y0, x1, y1]) => canvas.fill_rect(x0, y0, x1 - x0 + 1, y1 - y0 + 1, color),
        }
    }

    /// The rows `y_lo..=y_hi` the shape may touch on a canvas of height `height` (empty when `y_lo > y_hi`).
    pub fn row_range(&self, height: u32) -> (i32, i32) {
        let (lo, hi) = match *self {
            Shape::Triangle(v) => {
                let ys = [clamp(v[1]), clamp(v[3]), clamp(v[5])];
                (ys[0].min(ys[1]).min(ys[2]), ys[0].max(ys[1]).max(ys[2]))
            }
            Shape::Rectangle(r) => (r[1], r[3]),
        };
        (lo.max(0), hi.min(height as i32 - 1))
    }

    /// Calls `f(y, x_lo, x_hi)` for every row of pixels the shape covers on a `width` x `height` canvas, already
    /// clipped: `0 <= x_lo <= x_hi < width`. These are exactly the pixels [`Shape::draw`] blends.
    #[inline]
    pub fn for_each_span(&self, width: u32, height: u32, f: impl FnMut(i32, i32, i32)) {
        self.for_each_span_in(Window::canvas(width, height), f);
    }

    /// As [`Shape::for_each_span`], clipped to `window` (which lies on the canvas): the spans of the whole canvas
    /// cut to the window, computed without walking the rows above it.
    #[inline]
    pub fn for_each_span_in(&self, window: Window, f: impl FnMut(i32, i32, i32)) {
        match *self {
            Shape::Triangle(v) => triangle_spans(v, window, f),
            Shape::Rectangle(r) => rectangle_spans(r, window, f),
        }
    }

    /// The smallest window holding every pixel the shape may cover on a `width` x `height` canvas, or `None` when
    /// it covers none there for certain.
    pub fn bounds(&self, width: u32, height: u32) -> Option<Window> {
        let (x0, y0, x1, y1) = match *self {
            Shape::Triangle(v) => {
                let v = v.map(clamp);
                (v[0].min(v[2]).min(v[4]), v[1].min(v[3]).min(v[5]), v[0].max(v[2]).max(v[4]), v[1].max(v[3]).max(v[5]))
            }
            Shape::Rectangle(r) => (r[0], r[1], r[2], r[3]),
        };
        Window { x0, y0, x1, y1 }.intersect(Window::canvas(width, height))
    }
}

/// A rectangle of pixels `x0..=x1` by `y0..=y1` (inclusive; never empty).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// The first column.
    pub x0: i32,
    /// The first row.
    pub y0: i32,
    /// The last column.
    pub x1: i32,
    /// The last row.
    pub y1: i32,
}

impl Window {
    /// The whole of a `width` x `height` canvas (at least one pixel each way).
    pub fn canvas(width: u32, height: u32) -> Window {
        Window { x0: 0, y0: 0, x1: width.max(1) as i32 - 1, y1: height.max(1) as i32 - 1 }
    }

    /// The pixels in both, if any.
    pub fn intersect(self, other: Window) -> Option<Window> {
        let w = Window {
            x0: self.x0.max(other.x0),
            y0: self.y0.max(other.y0),
            x1: self.x1.min(other.x1),
            y1: self.y1.min(other.y1),
        };
        (w.x0 <= w.x1 && w.y0 <= w.y1).then_some(w)
    }

    /// The smallest window holding both.
    pub fn union(self, other: Window) -> Window {
        Window {
            x0: self.x0.min(other.x0),
            y0: self.y0.min(other.y0),
            x1: self.x1.max(other.x1),
            y1: self.y1.max(other.y1),
        }
    }

    /// Columns.
    pub fn width(&self) -> usize {
        (self.x1 - self.x0 + 1) as usize
    }

    /// Rows.
    pub fn height(&self) -> usize {
        (self.y1 - self.y0 + 1) as usize
    }
}

#[inline]
fn clamp(v: i32) -> i32 {
    v.clamp(-COORD_LIMIT, COORD_LIMIT)
}

/// Twice the signed area of a triangle, after the coordinate clamp.
fn area2(v: &[i32; 6]) -> i32 {
    let [x0, y0, x1, y1, x2, y2] = v.map(clamp);
    (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
}

#[inline]
fn rectangle_spans(r: [i32; 4], window: Window, mut f: impl FnMut(i32, i32, i32)) {
    let lo = r[0].max(window.x0);
    let hi = r[2].min(window.x1);
    if lo > hi {
        return;
    }
    for y in r[1].max(window.y0)..=r[3].min(window.y1) {
        f(y, lo, hi);
    }
}

/// One edge bound of a triangle walked row by row: `base + floor(ex * (py - ay) / d)` kept as a quotient and a
/// remainder, so that each row costs additions only (the same numbers `gvpie-raster` gets with a division).
struct EdgeWalk {
    base: i32,
    q: i32,
    r: i32,
    q_step: i32,
    r_step: i32,
    d: i32,
}

impl EdgeWalk {
    fn new(base: i32, ex: i32, d: i32, dy0: i32) -> EdgeWalk {
        let c = ex * dy0;
        EdgeWalk { base, q: c.div_euclid(d), r: c.rem_euclid(d), q_step: ex.div_euclid(d), r_step: ex.rem_euclid(d), d }
    }

    #[inline]
    fn advance(&mut self) {
        self.q += self.q_step;
        self.r += self.r_step;
        if self.r >= self.d {
            self.q += 1;
            self.r -= self.d;
        }
    }
}

/// The TRI rule of `docs/pxl.md`, row by row (see `gvpie_raster::shapes`).
#[inline]
fn triangle_spans(v: [i32; 6], window: Window, mut f: impl FnMut(i32, i32, i32)) {
    let v0 = (clamp(v[0]), clamp(v[1]));
    let (mut v1, mut v2) = ((clamp(v[2]), clamp(v[3])), (clamp(v[4]), clamp(v[5])));
    let area2 = (v1.0 - v0.0) * (v2.1 - v0.1) - (v1.1 - v0.1) * (v2.0 - v0.0);
    if area2 == 0 {
        return;
    }
    if area2 < 0 {
        std::mem::swap(&mut v1, &mut v2);
    }
    let x_lo = v0.0.min(v1.0).min(v2.0).max(window.x0);
    let x_hi = v0.0.max(v1.0).max(v2.0).min(window.x1);
    let mut y_lo = v0.1.min(v1.1).min(v2.1).max(window.y0);
    let mut y_hi = v0.1.max(v1.1).max(v2.1).min(window.y1);
    if x_lo > x_hi || y_lo > y_hi {
        return;
    }
    // Up to two upper bounds (edges going down, ey > 0) and two lower bounds (ey < 0) on px.
    let mut his: [Option<EdgeWalk>; 2] = [None, None];
    let mut los: [Option<EdgeWalk>; 2] = [None, None];
    let (mut n_hi, mut n_lo) = (0, 0);
    let edges = [(v0, v1), (v1, v2), (v2, v0)];
    for ((ax, ay), (bx, by)) in edges {
        // E = ex * (py - ay) must be >= 0: a horizontal edge cuts off the rows on one side (ex != 0 here, since the
        // triangle is not degenerate).
        if by == ay {
            if bx > ax {
                y_lo = y_lo.max(ay);
            } else {
                y_hi = y_hi.min(ay);
            }
        }
    }
    if y_lo > y_hi {
        return;
    }
    for ((ax, ay), (bx, by)) in edges {
        let (ex, ey) = (bx - ax, by - ay);
        match ey {
            0 => {}
            1.. => {
                if n_hi < 2 {
                    his[n_hi] = Some(EdgeWalk::new(ax, ex, ey, y_lo - ay));
                    n_hi += 1;
                }
            }
            _ => {
                if n_lo < 2 {
                    los[n_lo] = Some(EdgeWalk::new(ax, ex, -ey, y_lo - ay));
                    n_lo += 1;
                }
            }
        }
    }
    // A non-degenerate triangle has at most two edges of each vertical direction, so nothing was dropped above.
    let [mut h0, mut h1] = his;
    let [mut l0, mut l1] = los;
    for py in y_lo..=y_hi {
        let mut lo = x_lo;
        let mut hi = x_hi;
        if let Some(e) = h0.as_mut() {
            hi = hi.min(e.base + e.q);
            e.advance();
        }
        if let Some(e) = h1.as_mut() {
            hi = hi.min(e.base + e.q);
            e.advance();
        }
        if let Some(e) = l0.as_mut() {
            lo = lo.max(e.base - e.q);
            e.advance();
        }
        if let Some(e) = l1.as_mut() {
            lo = lo.max(e.base - e.q);
            e.advance();
        }
        if lo <= hi {
            f(py, lo, hi);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coverage_by_spans(shape: &Shape, w: u32, h: u32) -> Canvas {
        let mut canvas = Canvas::new(w, h).expect("size");
        shape.for_each_span(w, h, |y, lo, hi| {
            assert!(0 <= lo && lo <= hi && hi < w as i32 && 0 <= y && y < h as i32);
            // A rectangle of height 1 is a span; fill_rect blends once per pixel.
            canvas.fill_rect(lo, y, hi - lo + 1, 1, Rgba::new(255, 255, 255, 128));
        });
        canvas
    }

    fn coverage_by_raster(shape: &Shape, w: u32, h: u32) -> Canvas {
        let mut canvas = Canvas::new(w, h).expect("size");
        shape.draw(&mut canvas, Rgba::new(255, 255, 255, 128));
        canvas
    }

    proptest::proptest! {
        #[test]
        fn triangle_spans_match_the_rasterizer(v in proptest::array::uniform6(-40i32..80)) {
            let shape = Shape::Triangle(v);
            proptest::prop_assert_eq!(coverage_by_spans(&shape, 37, 29), coverage_by_raster(&shape, 37, 29));
        }

        #[test]
        fn rectangle_spans_match_the_rasterizer(x0 in -5i32..40, y0 in -5i32..40, w in 1i32..30, h in 1i32..30) {
            let shape = Shape::Rectangle([x0, y0, x0 + w - 1, y0 + h - 1]);
            proptest::prop_assert_eq!(coverage_by_spans(&shape, 33, 21), coverage_by_raster(&shape, 33, 21));
        }

        #[test]
        fn spans_in_a_window_are_the_canvas_spans_cut_to_it(
            v in proptest::array::uniform6(-40i32..80),
            rect in proptest::array::uniform4(-5i32..40),
            x0 in 0i32..37, y0 in 0i32..29, w in 1i32..37, h in 1i32..29,
        ) {
            let window = Window { x0, y0, x1: (x0 + w - 1).min(36), y1: (y0 + h - 1).min(28) };
            let rectangle = Shape::Rectangle([rect[0].min(rect[2]), rect[1].min(rect[3]), rect[0].max(rect[2]), rect[1].max(rect[3])]);
            for shape in [Shape::Triangle(v), rectangle] {
                let mut expected = Vec::new();
                shape.for_each_span(37, 29, |y, lo, hi| {
                    let (lo, hi) = (lo.max(window.x0), hi.min(window.x1));
                    if (window.y0..=window.y1).contains(&y) && lo <= hi {
                        expected.push((y, lo, hi));
                    }
                });
                let mut got = Vec::new();
                shape.for_each_span_in(window, |y, lo, hi| got.push((y, lo, hi)));
                proptest::prop_assert_eq!(&got, &expected);
                // The bounds hold every span.
                let bounds = shape.bounds(37, 29);
                shape.for_each_span(37, 29, |y, lo, hi| {
                    let b = bounds.expect("a shape with spans has bounds");
                    assert!(b.y0 <= y && y <= b.y1 && b.x0 <= lo && hi <= b.x1);
                });
            }
        }

        #[test]
        fn huge_triangles_match_the_rasterizer(v in proptest::array::uniform6(-20_000i32..20_000)) {
            let shape = Shape::Triangle(v);
            proptest::prop_assert_eq!(coverage_by_spans(&shape, 23, 19), coverage_by_raster(&shape, 23, 19));
        }
    }

    #[test]
    fn mutation_ends_where_no_other_shape_exists() {
        let mut rng = Rng::new(5);
        let one = Shape::Rectangle([0, 0, 0, 0]);
        assert_eq!(one.mutate(1, 1, &mut rng), one);
        let triangle = Shape::random(ShapeKinds::Triangles, 1, 1, &mut rng);
        assert_ne!(triangle.mutate_by(1, 1, 4.0, 1, &mut rng), triangle);
    }

    #[test]
    fn mutation_stays_in_bounds() {
        let mut rng = Rng::new(3);
        let mut shape = Shape::random(ShapeKinds::Both, 50, 40, &mut rng);
        for _ in 0..2000 {
            shape = shape.mutate(50, 40, &mut rng);
            match shape {
                Shape::Triangle(v) => {
                    assert!(v.chunks(2).all(|p| (-16..=65).contains(&p[0]) && (-16..=55).contains(&p[1])));
                    assert_ne!(area2(&v), 0);
                }
                Shape::Rectangle(r) => assert!(r[0] <= r[2] && r[1] <= r[3] && r[2] < 50 && r[3] < 40),
            }
        }
        assert_eq!(Shape::Rectangle([1, 2, 3, 5]).to_pxl(), "RECT 1 2 3 4");
        assert_eq!(Shape::Triangle([1, 2, 3, 4, 5, -6]).to_pxl(), "TRI 1 2 3 4 5 -6");
    }
}
