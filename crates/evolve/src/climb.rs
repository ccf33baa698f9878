//! Resident climbers: the cascade's first stage as one call per shape, with every climber running on its own from
//! random starts to the end of its hill climb.
//!
//! The lockstep rounds of `cascade` need one batch call per round, so a device with a high per-call latency (a GPU
//! behind a submission and a read-back) spends its time waiting. Here a [`ClimbJob`] describes whole climbs and a
//! scorer runs them where it likes: [`climb_cpu`] on CPU threads, `gvpie-gpu`'s climb kernel one GPU workgroup
//! per climber. To give the same answer everywhere the algorithm uses only 32-bit integer arithmetic: a PCG random
//! generator ([`Pcg32`]), integer uniform sums for the mutation step (a near-normal step of the given spread), and
//! [`ErrorTable::score`] for every candidate. The WGSL twin lives in `crates/gpu/shaders/climb.wgsl`; change both
//! together (a differential test compares them).

use crate::error_table::{ErrorTable, Scored};
use crate::shape::{Shape, ShapeKinds};

/// The most candidates one climber scores, whatever its settings: a bound on the time of one call.
pub const MAX_CLIMB_STEPS: u32 = 20_000;

/// Tries before a random triangle or a mutation gives up on finding a non-degenerate, different shape.
const MAX_SHAPE_TRIES: u32 = 16;

/// A 32-bit PCG generator (RXS-M-XS output), the same on the CPU and in WGSL.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Pcg32 {
    state: u32,
}

impl Pcg32 {
    /// The generator of climber `index` of a job with key `key`.
    pub fn for_climber(key: u32, index: u32) -> Pcg32 {
        let mut rng = Pcg32 { state: key ^ index.wrapping_mul(0x9E37_79B9) };
        rng.next_u32();
        rng
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        self.state = self.state.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
        let s = self.state;
        let word = ((s >> ((s >> 28) + 4)) ^ s).wrapping_mul(277_803_737);
        (word >> 22) ^ word
    }

    /// Uniform on `0..n` (`n >= 1`; a modulo, whose tiny bias is the same everywhere).
    pub fn below(&mut self, n: u32) -> u32 {
        self.next_u32() % n.max(1)
    }

    /// Uniform on `lo..=hi` (`lo <= hi`).
    pub fn range(&mut self, lo: i32, hi: i32) -> i32 {
        lo + self.below((hi - lo + 1) as u32) as i32
    }

    /// A near-normal integer step: the sum of four uniforms on `-a..=a` (standard deviation about `1.15 a`).
    pub fn step(&mut self, a: i32) -> i32 {
        (0..4).map(|_| self.range(-a, a)).sum()
    }
}

/// What every climber of one call does.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ClimbJob {
    /// Seeds the climbers' generators (see [`Pcg32::for_climber`]).
    pub key: u32,
    /// How many climbers.
    pub n_climbers: u32,
    /// Which shapes: each climber of `Both` picks one kind with its first random bit.
    pub kinds: ShapeKinds,
    /// Random shapes each climber starts from; the best is its start.
    pub random_tries: u32,
    /// The climb stops after this many failed mutations in a row.
    pub max_failures: u32,
    /// The other corners of a random shape lie within this many pixels of the first.
    pub spread: i32,
    /// The mutation step's uniform half-width (see [`Pcg32::step`]).
    pub step: i32,
    /// Triangle vertices stay within this many pixels of the canvas.
    pub margin: i32,
}

/// Where one climber ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Climbed {
    /// Its shape and score, or `None` when no start covered a pixel.
    pub best: Option<(Shape, Scored)>,
    /// Candidates it scored.
    pub steps: u32,
}

/// Twice the signed area of a triangle (small coordinates: no clamp needed, they stay within the margin).
fn area2(v: &[i32; 6]) -> i32 {
    (v[2] - v[0]) * (v[5] - v[1]) - (v[3] - v[1]) * (v[4] - v[0])
}

fn random_shape(triangle: bool, w: i32, h: i32, job: &ClimbJob, rng: &mut Pcg32) -> Shape {
    let x = rng.range(0, w - 1);
    let y = rng.range(0, h - 1);
    let sp = job.spread.max(1);
    if triangle {
        let mut v = [x, y, x, y, x, y];
        for _ in 0..MAX_SHAPE_TRIES {
            v = [x, y, x + rng.range(-sp, sp), y + rng.range(-sp, sp), x + rng.range(-sp, sp), y + rng.range(-sp, sp)];
            if area2(&v) != 0 {
                break;
            }
        }
        Shape::Triangle(v)
    } else {
        let x1 = (x + rng.range(0, 2 * sp + 1)).min(w - 1);
        let y1 = (y + rng.range(0, 2 * sp + 1)).min(h - 1);
        Shape::Rectangle([x, y, x1, y1])
    }
}

