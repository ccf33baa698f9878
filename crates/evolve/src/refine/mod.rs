//! Differentiable refinement: gradients tune the numbers of a program's drawing instructions.
//!
//! Search finds structure; [`refine`] tunes the integer literals of a program's drawing and `COLOR` instructions
//! (positions, sizes, colours and alpha of every shape at once) to bring its picture closer to a target:
//!
//! 1. **Parameters** ([`Params`]): the program is parsed with gvpie-pxl's parser; every literal operand of `CLS`,
//!    `COLOR`, `RECT`, `PSET`, `LINE`, `CIRC`, `CIRCF` and `TRI` is a parameter. Operands computed at run time
//!    (variables) stay as they are, and control flow is kept: in a program with loops only literals are parameters,
//!    a literal inside a loop being one parameter shared by all its iterations.
//! 2. **Trace** ([`trace`]): the program runs once in the VM, recording every drawing call with its numbers and
//!    which parameter each came from.
//! 3. **Soft render and gradient** ([`soft`]): each call's coverage is smoothed with a softness `σ` (logistic
//!    edges), blended with the same rule as the exact renderer in floating point, and the loss (mean squared
//!    error, optionally edge-weighted) is differentiated with respect to every call's numbers, then summed per
//!    parameter. A [`SoftRenderer`] computes it: [`CpuSoftRenderer`] here, the GPU's through `gvpie-exec`.
//! 4. **Adam** with `σ` annealed geometrically from `sigma_start` to `sigma_end` and a cosine-decayed step size;
//!    every few steps the rounded parameters are scored exactly and the best kept.
//! 5. **Rounding and polish**: the best integer parameters are polished by coordinate descent (±1 steps, kept while
//!    they help), each candidate scored by running the program in the VM. The program written out draws exactly the
//!    picture whose RMSE is reported, and the result is never worse than the program given.
//!
//! The time budget comes from the caller as a [`Clock`] and a deadline, or as step counts; nothing here reads a
//! clock. The trace is taken once: a program whose control flow depends on what it draws (`PGET`) is refined as if
//! it did not, but every score reported is the VM's.

// Numeric code indexes several parallel arrays by the same slot.
#![allow(clippy::needless_range_loop)]

pub mod params;
pub mod scene;
pub mod soft;

use gvpie_pxl::{RECORD_WORDS, Status, Texture};
use gvpie_raster::Canvas;

pub use self::params::{Param, ParamKind, Params};
pub use self::scene::{COLOR_SLOT, Draw, DrawKind, MAX_DRAWS, SLOTS, Scene, TraceError, trace};
pub use self::soft::{Call, SoftResult, SoftTarget};
use crate::goal::Clock;

/// Computes the soft render's loss and per-call gradient; see [`soft::evaluate`] for the meaning. `Send`, so that
/// a refinement can run on a thread of its own while an image session goes on placing shapes.
pub trait SoftRenderer: Send {
    /// A short name for messages: `cpu`, `gpu`.
    fn name(&self) -> String;
    /// Whether its work leaves the CPU's cores free (a GPU's renderer): then an image session may run a
    /// refinement beside its shape search (see `ImageRefine::overlap`). It may settle which renderer computes
    /// (a GPU still opening), so it takes `&mut self`.
    fn frees_cpu(&mut self) -> bool {
        false
    }
    /// The loss and gradient of `draws` (resolved slot values) against `target` at softness `sigma`.
    fn evaluate(
        &mut self,
        target: &SoftTarget,
        masks: &[Vec<bool>],
        draws: &[Call],
        sigma: f64,
    ) -> Result<SoftResult, String>;
}

/// The CPU soft renderer, in `f64`: rows in chunks shared by `threads` threads (the result does not depend on their number).
#[derive(Debug, Clone, Copy)]
pub struct CpuSoftRenderer {
    /// Threads to use (at least 1).
    pub threads: usize,
}

