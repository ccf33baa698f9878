//! The batch executor: runs many machine textures in resumable slices and turns the
//! per-program outcomes back into the CPU's result types.
//!
//! It does not decide whether the GPU is worth it (see [`crate::auto_prefers_gpu`]) and it
//! never changes a program's meaning: when the GPU fails (device lost, out of memory, a
//! program too large for the adapter's buffers, an outcome that makes no sense) the whole
//! batch is run again on the CPU and the returned [`Batch`] says so.
//!
//! # Steps
//!
//! [`GpuBackend::execute`] runs a batch in steps, each a function of its own:
//!
//! 1. **plan** (host): which programs run on which pipeline ([`Schedule`]), and the sizes
//!    that split them into chunks ([`Plan`]); a program too large for one buffer refuses
//!    the batch.
//! 2. **pack** (host, all cores): lay each job out in workgroups and chunks and fill the
//!    staging buffers (`pack.rs`); record their copies into device buffers.
//! 3. **record**: per chunk, one after the other: *bind* its parameters, variables (with the
//!    lanes' saved states) and outcome buffers ([`BoundChunk`]), then *run its slices*
//!    ([`GpuBackend::run_chunk`]: dispatch, read back one word per group, dispatch again the
//!    groups still running, ask `stop` between slices, [`SliceSizes`]), the *score pass* for
//!    canvases not scored in their dispatch, and the copies of outcomes (and canvases) into
//!    read-back buffers ([`Readback`]).
//! 4. **wait** for the read-back buffers to map (`readback.rs`, the crate's one waiting loop)
//!    and pop the error scopes; then *recycle* the staging buffers into the pool.
//! 5. **unpack**: outcomes back to program order, canvases concatenated ([`Raw`]), then
//!    converted into [`RunResult`] or [`Scored`] by the public entry points.
//!
//! A bound chunk owns the state its slices keep on the device (variables, lane states,
//! outcomes; the canvases live in one buffer shared by the chunks, which run one at a time).

use std::time::Instant;

use bytemuck::{Pod, Zeroable};
use gvpie_pxl::{
    Config, OPERANDS_PER_RECORD, RECORD_WORDS, RecordError, RunResult, Status, Texture, Trap, decode_record,
};
use gvpie_raster::Canvas;
use wgpu::util::DeviceExt;

use crate::backend::GpuBackend;
use crate::codes::{
    FLAG_INLINE_SCORE, FLAG_LOCAL_PROG, FLAG_LOCAL_VARS, FLAG_SCORE, SCHED_CUT, SCHED_RASTER, SCHED_SCORED,
    STATUS_CUT_SHORT, STATUS_HALTED, STATUS_RUNNING, STATUS_TRAPPED, TrapCode,
};
use crate::cpu;
use crate::error::GpuError;
use crate::pack::{self, Chunk, Group, Info, Pool, Uploads};
use crate::readback;
use crate::shader::{self, WORKGROUP_SIZE};

/// Shapes whose clipped area (pixels visited) is at most this are drawn by the program's own
/// thread; larger ones by its whole workgroup.
pub const INLINE_MAX_PIXELS: u32 = 16;

/// The most bytes one scratch canvas buffer may take, whatever the device allows.
const MAX_CANVAS_CHUNK_BYTES: u64 = 2 << 30;

/// Where a batch ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RanOn {
    /// On the GPU.
    Gpu,
    /// The GPU failed (device lost, out of memory, ...); the whole batch ran on the CPU.
    CpuFallback {
        /// What went wrong on the GPU.
        reason: String,
    },
}

/// Wall-clock times of one batch, in seconds, and its dispatches per pipeline.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    /// From the call to the first submission: planning (which pipeline, which chunks) and
    /// packing the first chunk on the host; later chunks are packed while the GPU runs.
    pub pack_s: f64,
    /// The planning part of `pack_s`: the checks over every program and the chunk layout.
    pub plan_s: f64,
    /// Upload, dispatch and wait: from the first buffer creation to the finished submission.
    pub gpu_s: f64,
    /// Reading results back and building the result values.
    pub readback_s: f64,
    /// Dispatches of the interpreter-only pipeline (see [`Tuning::split`]).
    pub interp_dispatches: u32,
    /// Dispatches of the full pipelines (per lane or per workgroup).
    pub full_dispatches: u32,
}

/// The results of a batch, in program order.
#[derive(Debug, Clone)]
pub struct Batch<T> {
    /// One result per program.
    pub results: Vec<T>,
    /// Which backend produced them.
    pub ran_on: RanOn,
    /// Where the time went (zero after a CPU fallback).
    pub timings: Timings,
    /// After a stop ended the batch early: per result, the source line of the program's next
    /// instruction (0 for a program that finished). Empty when every program finished.
    pub next_lines: Vec<u32>,
}

/// A program's outcome in scoring mode: everything but the canvas, plus its distance to the
/// target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scored {
    /// Halted or trapped, as on the CPU.
    pub status: Status,
    /// Instructions executed.
    pub cycles: u64,
    /// `FRAME` instructions executed.
    pub n_frames: u64,
    /// Sum over all pixels of the squared differences of R, G and B against the target.
    pub sse: u64,
}

impl Scored {
    /// Root mean square error per channel, scaled to 0..=1: `sqrt(sse / (w*h*3)) / 255`.
    pub fn rmse(&self, width: u32, height: u32) -> f64 {
        let n = f64::from(width) * f64::from(height) * 3.0;
        (self.sse as f64 / n).sqrt() / 255.0
    }
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    width: u32,
    height: u32,
    n_programs: u32,
    lanes: u32,
    budget_lo: u32,
    budget_hi: u32,
    flags: u32,
    inline_max: u32,
    canary: u32,
    slice_steps: u32,
    slice_raster: u32,
    round_iters: u32,
    resume: u32,
    n_dispatch: u32,
    state_base: u32,
    sched_base: u32,
    list_base: u32,
    partial_base: u32,
    score_blocks: u32,
    pad: u32,
}

/// One program's outcome as the shader writes it (`struct Outcome` in batch.wgsl).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub(crate) struct Outcome {
    status: u32,
    kind: u32,
    pc: u32,
    line: u32,
    left_lo: u32,
    left_hi: u32,
    frames_lo: u32,
    frames_hi: u32,
    sse_lo: u32,
    sse_hi: u32,
    addr: u32,
    pad: u32,
    record: [u32; RECORD_WORDS],
}

/// Where programs run on the GPU (see the crate's design notes). Only speed depends on it:
/// every schedule gives the CPU's results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Schedule {
    /// The schedule measured best: today [`Schedule::Lanes`] for every program on every
    /// adapter. (It used to run straight-line programs as [`Schedule::Workgroup`]; on the
    /// H100 that scored the image task's programs 5–25 % slower, BENCHMARKS.md.)
    #[default]
    Auto,
    /// One program per thread, 64 per workgroup, canvases in device memory.
    Lanes,
    /// A few programs per workgroup (one for a 64×64 canvas) with canvases, code and
    /// variables in workgroup memory, every shape drawn by all the workgroup's threads. Falls
    /// back to [`Schedule::Lanes`] where a canvas does not fit.
    Workgroup,
}

