//! The evaluator cascade of the image goal: many cheap scores on a small canvas, in batches a GPU can take, then
//! full-size scores for the few survivors.
//!
//! One step of [`crate::Strategy::Cascade`] places one shape in two stages:
//!
//! 1. **Small canvas, in batches.** The target and the current canvas are box-averaged down by an integer factor
//!    until they have at most [`SMALL_MAX_PIXELS`] pixels. Many hill climbers run there in lockstep: each starts
//!    from the best of some random shapes, then every round proposes a few mutations and moves to the best one
//!    that improves. Every round's candidates, over all climbers, are one call to a [`ShapeScorer`]: the
//!    [`CpuShapeScorer`] here, or `gvpie-gpu`'s shape scorer, which computes the same numbers.
//! 2. **Full size, for survivors.** The best climbers' shapes are scaled up, re-scored on the full-size error
//!    table, refined by a short hill climb with small steps and polished; the best one is drawn exactly.
//!
//! Every climber and every refinement has its own random stream derived from the seed, the shape number and its
//! index, and the scorers agree to the bit, so the search's result depends neither on the scorer nor on the
//! number of threads.

use gvpie_raster::Canvas;

use crate::climb::{ClimbJob, Climbed, climb_cpu};
use crate::error_table::{ErrorTable, Scored};
use crate::rng::Rng;
use crate::shape::{Shape, ShapeKinds};

/// The most pixels the small canvas has: a batch scorer's 32-bit sums hold up to this size.
pub const SMALL_MAX_PIXELS: u32 = 4096;

/// Random-stream tags, so the cascade's streams never coincide with the other strategies'.
const CLIMB_STREAM: u64 = 0xC1_1B;
const REFINE_STREAM: u64 = 0x2E_F1;
const RESIDENT_STREAM: u64 = 0x2E_51;

/// How hard the cascade searches each shape.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CascadeEffort {
    /// Hill climbers on the small canvas.
    pub climbers: u32,
    /// Random shapes each climber starts from; the best is its start.
    pub random_tries: u32,
    /// Mutations each live climber proposes per round.
    pub mutations: u32,
    /// A climber stops after this many rounds in a row without improvement.
    pub patience: u32,
    /// The most rounds per shape.
    pub max_rounds: u32,
    /// The best climbers re-scored and refined at full size.
    pub survivors: u32,
    /// A survivor's refinement stops after this many failed mutations in a row.
    pub refine_failures: u32,
    /// When nonzero, the climbers are *resident*: each runs on its own from its random starts until this many
    /// mutations in a row fail, all of them in one call to the scorer per shape (see `climb`), instead of lockstep
    /// rounds of `mutations` (one call per round). `mutations`, `patience` and `max_rounds` are then unused.
    pub climb_failures: u32,
}

impl CascadeEffort {
    /// Sized for a CPU scorer on a few cores: 256 resident climbers of 64 random starts, each climbing until 64
    /// mutations in a row fail; 32 survivors (a few tenths of a second more per 50 shapes at 256 px, for about
    /// 1 % lower error with refinement: BENCHMARKS.md).
    pub const DEFAULT: CascadeEffort = CascadeEffort {
        climbers: 256,
        random_tries: 64,
        mutations: 0,
        patience: 0,
        max_rounds: 0,
        survivors: 32,
        refine_failures: 60,
        climb_failures: 64,
    };

    /// Sized for a GPU: 4096 resident climbers (one GPU workgroup each, one dispatch per shape), 32 survivors.
    pub const GPU: CascadeEffort =
        CascadeEffort { climbers: 4096, survivors: 32, refine_failures: 100, ..Self::DEFAULT };

    /// Lockstep rounds: 48 climbers of 64 random starts, 8 mutations each a round, one scorer call per round; a
    /// climber stops after 3 rounds without progress. Cheaper per shape than [`CascadeEffort::DEFAULT`] (about a
    /// third of the time on the CPU) for a slightly higher error.
    pub const LOCKSTEP: CascadeEffort = CascadeEffort {
        climbers: 48,
        random_tries: 64,
        mutations: 8,
        patience: 3,
        max_rounds: 40,
        survivors: 6,
        refine_failures: 60,
        climb_failures: 0,
    };
}

impl Default for CascadeEffort {
    fn default() -> CascadeEffort {
        CascadeEffort::DEFAULT
    }
}

