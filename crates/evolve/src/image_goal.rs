//! The image goal: a PXL program of `CLS`, `COLOR` and `TRI`/`RECT` lines whose rendering approximates a target
//! image, found shape by shape as fogleman/primitive does.
//!
//! [`ImageSearch`] starts from the target's average colour and adds one shape per [`ImageSearch::step`]: several
//! independent restarts, each the best of many random shapes refined by hill climbing until a run of mutations
//! fails, with the colour of every candidate solved in closed form (see `error_table`). The restarts of one step are
//! spread over threads with `std::thread::scope`; every restart has its own random stream derived from the seed,
//! the shape number and the restart number, so the result does not depend on the number of threads, and a search
//! resumed from its shapes ([`ImageSearch::resume`]) continues exactly as if it had never stopped.
//!
//! [`Strategy::Plain`] is the plain random-restart hill climb kept as a baseline: each restart starts from one
//! random shape and every candidate is scored pixel by pixel with the exact blend.
//!
//! This module reads no clock and does no IO: a time budget is the caller's loop around [`ImageSearch::step`].

use std::fmt;

use gvpie_raster::{Canvas, Rgba};

use crate::cascade::{self, CascadeEffort, CpuShapeScorer, ShapeScorer, SmallView};
use crate::error_table::{ErrorTable, Scored, average_color};
use crate::rng::Rng;
use crate::shape::{Shape, ShapeKinds};

/// How hard each shape is searched.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Effort {
    /// Independent restarts per shape; the best one is kept.
    pub restarts: u32,
    /// Random shapes tried at the start of each restart; the best is the starting point of the climb.
    pub random_tries: u32,
    /// The climb stops after this many mutations in a row fail to improve.
    pub max_failures: u32,
    /// Whether the winning shape is polished by moving each coordinate by one pixel while that helps.
    pub polish: bool,
}

impl Effort {
    /// fogleman/primitive's defaults: 16 restarts, best of 1000 random shapes, 100 failures.
    pub const PRIMITIVE: Effort = Effort { restarts: 16, random_tries: 1000, max_failures: 100, polish: false };

    /// gvpie's default, tuned on a 2-core machine to beat primitive's error in less time (see BENCHMARKS.md).
    pub const DEFAULT: Effort = Effort { restarts: 24, random_tries: 600, max_failures: 200, polish: true };
}

impl Default for Effort {
    fn default() -> Effort {
        Effort::DEFAULT
    }
}

/// How candidates are generated and scored.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Strategy {
    /// Best-of-N random starts, hill climbing, and the prefix-sum estimate (cost per candidate proportional to its
    /// rows).
    #[default]
    Fast,
    /// The baseline: each restart climbs from a single random shape, scoring every candidate pixel by pixel with
    /// the exact blend.
    Plain,
    /// The evaluator cascade (see `cascade`): many climbers on a small canvas scored in batches by a
    /// [`ShapeScorer`] (the GPU when there is one), then the survivors refined at full size. Its effort is
    /// [`ImageGoalConfig::cascade`].
    Cascade,
}

/// The settings of an image search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageGoalConfig {
    /// How many shapes to place.
    pub n_shapes: usize,
    /// Which shapes may be placed.
    pub kinds: ShapeKinds,
    /// The alpha of every shape, 1..=255 (primitive's default is 128), or 0 to solve it per shape in closed form
    /// like the colour (primitive's `-a 0`).
    pub alpha: u8,
    /// The smallest alpha a solved alpha may take (used when `alpha` is 0).
    pub min_alpha: u8,
    /// The seed of every random choice.
    pub seed: u64,
    /// Threads per step (0 counts as 1). The result does not depend on it.
    pub n_threads: usize,
    /// Search effort per shape.
    pub effort: Effort,
    /// Candidate generation and scoring.
    pub strategy: Strategy,
    /// Search effort per shape under [`Strategy::Cascade`].
    pub cascade: CascadeEffort,
}