/// Knobs of the batch executor, for benchmarks and tests. Results never depend on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// Which programs run how.
    pub schedule: Schedule,
    /// Keep variables in workgroup memory where they fit.
    pub local_vars: bool,
    /// Copy code and record heads into workgroup memory where they fit (workgroup schedule).
    pub local_prog: bool,
    /// Host threads that pack buffers; 0 means every core.
    pub threads: usize,
    /// The size of every slice: 0 sizes them for the device (see [`SliceSizes`]); `n` gives
    /// each lane `n` work units, each workgroup `n` raster iterations per slice and per round
    /// (tests use tiny slices to cut programs everywhere).
    pub slice: u32,
    /// The most bytes one buffer may take; 0 means the device's limit (tests use small
    /// limits to split batches into many chunks and to see programs refused).
    pub max_binding: u64,
    /// Programs with loops start in the interpreter-only pipeline (the interpreter without the
    /// rasterizer: 64 registers instead of 81 on the H100, 50 % occupancy instead of 34 %); a
    /// group goes on in the full pipeline from the first shape one of its programs reaches. Off
    /// by default: on the H100 it ran the instruction benchmarks no faster (BENCHMARKS.md), so
    /// occupancy is not what limits the interpreter there, and it costs a third pipeline and a
    /// dispatch more.
    pub split: bool,
    /// The most programs of one chunk of straight-line programs (no jump, loop, call or `POKE`;
    /// 0: only the device's buffer limits split a batch). The host packs a chunk while the GPU
    /// runs the one before, so a batch of several chunks hides most of its packing; programs
    /// that loop run long enough that packing hardly counts, and smaller chunks would leave the
    /// GPU part-empty more often.
    pub chunk_programs: usize,
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning {
            schedule: Schedule::Auto,
            local_vars: true,
            local_prog: true,
            threads: 0,
            slice: 0,
            max_binding: 0,
            split: false,
            chunk_programs: DEFAULT_CHUNK_PROGRAMS,
        }
    }
}

/// [`Tuning::chunk_programs`] by default.
pub const DEFAULT_CHUNK_PROGRAMS: usize = 1 << 16;

/// The loop iterations lavapipe (llvmpipe) allows one shader invocation, counted per SIMD
/// vector of threads and shared by all loops; a dispatch stays well below it.
const SOFTWARE_LOOP_LIMIT: u64 = 60_000;

/// How much work one dispatch (a slice) may do: `steps` work units per lane (an instruction,
/// a pixel drawn by the lane itself), `raster` iterations of shared drawing per workgroup,
/// `round_iters` of them per round. On a software adapter they are fixed so that no dispatch
/// comes near the driver's loop limit; on a real GPU the first slice is large enough for most
/// programs and the next grow while a slice takes less than [`SLICE_TARGET_S`], so a program
/// of any budget runs in slices of bounded time (a watchdog never sees a long dispatch, and a
/// stop is noticed between slices).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SliceSizes {
    steps: u32,
    raster: u32,
    round_iters: u32,
    /// Grow after a fast slice (real GPUs, no fixed size asked for).
    grows: bool,
    /// Groups score their canvases in the dispatch they finish in.
    inline_score: bool,
}

/// The time a slice on a real GPU grows towards, in seconds.
const SLICE_TARGET_S: f64 = 0.05;
/// The first slice's work units per lane on a real GPU.
const GPU_FIRST_STEPS: u32 = 1 << 18;
/// The most work units per lane of one slice on a real GPU.
const GPU_MAX_STEPS: u32 = 1 << 28;

impl SliceSizes {
    /// Sizes for `lanes` programs per workgroup on canvases of `n_pixels`.
    fn new(software: Option<u64>, tuning: &Tuning, lanes: u64, n_pixels: u64) -> SliceSizes {
        let wg = u64::from(WORKGROUP_SIZE);
        let score_cost = lanes * (n_pixels.div_ceil(wg) + 1) + 2;
        let Some(vector) = software else {
            let (steps, grows) = match tuning.slice {
                0 => (GPU_FIRST_STEPS, true),
                n => (n, false),
            };
            return SliceSizes {
                steps,
                raster: steps.saturating_mul(16).min(1 << 30),
                round_iters: steps.min(1 << 16),
                grows,
                inline_score: true,
            };
        };
        // Loops that do not depend on the slice: the call stack saved and loaded (every lane
        // of a SIMD vector in turn), workgroup memory copies, the canary.
        let fixed = vector * u64::from(gvpie_pxl::CALL_DEPTH as u32) * 2 + vector * 64 + 1024;
        let inline_score = score_cost <= 8192;
        let score = if inline_score { score_cost } else { 0 };
        let round_iters = 2048u64;
        let raster = 12_000u64;
        // One round more than the budget, each event at least one iteration and its loop's.
        let raster_max = raster + 1 + 2 * wg + round_iters;
        let left = SOFTWARE_LOOP_LIMIT.saturating_sub(fixed + score + raster_max);
        // Each lane's instructions count against the vector's loops; a lane may overshoot its
        // steps by one instruction's inner loops.
        let steps = (left / vector).saturating_sub(64).max(64);
        match tuning.slice {
            0 => SliceSizes {
                steps: steps as u32,
                raster: raster as u32,
                round_iters: round_iters as u32,
                grows: false,
                inline_score,
            },
            n => SliceSizes { steps: n, raster: n, round_iters: n, grows: false, inline_score },
        }
    }

    /// After a slice that took `took_s` seconds: more work per slice while slices are fast.
    fn grow(&mut self, took_s: f64) {
        if !self.grows || took_s >= SLICE_TARGET_S {
            return;
        }
        let factor = (SLICE_TARGET_S / took_s.max(1e-6)).clamp(1.0, 8.0) as u32;
        self.steps = self.steps.saturating_mul(factor).min(GPU_MAX_STEPS);
        self.raster = self.steps.saturating_mul(16).min(1 << 30);
        self.round_iters = self.steps.min(1 << 16);
    }
}

/// The SIMD width (threads per vector) of a software adapter, from its name
/// ("llvmpipe (LLVM 15.0.6, 256 bits)" runs 8 threads per vector); 16 when the name does not
/// say.
fn software_vector(name: &str) -> u64 {
    name.split(['(', ',', ')'])
        .filter_map(|part| part.trim().strip_suffix(" bits"))
        .find_map(|bits| bits.trim().parse::<u64>().ok())
        .map_or(16, |bits| (bits / 32).clamp(1, 64))
}

/// What the GPU produced for a batch, before conversion: outcomes in program order, and the
/// canvases (run mode) in the order given by `canvas_slot`.
struct Raw {
    outcomes: Vec<Outcome>,
    canvases: Option<Vec<u32>>,
    canvas_slot: Vec<usize>,
    timings: Timings,
    /// A stop ended the batch before every program finished.
    stopped: bool,
}

/// A set of programs that run with one pipeline.
struct Job {
    workgroup: bool,
    lanes: usize,
    indices: Vec<usize>,
    /// Start in the interpreter-only pipeline (per-lane jobs with a program that loops).
    interp_first: bool,
    /// The most programs of one chunk (0: no limit): [`Tuning::chunk_programs`] for a large job
    /// of straight-line programs, whose packing costs as much as their run.
    chunk_programs: usize,
}

/// How a batch runs: its jobs, and the sizes that split them into chunks. Host decisions
/// only; nothing is allocated on the device.
struct Plan {
    n_programs: usize,
    /// Score against a target (no canvas comes back) rather than run.
    score: bool,
    tuning: Tuning,
    jobs: Vec<Job>,
    /// Position of each job's first program in job order (the order outcomes come back in).
    job_offsets: Vec<usize>,
    /// Pixels of one canvas.
    n_pixels: u64,
    /// Bytes of one canvas.
    canvas_bytes: u64,
    /// The most bytes any buffer of one chunk may take.
    chunk_limit: u64,
    /// Host threads that pack.
    threads: usize,
    /// Every program's sizes (read once, for the plan and the layout).
    sizes: Vec<pack::ProgramSize>,
    /// The SIMD width of a software adapter (`None` on a real GPU).
    software: Option<u64>,
    /// Score-pass workgroups per program.
    score_blocks: u64,
}