/// Scores batches of shapes against the small canvas's error table (the cascade's first stage).
///
/// An implementation must return exactly what [`ErrorTable::score`] returns for each shape: the cascade's result
/// then does not depend on where the scores were computed.
pub trait ShapeScorer {
    /// A short name for progress lines: `cpu`, `gpu`.
    fn name(&self) -> String;
    /// The table changed (once per placed shape): the next batches are scored against it.
    fn set_table(&mut self, table: &ErrorTable);
    /// Scores `shapes` in order against the table last set (passed again for CPU scorers).
    fn score(&mut self, table: &ErrorTable, shapes: &[Shape]) -> Vec<Option<Scored>>;
    /// Runs the resident climbers of `job` against the table last set; one result per climber, in order, exactly
    /// as [`climb_cpu`] computes them.
    fn climb(&mut self, table: &ErrorTable, job: &ClimbJob) -> Vec<Climbed>;
    /// The renderer an image goal's refinement computes its gradients with, when this scorer brings one (the
    /// GPU's, see `gvpie-exec`); `None`: the CPU's, on the search's threads.
    fn soft_renderer(&mut self) -> Option<&mut dyn crate::SoftRenderer> {
        None
    }
    /// This scorer and its soft renderer borrowed apart, when it brings one that may leave the CPU free (see
    /// [`crate::SoftRenderer::frees_cpu`]), so that a refinement can compute on another thread while this scorer
    /// places shapes. `None` (the default): refinements and shapes take turns.
    fn split_gradients(&mut self) -> Option<(&mut dyn ShapeScorer, &mut dyn crate::SoftRenderer)> {
        None
    }
}

/// The CPU scorer: [`ErrorTable::score`] on `n_threads` threads.
#[derive(Copy, Clone, Debug)]
pub struct CpuShapeScorer {
    /// Threads to spread a batch over (0 counts as 1).
    pub n_threads: usize,
}

impl ShapeScorer for CpuShapeScorer {
    fn name(&self) -> String {
        "cpu".to_string()
    }

    fn set_table(&mut self, _table: &ErrorTable) {}

    fn score(&mut self, table: &ErrorTable, shapes: &[Shape]) -> Vec<Option<Scored>> {
        let n_threads = self.n_threads.max(1);
        // Below a few thousand shapes a thread costs more than it saves.
        if n_threads == 1 || shapes.len() < 2048 {
            return shapes.iter().map(|s| table.score(s)).collect();
        }
        let chunk = shapes.len().div_ceil(n_threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = shapes
                .chunks(chunk)
                .map(|part| scope.spawn(move || part.iter().map(|s| table.score(s)).collect::<Vec<_>>()))
                .collect();
            // A panic in a worker is a bug in the table; re-raise it here rather than hide it.
            handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
        })
    }

    fn climb(&mut self, table: &ErrorTable, job: &ClimbJob) -> Vec<Climbed> {
        climb_cpu(table, job, self.n_threads)
    }
}

/// The target at the small size and the factor it was reduced by.
#[derive(Clone, Debug)]
pub(crate) struct SmallView {
    pub scale: u32,
    pub target: Canvas,
}

impl SmallView {
    pub fn new(target: &Canvas) -> SmallView {
        let scale = small_scale(target.width(), target.height());
        SmallView { scale, target: downscale(target, scale) }
    }
}

/// The smallest integer factor that brings a `width` x `height` canvas to at most [`SMALL_MAX_PIXELS`] pixels.
pub fn small_scale(width: u32, height: u32) -> u32 {
    let mut scale = 1;
    while u64::from(width.div_ceil(scale)) * u64::from(height.div_ceil(scale)) > u64::from(SMALL_MAX_PIXELS) {
        scale += 1;
    }
    scale
}

/// `canvas` reduced by `scale`: each pixel is the rounded average of its block (partial at the right and bottom
/// edges).
pub fn downscale(canvas: &Canvas, scale: u32) -> Canvas {
    let (w, h) = (canvas.width(), canvas.height());
    if scale <= 1 {
        return canvas.clone();
    }
    let (sw, sh) = (w.div_ceil(scale), h.div_ceil(scale));
    let pixels = canvas.pixels();
    let mut bytes = Vec::with_capacity((sw * sh * 4) as usize);
    for by in 0..sh {
        for bx in 0..sw {
            let mut sum = [0u32; 3];
            let mut n = 0u32;
            for y in by * scale..((by + 1) * scale).min(h) {
                for x in bx * scale..((bx + 1) * scale).min(w) {
                    let p = pixels[(y * w + x) as usize];
                    for (ch, total) in sum.iter_mut().enumerate() {
                        *total += p >> (8 * ch) & 0xFF;
                    }
                    n += 1;
                }
            }
            // Averages of bytes are bytes.
            bytes.extend(sum.map(|s| ((2 * s + n) / (2 * n)) as u8));
            bytes.push(255);
        }
    }
    // The reduced size is at least 1x1 and no larger than the original, so it is valid.
    Canvas::from_rgba8(sw, sh, &bytes).unwrap_or_else(|_| canvas.clone())
}

