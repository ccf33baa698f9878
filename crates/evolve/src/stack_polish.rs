//! The exact polish of an image program's shapes: coordinate descent on every number of every shape placed, each
//! move scored exactly and only where it can change the picture.
//!
//! A shape in the middle of the stack changes the final picture only inside the union of its old and new bounds,
//! and there the picture is the canvas below it (kept while the sweep walks up the stack), the shape, and the shapes
//! above that reach the region. So a move costs the pixels of that region times the shapes over it, not a whole
//! program run: the polish this replaces ran the program in the VM for every move and took most of `gvpie evolve`'s
//! time. Pixels come from the same span rules ([`Shape::for_each_span_in`]) and blend (`gvpie_raster::color::blend`)
//! as the reference rasterizer, so the SSE reported is the VM's (tests check it against a full render).
//!
//! The engine reads no clock: the caller passes its [`Clock`] and a deadline.

use gvpie_raster::color::blend;
use gvpie_raster::{Canvas, Rgba};

use crate::goal::Clock;
use crate::image_goal::Placed;
use crate::rng::Rng;
use crate::shape::{Shape, Window};

/// How far a vertex may move off the canvas (as the gradient refinement allows).
const COORD_RANGE: i32 = 8192;

/// The settings of one polish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackPolishConfig {
    /// The most sweeps over the stack (a sweep that improves nothing ends the polish earlier).
    pub sweeps: usize,
    /// Leave every shape's alpha as it is (a search with a fixed alpha continues from the polished shapes).
    pub keep_alpha: bool,
    /// Random moves of one vertex or corner (normal steps of [`MUTATION_SIGMA`] pixels) tried per shape and sweep
    /// after its coordinate descent: they move two coordinates at once, which single steps cannot.
    pub mutations: u32,
    /// The seed of those moves.
    pub seed: u64,
}

/// The standard deviation of a random move, in pixels: small, as the shapes are already near a good place.
pub const MUTATION_SIGMA: f64 = 3.0;

/// What a polish did.
#[derive(Debug, Clone, PartialEq)]
pub struct StackPolished {
    /// The polished shapes (the input where nothing improved).
    pub placed: Vec<Placed>,
    /// The squared error of the shapes given.
    pub sse_before: u64,
    /// The squared error of the polished shapes.
    pub sse_after: u64,
    /// Moves scored.
    pub evaluations: u64,
    /// Sweeps begun.
    pub sweeps: usize,
}

/// Draws `background` and then every shape of `placed` at the target's size with the reference rasterizer: the
/// picture the program draws.
pub fn render_stack(width: u32, height: u32, background: [u8; 3], placed: &[Placed]) -> Canvas {
    let mut canvas = Canvas::new(width, height).expect("the target's size is a valid canvas size");
    canvas.clear(Rgba::new(background[0], background[1], background[2], 255));
    for p in placed {
        p.shape.draw(&mut canvas, p.color);
    }
    canvas
}

/// Polishes `placed` (drawn over `background`) towards `target` by coordinate descent: every coordinate and colour
/// channel (and alpha unless kept) moves by one while that lowers the exact squared error, shape by shape from the
/// bottom of the stack up. Stops after `config.sweeps` sweeps, a sweep that gains nothing, or at `deadline` on
/// `clock`. Never returns shapes worse than the ones given.
pub fn polish_stack(
    target: &Canvas,
    background: [u8; 3],
    placed: &[Placed],
    config: &StackPolishConfig,
    clock: &dyn Clock,
    deadline: Option<f64>,
) -> StackPolished {
    let mut stack = Stack::new(target, background, placed);
    let sse_before = stack.sse;
    let out_of_time = || deadline.is_some_and(|d| clock.seconds() >= d);
    let mut sweeps = 0;
    'sweeps: while sweeps < config.sweeps && !stack.shapes.is_empty() {
        sweeps += 1;
        let sse_at_start = stack.sse;
        stack.below.copy_from_slice(&stack.blank);
        for i in 0..stack.shapes.len() {
            let n_numbers = numbers(&stack.shapes[i], config.keep_alpha).len();
            for k in 0..n_numbers {
                if out_of_time() {
                    break 'sweeps;
                }
                for delta in [1, -1] {
                    let mut moved = false;
                    while let Some(candidate) = moved_by(&stack.shapes[i], k, delta, config.keep_alpha) {
                        if !stack.try_replace(i, candidate) {
                            break;
                        }
                        moved = true;
                    }
                    if moved {
                        break;
                    }
                }
            }
            let mut rng = Rng::derive(config.seed, &[sweeps as u64, i as u64]);
            for _ in 0..config.mutations {
                if out_of_time() {
                    break 'sweeps;
                }
                let p = stack.shapes[i];
                let shape = p.shape.mutate_by(stack.width, stack.height, MUTATION_SIGMA, 16, &mut rng);
                if shape != p.shape {
                    stack.try_replace(i, Placed { shape, ..p });
                }
            }
            stack.draw_below(i);
        }
        if stack.sse >= sse_at_start {
            break;
        }
    }
    StackPolished { placed: stack.shapes, sse_before, sse_after: stack.sse, evaluations: stack.evaluations, sweeps }
}