impl Default for ImageGoalConfig {
    fn default() -> ImageGoalConfig {
        ImageGoalConfig {
            n_shapes: 100,
            kinds: ShapeKinds::Triangles,
            alpha: 128,
            min_alpha: 1,
            seed: 1,
            n_threads: 1,
            effort: Effort::DEFAULT,
            strategy: Strategy::Fast,
            cascade: CascadeEffort::DEFAULT,
        }
    }
}

/// Why an image search could not start.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImageGoalError {
    /// An effort with no restart or no random try cannot place a shape.
    NoEffort,
    /// [`ImageSearch::resume`] got a shape whose colour does not have the configured alpha.
    AlphaMismatch {
        /// The shape's position in the list.
        index: usize,
    },
}

impl fmt::Display for ImageGoalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageGoalError::NoEffort => f.write_str("restarts and random tries must both be at least 1"),
            ImageGoalError::AlphaMismatch { index } => {
                write!(f, "shape {index} has a different alpha from the search's")
            }
        }
    }
}

impl std::error::Error for ImageGoalError {}

/// A shape placed on the canvas with its colour.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Placed {
    /// The shape.
    pub shape: Shape,
    /// Its colour, alpha included.
    pub color: Rgba,
}

/// What one [`ImageSearch::step`] did.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct StepReport {
    /// The shape added.
    pub placed: Placed,
    /// The exact RMSE after adding it.
    pub rmse: f64,
    /// Candidates scored during the step.
    pub n_candidates: u64,
}

/// A shape-by-shape search towards a target image.
#[derive(Clone, Debug)]
pub struct ImageSearch {
    config: ImageGoalConfig,
    background: [u8; 3],
    table: ErrorTable,
    placed: Vec<Placed>,
    n_candidates: u64,
    /// The reduced target of [`Strategy::Cascade`].
    small: Option<SmallView>,
}

impl ImageSearch {
    /// A search towards `target` that has placed no shape yet: the canvas is the target's average colour.
    ///
    /// # Errors
    ///
    /// [`ImageGoalError::ZeroAlpha`] or [`ImageGoalError::NoEffort`] for settings that cannot place a shape.
    pub fn new(target: Canvas, config: ImageGoalConfig) -> Result<ImageSearch, ImageGoalError> {
        ImageSearch::resume(target, config, &[])
    }

    /// A search that has already placed `placed` (for example read back from a database): they are drawn again,
    /// and the next step is the one an uninterrupted search would take.
    ///
    /// # Errors
    ///
    /// As [`ImageSearch::new`], and [`ImageGoalError::AlphaMismatch`] for a shape of another alpha.
    pub fn resume(target: Canvas, config: ImageGoalConfig, placed: &[Placed]) -> Result<ImageSearch, ImageGoalError> {
        if config.effort.restarts == 0 || config.effort.random_tries == 0 {
            return Err(ImageGoalError::NoEffort);
        }
        if let Some(index) = placed.iter().position(|p| config.alpha != 0 && p.color.a != config.alpha) {
            return Err(ImageGoalError::AlphaMismatch { index });
        }
        let background = average_color(&target);
        let mut current = target.clone();
        current.clear(Rgba::new(background[0], background[1], background[2], 255));
        let mut table = ErrorTable::new(target, current, config.alpha, config.min_alpha);
        for p in placed {
            table.draw(&p.shape, p.color);
        }
        let small = (config.strategy == Strategy::Cascade).then(|| SmallView::new(table.target()));
        Ok(ImageSearch { config, background, table, placed: placed.to_vec(), n_candidates: 0, small })
    }

    /// Replaces the shapes placed so far with `placed` (a refinement of them: same count, other numbers) and draws
    /// them again; the next step is the one a search that had placed them would take. The candidates counted stay.
    ///
    /// # Errors
    ///
    /// [`ImageGoalError::AlphaMismatch`] for a shape of another alpha than the search's fixed one.
    pub fn replace_shapes(&mut self, placed: &[Placed]) -> Result<(), ImageGoalError> {
        let replaced = ImageSearch::resume(self.target().clone(), self.config.clone(), placed)?;
        *self = ImageSearch { n_candidates: self.n_candidates, ..replaced };
        Ok(())
    }