/// Words each program adds to the `vars` buffer besides its variables: its saved state, its
/// share of the groups' result words and list, and its score-pass partial sums.
fn extra_words(score_blocks: u64) -> usize {
    crate::codes::STATE_WORDS as usize + 2 + 2 * score_blocks as usize
}

/// One job's workgroups and the chunks they are split into.
struct JobLayout {
    groups: Vec<Group>,
    chunks: Vec<Chunk>,
}

/// What step 3 leaves for the wait: the read-back buffers, whether `stop` ended the batch, the
/// score pass's sums (by position in job order), and the packed chunks (their buffers go back
/// to the pool).
struct Recorded {
    readback: Readback,
    stopped: bool,
    patches: Vec<(usize, u64)>,
    packed: Vec<PackedChunk>,
}

/// One chunk's programs, packed and on their way to the device.
struct PackedChunk {
    /// Index of the chunk's job in [`Plan::jobs`].
    job: usize,
    chunk: Chunk,
    uploads: Uploads,
}

/// One chunk ready to dispatch: its pipeline, bind group, parameters and the buffers the
/// dispatches write (variables and lane states, outcomes), and where the regions of `vars` lie.
struct BoundChunk<'a> {
    pipeline: &'a wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    params: Params,
    params_buf: wgpu::Buffer,
    var_buf: wgpu::Buffer,
    outcome_buf: wgpu::Buffer,
    /// Workgroups of the chunk (one per group of lanes).
    n_groups: usize,
    /// The groups' result words, read back after every slice.
    sched_read: wgpu::Buffer,
}

/// The buffers every chunk of a batch binds: the target image (score mode) and the canvases
/// (one chunk's at a time: chunks run one after the other).
struct Shared {
    target: wgpu::Buffer,
    canvases: wgpu::Buffer,
}

/// Where results come back to the host: every program's outcome in job order, and in run
/// mode the canvases, one buffer per chunk.
struct Readback {
    outcomes: wgpu::Buffer,
    canvases: Option<Vec<wgpu::Buffer>>,
    /// Dispatches per pipeline, for [`Timings`].
    counts: DispatchCounts,
}

/// Dispatches of one batch per pipeline.
#[derive(Debug, Clone, Copy, Default)]
struct DispatchCounts {
    interp: u32,
    full: u32,
}

/// The error scopes around one batch's GPU work (out of memory, validation, internal).
struct ErrorScopes([wgpu::ErrorScopeGuard; 3]);

impl ErrorScopes {
    fn push(device: &wgpu::Device) -> ErrorScopes {
        ErrorScopes([
            device.push_error_scope(wgpu::ErrorFilter::OutOfMemory),
            device.push_error_scope(wgpu::ErrorFilter::Validation),
            device.push_error_scope(wgpu::ErrorFilter::Internal),
        ])
    }

    /// Pops the scopes (innermost first) and returns the errors they caught.
    fn pop(self) -> Vec<String> {
        let mut errors = Vec::new();
        for scope in self.0.into_iter().rev() {
            if let Some(err) = pollster::block_on(scope.pop()) {
                errors.push(err.to_string());
            }
        }
        errors
    }
}

/// Never stop: the `stop` of a batch that runs to the end.
fn never() -> bool {
    false
}

impl GpuBackend {
    /// Runs every program under `config` on the GPU and returns the CPU's result values:
    /// same status (trap kind, line and pc), cycles, `FRAME` count and canvas. Frames are not
    /// kept (`frames` is empty; `n_frames` counts them).
    ///
    /// # Errors
    ///
    /// [`GpuError::BadRequest`] for a canvas size outside 1..=4096. A GPU failure is not an
    /// error: the batch runs on the CPU and [`Batch::ran_on`] says so.
    pub fn run_batch(&self, programs: &[Texture], config: &Config) -> Result<Batch<RunResult>, GpuError> {
        self.run_batch_tuned(programs, config, &Tuning::default())
    }

    /// [`GpuBackend::run_batch`] with explicit [`Tuning`] (same results, other speed).
    ///
    /// # Errors
    ///
    /// As [`GpuBackend::run_batch`].
    pub fn run_batch_tuned(
        &self,
        programs: &[Texture],
        config: &Config,
        tuning: &Tuning,
    ) -> Result<Batch<RunResult>, GpuError> {
        match self.run_batch_gpu_only(programs, config, tuning)? {
            Ok(batch) => Ok(batch),
            Err(reason) => Ok(Batch {
                results: cpu::run_batch(programs, config).unwrap_or_default(),
                ran_on: RanOn::CpuFallback { reason },
                timings: Timings::default(),
                next_lines: Vec::new(),
            }),
        }
    }

    /// [`GpuBackend::run_batch_tuned`] without the CPU fallback: a GPU failure comes back as
    /// `Ok(Err(reason))` and nothing runs on the CPU, so a caller with a deadline can run the
    /// fallback itself, in slices it can stop. `gvpie-exec`'s engine uses it for every GPU
    /// batch (its deadline covers the fallback); keep it when refactoring.
    ///
    /// # Errors
    ///
    /// As [`GpuBackend::run_batch`].
    pub fn run_batch_gpu_only(
        &self,
        programs: &[Texture],
        config: &Config,
        tuning: &Tuning,
    ) -> Result<Result<Batch<RunResult>, String>, GpuError> {
        self.run_batch_gpu_only_until(programs, config, tuning, &never)
    }

    /// [`GpuBackend::run_batch_gpu_only`] that asks `stop` between slices (see the crate
    /// docs) and, once it says true, ends the batch: the programs still running come back
    /// with [`Status::Running`], the cycles they ran, their canvas so far and, in
    /// [`Batch::next_lines`], the source line of their next instruction. A slice cannot be
    /// interrupted, so a stop waits for at most one slice (on a real GPU, slices grow to
    /// about 50 ms).
    ///
    /// # Errors
    ///
    /// As [`GpuBackend::run_batch`].
    pub fn run_batch_gpu_only_until(
        &self,
        programs: &[Texture],
        config: &Config,
        tuning: &Tuning,
        stop: &dyn Fn() -> bool,
    ) -> Result<Result<Batch<RunResult>, String>, GpuError> {
        check_config(config)?;
        let raw = match self.execute(programs, config, None, tuning, stop) {
            Ok(raw) => raw,
            Err(reason) => return Ok(Err(reason)),
        };
        let start = Instant::now();
        let runs = match finished_runs(programs, &raw.outcomes, config.budget, raw.stopped) {
            Ok(runs) => runs,
            Err(reason) => return Ok(Err(reason)),
        };
        let Some(pixels) = &raw.canvases else { return Ok(Err("no canvases came back".into())) };
        let n_pixels = config.width as usize * config.height as usize;
        let mut results = Vec::with_capacity(programs.len());
        let mut next_lines = Vec::new();
        for (index, run) in runs.into_iter().enumerate() {
            let slot = raw.canvas_slot[index];
            let bytes: &[u8] = bytemuck::cast_slice(&pixels[slot * n_pixels..(slot + 1) * n_pixels]);
            let canvas = Canvas::from_rgba8(config.width, config.height, bytes)
                .map_err(|e| GpuError::BadRequest(e.to_string()))?;
            if raw.stopped {
                next_lines.push(run.next_line);
            }
            results.push(RunResult {
                status: run.status,
                cycles: run.cycles,
                canvas,
                frames: Vec::new(),
                n_frames: run.n_frames,
            });
        }
        let mut timings = raw.timings;
        timings.readback_s += start.elapsed().as_secs_f64();
        Ok(Ok(Batch { results, ran_on: RanOn::Gpu, timings, next_lines }))
    }