/// The numbers of a placed shape the polish moves, in order: coordinates, then red, green, blue (and alpha).
fn numbers(p: &Placed, keep_alpha: bool) -> Vec<i32> {
    let mut v: Vec<i32> = match p.shape {
        Shape::Triangle(c) => c.to_vec(),
        Shape::Rectangle(c) => c.to_vec(),
    };
    v.extend([p.color.r, p.color.g, p.color.b].map(i32::from));
    if !keep_alpha {
        v.push(i32::from(p.color.a));
    }
    v
}

/// `p` with its `k`-th number (see [`numbers`]) moved by `delta`, or `None` where that leaves the allowed range (a
/// rectangle's corners crossing, a channel outside 0..=255, alpha 0, a coordinate too far off the canvas).
fn moved_by(p: &Placed, k: usize, delta: i32, keep_alpha: bool) -> Option<Placed> {
    let mut v = numbers(p, keep_alpha);
    v[k] += delta;
    let n_coords = match p.shape {
        Shape::Triangle(_) => 6,
        Shape::Rectangle(_) => 4,
    };
    let shape = match p.shape {
        Shape::Triangle(_) => Shape::Triangle(std::array::from_fn(|j| v[j])),
        Shape::Rectangle(_) => {
            if v[0] > v[2] || v[1] > v[3] {
                return None;
            }
            Shape::Rectangle(std::array::from_fn(|j| v[j]))
        }
    };
    if v[..n_coords].iter().any(|c| c.abs() > COORD_RANGE) {
        return None;
    }
    let channel = |j: usize| u8::try_from(v[n_coords + j]).ok();
    let alpha = if keep_alpha { p.color.a } else { channel(3).filter(|&a| a > 0)? };
    Some(Placed { shape, color: Rgba::new(channel(0)?, channel(1)?, channel(2)?, alpha) })
}

/// The stack being polished: the shapes, the picture they draw, and the canvas below the shape being moved.
struct Stack<'a> {
    target: &'a [u32],
    width: u32,
    height: u32,
    shapes: Vec<Placed>,
    bounds: Vec<Option<Window>>,
    /// The background alone.
    blank: Vec<u32>,
    /// The background and the shapes below the one being moved.
    below: Vec<u32>,
    /// The whole picture.
    picture: Vec<u32>,
    /// The squared error of `picture`.
    sse: u64,
    /// A region redrawn for a move, row by row.
    scratch: Vec<u32>,
    evaluations: u64,
}