    /// The settings.
    pub fn config(&self) -> &ImageGoalConfig {
        &self.config
    }

    /// The `CLS` colour: the target's average.
    pub fn background(&self) -> [u8; 3] {
        self.background
    }

    /// The shapes placed so far, in drawing order.
    pub fn placed(&self) -> &[Placed] {
        &self.placed
    }

    /// The canvas drawn so far: exactly what [`ImageSearch::program`] draws.
    pub fn canvas(&self) -> &Canvas {
        self.table.current()
    }

    /// The target.
    pub fn target(&self) -> &Canvas {
        self.table.target()
    }

    /// The exact RMSE of the canvas against the target (RGB, 0..1).
    pub fn rmse(&self) -> f64 {
        self.table.rmse()
    }

    /// Candidates scored since this value was built.
    pub fn n_candidates(&self) -> u64 {
        self.n_candidates
    }

    /// Whether `n_shapes` shapes are placed.
    pub fn is_done(&self) -> bool {
        self.placed.len() >= self.config.n_shapes
    }

    /// Searches and places one more shape (even past `n_shapes`, if asked). [`Strategy::Cascade`] scores its
    /// batches on the CPU here; see [`ImageSearch::step_with`].
    pub fn step(&mut self) -> StepReport {
        let mut scorer = CpuShapeScorer { n_threads: self.config.n_threads };
        self.step_with(&mut scorer)
    }

    /// As [`ImageSearch::step`], with [`Strategy::Cascade`]'s batches scored by `scorer` (the other strategies do
    /// not use it). The result is the same whatever the scorer.
    pub fn step_with(&mut self, scorer: &mut dyn ShapeScorer) -> StepReport {
        self.step_in_stream(scorer, self.placed.len() as u64)
    }

    /// As [`ImageSearch::step_with`], with the random choices drawn from stream `stream` instead of the one of the
    /// shape's position (a shape searched again in the same place gets other candidates).
    pub fn step_in_stream(&mut self, scorer: &mut dyn ShapeScorer, stream: u64) -> StepReport {
        let shape_index = stream;
        let (shape, color, n_candidates) = match &self.small {
            Some(small) if self.config.strategy == Strategy::Cascade => self.cascade_shape(small, shape_index, scorer),
            _ => self.search_shape(shape_index),
        };
        self.table.draw(&shape, color);
        let placed = Placed { shape, color };
        self.placed.push(placed);
        self.n_candidates += n_candidates;
        StepReport { placed, rmse: self.rmse(), n_candidates }
    }

    /// Steps until `n_shapes` shapes are placed.
    pub fn run(&mut self) {
        while !self.is_done() {
            self.step();
        }
    }

    /// The PXL program that draws [`ImageSearch::canvas`] exactly on a canvas of the target's size.
    pub fn program(&self) -> String {
        program_text(self.target().width(), self.target().height(), self.background, &self.placed)
    }