    /// Runs every program and scores its final canvas against `target` on the GPU; no canvas
    /// is read back.
    ///
    /// # Errors
    ///
    /// [`GpuError::BadRequest`] for a canvas size outside 1..=4096 or a target of another size.
    /// A GPU failure is not an error: the batch runs on the CPU and [`Batch::ran_on`] says so.
    pub fn score_batch(
        &self,
        programs: &[Texture],
        config: &Config,
        target: &Canvas,
    ) -> Result<Batch<Scored>, GpuError> {
        self.score_batch_tuned(programs, config, target, &Tuning::default())
    }

    /// [`GpuBackend::score_batch`] with explicit [`Tuning`] (same results, other speed).
    ///
    /// # Errors
    ///
    /// As [`GpuBackend::score_batch`].
    pub fn score_batch_tuned(
        &self,
        programs: &[Texture],
        config: &Config,
        target: &Canvas,
        tuning: &Tuning,
    ) -> Result<Batch<Scored>, GpuError> {
        check_config(config)?;
        if (target.width(), target.height()) != (config.width, config.height) {
            return Err(GpuError::BadRequest(format!(
                "target is {}x{}, the canvas {}x{}",
                target.width(),
                target.height(),
                config.width,
                config.height
            )));
        }
        let fallback = |reason: String| Batch {
            results: cpu::score_batch(programs, config, target).unwrap_or_default(),
            ran_on: RanOn::CpuFallback { reason },
            timings: Timings::default(),
            next_lines: Vec::new(),
        };
        let raw = match self.execute(programs, config, Some(target), tuning, &never) {
            Ok(raw) => raw,
            Err(reason) => return Ok(fallback(reason)),
        };
        let start = Instant::now();
        if raw.outcomes.iter().any(|o| o.status == STATUS_CUT_SHORT) {
            return Ok(fallback(CUT_SHORT.into()));
        }
        // Straight to the results, in one pass (a batch may be hundreds of thousands).
        let mut results = Vec::with_capacity(programs.len());
        for (index, (texture, outcome)) in programs.iter().zip(&raw.outcomes).enumerate() {
            let Some(run) = convert(texture, outcome, config.budget, false) else {
                return Ok(fallback(invalid_outcome(index, outcome)));
            };
            let sse = u64::from(outcome.sse_hi) << 32 | u64::from(outcome.sse_lo);
            results.push(Scored { status: run.status, cycles: run.cycles, n_frames: run.n_frames, sse });
        }
        let mut timings = raw.timings;
        timings.readback_s += start.elapsed().as_secs_f64();
        Ok(Batch { results, ran_on: RanOn::Gpu, timings, next_lines: Vec::new() })
    }

    /// Runs a batch on the GPU, step by step (see the module docs): plan, pack, then each
    /// chunk in slices until its programs finish (or `stop` says so), wait, unpack. Any
    /// failure comes back as a reason for the CPU fallback.
    fn execute(
        &self,
        programs: &[Texture],
        config: &Config,
        target: Option<&Canvas>,
        tuning: &Tuning,
        stop: &dyn Fn() -> bool,
    ) -> Result<Raw, String> {
        use std::sync::atomic::Ordering;
        if self.lost.load(Ordering::SeqCst) {
            return Err("the GPU device was lost earlier".into());
        }
        // One batch at a time per device: the error scopes and the wait assume that nothing
        // else is submitted meanwhile.
        let _one_at_a_time = self.busy.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut timings = Timings::default();
        if programs.is_empty() {
            return Ok(Raw {
                outcomes: Vec::new(),
                canvases: Some(Vec::new()),
                canvas_slot: Vec::new(),
                timings,
                stopped: false,
            });
        }

        let start = Instant::now();
        let plan = self.plan(programs, config, target.is_some(), tuning)?;
        let scopes = ErrorScopes::push(&self.device);
        let mut pool = self.pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let layouts = self.layouts(&plan);
        timings.plan_s = start.elapsed().as_secs_f64();
        let recorded = self.record(programs, config, target, &plan, &layouts, &mut pool, stop, &mut timings, start);
        // Whatever happened, the scopes are popped (they belong to this batch).
        let waited = match &recorded {
            Ok(recorded) => self.wait(&recorded.readback, scopes),
            Err(_) => {
                drop(scopes.pop());
                Ok(())
            }
        };
        let Recorded { readback, stopped, patches, packed } = recorded?;
        waited?;
        self.recycle(packed, &mut pool);
        drop(pool);
        timings.gpu_s = start.elapsed().as_secs_f64() - timings.pack_s;

        timings.interp_dispatches = readback.counts.interp;
        timings.full_dispatches = readback.counts.full;
        let start = Instant::now();
        let mut raw = unpack(&plan, readback)?;
        for (slot, sse) in patches {
            if let Some(outcome) = raw.canvas_slot.iter().position(|&s| s == slot).and_then(|i| raw.outcomes.get_mut(i))
            {
                outcome.sse_lo = sse as u32;
                outcome.sse_hi = (sse >> 32) as u32;
            }
        }
        timings.readback_s = start.elapsed().as_secs_f64();
        Ok(Raw { timings, stopped, ..raw })
    }

    /// Step 1: which programs run on which pipeline, and the sizes that decide the chunks.
    /// Refuses a batch with a program too large for one buffer of this device (no number of
    /// chunks can hold it).
    fn plan(&self, programs: &[Texture], config: &Config, score: bool, tuning: &Tuning) -> Result<Plan, String> {
        let limits = self.device.limits();
        let mut max_binding = limits.max_storage_buffer_binding_size.min(limits.max_buffer_size);
        if tuning.max_binding > 0 {
            max_binding = max_binding.min(tuning.max_binding);
        }
        let n_pixels = u64::from(config.width) * u64::from(config.height);
        let canvas_bytes = n_pixels * 4;
        let chunk_limit = max_binding.min(MAX_CANVAS_CHUNK_BYTES);
        let threads = match tuning.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let score_blocks = n_pixels.div_ceil(SCORE_BLOCK_PIXELS);
        // The most bytes one program needs in any one buffer: a group of lanes holds that
        // many times as much, so a large program makes groups smaller; one that does not fit
        // alone cannot run here.
        let extra = extra_words(if score { score_blocks } else { 0 }) as u64;
        let sizes = pack::program_sizes(programs, threads);
        let mut largest = (0u64, 0usize, "");
        for (index, size) in sizes.iter().enumerate() {
            let needs = [
                (u64::from(size.code) * 4, "code"),
                (u64::from(size.records) * 4, "record heads"),
                ((u64::from(size.vars) + extra) * 4, "variables and state"),
            ];
            for (bytes, what) in needs {
                if bytes > largest.0 {
                    largest = (bytes, index, what);
                }
            }
        }
        let (largest_bytes, largest_index, what) = largest;
        let per_program = largest_bytes.max(canvas_bytes);
        if per_program > chunk_limit {
            let what = if canvas_bytes >= largest_bytes { "its canvas" } else { what };
            return Err(format!(
                "program {largest_index} needs {per_program} bytes of GPU memory in one buffer ({what}); this \
                 adapter allows {chunk_limit} bytes per buffer, so the batch was refused by the GPU"
            ));
        }
        let wg_lanes =
            (u64::from(shader::WORKGROUP.canvas_words) / n_pixels).min(u64::from(shader::WORKGROUP.max_lanes)) as usize;
        // Only on request: measured on the H100, the lanes schedule scored the image task's
        // programs as fast as the workgroup one or faster on 32-, 64- and 128-pixel canvases
        // (BENCHMARKS.md), and lavapipe runs the workgroup variant's barriers slowly.
        let workgroup_ok =
            wg_lanes > 0 && tuning.schedule == Schedule::Workgroup && self.workgroup_pipeline().is_some();
        let software = (self.adapter_info().device_type == "cpu").then(|| software_vector(&self.adapter_info().name));
        let in_workgroup = vec![workgroup_ok; programs.len()];
        // Fewer programs per workgroup when programs are so large that 64 of them do not fit.
        let lanes = (chunk_limit / per_program).clamp(1, u64::from(WORKGROUP_SIZE)) as usize;
        let mut jobs = vec![
            Job { workgroup: false, lanes, indices: Vec::new(), interp_first: false, chunk_programs: 0 },
            Job {
                workgroup: true,
                lanes: wg_lanes.clamp(1, lanes),
                indices: Vec::new(),
                interp_first: false,
                chunk_programs: 0,
            },
        ];
        for (index, &wg) in in_workgroup.iter().enumerate() {
            jobs[usize::from(wg)].indices.push(index);
        }
        jobs.retain(|job| !job.indices.is_empty());
        // Straight-line programs draw and end: the interpreter-only pipeline would only add a
        // dispatch before their first shape. Programs that loop may interpret for long.
        if tuning.split && self.interp_pipeline().is_some() {
            for job in jobs.iter_mut().filter(|job| !job.workgroup) {
                job.interp_first = job.indices.iter().any(|&i| !pack::straight_line(&programs[i]));
            }
        }
        // Chunks by program count only where packing is a large part of the time: programs that
        // run each record at most once (on the H100, the image task's 200,000 candidates ran
        // 1.2-1.3x faster end to end in chunks of 65,536; a looping batch ran 3 % slower).
        for job in jobs.iter_mut() {
            if tuning.chunk_programs > 0
                && job.indices.len() > tuning.chunk_programs
                && pack::mostly_straight_line(programs, &job.indices)
            {
                job.chunk_programs = tuning.chunk_programs;
            }
        }
        let job_offsets = jobs
            .iter()
            .scan(0, |next, job| {
                let first = *next;
                *next += job.indices.len();
                Some(first)
            })
            .collect();
        Ok(Plan {
            n_programs: programs.len(),
            score,
            tuning: *tuning,
            jobs,
            job_offsets,
            n_pixels,
            canvas_bytes,
            chunk_limit,
            threads,
            software,
            score_blocks,
            sizes,
        })
    }