impl SoftRenderer for CpuSoftRenderer {
    fn name(&self) -> String {
        "cpu".to_string()
    }

    fn evaluate(
        &mut self,
        target: &SoftTarget,
        masks: &[Vec<bool>],
        draws: &[Call],
        sigma: f64,
    ) -> Result<SoftResult, String> {
        Ok(soft::evaluate(target, masks, draws, sigma, self.threads.max(1)))
    }
}

/// The settings of one refinement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefineConfig {
    /// The most Adam steps (with a deadline, the clock usually ends the phase first).
    pub steps: usize,
    /// The softness at the start, in pixels.
    pub sigma_start: f64,
    /// The softness at the end, in pixels.
    pub sigma_end: f64,
    /// Adam's step size for coordinates, in pixels.
    pub lr_coord: f64,
    /// Adam's step size for colour channels and alpha, in 0..255 units.
    pub lr_color: f64,
    /// Edge weighting of the loss (0: plain mean squared error); see [`SoftTarget::new`].
    pub edge_weight: f64,
    /// Score the rounded parameters exactly every this many Adam steps.
    pub check_every: usize,
    /// The most coordinate-descent sweeps of the polish.
    pub polish_sweeps: usize,
    /// With a deadline: the share of the time given to the polish (the Adam phase gets the rest).
    pub polish_share: f64,
    /// The VM's cycle budget for every exact run.
    pub budget: u64,
    /// The Adam phase works on the target reduced by the smallest integer factor that brings it to at most this
    /// many pixels (block averages; coordinates mapped to the blocks' centres). Programs with text always work at
    /// full size. The polish is always at full size.
    pub soft_max_pixels: u32,
    /// Leave `CLS`'s numbers as they are (an image search continues from the refined program with its own
    /// background).
    pub keep_background: bool,
    /// Leave every `COLOR`'s alpha as it is (an image search with a fixed alpha continues from the refined program).
    pub keep_alpha: bool,
}

impl Default for RefineConfig {
    fn default() -> RefineConfig {
        RefineConfig {
            steps: 300,
            sigma_start: 1.0,
            sigma_end: 0.2,
            lr_coord: 0.6,
            lr_color: 3.0,
            edge_weight: 0.0,
            check_every: 20,
            polish_sweeps: 8,
            polish_share: 0.3,
            budget: gvpie_pxl::DEFAULT_BUDGET,
            soft_max_pixels: 65_536,
            keep_background: false,
            keep_alpha: false,
        }
    }
}

/// Where a refinement is, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefineProgress {
    /// `"adam"` or `"polish"`.
    pub phase: &'static str,
    /// Progress through the whole refinement, 0 to 1.
    pub fraction: f64,
    /// The current softness (Adam).
    pub sigma: f64,
    /// The current soft loss (Adam).
    pub soft_loss: f64,
    /// The best exact RMSE so far.
    pub rmse: f64,
}

/// The result of [`refine`].
#[derive(Debug, Clone)]
pub struct Refinement {
    /// The refined program (the input where nothing improved).
    pub source: String,
    /// What it draws in the VM.
    pub canvas: Canvas,
    /// How that run ended.
    pub status: Status,
    /// The input program's RMSE against the target.
    pub rmse_before: f64,
    /// The refined program's.
    pub rmse_after: f64,
    /// The RMSE after the Adam phase and rounding (before the polish).
    pub rmse_rounded: f64,
    /// The number of parameters.
    pub n_params: usize,
    /// The number of drawing calls traced.
    pub n_draws: usize,
    /// Adam steps taken.
    pub steps: usize,
    /// Exact evaluations (VM runs) made.
    pub exact_runs: usize,
    /// The renderer that computed the gradients, and why it changed to the CPU's, if it did.
    pub renderer: String,
    /// The soft renderer's failure that moved the work to the CPU, if any.
    pub fallback: Option<String>,
}