/// A small-canvas shape in full-size coordinates: vertices to the centre of their block, rectangles to whole
/// blocks (clipped to the canvas).
pub fn upscale(shape: &Shape, scale: u32, width: u32, height: u32) -> Shape {
    let s = scale as i32;
    match *shape {
        Shape::Triangle(v) => Shape::Triangle(v.map(|c| c * s + s / 2)),
        Shape::Rectangle([x0, y0, x1, y1]) => Shape::Rectangle([
            x0 * s,
            y0 * s,
            (x1 * s + s - 1).min(width as i32 - 1),
            (y1 * s + s - 1).min(height as i32 - 1),
        ]),
    }
}

/// One climber on the small canvas.
struct Climber {
    rng: Rng,
    best: Option<(Shape, Scored)>,
    stale: u32,
}

/// The small-canvas stage: runs the climbers and returns the survivors' shapes, best first, and the candidates
/// scored.
pub(crate) fn small_stage(
    table: &ErrorTable,
    kinds: ShapeKinds,
    effort: &CascadeEffort,
    scale: u32,
    seed: u64,
    shape_index: u64,
    scorer: &mut dyn ShapeScorer,
) -> (Vec<Shape>, u64) {
    let (w, h) = (table.target().width(), table.target().height());
    let spread = (15 / scale as i32).max(1);
    let sigma = 16.0 / f64::from(scale);
    let margin = (16 / scale as i32).max(1);
    if effort.climb_failures > 0 {
        let job = ClimbJob {
            key: Rng::derive(seed, &[shape_index, RESIDENT_STREAM]).next_u64() as u32,
            n_climbers: effort.climbers.max(1),
            kinds,
            random_tries: effort.random_tries.max(1),
            max_failures: effort.climb_failures,
            spread,
            // Four uniforms on -a..=a have a standard deviation of about 1.15 a: a = 14 at full size, as sigma 16.
            step: (14 / scale as i32).max(1),
            margin,
        };
        let climbed = scorer.climb(table, &job);
        let n_candidates = climbed.iter().map(|c| u64::from(c.steps)).sum();
        let mut ranked: Vec<(i64, usize, Shape)> = climbed
            .iter()
            .enumerate()
            .filter_map(|(c, climbed)| climbed.best.map(|(shape, scored)| (scored.delta, c, shape)))
            .collect();
        ranked.sort_by_key(|&(delta, c, _)| (delta, c));
        return (distinct_best(ranked, effort.survivors), n_candidates);
    }
    let mut climbers: Vec<(ShapeKinds, Climber)> = (0..effort.climbers.max(1))
        .map(|c| {
            let mut rng = Rng::derive(seed, &[shape_index, u64::from(c), CLIMB_STREAM]);
            let kinds = match kinds {
                ShapeKinds::Both if rng.coin() => ShapeKinds::Triangles,
                ShapeKinds::Both => ShapeKinds::Rectangles,
                kinds => kinds,
            };
            (kinds, Climber { rng, best: None, stale: 0 })
        })
        .collect();
    let mut n_candidates = 0u64;
    let tries = effort.random_tries.max(1) as usize;
    let mut shapes: Vec<Shape> = Vec::with_capacity(climbers.len() * tries);
    for (kinds, climber) in &mut climbers {
        for _ in 0..tries {
            shapes.push(Shape::random_within(*kinds, w, h, spread, &mut climber.rng));
        }
    }
    let scores = scorer.score(table, &shapes);
    n_candidates += shapes.len() as u64;
    for (c, (_, climber)) in climbers.iter_mut().enumerate() {
        climber.best = best_of(&shapes[c * tries..(c + 1) * tries], &scores[c * tries..(c + 1) * tries]);
    }
    let mutations = effort.mutations.max(1) as usize;
    for _ in 0..effort.max_rounds {
        let live: Vec<usize> = (0..climbers.len())
            .filter(|&c| climbers[c].1.best.is_some() && climbers[c].1.stale < effort.patience.max(1))
            .collect();
        if live.is_empty() {
            break;
        }
        shapes.clear();
        for &c in &live {
            let climber = &mut climbers[c].1;
            let Some((current, _)) = climber.best else { continue };
            for _ in 0..mutations {
                shapes.push(current.mutate_by(w, h, sigma, margin, &mut climber.rng));
            }
        }
        let scores = scorer.score(table, &shapes);
        n_candidates += shapes.len() as u64;
        for (k, &c) in live.iter().enumerate() {
            let range = k * mutations..(k + 1) * mutations;
            let climber = &mut climbers[c].1;
            match (best_of(&shapes[range.clone()], &scores[range]), climber.best) {
                (Some(found), Some((_, now))) if found.1.delta < now.delta => {
                    climber.best = Some(found);
                    climber.stale = 0;
                }
                _ => climber.stale += 1,
            }
        }
    }
    // Survivors: the best distinct shapes, ties broken by climber number.
    let mut ranked: Vec<(i64, usize, Shape)> = climbers
        .iter()
        .enumerate()
        .filter_map(|(c, (_, climber))| climber.best.map(|(shape, scored)| (scored.delta, c, shape)))
        .collect();
    ranked.sort_by_key(|&(delta, c, _)| (delta, c));
    (distinct_best(ranked, effort.survivors), n_candidates)
}