    /// Step 2: lays out every job's groups and chunks (host decisions only).
    fn layouts(&self, plan: &Plan) -> Vec<JobLayout> {
        let extra = extra_words(if plan.score { plan.score_blocks } else { 0 });
        plan.jobs
            .iter()
            .map(|job| {
                // Chunks of about `chunk_programs`, all of one size: a last chunk of a few
                // programs would cost a dispatch as long as a full one. (A smaller first chunk,
                // to start the GPU sooner, made the image task slower on the H100: run j.)
                let n_chunks = (job.indices.len() as f64 / job.chunk_programs.max(1) as f64).round().max(1.0) as usize;
                let max_programs = match job.chunk_programs {
                    0 => 0,
                    _ => job.indices.len().div_ceil(n_chunks).next_multiple_of(job.lanes),
                };
                let (groups, chunks) = pack::layout(
                    &plan.sizes,
                    &job.indices,
                    job.lanes,
                    plan.canvas_bytes,
                    plan.chunk_limit,
                    max_programs,
                    extra,
                );
                JobLayout { groups, chunks }
            })
            .collect()
    }

    /// Part of step 3: a chunk's staging buffers (mapped, to be filled) and the device buffers
    /// they go to, from the pool (kept between batches: no allocation once warm).
    fn stage(&self, pool: &mut Pool, job: usize, chunk: &Chunk) -> (usize, Chunk, Uploads) {
        let uploads = Uploads {
            info: pool.staged(&self.device, "gvpie.info_buf", chunk.n * std::mem::size_of::<Info>()),
            code: pool.staged(&self.device, "gvpie.code_buf", chunk.code_words * 4),
            heads: pool.staged(&self.device, "gvpie.head_buf", chunk.head_words * 4),
        };
        (job, chunk.clone(), uploads)
    }