/// Why a program could not be refined.
#[derive(Debug, Clone, PartialEq)]
pub enum RefineError {
    /// The source does not compile (the first diagnostic).
    Parse(String),
    /// The program could not be traced.
    Trace(TraceError),
}

impl std::fmt::Display for RefineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefineError::Parse(message) => write!(f, "{message}"),
            RefineError::Trace(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RefineError {}

/// The time a refinement may take: step counts only, or a deadline on the caller's clock as well.
pub struct Budget<'a> {
    /// The caller's clock.
    pub clock: &'a dyn Clock,
    /// Stop by this reading of `clock` (seconds), if given.
    pub deadline: Option<f64>,
}

/// Runs a program with some parameters replaced, by patching its machine texture.
struct Exact<'a> {
    words: Vec<u32>,
    slots: Vec<Option<usize>>,
    target: &'a Canvas,
    config: gvpie_pxl::Config,
    runs: usize,
}

impl Exact<'_> {
    fn run(&mut self, values: &[i32]) -> Option<(u64, Canvas, Status)> {
        let mut words = self.words.clone();
        for (slot, &value) in self.slots.iter().zip(values) {
            if let Some(index) = slot {
                words[*index] = value as u32;
            }
        }
        self.runs += 1;
        let texture = Texture::from_words(words).ok()?;
        let result = gvpie_pxl::run(&texture, &self.config).ok()?;
        let sse = crate::sse(self.target, &result.canvas)?;
        Some((sse, result.canvas, result.status))
    }

    fn sse(&mut self, values: &[i32]) -> u64 {
        self.run(values).map_or(u64::MAX, |r| r.0)
    }
}

/// Maps a call's geometry onto a canvas reduced by `scale` (pixel blocks of `scale` × `scale`): a position `u`
/// becomes `(u - (scale - 1) / 2) / scale` (the block centres), a size (`RECT`'s w and h, a radius) `u / scale`.
fn reduce(call: &mut Call, scale: u32) {
    let k = f64::from(scale);
    let (kind, _, v) = call;
    let sizes: &[usize] = match kind {
        DrawKind::Cls | DrawKind::Mask => return,
        DrawKind::Rect => &[2, 3],
        DrawKind::Circ | DrawKind::Circf => &[2],
        _ => &[],
    };
    for (slot, value) in v.iter_mut().enumerate().take(COLOR_SLOT) {
        *value = if sizes.contains(&slot) { *value / k } else { (*value - (k - 1.0) / 2.0) / k };
    }
}

fn round_values(values: &[f64], params: &Params) -> Vec<i32> {
    values
        .iter()
        .zip(&params.list)
        .map(|(&v, p)| match p.kind {
            ParamKind::Coord => v.round().clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32,
            ParamKind::Channel | ParamKind::Alpha => v.round().clamp(0.0, 255.0) as i32,
        })
        .collect()
}