    /// Runs the restarts of one step over the threads and returns the best shape, its colour and the number of
    /// candidates scored.
    fn search_shape(&self, shape_index: u64) -> (Shape, Rgba, u64) {
        let restarts = self.config.effort.restarts;
        let n_threads = self.config.n_threads.clamp(1, restarts as usize);
        let run_share = |thread: usize| -> (Option<Best>, u64) {
            let mut best: Option<Best> = None;
            let mut n_candidates = 0;
            for restart in (thread as u32..restarts).step_by(n_threads) {
                let mut rng = Rng::derive(self.config.seed, &[shape_index, u64::from(restart)]);
                let (found, n) = self.climb(&mut rng);
                n_candidates += n;
                if let Some((shape, scored)) = found {
                    let candidate = Best { delta: scored.0, restart, shape, color: scored.1 };
                    if best.as_ref().is_none_or(|b| candidate.beats(b)) {
                        best = Some(candidate);
                    }
                }
            }
            (best, n_candidates)
        };
        let shares: Vec<(Option<Best>, u64)> = if n_threads == 1 {
            vec![run_share(0)]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..n_threads).map(|t| scope.spawn(move || run_share(t))).collect();
                // A panic in a worker is a bug in this module; re-raise it here rather than hide it.
                handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
            })
        };
        let mut n_candidates: u64 = shares.iter().map(|s| s.1).sum();
        let best = shares.into_iter().filter_map(|s| s.0).reduce(|a, b| if b.beats(&a) { b } else { a });
        let Some(mut best) = best else {
            // Only possible if no random shape covered a pixel, which a 1x1 or larger canvas rules out in practice;
            // place a one-pixel rectangle so that the step still adds a shape.
            let shape = Shape::Rectangle([0, 0, 0, 0]);
            let color = self.table.score(&shape).map_or(Rgba::new(0, 0, 0, 0), |s| s.color);
            return (shape, color, n_candidates);
        };
        if self.config.effort.polish && self.config.strategy == Strategy::Fast {
            n_candidates += self.polish(&mut best);
        }
        (best.shape, best.color, n_candidates)
    }

    /// The cascade's step: survivors of the small canvas, each refined at full size; the best of them.
    fn cascade_shape(&self, small: &SmallView, shape_index: u64, scorer: &mut dyn ShapeScorer) -> (Shape, Rgba, u64) {
        let current = cascade::downscale(self.canvas(), small.scale);
        let table = ErrorTable::new(small.target.clone(), current, self.config.alpha, self.config.min_alpha);
        scorer.set_table(&table);
        let (survivors, mut n_candidates) = cascade::small_stage(
            &table,
            self.config.kinds,
            &self.config.cascade,
            small.scale,
            self.config.seed,
            shape_index,
            scorer,
        );
        let (w, h) = (self.target().width(), self.target().height());
        let refine = |index: usize, start: &Shape| -> (Option<Best>, u64) {
            let mut rng = cascade::refine_rng(self.config.seed, shape_index, index);
            let up = cascade::upscale(start, small.scale, w, h);
            let Some(scored) = self.table.score(&up) else {
                return (None, 1);
            };
            let mut best = Best { delta: scored.delta, restart: index as u32, shape: up, color: scored.color };
            let mut n = 1;
            let mut failures = 0;
            let sigma = f64::from(small.scale.max(2));
            while failures < self.config.cascade.refine_failures {
                let candidate = best.shape.mutate_by(w, h, sigma, 16, &mut rng);
                n += 1;
                match self.table.score(&candidate) {
                    Some(s) if s.delta < best.delta => {
                        best = Best { delta: s.delta, restart: best.restart, shape: candidate, color: s.color };
                        failures = 0;
                    }
                    _ => failures += 1,
                }
            }
            if self.config.effort.polish {
                n += self.polish(&mut best);
            }
            (Some(best), n)
        };
        let n_threads = self.config.n_threads.clamp(1, survivors.len().max(1));
        let refined: Vec<(Option<Best>, u64)> = if n_threads == 1 {
            survivors.iter().enumerate().map(|(i, s)| refine(i, s)).collect()
        } else {
            std::thread::scope(|scope| {
                let refine = &refine;
                let survivors = &survivors;
                let handles: Vec<_> = (0..n_threads)
                    .map(|t| {
                        scope.spawn(move || {
                            (t..survivors.len())
                                .step_by(n_threads)
                                .map(|i| (i, refine(i, &survivors[i])))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                let mut all: Vec<(usize, (Option<Best>, u64))> = handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect();
                all.sort_by_key(|(i, _)| *i);
                all.into_iter().map(|(_, r)| r).collect()
            })
        };
        n_candidates += refined.iter().map(|r| r.1).sum::<u64>();
        match refined.into_iter().filter_map(|r| r.0).reduce(|a, b| if b.beats(&a) { b } else { a }) {
            Some(best) => (best.shape, best.color, n_candidates),
            None => {
                // No survivor covered a pixel (possible only on a degenerate target): fall back to the fast search.
                let (shape, color, n) = self.search_shape(shape_index);
                (shape, color, n_candidates + n)
            }
        }
    }

    /// Scores a candidate with the strategy's scorer: (error change, colour).
    #[inline]
    fn score(&self, shape: &Shape) -> Option<(i64, Rgba)> {
        match self.config.strategy {
            Strategy::Fast | Strategy::Cascade => {
                self.table.score(shape).map(|Scored { delta, color, .. }| (delta, color))
            }
            Strategy::Plain => self.table.score_exact(shape),
        }
    }

    /// One restart: the best of the random starts, then hill climbing.
    fn climb(&self, rng: &mut Rng) -> (Option<Found>, u64) {
        let (w, h) = (self.target().width(), self.target().height());
        let effort = self.config.effort;
        let kinds = match self.config.kinds {
            ShapeKinds::Both if rng.coin() => ShapeKinds::Triangles,
            ShapeKinds::Both => ShapeKinds::Rectangles,
            kinds => kinds,
        };
        let random_tries = if self.config.strategy == Strategy::Plain { 1 } else { effort.random_tries };
        let mut n_candidates = 0u64;
        let mut best: Option<Found> = None;
        for _ in 0..random_tries {
            let shape = Shape::random(kinds, w, h, rng);
            n_candidates += 1;
            if let Some(scored) = self.score(&shape)
                && best.as_ref().is_none_or(|b| scored.0 < b.1.0)
            {
                best = Some((shape, scored));
            }
        }
        let Some((mut shape, mut scored)) = best else {
            return (None, n_candidates);
        };
        let mut failures = 0;
        while failures < effort.max_failures {
            let candidate = shape.mutate(w, h, rng);
            n_candidates += 1;
            match self.score(&candidate) {
                Some(s) if s.0 < scored.0 => {
                    shape = candidate;
                    scored = s;
                    failures = 0;
                }
                _ => failures += 1,
            }
        }
        (Some((shape, scored)), n_candidates)
    }

    /// Moves single coordinates by one pixel while that improves the estimate; returns the candidates scored.
    fn polish(&self, best: &mut Best) -> u64 {
        let (w, h) = (self.target().width(), self.target().height());
        let mut n_candidates = 0;
        // Each accepted move strictly lowers the error, so this ends; the cap only bounds the time.
        for _ in 0..64 {
            let mut improved = false;
            for candidate in best.shape.neighbours(w, h) {
                n_candidates += 1;
                if let Some((delta, color)) = self.score(&candidate)
                    && delta < best.delta
                {
                    *best = Best { delta, restart: best.restart, shape: candidate, color };
                    improved = true;
                }
            }
            if !improved {
                break;
            }
        }
        n_candidates
    }
}

/// A shape with its score: (error change, colour).
type Found = (Shape, (i64, Rgba));

/// The best result of some restarts; ties go to the lower restart number so the choice is deterministic.
struct Best {
    delta: i64,
    restart: u32,
    shape: Shape,
    color: Rgba,
}

impl Best {
    fn beats(&self, other: &Best) -> bool {
        (self.delta, self.restart) < (other.delta, other.restart)
    }
}

/// The PXL text of an image program: a header comment, the canvas size it was made for (`SIZE`, so that a plain
/// `gvpie run` draws it at that size), `CLS` with the background, then a `COLOR` line before every shape whose
/// colour differs from the previous one, then `HALT`.
pub fn program_text(width: u32, height: u32, background: [u8; 3], placed: &[Placed]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(64 + placed.len() * 48);
    let _ = writeln!(out, "# gvpie evolve: {} shapes", placed.len());
    let _ = writeln!(out, "SIZE {width} {height}");
    let _ = writeln!(out, "CLS {} {} {}", background[0], background[1], background[2]);
    let mut color: Option<Rgba> = None;
    for p in placed {
        if color != Some(p.color) {
            let c = p.color;
            let _ = writeln!(out, "COLOR {} {} {} {}", c.r, c.g, c.b, c.a);
            color = Some(c);
        }
        let _ = writeln!(out, "{}", p.shape.to_pxl());
    }
    out.push_str("HALT\n");
    out
}

/// Reads back a program written by [`program_text`]: its `CLS` colour and its shapes with their colours, so that a
/// search can be resumed from a stored program. Comments and blank lines are skipped; any other line is an error
/// naming it (1-based).
pub fn parse_program(text: &str) -> Result<([u8; 3], Vec<Placed>), String> {
    let mut background = None;
    let mut color: Option<Rgba> = None;
    let mut placed = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_ascii_whitespace();
        let op = words.next().unwrap_or_default();
        let numbers: Result<Vec<i32>, _> = words.map(str::parse::<i32>).collect();
        let bad = || format!("line {}: '{line}' is not part of an image program", index + 1);
        let numbers = numbers.map_err(|_| bad())?;
        let byte = |value: i32| u8::try_from(value).map_err(|_| bad());
        match (op, numbers.as_slice()) {
            ("CLS", &[r, g, b]) if background.is_none() && placed.is_empty() => {
                background = Some([byte(r)?, byte(g)?, byte(b)?]);
            }
            ("COLOR", &[r, g, b, a]) => color = Some(Rgba::new(byte(r)?, byte(g)?, byte(b)?, byte(a)?)),
            ("TRI", &[x0, y0, x1, y1, x2, y2]) => {
                let color = color.ok_or_else(bad)?;
                placed.push(Placed { shape: Shape::Triangle([x0, y0, x1, y1, x2, y2]), color });
            }
            ("RECT", &[x, y, w, h]) if w >= 1 && h >= 1 => {
                let color = color.ok_or_else(bad)?;
                // Corners past i32 (huge literals) are not an image program's.
                let x1 = x.checked_add(w - 1).ok_or_else(bad)?;
                let y1 = y.checked_add(h - 1).ok_or_else(bad)?;
                placed.push(Placed { shape: Shape::Rectangle([x, y, x1, y1]), color });
            }
            ("HALT", &[]) => break,
            // The canvas size the program declares: the caller knows its size already.
            ("SIZE", &[_, _]) if background.is_none() => {}
            _ => return Err(bad()),
        }
    }
    Ok((background.ok_or_else(|| "the program has no CLS line".to_string())?, placed))
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    #[test]
    fn program_text_reads_back() {
        let placed = [
            Placed { shape: Shape::Triangle([0, 1, 2, 3, 4, 5]), color: Rgba::new(1, 2, 3, 128) },
            Placed { shape: Shape::Rectangle([2, 3, 5, 9]), color: Rgba::new(1, 2, 3, 128) },
            Placed { shape: Shape::Triangle([-4, 1, 20, 3, 4, 50]), color: Rgba::new(9, 8, 7, 128) },
        ];
        let text = program_text(16, 16, [10, 20, 30], &placed);
        assert_eq!(parse_program(&text), Ok(([10, 20, 30], placed.to_vec())));
        assert_eq!(
            parse_program("CLS 0 0 0\nPSET 1 1\n"),
            Err("line 2: 'PSET 1 1' is not part of an image program".into())
        );
        assert_eq!(parse_program("COLOR 1 2 3 4\n"), Err("the program has no CLS line".into()));
        assert_eq!(
            parse_program("CLS 0 0 0\nCOLOR 1 2 3 4\nRECT 2147483647 0 2 1\n"),
            Err("line 3: 'RECT 2147483647 0 2 1' is not part of an image program".into())
        );
    }
}