    /// Step 3: packs the chunks (on host threads, straight into mapped staging buffers) and runs
    /// them one after the other, each in slices until its programs finish (see
    /// [`GpuBackend::run_chunk`]), and records the copies of their results into read-back
    /// buffers. The next chunk is packed while the GPU runs this one. The chunks share one
    /// canvas buffer. Sets `timings.pack_s` to the time from `start` to the first submission.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        programs: &[Texture],
        config: &Config,
        target: Option<&Canvas>,
        plan: &Plan,
        layouts: &[JobLayout],
        pool: &mut Pool,
        stop: &dyn Fn() -> bool,
        timings: &mut Timings,
        start: Instant,
    ) -> Result<Recorded, String> {
        let outcome_size = std::mem::size_of::<Outcome>() as u64;
        let run_mode = !plan.score;
        let order: Vec<(usize, &Chunk)> =
            layouts.iter().enumerate().flat_map(|(j, layout)| layout.chunks.iter().map(move |c| (j, c))).collect();
        let canvas_words = order.iter().map(|(_, c)| c.n as u64 * plan.n_pixels).max().unwrap_or(0);
        let canvas_bytes = (canvas_words * 4).max(16);
        // The last batch's canvas buffer when it is large enough (and not wastefully larger).
        let kept = self.canvas_pool.lock().ok().and_then(|mut kept| kept.take());
        let canvases = kept
            .filter(|b| b.size() >= canvas_bytes && b.size() <= canvas_bytes.saturating_mul(4))
            .unwrap_or_else(|| {
                self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("gvpie.canvas_buf"),
                    size: canvas_bytes,
                    usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            });
        let shared =
            Shared { target: self.padded_storage("gvpie.target_buf", target.map_or(&[], Canvas::pixels)), canvases };
        let mut readback = Readback {
            outcomes: self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("gvpie.outcome_read_buf"),
                size: plan.n_programs as u64 * outcome_size,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            canvases: run_mode.then(Vec::new),
            counts: DispatchCounts::default(),
        };
        // Packs one staged chunk (on `plan.threads` threads).
        let fill = |(job, chunk, uploads): (usize, Chunk, Uploads)| -> Result<PackedChunk, String> {
            let groups = &layouts[job].groups[chunk.groups.clone()];
            pack::fill_chunk(programs, &plan.jobs[job].indices, plan.jobs[job].lanes, groups, plan.threads, &uploads)?;
            Ok(PackedChunk { job, chunk, uploads })
        };
        let mut packed: Vec<PackedChunk> = Vec::new();
        let mut first: Option<wgpu::CommandEncoder> = None;
        let mut stopped = false;
        let mut patches = Vec::new();
        let mut next = match order.first() {
            Some(&(job, chunk)) => Some(fill(self.stage(pool, job, chunk))?),
            None => None,
        };
        timings.pack_s = start.elapsed().as_secs_f64();
        for (k, &(job, chunk)) in order.iter().enumerate() {
            let canvas_read = run_mode.then(|| {
                self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("gvpie.canvas_read_buf"),
                    size: chunk.n as u64 * plan.canvas_bytes,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            });
            if let Some(p) = next.take().filter(|_| !stopped) {
                debug_assert_eq!((p.job, p.chunk.first), (job, chunk.first));
                // The chunk's uploads go first in its first slice's encoder.
                let mut encoder =
                    self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("gvpie.batch") });
                for staged in p.uploads.iter() {
                    staged.staging.unmap();
                    encoder.copy_buffer_to_buffer(&staged.staging, 0, &staged.device, 0, staged.size);
                }
                first = Some(encoder);
                let staged_next = order.get(k + 1).map(|&(job, chunk)| self.stage(pool, job, chunk));
                let bound = self.bind(&p, plan, config, &shared)?;
                let chunk_run = ChunkRun { plan, packed: &p, shared: &shared, bound: &bound };
                let mut counts = readback.counts;
                // The next chunk is packed on other threads while this one runs.
                let (ran, packed_next) = std::thread::scope(|scope| {
                    let packing = staged_next.map(|staged| scope.spawn(|| fill(staged)));
                    let ran =
                        self.run_chunk(&chunk_run, &mut first, &readback, canvas_read.as_ref(), stop, &mut counts);
                    let packed_next = packing
                        .map(|handle| handle.join().unwrap_or_else(|_| Err("a packing thread panicked".to_string())));
                    (ran, packed_next)
                });
                readback.counts = counts;
                match ran? {
                    None => stopped = true,
                    Some(sched) if plan.score => patches.extend(self.score_pass(&chunk_run, &sched)?),
                    Some(_) => {}
                }
                next = packed_next.transpose()?;
                packed.push(p);
            }
            if let (Some(reads), Some(read)) = (&mut readback.canvases, canvas_read) {
                reads.push(read);
            }
        }
        if let Some(encoder) = first {
            // A chunk whose first slice was not recorded: its uploads still go.
            self.queue.submit([encoder.finish()]);
        }
        if let Some(p) = next {
            // Packed for a chunk that a stop left out: the buffers go back to the pool.
            for staged in p.uploads.iter() {
                staged.staging.unmap();
            }
            packed.push(p);
        }
        readback.canvases.get_or_insert_with(Vec::new);
        if !run_mode {
            readback.canvases = None;
        }
        // Later submissions are ordered after this batch's: the next batch may reuse the buffer.
        if let Ok(mut kept) = self.canvas_pool.lock() {
            *kept = Some(shared.canvases);
        }
        Ok(Recorded { readback, stopped, patches, packed })
    }

    /// Part of step 3: one chunk's slices. The first dispatch runs every group; each later
    /// one only the groups with programs still running (their list goes into `vars`), until
    /// none is left or `stop` says so. After every slice the groups' result words come back
    /// (a few bytes), and the outcomes and canvases are copied into the read-back buffers
    /// (mapped only at the end, so the last copies count). Returns the groups' last result
    /// words, or `None` when `stop` ended the chunk.
    fn run_chunk(
        &self,
        run: &ChunkRun<'_>,
        first: &mut Option<wgpu::CommandEncoder>,
        readback: &Readback,
        canvas_read: Option<&wgpu::Buffer>,
        stop: &dyn Fn() -> bool,
        counts: &mut DispatchCounts,
    ) -> Result<Option<Vec<u32>>, String> {
        let ChunkRun { plan, packed, shared, bound } = *run;
        let outcome_size = std::mem::size_of::<Outcome>() as u64;
        let job = &plan.jobs[packed.job];
        let mut sizes = SliceSizes::new(plan.software, &plan.tuning, job.lanes as u64, plan.n_pixels);
        let mut list: Option<Vec<u32>> = None;
        let interp = if job.interp_first { self.interp_pipeline() } else { None };
        // Once a group reached a shape, the whole chunk goes on in the full pipeline (a superset).
        let mut full = interp.is_none();
        loop {
            let mut encoder = first.take().unwrap_or_else(|| {
                self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("gvpie.slice") })
            });
            let resume = list.is_some();
            if !resume && !plan.jobs[packed.job].workgroup {
                // Zero words read as black (see the shader); the workgroup variant clears its
                // canvases in workgroup memory and reads the buffer only when it resumes.
                encoder.clear_buffer(&shared.canvases, 0, Some(packed.chunk.n as u64 * plan.canvas_bytes));
            }
            let n_dispatch = list.as_ref().map_or(bound.n_groups, Vec::len);
            let mut flags = bound.params.flags;
            if sizes.inline_score {
                flags |= FLAG_INLINE_SCORE;
            }
            let params = Params {
                resume: u32::from(resume),
                n_dispatch: n_dispatch as u32,
                slice_steps: sizes.steps,
                slice_raster: sizes.raster,
                round_iters: sizes.round_iters,
                flags,
                ..bound.params
            };
            self.queue.write_buffer(&bound.params_buf, 0, bytemuck::bytes_of(&params));
            if let Some(list) = &list {
                self.queue.write_buffer(&bound.var_buf, u64::from(params.list_base) * 4, bytemuck::cast_slice(list));
            }
            let pipeline = match interp {
                Some(interp) if !full => {
                    counts.interp += 1;
                    interp
                }
                _ => {
                    counts.full += 1;
                    bound.pipeline
                }
            };
            dispatch(&mut encoder, pipeline, &bound.bind_group, n_dispatch, self.max_dim());
            encoder.copy_buffer_to_buffer(
                &bound.var_buf,
                u64::from(params.sched_base) * 4,
                &bound.sched_read,
                0,
                bound.n_groups as u64 * 4,
            );
            let at = (plan.job_offsets[packed.job] + packed.chunk.first) as u64;
            let n = packed.chunk.n as u64;
            encoder.copy_buffer_to_buffer(
                &bound.outcome_buf,
                0,
                &readback.outcomes,
                at * outcome_size,
                n * outcome_size,
            );
            if let Some(read) = canvas_read {
                encoder.copy_buffer_to_buffer(&shared.canvases, 0, read, 0, n * plan.canvas_bytes);
            }
            let started = Instant::now();
            self.queue.submit([encoder.finish()]);
            let slice = [bound.sched_read.slice(..)];
            readback::map_and_wait(&self.device, &self.lost, &slice, wgpu::MapMode::Read).map_err(|f| f.reason())?;
            let mut sched: Vec<u32> = Vec::with_capacity(bound.n_groups);
            readback::append_mapped(bound.sched_read.slice(..), &mut sched)?;
            if sched.iter().any(|&word| word & SCHED_CUT != 0) {
                return Err(CUT_SHORT.into());
            }
            full |= sched.iter().any(|&word| word & SCHED_RASTER != 0);
            let flags = SCHED_SCORED | SCHED_CUT | SCHED_RASTER;
            let running: Vec<u32> = (0..bound.n_groups as u32)
                .filter(|&g| sched.get(g as usize).is_some_and(|&word| word & !flags != 0))
                .collect();
            if running.is_empty() {
                return Ok(Some(sched));
            }
            if stop() {
                return Ok(None);
            }
            sizes.grow(started.elapsed().as_secs_f64());
            list = Some(running);
        }
    }

    /// Part of step 3, score mode: the groups that finished without scoring (their canvases
    /// wait in the canvas buffer) are scored by the score pass, `score_blocks` workgroups per
    /// program; returns each such program's sum (by position in job order).
    fn score_pass(&self, run: &ChunkRun<'_>, sched: &[u32]) -> Result<Vec<(usize, u64)>, String> {
        let ChunkRun { plan, packed, bound, .. } = *run;
        let lanes = plan.jobs[packed.job].lanes;
        if sched.iter().all(|&word| word & SCHED_SCORED != 0) {
            return Ok(Vec::new());
        }
        let pipeline = self.score_pipeline().ok_or("the score pass did not compile")?;
        let n = packed.chunk.n;
        let blocks = plan.score_blocks as usize;
        let params = Params { n_dispatch: (n * blocks) as u32, ..bound.params };
        self.queue.write_buffer(&bound.params_buf, 0, bytemuck::bytes_of(&params));
        let mut encoder =
            self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("gvpie.score_pass") });
        dispatch(&mut encoder, pipeline, &bound.bind_group, n * blocks, self.max_dim());
        let bytes = (n * blocks * 8) as u64;
        let read = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("gvpie.partial_read_buf"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        encoder.copy_buffer_to_buffer(&bound.var_buf, u64::from(params.partial_base) * 4, &read, 0, bytes);
        self.queue.submit([encoder.finish()]);
        readback::map_and_wait(&self.device, &self.lost, &[read.slice(..)], wgpu::MapMode::Read)
            .map_err(|f| f.reason())?;
        let mut partials: Vec<u32> = Vec::with_capacity(n * blocks * 2);
        readback::append_mapped(read.slice(..), &mut partials)?;
        let at = plan.job_offsets[packed.job] + packed.chunk.first;
        let mut sums = Vec::new();
        for program in 0..n {
            if sched.get(program / lanes).is_some_and(|&word| word & SCHED_SCORED != 0) {
                continue;
            }
            let words = partials.get(program * blocks * 2..(program + 1) * blocks * 2).unwrap_or(&[]);
            let sse = words.chunks_exact(2).map(|w| u64::from(w[1]) << 32 | u64::from(w[0])).sum();
            sums.push((at + program, sse));
        }
        Ok(sums)
    }

    /// The most workgroups per dispatch dimension.
    fn max_dim(&self) -> u32 {
        self.device.limits().max_compute_workgroups_per_dimension.max(1)
    }

    /// Part of step 3: one chunk's parameters, variable (and state) and outcome buffers, and
    /// its bind group over them, the chunk's uploads and the shared buffers.
    fn bind(
        &self,
        packed: &PackedChunk,
        plan: &Plan,
        config: &Config,
        shared: &Shared,
    ) -> Result<BoundChunk<'_>, String> {
        let tuning = &plan.tuning;
        let job = &plan.jobs[packed.job];
        let chunk = &packed.chunk;
        let (variant, pipeline) = if job.workgroup {
            (&shader::WORKGROUP, self.workgroup_pipeline().ok_or("no workgroup pipeline")?)
        } else {
            (&shader::LANES, &self.pipeline)
        };
        let local_vars = tuning.local_vars && chunk.max_group_vars <= variant.var_words as usize;
        let local_prog = tuning.local_prog && chunk.max_group_prog <= variant.prog_words as usize;
        let mut flags = if plan.score { FLAG_SCORE } else { 0 };
        flags |= if local_vars { FLAG_LOCAL_VARS } else { 0 };
        flags |= if local_prog { FLAG_LOCAL_PROG } else { 0 };
        let n_groups = chunk.n.div_ceil(job.lanes);
        // The regions of `vars`: variables, lane states, group results, the group list, partial sums.
        let state_base = chunk.var_words;
        let sched_base = state_base + chunk.n * crate::codes::STATE_WORDS as usize;
        let list_base = sched_base + n_groups;
        let partial_base = list_base + n_groups;
        let var_words = partial_base + if plan.score { chunk.n * plan.score_blocks as usize * 2 } else { 0 };
        let word = |n: usize| u32::try_from(n).map_err(|_| format!("a chunk of {n} words is too large"));
        let params = Params {
            width: config.width,
            height: config.height,
            n_programs: chunk.n as u32,
            lanes: job.lanes as u32,
            budget_lo: config.budget as u32,
            budget_hi: (config.budget >> 32) as u32,
            flags,
            inline_max: INLINE_MAX_PIXELS,
            canary: 2,
            slice_steps: 0,
            slice_raster: 0,
            round_iters: 1,
            resume: 0,
            n_dispatch: 0,
            state_base: word(state_base)?,
            sched_base: word(sched_base)?,
            list_base: word(list_base)?,
            partial_base: word(partial_base)?,
            score_blocks: plan.score_blocks as u32,
            pad: 0,
        };
        let params_buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("gvpie.params_buf"),
            size: std::mem::size_of::<Params>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let var_buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("gvpie.var_buf"),
            size: pack::words_u64(var_words).max(16),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let outcome_buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("gvpie.outcome_buf"),
            size: chunk.n as u64 * std::mem::size_of::<Outcome>() as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let sched_read = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("gvpie.sched_read_buf"),
            size: (n_groups as u64 * 4).next_multiple_of(4).max(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        // Binding order matches `@binding(n)` in batch.wgsl.
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("gvpie.batch_bind_group"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: params_buf.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: packed.uploads.info.binding() },
                wgpu::BindGroupEntry { binding: 2, resource: packed.uploads.code.binding() },
                wgpu::BindGroupEntry { binding: 3, resource: packed.uploads.heads.binding() },
                wgpu::BindGroupEntry { binding: 4, resource: var_buf.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 5, resource: shared.canvases.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 6, resource: outcome_buf.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 7, resource: shared.target.as_entire_binding() },
            ],
        });
        Ok(BoundChunk { pipeline, bind_group, params, params_buf, var_buf, outcome_buf, n_groups, sched_read })
    }

    /// A storage buffer holding `words`, at least 4 words long (a binding cannot be empty).
    fn padded_storage(&self, label: &str, words: &[u32]) -> wgpu::Buffer {
        let mut padded = words.to_vec();
        padded.resize(words.len().max(4), 0);
        self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::cast_slice(&padded),
            usage: wgpu::BufferUsages::STORAGE,
        })
    }

    /// Step 5: waits until every read-back buffer is mapped, then pops the error scopes.
    /// Every error the scopes caught and every failure of the wait make the reason.
    fn wait(&self, readback: &Readback, scopes: ErrorScopes) -> Result<(), String> {
        let slices: Vec<wgpu::BufferSlice<'_>> = std::iter::once(&readback.outcomes)
            .chain(readback.canvases.iter().flatten())
            .map(|buffer| buffer.slice(..))
            .collect();
        let waited = readback::map_and_wait(&self.device, &self.lost, &slices, wgpu::MapMode::Read);
        let mut errors = scopes.pop();
        if let Err(failed) = waited {
            errors.extend(failed.0);
        }
        if errors.is_empty() { Ok(()) } else { Err(errors.join("; ")) }
    }

    /// After step 5: maps the chunks' staging buffers again and keeps them, with their device
    /// buffers, for the next batch (unless re-mapping fails: then they are dropped).
    fn recycle(&self, packed: Vec<PackedChunk>, pool: &mut Pool) {
        let uploads: Vec<pack::Staged> = packed.into_iter().flat_map(|p| p.uploads.into_array()).collect();
        let slices: Vec<wgpu::BufferSlice<'_>> = uploads.iter().map(|staged| staged.staging.slice(..)).collect();
        let remapped = readback::map_and_wait(&self.device, &self.lost, &slices, wgpu::MapMode::Write);
        drop(slices);
        if remapped.is_ok() {
            for staged in uploads {
                pool.keep(staged);
            }
        }
    }
}