/// Refines `source` towards `target` (drawn at the target's size): see the [module docs](self). `renderer`
/// computes the gradients; if it fails, the CPU's takes over for good (the result says why). `progress` is called
/// after every step.
pub fn refine(
    source: &str,
    target: &Canvas,
    config: &RefineConfig,
    renderer: &mut dyn SoftRenderer,
    cpu_threads: usize,
    budget: &Budget<'_>,
    progress: &mut dyn FnMut(&RefineProgress),
) -> Result<Refinement, RefineError> {
    let params = Params::read(source).map_err(RefineError::Parse)?;
    let texture = gvpie_pxl::compile(source).map_err(|d| RefineError::Parse(d[0].headline()))?;
    let (width, height) = (target.width(), target.height());
    let (scene, _) = trace(&texture, &params, width, height, config.budget).map_err(RefineError::Trace)?;

    // Each parameter's word in the texture: record r's operand k is word 8 (1 + r) + 1 + k.
    let n_records = texture.n_records();
    let mut record_of_line = std::collections::HashMap::new();
    for r in 0..n_records {
        record_of_line.entry(texture.record(r)[7]).or_insert(r);
    }
    // A parameter the caller keeps gets no slot: it is neither moved by Adam nor polished.
    let kept = |p: &Param| {
        (config.keep_background && p.op == gvpie_pxl::Op::Cls) || (config.keep_alpha && p.kind == ParamKind::Alpha)
    };
    let slots: Vec<Option<usize>> = params
        .list
        .iter()
        .map(|p| if kept(p) { None } else { record_of_line.get(&p.line).map(|&r| RECORD_WORDS * (1 + r) + 1 + p.slot) })
        .collect();
    let vm_config = gvpie_pxl::Config { width, height, budget: config.budget, max_frames: 0 };
    let mut exact = Exact { words: texture.words().to_vec(), slots, target, config: vm_config, runs: 0 };

    let original = params.values();
    let start_sse = exact.sse(&original);
    let mut best = (start_sse, original.clone());
    let rmse_of = |sse: u64| crate::rmse_from_sse(sse, width, height);

    let now = || budget.clock.seconds();
    let t0 = now();
    let adam_end = budget.deadline.map(|d| t0 + (d - t0).max(0.0) * (1.0 - config.polish_share));
    // The Adam phase's canvas: the target reduced by an integer factor when it is large (not with text masks).
    let mut scale = 1u32;
    while scene.masks.is_empty()
        && u64::from(width.div_ceil(scale)) * u64::from(height.div_ceil(scale))
            > u64::from(config.soft_max_pixels.max(1))
    {
        scale += 1;
    }
    let soft_target = SoftTarget::new(&crate::downscale(target, scale), config.edge_weight);

    // Adam.
    let n = params.len();
    let mut x: Vec<f64> = original.iter().map(|&v| f64::from(v)).collect();
    let (mut m1, mut m2) = (vec![0.0; n], vec![0.0; n]);
    let (beta1, beta2) = (0.9f64, 0.999f64);
    let mut cpu = CpuSoftRenderer { threads: cpu_threads.max(1) };
    let mut fallback = None;
    let mut renderer_name = renderer.name();
    let mut steps = 0;
    let active = n > 0 && !scene.draws.is_empty() && config.steps > 0;
    while active && steps < config.steps {
        let by_steps = steps as f64 / config.steps as f64;
        let by_time = match (adam_end, budget.deadline) {
            (Some(end), Some(_)) if end > t0 => (now() - t0) / (end - t0),
            (Some(_), Some(_)) => 1.0,
            _ => 0.0,
        };
        let frac = by_steps.max(by_time);
        if frac >= 1.0 {
            break;
        }
        let sigma = config.sigma_start * (config.sigma_end / config.sigma_start).powf(frac);
        let mut draws = soft::resolve(&scene.draws, &x);
        if scale > 1 {
            for call in &mut draws {
                reduce(call, scale);
            }
        }
        let result = match fallback {
            None => match renderer.evaluate(&soft_target, &scene.masks, &draws, sigma) {
                Ok(r) => r,
                Err(e) => {
                    fallback = Some(e);
                    renderer_name = cpu.name();
                    soft::evaluate(&soft_target, &scene.masks, &draws, sigma, cpu.threads)
                }
            },
            Some(_) => cpu.evaluate(&soft_target, &scene.masks, &draws, sigma).unwrap_or_default(),
        };
        let mut grad = vec![0.0; n];
        for (draw, g) in scene.draws.iter().zip(&result.grads) {
            for (slot, param) in draw.params.iter().enumerate() {
                if let Some(p) = param {
                    // Geometry on the reduced canvas is the full-size value divided by the factor.
                    grad[*p as usize] += if slot < COLOR_SLOT { g[slot] / f64::from(scale) } else { g[slot] };
                }
            }
        }
        steps += 1;
        let decay = 0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * frac).cos());
        let t = steps as i32;
        for i in 0..n {
            if exact.slots[i].is_none() {
                continue;
            }
            m1[i] = beta1 * m1[i] + (1.0 - beta1) * grad[i];
            m2[i] = beta2 * m2[i] + (1.0 - beta2) * grad[i] * grad[i];
            let mh = m1[i] / (1.0 - beta1.powi(t));
            let vh = m2[i] / (1.0 - beta2.powi(t));
            let lr = match params.list[i].kind {
                ParamKind::Coord => config.lr_coord,
                ParamKind::Channel | ParamKind::Alpha => config.lr_color,
            } * decay;
            if vh > 0.0 {
                x[i] -= lr * mh / (vh.sqrt() + 1e-12 * (1.0 + vh.sqrt()));
            }
            x[i] = match params.list[i].kind {
                ParamKind::Coord => x[i].clamp(-8192.0, 8192.0),
                ParamKind::Channel | ParamKind::Alpha => x[i].clamp(0.0, 255.0),
            };
        }
        if steps % config.check_every.max(1) == 0 || steps == config.steps {
            let rounded = round_values(&x, &params);
            let sse = exact.sse(&rounded);
            if sse < best.0 {
                best = (sse, rounded);
            }
        }
        progress(&RefineProgress {
            phase: "adam",
            fraction: frac * (1.0 - config.polish_share),
            sigma,
            soft_loss: result.loss,
            rmse: rmse_of(best.0),
        });
    }
    if active {
        let rounded = round_values(&x, &params);
        let sse = exact.sse(&rounded);
        if sse < best.0 {
            best = (sse, rounded);
        }
    }
    let rmse_rounded = rmse_of(best.0);

    // Polish: coordinate descent on the integers, scored by the VM.
    let out_of_time = || budget.deadline.is_some_and(|d| now() >= d);
    let mut sweep = 0;
    'sweeps: while active && sweep < config.polish_sweeps {
        sweep += 1;
        let mut improved = false;
        for i in 0..n {
            if exact.slots[i].is_none() {
                continue;
            }
            for delta in [1, -1] {
                let mut moved = false;
                loop {
                    if out_of_time() {
                        break 'sweeps;
                    }
                    let mut candidate = best.1.clone();
                    let next = i64::from(candidate[i]) + delta;
                    let in_range = match params.list[i].kind {
                        ParamKind::Coord => (-8192..=8192).contains(&next),
                        ParamKind::Channel | ParamKind::Alpha => (0..=255).contains(&next),
                    };
                    if !in_range {
                        break;
                    }
                    candidate[i] = next as i32;
                    let sse = exact.sse(&candidate);
                    if sse < best.0 {
                        best = (sse, candidate);
                        moved = true;
                        improved = true;
                    } else {
                        break;
                    }
                }
                if moved {
                    break;
                }
            }
            if i % 16 == 0 {
                let fraction = match budget.deadline {
                    Some(d) if d > t0 => ((now() - t0) / (d - t0)).min(1.0),
                    _ => {
                        (1.0 - config.polish_share)
                            + config.polish_share * (sweep - 1) as f64 / config.polish_sweeps.max(1) as f64
                    }
                };
                progress(&RefineProgress {
                    phase: "polish",
                    fraction,
                    sigma: 0.0,
                    soft_loss: 0.0,
                    rmse: rmse_of(best.0),
                });
            }
        }
        if !improved {
            break;
        }
    }

    let (final_sse, canvas, status) = match exact.run(&best.1) {
        Some(run) => run,
        None => return Err(RefineError::Parse("internal error: the refined program does not run".to_string())),
    };
    let source = if best.1 == original { source.to_string() } else { params.write(&best.1) };
    Ok(Refinement {
        source,
        canvas,
        status,
        rmse_before: rmse_of(start_sse),
        rmse_after: rmse_of(final_sse),
        rmse_rounded,
        n_params: n,
        n_draws: scene.draws.len(),
        steps,
        exact_runs: exact.runs,
        renderer: renderer_name,
        fallback,
    })
}