impl<'a> Stack<'a> {
    fn new(target: &'a Canvas, background: [u8; 3], placed: &[Placed]) -> Stack<'a> {
        let (width, height) = (target.width(), target.height());
        let blank = render_stack(width, height, background, &[]).pixels().to_vec();
        let picture = render_stack(width, height, background, placed).pixels().to_vec();
        let sse = region_sse(target.pixels(), &picture, width, Window::canvas(width, height));
        Stack {
            target: target.pixels(),
            width,
            height,
            shapes: placed.to_vec(),
            bounds: placed.iter().map(|p| p.shape.bounds(width, height)).collect(),
            below: blank.clone(),
            blank,
            picture,
            sse,
            scratch: Vec::new(),
            evaluations: 0,
        }
    }

    /// Draws shape `i` onto the canvas below (the sweep moves up past it).
    fn draw_below(&mut self, i: usize) {
        let (p, width) = (self.shapes[i], self.width as usize);
        let below = &mut self.below;
        p.shape.for_each_span(self.width, self.height, |y, lo, hi| {
            let row = y as usize * width;
            for px in &mut below[row + lo as usize..=row + hi as usize] {
                *px = blend(*px, p.color);
            }
        });
    }

    /// Scores shape `i` replaced by `candidate` (the canvas below must be the one under `i`); keeps the
    /// replacement and returns true when it lowers the squared error.
    fn try_replace(&mut self, i: usize, candidate: Placed) -> bool {
        let Some((region, old, new)) = self.redraw(i, Some(candidate)) else {
            return false;
        };
        if new >= old {
            return false;
        }
        let (rw, width) = (region.width(), self.width as usize);
        for (r, y) in (region.y0..=region.y1).enumerate() {
            let row = y as usize * width + region.x0 as usize;
            self.picture[row..row + rw].copy_from_slice(&self.scratch[r * rw..(r + 1) * rw]);
        }
        self.sse = self.sse - old + new;
        self.shapes[i] = candidate;
        self.bounds[i] = candidate.shape.bounds(self.width, self.height);
        true
    }

    /// Redraws into `scratch` the region where shape `i` replaced by `candidate` (or removed, for `None`) can
    /// change the picture: the region, and its squared error now and after. `None` when nothing can change.
    fn redraw(&mut self, i: usize, candidate: Option<Placed>) -> Option<(Window, u64, u64)> {
        self.evaluations += 1;
        let new_bounds = candidate.and_then(|c| c.shape.bounds(self.width, self.height));
        let region = match (self.bounds[i], new_bounds) {
            (Some(a), Some(b)) => a.union(b),
            (Some(a), None) | (None, Some(a)) => a,
            // Off the canvas before and after: the picture cannot change.
            (None, None) => return None,
        };
        let (rw, width) = (region.width(), self.width as usize);
        self.scratch.clear();
        for y in region.y0..=region.y1 {
            let row = y as usize * width;
            self.scratch.extend_from_slice(&self.below[row + region.x0 as usize..=row + region.x1 as usize]);
        }
        let scratch = &mut self.scratch;
        let mut paint = |shape: &Shape, color: Rgba, window: Window| {
            shape.for_each_span_in(window, |y, lo, hi| {
                let row = (y - region.y0) as usize * rw;
                let span = row + (lo - region.x0) as usize..=row + (hi - region.x0) as usize;
                for px in &mut scratch[span] {
                    *px = blend(*px, color);
                }
            });
        };
        if let Some(c) = candidate {
            paint(&c.shape, c.color, region);
        }
        for j in i + 1..self.shapes.len() {
            if let Some(window) = self.bounds[j].and_then(|b| b.intersect(region)) {
                paint(&self.shapes[j].shape, self.shapes[j].color, window);
            }
        }
        let old = region_sse(self.target, &self.picture, self.width, region);
        let mut new = 0u64;
        for (r, y) in (region.y0..=region.y1).enumerate() {
            let row = y as usize * width + region.x0 as usize;
            new += row_sse(&self.target[row..row + rw], &self.scratch[r * rw..(r + 1) * rw]);
        }
        Some((region, old, new))
    }
}

/// What each shape of `placed` (drawn over `background`) is worth against `target`: how much the exact squared
/// error would grow without it (negative for a shape that makes the picture worse), in stack order.
pub fn removal_costs(target: &Canvas, background: [u8; 3], placed: &[Placed]) -> Vec<i64> {
    let mut stack = Stack::new(target, background, placed);
    let mut costs = Vec::with_capacity(placed.len());
    for i in 0..placed.len() {
        costs.push(stack.redraw(i, None).map_or(0, |(_, old, new)| new as i64 - old as i64));
        stack.draw_below(i);
    }
    costs
}

/// The squared RGB error of `picture` against `target` (both `width` wide) inside `region`.
fn region_sse(target: &[u32], picture: &[u32], width: u32, region: Window) -> u64 {
    let (width, rw) = (width as usize, region.width());
    (region.y0..=region.y1)
        .map(|y| {
            let row = y as usize * width + region.x0 as usize;
            row_sse(&target[row..row + rw], &picture[row..row + rw])
        })
        .sum()
}

#[inline]
fn row_sse(target: &[u32], picture: &[u32]) -> u64 {
    target
        .iter()
        .zip(picture)
        .map(|(&t, &p)| {
            let d = |shift: u32| {
                let d = ((t >> shift) & 0xFF) as i32 - ((p >> shift) & 0xFF) as i32;
                (d * d) as u32
            };
            u64::from(d(0) + d(8) + d(16))
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::ShapeKinds;

    struct NoClock;

    impl Clock for NoClock {
        fn seconds(&self) -> f64 {
            0.0
        }
    }

    fn random_stack(width: u32, height: u32, n: usize, keep_alpha: bool, seed: u64) -> Vec<Placed> {
        let mut rng = Rng::new(seed);
        (0..n)
            .map(|k| {
                let kinds = if k % 3 == 0 { ShapeKinds::Rectangles } else { ShapeKinds::Triangles };
                let shape = Shape::random_within(kinds, width, height, 12, &mut rng);
                let mut channel = || (rng.next_u64() % 256) as u8;
                let alpha = if keep_alpha { 128 } else { channel().max(1) };
                Placed { shape, color: Rgba::new(channel(), channel(), channel(), alpha) }
            })
            .collect()
    }

    #[test]
    fn the_polished_error_is_the_rendered_error_and_never_worse() {
        for (seed, keep_alpha) in [(1, true), (2, false), (3, true)] {
            let (w, h) = (41, 29);
            let target = render_stack(w, h, [200, 40, 90], &random_stack(w, h, 12, false, seed + 100));
            let placed = random_stack(w, h, 9, keep_alpha, seed);
            let config = StackPolishConfig { sweeps: 3, keep_alpha, mutations: 20, seed };
            let result = polish_stack(&target, [10, 20, 30], &placed, &config, &NoClock, None);
            let before = crate::sse(&target, &render_stack(w, h, [10, 20, 30], &placed)).expect("same size");
            let after = crate::sse(&target, &render_stack(w, h, [10, 20, 30], &result.placed)).expect("same size");
            assert_eq!(result.sse_before, before);
            assert_eq!(result.sse_after, after);
            assert!(after < before, "seed {seed}: {after} >= {before}");
            assert_eq!(result.placed.len(), placed.len());
            if keep_alpha {
                assert!(result.placed.iter().all(|p| p.color.a == 128));
            }
            for p in &result.placed {
                if let Shape::Rectangle(r) = p.shape {
                    assert!(r[0] <= r[2] && r[1] <= r[3]);
                }
            }
        }
    }

    #[test]
    fn removal_costs_are_the_rendered_differences() {
        let (w, h) = (31, 23);
        let placed = random_stack(w, h, 8, false, 12);
        let target = render_stack(w, h, [70, 80, 90], &random_stack(w, h, 8, false, 13));
        let with_all = crate::sse(&target, &render_stack(w, h, [5, 5, 5], &placed)).expect("same size") as i64;
        let costs = removal_costs(&target, [5, 5, 5], &placed);
        for (i, cost) in costs.iter().enumerate() {
            let mut without = placed.clone();
            without.remove(i);
            let sse = crate::sse(&target, &render_stack(w, h, [5, 5, 5], &without)).expect("same size") as i64;
            assert_eq!(*cost, sse - with_all, "shape {i}");
        }
    }

    #[test]
    fn a_stack_that_draws_the_target_stays_as_it_is() {
        let (w, h) = (23, 17);
        let placed = random_stack(w, h, 6, true, 9);
        let target = render_stack(w, h, [0, 0, 0], &placed);
        let config = StackPolishConfig { sweeps: 2, keep_alpha: true, mutations: 5, seed: 1 };
        let result = polish_stack(&target, [0, 0, 0], &placed, &config, &NoClock, None);
        assert_eq!((result.sse_before, result.sse_after), (0, 0));
        assert_eq!(result.placed, placed);
        assert_eq!(result.sweeps, 1);
    }

    #[test]
    fn a_past_deadline_changes_nothing() {
        struct Late;
        impl Clock for Late {
            fn seconds(&self) -> f64 {
                10.0
            }
        }
        let (w, h) = (23, 17);
        let placed = random_stack(w, h, 6, true, 4);
        let target = render_stack(w, h, [90, 90, 90], &random_stack(w, h, 6, true, 5));
        let config = StackPolishConfig { sweeps: 4, keep_alpha: true, mutations: 5, seed: 1 };
        let result = polish_stack(&target, [0, 0, 0], &placed, &config, &Late, Some(1.0));
        assert_eq!(result.placed, placed);
        assert_eq!(result.sse_after, result.sse_before);
        assert_eq!(result.evaluations, 0);
    }
}