/// What one chunk's slices work with.
#[derive(Clone, Copy)]
struct ChunkRun<'a> {
    plan: &'a Plan,
    packed: &'a PackedChunk,
    shared: &'a Shared,
    bound: &'a BoundChunk<'a>,
}

/// Pixels one workgroup of the score pass sums (`SCORE_BLOCK` in batch.wgsl).
const SCORE_BLOCK_PIXELS: u64 = 65536;

/// Part of step 3: records one dispatch of `n` workgroups (spread over two dimensions past
/// the device's limit per dimension).
fn dispatch(
    encoder: &mut wgpu::CommandEncoder,
    pipeline: &wgpu::ComputePipeline,
    bind_group: &wgpu::BindGroup,
    n: usize,
    max_dim: u32,
) {
    let n = n as u32;
    let mut pass = encoder
        .begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("gvpie.batch_pass"), timestamp_writes: None });
    pass.set_pipeline(pipeline);
    pass.set_bind_group(0, bind_group, &[]);
    pass.dispatch_workgroups(n.min(max_dim), n.div_ceil(max_dim), 1);
}

/// Step 6: the mapped outcomes in program order, and the canvases (run mode) in job order
/// with each program's slot among them.
fn unpack(plan: &Plan, readback: Readback) -> Result<Raw, String> {
    let n_programs = plan.n_programs;
    // Positions in job order back to program order.
    let mut canvas_slot = vec![0usize; n_programs];
    for (job, &offset) in plan.jobs.iter().zip(&plan.job_offsets) {
        for (k, &index) in job.indices.iter().enumerate() {
            canvas_slot[index] = offset + k;
        }
    }
    let mut in_job_order: Vec<Outcome> = Vec::with_capacity(n_programs);
    readback::append_mapped(readback.outcomes.slice(..), &mut in_job_order)?;
    // One job in program order (the usual case): the outcomes are already in place.
    let in_order = canvas_slot.iter().enumerate().all(|(index, &slot)| index == slot);
    let outcomes = if in_order && in_job_order.len() == n_programs {
        in_job_order
    } else {
        canvas_slot
            .iter()
            .map(|&slot| in_job_order.get(slot).copied().ok_or_else(|| format!("no outcome came back for slot {slot}")))
            .collect::<Result<Vec<Outcome>, String>>()?
    };
    let canvases = match &readback.canvases {
        Some(reads) => {
            let mut pixels: Vec<u32> = Vec::with_capacity(n_programs * plan.n_pixels as usize);
            for read in reads {
                readback::append_mapped(read.slice(..), &mut pixels)?;
            }
            // The canvas buffer starts as zeros, read as black: every pixel is opaque.
            for pixel in &mut pixels {
                *pixel |= 0xFF00_0000;
            }
            Some(pixels)
        }
        None => None,
    };
    Ok(Raw { outcomes, canvases, canvas_slot, timings: Timings::default(), stopped: false })
}