/// The first `n` distinct shapes of a ranking.
fn distinct_best(ranked: Vec<(i64, usize, Shape)>, n: u32) -> Vec<Shape> {
    let mut survivors: Vec<Shape> = Vec::new();
    for (_, _, shape) in ranked {
        if survivors.len() >= n.max(1) as usize {
            break;
        }
        if !survivors.contains(&shape) {
            survivors.push(shape);
        }
    }
    survivors
}

/// The best-scoring shape of a batch (the first on ties), if any covers a pixel.
fn best_of(shapes: &[Shape], scores: &[Option<Scored>]) -> Option<(Shape, Scored)> {
    let mut best: Option<(Shape, Scored)> = None;
    for (shape, score) in shapes.iter().zip(scores) {
        if let Some(score) = score
            && best.as_ref().is_none_or(|b| score.delta < b.1.delta)
        {
            best = Some((*shape, *score));
        }
    }
    best
}

/// The random stream of survivor `index`'s full-size refinement.
pub(crate) fn refine_rng(seed: u64, shape_index: u64, index: usize) -> Rng {
    Rng::derive(seed, &[shape_index, index as u64, REFINE_STREAM])
}

#[cfg(test)]
mod tests {
    use super::*;
    use gvpie_raster::Rgba;

    #[test]
    fn scale_and_downscale() {
        assert_eq!(small_scale(64, 64), 1);
        assert_eq!(small_scale(65, 64), 2);
        assert_eq!(small_scale(256, 256), 4);
        assert_eq!(small_scale(256, 171), 4);
        assert_eq!(small_scale(4096, 1), 1);
        assert_eq!(small_scale(4097, 1), 2);
        let mut canvas = Canvas::new(5, 3).expect("size");
        canvas.clear(Rgba::new(10, 20, 30, 255));
        canvas.pset(4, 2, Rgba::new(250, 0, 0, 255));
        canvas.pset(0, 0, Rgba::new(14, 20, 30, 255));
        let small = downscale(&canvas, 2);
        assert_eq!((small.width(), small.height()), (3, 2));
        // Block (0,0) holds 14,10,10,10: average 11. The corner block holds one pixel.
        assert_eq!(small.get(0, 0), Some(Rgba::new(11, 20, 30, 255)));
        assert_eq!(small.get(2, 1), Some(Rgba::new(250, 0, 0, 255)));
        assert_eq!(small.get(1, 1), Some(Rgba::new(10, 20, 30, 255)));
    }

    #[test]
    fn upscale_maps_to_block_centres_and_whole_blocks() {
        assert_eq!(
            upscale(&Shape::Triangle([0, 1, 2, 3, -1, 5]), 4, 256, 256),
            Shape::Triangle([2, 6, 10, 14, -2, 22])
        );
        assert_eq!(upscale(&Shape::Rectangle([1, 2, 3, 63]), 4, 256, 250), Shape::Rectangle([4, 8, 15, 249]));
    }
}