fn mutate(shape: &Shape, w: i32, h: i32, job: &ClimbJob, rng: &mut Pcg32) -> Shape {
    let (a, m) = (job.step.max(1), job.margin);
    match *shape {
        Shape::Triangle(v) => {
            for _ in 0..MAX_SHAPE_TRIES {
                let mut next = v;
                let k = rng.below(3) as usize * 2;
                next[k] = (next[k] + rng.step(a)).clamp(-m, w - 1 + m);
                next[k + 1] = (next[k + 1] + rng.step(a)).clamp(-m, h - 1 + m);
                if area2(&next) != 0 && next != v {
                    return Shape::Triangle(next);
                }
            }
            *shape
        }
        Shape::Rectangle(r) => {
            for _ in 0..MAX_SHAPE_TRIES {
                let mut next = r;
                let k = rng.below(2) as usize * 2;
                next[k] = (next[k] + rng.step(a)).clamp(0, w - 1);
                next[k + 1] = (next[k + 1] + rng.step(a)).clamp(0, h - 1);
                let fixed = [next[0].min(next[2]), next[1].min(next[3]), next[0].max(next[2]), next[1].max(next[3])];
                if fixed != r {
                    return Shape::Rectangle(fixed);
                }
            }
            *shape
        }
    }
}

/// Runs climber `index` of `job` against `table` (on the CPU): the reference for every other implementation.
pub fn climb_one(table: &ErrorTable, job: &ClimbJob, index: u32) -> Climbed {
    let (w, h) = (table.target().width() as i32, table.target().height() as i32);
    let mut rng = Pcg32::for_climber(job.key, index);
    let triangle = match job.kinds {
        ShapeKinds::Triangles => true,
        ShapeKinds::Rectangles => false,
        ShapeKinds::Both => rng.next_u32() & 1 == 0,
    };
    let mut best: Option<(Shape, Scored)> = None;
    let mut steps = 0;
    for _ in 0..job.random_tries.max(1) {
        let shape = random_shape(triangle, w, h, job, &mut rng);
        steps += 1;
        if let Some(scored) = table.score(&shape)
            && best.as_ref().is_none_or(|b| scored.delta < b.1.delta)
        {
            best = Some((shape, scored));
        }
    }
    let Some((mut shape, mut scored)) = best else {
        return Climbed { best: None, steps };
    };
    let mut failures = 0;
    while failures < job.max_failures && steps < MAX_CLIMB_STEPS {
        let candidate = mutate(&shape, w, h, job, &mut rng);
        steps += 1;
        match table.score(&candidate) {
            Some(s) if s.delta < scored.delta => {
                shape = candidate;
                scored = s;
                failures = 0;
            }
            _ => failures += 1,
        }
    }
    Climbed { best: Some((shape, scored)), steps }
}

/// Runs every climber of `job` on `n_threads` CPU threads, in climber order.
pub fn climb_cpu(table: &ErrorTable, job: &ClimbJob, n_threads: usize) -> Vec<Climbed> {
    let n = job.n_climbers as usize;
    let n_threads = n_threads.clamp(1, n.max(1));
    if n_threads == 1 {
        return (0..job.n_climbers).map(|i| climb_one(table, job, i)).collect();
    }
    let chunk = n.div_ceil(n_threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n_threads)
            .map(|t| {
                let range = (t * chunk).min(n) as u32..((t + 1) * chunk).min(n) as u32;
                scope.spawn(move || range.map(|i| climb_one(table, job, i)).collect::<Vec<_>>())
            })
            .collect();
        // A panic in a worker is a bug in this module; re-raise it here rather than hide it.
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gvpie_raster::{Canvas, Rgba};

    #[test]
    fn pcg_is_fixed() {
        // Golden values: the WGSL twin must produce the same stream.
        // Computed independently (a few lines of Python over the same recurrence).
        let mut rng = Pcg32::for_climber(12345, 7);
        let words: Vec<u32> = (0..3).map(|_| rng.next_u32()).collect();
        assert_eq!(words, [348_634_780, 3_778_468_259, 1_574_075_002]);
        assert_ne!(Pcg32::for_climber(12345, 8).next_u32(), words[0]);
        let mut rng = Pcg32::for_climber(1, 1);
        for _ in 0..1000 {
            let s = rng.step(3);
            assert!((-12..=12).contains(&s));
            assert!((5..=9).contains(&rng.range(5, 9)));
        }
    }

    #[test]
    fn climbers_improve_and_threads_do_not_matter() {
        let mut target = Canvas::new(32, 24).expect("size");
        target.fill_rect(4, 4, 12, 10, Rgba::WHITE);
        let mut current = Canvas::new(32, 24).expect("size");
        current.clear(Rgba::new(40, 40, 40, 255));
        let table = ErrorTable::new(target, current, 128, 1);
        let job = ClimbJob {
            key: 99,
            n_climbers: 37,
            kinds: ShapeKinds::Both,
            random_tries: 8,
            max_failures: 30,
            spread: 4,
            step: 2,
            margin: 4,
        };
        let one = climb_cpu(&table, &job, 1);
        assert_eq!(one, climb_cpu(&table, &job, 3));
        assert_eq!(one.len(), 37);
        let best = one.iter().filter_map(|c| c.best).map(|c| c.1.delta).min().expect("some climber covers a pixel");
        assert!(best < 0, "no improvement: {best}");
        assert!(one.iter().all(|c| c.steps >= 8 + 30 || c.best.is_none()));
        for (shape, scored) in one.iter().filter_map(|c| c.best.as_ref()) {
            assert_eq!(table.score(shape), Some(*scored));
        }
    }
}