fn check_config(config: &Config) -> Result<(), GpuError> {
    let max = gvpie_raster::MAX_SIDE;
    if config.width == 0 || config.height == 0 || config.width > max || config.height > max {
        return Err(GpuError::BadRequest(format!(
            "canvas size {}x{} is out of range (1x1 to {max}x{max})",
            config.width, config.height
        )));
    }
    Ok(())
}

/// The fallback reason when the driver cut the shader short although the slices should have
/// kept it from doing so (a bug, or a driver with a lower limit than lavapipe's).
const CUT_SHORT: &str = "the GPU driver cut a slice's loops short (lavapipe ends a shader after 65535 loop \
                         iterations; the slices should stay below that)";

/// A program's run as the CPU would report it.
struct Run {
    status: Status,
    cycles: u64,
    n_frames: u64,
    /// The source line of the next instruction (a program a stop ended), else 0.
    next_line: u32,
}

/// Every program's status, cycles and `FRAME` count, the CPU's way; or why the outcomes
/// cannot be trusted (the reason the batch falls back to the CPU). After a stop (`stopped`),
/// programs still running (or never started) are [`Status::Running`].
fn finished_runs(programs: &[Texture], outcomes: &[Outcome], budget: u64, stopped: bool) -> Result<Vec<Run>, String> {
    if outcomes.iter().any(|o| o.status == STATUS_CUT_SHORT) {
        return Err(CUT_SHORT.into());
    }
    programs
        .iter()
        .zip(outcomes)
        .enumerate()
        .map(|(index, (texture, outcome))| {
            convert(texture, outcome, budget, stopped).ok_or_else(|| invalid_outcome(index, outcome))
        })
        .collect()
}

/// Why program `index`'s outcome cannot be trusted (the reason the batch falls back).
fn invalid_outcome(index: usize, outcome: &Outcome) -> String {
    format!("program {index} came back without a valid outcome: {outcome:?}")
}

/// Turns one outcome into the CPU's values; `None` when the outcome is not a finished run
/// (nor, after a stop, a run in progress or not started).
fn convert(texture: &Texture, outcome: &Outcome, budget: u64, stopped: bool) -> Option<Run> {
    let left = u64::from(outcome.left_hi) << 32 | u64::from(outcome.left_lo);
    let n_frames = u64::from(outcome.frames_hi) << 32 | u64::from(outcome.frames_lo);
    let status = match outcome.status {
        STATUS_HALTED => Status::Halted,
        STATUS_TRAPPED => {
            let code = TrapCode::from_u32(outcome.kind)?;
            let kind = code.kind(|| record_error(texture, &outcome.record), outcome.addr)?;
            Status::Trapped(Trap { kind, line: outcome.line, pc: outcome.pc })
        }
        STATUS_RUNNING if stopped => {
            let cycles = budget.checked_sub(left)?;
            return Some(Run { status: Status::Running, cycles, n_frames, next_line: outcome.line });
        }
        // A chunk the stop came before.
        0 if stopped => {
            let next_line = if texture.n_records() > 0 { texture.record(0)[RECORD_WORDS - 1] } else { 0 };
            return Some(Run { status: Status::Running, cycles: 0, n_frames: 0, next_line });
        }
        _ => return None,
    };
    let cycles = budget.checked_sub(left)?;
    Some(Run { status, cycles, n_frames, next_line: 0 })
}

/// Why the record the GPU refused to run is invalid, decoded the CPU's way.
fn record_error(texture: &Texture, record: &[u32; RECORD_WORDS]) -> Option<RecordError> {
    let mut literals = [0i32; OPERANDS_PER_RECORD];
    decode_record(record, texture.n_vars(), texture.n_records(), texture.data_len(), 0, &mut literals).err()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_layout_matches_the_shader() {
        // struct Outcome in batch.wgsl: 12 words, then the record's 8 words.
        assert_eq!(std::mem::size_of::<Outcome>(), 80);
        assert_eq!(std::mem::size_of::<Info>(), 56);
        assert_eq!(std::mem::size_of::<Params>(), 80);
    }

    #[test]
    fn the_software_vector_width_comes_from_the_adapter_name() {
        assert_eq!(software_vector("llvmpipe (LLVM 15.0.6, 256 bits)"), 8);
        assert_eq!(software_vector("llvmpipe (LLVM 19.1.0, 512 bits)"), 16);
        assert_eq!(software_vector("some software adapter"), 16);
    }

    #[test]
    fn software_slices_stay_below_the_loop_limit() {
        for lanes in [1, 16, 64] {
            for n_pixels in [1, 4096, 65536, 1 << 24] {
                let sizes = SliceSizes::new(Some(8), &Tuning::default(), lanes, n_pixels);
                let score = if sizes.inline_score { lanes * (n_pixels.div_ceil(64) + 1) + 2 } else { 0 };
                let raster = u64::from(sizes.raster) + 1 + 128 + u64::from(sizes.round_iters);
                let fixed = 8 * 256 * 2 + 8 * 64 + 1024;
                let total = 8 * (u64::from(sizes.steps) + 64) + raster + score + fixed;
                assert!(total <= SOFTWARE_LOOP_LIMIT, "{lanes} lanes, {n_pixels} pixels: {total}");
                assert!(sizes.steps >= 1000, "{sizes:?}");
            }
        }
        // A real GPU starts large and grows while slices are fast.
        let mut sizes = SliceSizes::new(None, &Tuning::default(), 64, 4096);
        assert_eq!(sizes.steps, GPU_FIRST_STEPS);
        sizes.grow(0.001);
        assert_eq!(sizes.steps, GPU_FIRST_STEPS * 8);
        sizes.grow(1.0);
        assert_eq!(sizes.steps, GPU_FIRST_STEPS * 8);
    }
}
