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
    /// Threads that score moves ahead (see [`polish_stack`]); the result is the same on any number.
    pub threads: usize,
}

/// The fewest threads with which the polish scores moves ahead.
pub const MIN_THREADS_AHEAD: usize = 4;

/// Random moves scored ahead per thread at a time: after a move that improves the picture, the ones scored after
/// it are scored again, so a small window wastes little; a large one starts threads less often.
const MOVES_AHEAD_PER_THREAD: u32 = 4;

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
///
/// With [`MIN_THREADS_AHEAD`] threads or more, the moves of a shape are scored ahead on `config.threads` threads against the
/// stack as it is, and taken in the serial order: the first step of every number, and the random moves (drawn
/// from the same generator as the serial walk). Most moves do not improve the picture, so most of that work is
/// what the serial walk would have done; after a move that improves it, the rest is scored again against the
/// new stack. The moves taken, and so the shapes returned, are exactly the serial walk's (tested), on any number
/// of threads; only `evaluations` counts the extra scoring, and a deadline is checked between batches.
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
    // A pool for the whole polish (starting threads for every batch would cost more than the batch), from
    // `MIN_THREADS_AHEAD` threads: on 2 cores the pool's waiting threads took more from the serial part than
    // scoring ahead saved (brick, 2-core VM: 2.52-2.62 s with the serial polish, 2.87 s with 2 threads ahead).
    let pool = match config.threads {
        n if n >= MIN_THREADS_AHEAD => rayon::ThreadPoolBuilder::new().num_threads(n).build().ok(),
        _ => None,
    };
    let ahead = pool.is_some();
    'sweeps: while sweeps < config.sweeps && !stack.shapes.is_empty() {
        sweeps += 1;
        let sse_at_start = stack.sse;
        stack.below.copy_from_slice(&stack.blank);
        for i in 0..stack.shapes.len() {
            let n_numbers = numbers(&stack.shapes[i], config.keep_alpha).len();
            // From which number on, and whether the first step of each by +1 (index 0) and -1 (1) improves the stack
            // as it is now.
            let mut first_steps: Option<(usize, Vec<[bool; 2]>)> = None;
            for k in 0..n_numbers {
                if out_of_time() {
                    break 'sweeps;
                }
                if ahead && first_steps.is_none() {
                    first_steps = Some((k, stack.first_steps(i, k, n_numbers, config.keep_alpha, pool.as_ref())));
                }
                for (d, delta) in [1, -1].into_iter().enumerate() {
                    // Scored ahead and not better: the serial walk would stop at its first step.
                    if first_steps.as_ref().is_some_and(|(from, better)| !better[k - from][d]) {
                        continue;
                    }
                    let mut moved = false;
                    while let Some(candidate) = moved_by(&stack.shapes[i], k, delta, config.keep_alpha) {
                        if !stack.try_replace(i, candidate) {
                            break;
                        }
                        moved = true;
                    }
                    if moved {
                        // The stack changed: what was scored ahead for the next numbers is stale.
                        first_steps = None;
                        break;
                    }
                }
            }
            let mut rng = Rng::derive(config.seed, &[sweeps as u64, i as u64]);
            let mut tried = 0;
            while tried < config.mutations {
                if out_of_time() {
                    break 'sweeps;
                }
                if !ahead {
                    tried += 1;
                    let p = stack.shapes[i];
                    let shape = p.shape.mutate_by(stack.width, stack.height, MUTATION_SIGMA, 16, &mut rng);
                    if shape != p.shape {
                        stack.try_replace(i, Placed { shape, ..p });
                    }
                    continue;
                }
                // The remaining moves, drawn as the serial walk would from the shape as it is, scored together;
                // the first that improves is taken, and the walk goes on after it from the new shape.
                let p = stack.shapes[i];
                let window = (config.mutations - tried).min(MOVES_AHEAD_PER_THREAD * config.threads as u32);
                let mut moves = Vec::with_capacity(window as usize);
                let mut after = Vec::with_capacity(window as usize);
                let mut generator = rng.clone();
                for _ in 0..window {
                    moves.push(Placed {
                        shape: p.shape.mutate_by(stack.width, stack.height, MUTATION_SIGMA, 16, &mut generator),
                        ..p
                    });
                    after.push(generator.clone());
                }
                let better = stack.improves(i, &moves, pool.as_ref());
                match better.iter().position(|&b| b) {
                    Some(j) => {
                        stack.try_replace(i, moves[j]);
                        rng = after[j].clone();
                        tried += j as u32 + 1;
                    }
                    None => {
                        rng = generator;
                        tried += window;
                    }
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

    /// The first step of numbers `from..n_numbers` of shape `i`, by +1 and by -1: whether each improves the stack
    /// as it is (no such step, or none that improves: false). Scored on `pool`'s threads.
    fn first_steps(
        &mut self,
        i: usize,
        from: usize,
        n_numbers: usize,
        keep_alpha: bool,
        pool: Option<&rayon::ThreadPool>,
    ) -> Vec<[bool; 2]> {
        let p = self.shapes[i];
        let mut moves = Vec::new();
        let mut slots = Vec::new();
        for k in from..n_numbers {
            for delta in [1, -1] {
                slots.push(moved_by(&p, k, delta, keep_alpha).map(|candidate| {
                    moves.push(candidate);
                    moves.len() - 1
                }));
            }
        }
        let better = self.improves(i, &moves, pool);
        slots.chunks(2).map(|pair| [0, 1].map(|d| pair[d].is_some_and(|m| better[m]))).collect()
    }

    /// Whether shape `i` replaced by each of `candidates` lowers the squared error of the stack as it is, scored
    /// on `pool`'s threads (each with a scratch region of its own), or here without one.
    fn improves(&mut self, i: usize, candidates: &[Placed], pool: Option<&rayon::ThreadPool>) -> Vec<bool> {
        use rayon::prelude::*;
        self.evaluations += candidates.len() as u64;
        let this: &Stack<'a> = self;
        let score = |scratch: &mut Vec<u32>, candidate: &Placed| {
            this.score(i, Some(*candidate), scratch).is_some_and(|(_, old, new)| new < old)
        };
        match pool {
            Some(pool) => pool.install(|| candidates.par_iter().map_init(Vec::new, score).collect()),
            None => {
                let mut scratch = Vec::new();
                candidates.iter().map(|c| score(&mut scratch, c)).collect()
            }
        }
    }

    /// Redraws into `scratch` the region where shape `i` replaced by `candidate` (or removed, for `None`) can
    /// change the picture: the region, and its squared error now and after. `None` when nothing can change.
    fn redraw(&mut self, i: usize, candidate: Option<Placed>) -> Option<(Window, u64, u64)> {
        self.evaluations += 1;
        let mut scratch = std::mem::take(&mut self.scratch);
        let scored = self.score(i, candidate, &mut scratch);
        self.scratch = scratch;
        scored
    }

    /// [`Stack::redraw`] into a scratch region of the caller's, without counting it.
    fn score(&self, i: usize, candidate: Option<Placed>, scratch: &mut Vec<u32>) -> Option<(Window, u64, u64)> {
        let new_bounds = candidate.and_then(|c| c.shape.bounds(self.width, self.height));
        let region = match (self.bounds[i], new_bounds) {
            (Some(a), Some(b)) => a.union(b),
            (Some(a), None) | (None, Some(a)) => a,
            // Off the canvas before and after: the picture cannot change.
            (None, None) => return None,
        };
        let (rw, width) = (region.width(), self.width as usize);
        scratch.clear();
        for y in region.y0..=region.y1 {
            let row = y as usize * width;
            scratch.extend_from_slice(&self.below[row + region.x0 as usize..=row + region.x1 as usize]);
        }
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
            new += row_sse(&self.target[row..row + rw], &scratch[r * rw..(r + 1) * rw]);
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
            let config = StackPolishConfig { sweeps: 3, keep_alpha, mutations: 20, seed, threads: 1 };
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
    fn scoring_ahead_on_threads_takes_exactly_the_serial_walk() {
        for (seed, keep_alpha, n) in [(21, false, 14), (22, true, 9), (23, false, 30)] {
            let (w, h) = (53, 37);
            let target = render_stack(w, h, [30, 160, 90], &random_stack(w, h, 20, false, seed + 100));
            let placed = random_stack(w, h, n, keep_alpha, seed);
            let polish = |threads| {
                let config = StackPolishConfig { sweeps: 3, keep_alpha, mutations: 25, seed, threads };
                polish_stack(&target, [40, 40, 40], &placed, &config, &NoClock, None)
            };
            let serial = polish(1);
            assert!(serial.sse_after < serial.sse_before);
            for threads in [MIN_THREADS_AHEAD, 5, 8] {
                let ahead = polish(threads);
                assert_eq!(ahead.placed, serial.placed, "seed {seed}, {threads} threads");
                assert_eq!((ahead.sse_after, ahead.sweeps), (serial.sse_after, serial.sweeps));
                assert!(ahead.evaluations >= serial.evaluations);
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
        let config = StackPolishConfig { sweeps: 2, keep_alpha: true, mutations: 5, seed: 1, threads: 3 };
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
        let config = StackPolishConfig { sweeps: 4, keep_alpha: true, mutations: 5, seed: 1, threads: 2 };
        let result = polish_stack(&target, [0, 0, 0], &placed, &config, &Late, Some(1.0));
        assert_eq!(result.placed, placed);
        assert_eq!(result.sse_after, result.sse_before);
        assert_eq!(result.evaluations, 0);
    }
}
