//! The batch executor: runs many machine textures in one submission and turns the
//! per-program outcomes back into the CPU's result types.
//!
//! It does not decide whether the GPU is worth it (see [`crate::auto_prefers_gpu`]) and it
//! never changes a program's meaning: when the GPU fails (device lost, out of memory, an
//! outcome that makes no sense) the whole batch is run again on the CPU and the returned
//! [`Batch`] says so.
//!
//! # Steps
//!
//! [`GpuBackend::execute`] runs a batch in steps, each a function of its own:
//!
//! 1. **plan** (host): which programs run on which pipeline ([`Schedule`]), and the sizes
//!    that split them into chunks ([`Plan`]).
//! 2. **pack** (host, all cores): lay each job out in workgroups and chunks and fill the
//!    staging buffers (`pack.rs`); record their copies into device buffers.
//! 3. **record**: per chunk, *bind* its parameters, variables and outcome buffers
//!    ([`BoundChunk`]), *dispatch* it, and copy its outcomes (and canvases) into read-back
//!    buffers ([`Readback`]).
//! 4. **submit** the one command buffer.
//! 5. **wait** for the read-back buffers to map (`readback.rs`, the crate's one waiting loop)
//!    and pop the error scopes; then *recycle* the staging buffers into the pool.
//! 6. **unpack**: outcomes back to program order, canvases concatenated ([`Raw`]), then
//!    converted into [`RunResult`] or [`Scored`] by the public entry points.
//!
//! A bound chunk owns the state a dispatch leaves on the device (variables, outcomes; the
//! canvases live in one buffer shared by the chunks), and dispatching is separate from
//! binding and from reading back, so a dispatch can be recorded again over the same state.

use std::time::Instant;

use bytemuck::{Pod, Zeroable};
use gvpie_pxl::{
    Config, OPERANDS_PER_RECORD, RECORD_WORDS, RecordError, RunResult, Status, Texture, Trap, decode_record,
};
use gvpie_raster::Canvas;
use wgpu::util::DeviceExt;

use crate::backend::GpuBackend;
use crate::codes::{
    FLAG_LOCAL_PROG, FLAG_LOCAL_VARS, FLAG_SCORE, STATUS_CUT_SHORT, STATUS_HALTED, STATUS_TRAPPED, TrapCode,
};
use crate::cpu;
use crate::error::GpuError;
use crate::pack::{self, Chunk, Info, Pool, Uploads};
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

/// Wall-clock times of one batch, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    /// Packing the textures into buffers on the host.
    pub pack_s: f64,
    /// Upload, dispatch and wait: from the first buffer creation to the finished submission.
    pub gpu_s: f64,
    /// Reading results back and building the result values.
    pub readback_s: f64,
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
    pad: [u32; 3],
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
    /// Per program: straight-line programs (no jump, loop, call or `POKE`, so they execute
    /// each record at most once and mostly draw) on canvases that fit workgroup memory run
    /// as [`Schedule::Workgroup`], the others as [`Schedule::Lanes`]. On a software adapter
    /// every program runs as [`Schedule::Lanes`].
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
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning { schedule: Schedule::Auto, local_vars: true, local_prog: true, threads: 0 }
    }
}

/// What the GPU produced for a batch, before conversion: outcomes in program order, and the
/// canvases (run mode) in the order given by `canvas_slot`.
struct Raw {
    outcomes: Vec<Outcome>,
    canvases: Option<Vec<u32>>,
    canvas_slot: Vec<usize>,
    timings: Timings,
}

/// A set of programs that run with one pipeline.
struct Job {
    workgroup: bool,
    lanes: usize,
    indices: Vec<usize>,
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
}

/// One chunk's programs, packed and on their way to the device.
struct PackedChunk {
    /// Index of the chunk's job in [`Plan::jobs`].
    job: usize,
    chunk: Chunk,
    uploads: Uploads,
}

/// One chunk ready to dispatch: its pipeline, bind group and the outcome buffer the dispatch
/// writes (its parameters and variables are held by the bind group).
struct BoundChunk<'a> {
    pipeline: &'a wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    /// Workgroups in x and y (the groups spread over two dimensions past the device's limit).
    workgroups: (u32, u32),
    outcome_buf: wgpu::Buffer,
}

/// The buffers every chunk of a batch binds: the target image (score mode) and the canvases.
struct Shared {
    target: wgpu::Buffer,
    canvases: wgpu::Buffer,
}

/// Where results come back to the host: every program's outcome in job order, and in run
/// mode the canvases, one buffer per chunk.
struct Readback {
    outcomes: wgpu::Buffer,
    canvases: Option<Vec<wgpu::Buffer>>,
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
        check_config(config)?;
        let raw = match self.execute(programs, config, None, tuning) {
            Ok(raw) => raw,
            Err(reason) => return Ok(Err(reason)),
        };
        let start = Instant::now();
        let runs = match finished_runs(programs, &raw.outcomes, config.budget) {
            Ok(runs) => runs,
            Err(reason) => return Ok(Err(reason)),
        };
        let Some(pixels) = &raw.canvases else { return Ok(Err("no canvases came back".into())) };
        let n_pixels = config.width as usize * config.height as usize;
        let mut results = Vec::with_capacity(programs.len());
        for (index, (status, cycles, n_frames)) in runs.into_iter().enumerate() {
            let slot = raw.canvas_slot[index];
            let bytes: &[u8] = bytemuck::cast_slice(&pixels[slot * n_pixels..(slot + 1) * n_pixels]);
            let canvas = Canvas::from_rgba8(config.width, config.height, bytes)
                .map_err(|e| GpuError::BadRequest(e.to_string()))?;
            results.push(RunResult { status, cycles, canvas, frames: Vec::new(), n_frames });
        }
        let mut timings = raw.timings;
        timings.readback_s += start.elapsed().as_secs_f64();
        Ok(Ok(Batch { results, ran_on: RanOn::Gpu, timings }))
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
        };
        let raw = match self.execute(programs, config, Some(target), tuning) {
            Ok(raw) => raw,
            Err(reason) => return Ok(fallback(reason)),
        };
        let runs = match finished_runs(programs, &raw.outcomes, config.budget) {
            Ok(runs) => runs,
            Err(reason) => return Ok(fallback(reason)),
        };
        let results = runs
            .into_iter()
            .zip(&raw.outcomes)
            .map(|((status, cycles, n_frames), outcome)| {
                let sse = u64::from(outcome.sse_hi) << 32 | u64::from(outcome.sse_lo);
                Scored { status, cycles, n_frames, sse }
            })
            .collect();
        Ok(Batch { results, ran_on: RanOn::Gpu, timings: raw.timings })
    }

    /// Runs a batch on the GPU, step by step (see the module docs): plan, pack, record,
    /// submit, wait, unpack. Any failure comes back as a reason for the CPU fallback.
    fn execute(
        &self,
        programs: &[Texture],
        config: &Config,
        target: Option<&Canvas>,
        tuning: &Tuning,
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
            return Ok(Raw { outcomes: Vec::new(), canvases: Some(Vec::new()), canvas_slot: Vec::new(), timings });
        }

        let start = Instant::now();
        let plan = self.plan(programs, config, target.is_some(), tuning);
        let scopes = ErrorScopes::push(&self.device);
        let mut pool = self.pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut encoder =
            self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("gvpie.batch") });
        let packed = self.pack(programs, &plan, &mut pool, &mut encoder)?;
        timings.pack_s = start.elapsed().as_secs_f64();

        let start = Instant::now();
        let readback = self.record(&mut encoder, config, target, &plan, &packed)?;
        self.queue.submit([encoder.finish()]);
        self.wait(&readback, scopes)?;
        self.recycle(packed, &mut pool);
        drop(pool);
        timings.gpu_s = start.elapsed().as_secs_f64();

        let start = Instant::now();
        let raw = unpack(&plan, readback)?;
        timings.readback_s = start.elapsed().as_secs_f64();
        Ok(Raw { timings, ..raw })
    }

    /// Step 1: which programs run on which pipeline, and the sizes that decide the chunks.
    fn plan(&self, programs: &[Texture], config: &Config, score: bool, tuning: &Tuning) -> Plan {
        let limits = self.device.limits();
        let max_binding = limits.max_storage_buffer_binding_size.min(limits.max_buffer_size);
        let n_pixels = u64::from(config.width) * u64::from(config.height);
        let canvas_bytes = n_pixels * 4;
        let chunk_limit = max_binding.min(MAX_CANVAS_CHUNK_BYTES);
        let threads = match tuning.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let wg_lanes =
            (u64::from(shader::WORKGROUP.canvas_words) / n_pixels).min(u64::from(shader::WORKGROUP.max_lanes)) as usize;
        let workgroup_ok = wg_lanes > 0 && tuning.schedule != Schedule::Lanes && self.workgroup_pipeline().is_some();
        // A software adapter (lavapipe) runs the workgroup variant's barriers slowly: there,
        // `Auto` keeps every program on the lanes schedule.
        let software = self.adapter_info().device_type == "cpu";
        let in_workgroup: Vec<bool> = match (workgroup_ok, tuning.schedule) {
            (false, _) => vec![false; programs.len()],
            (true, Schedule::Workgroup) => vec![true; programs.len()],
            _ if software => vec![false; programs.len()],
            _ => pack::par_map(programs, threads, pack::straight_line),
        };
        // Fewer programs per workgroup when canvases are so large that 64 of them do not fit.
        let lanes = (chunk_limit / canvas_bytes).clamp(1, u64::from(WORKGROUP_SIZE)) as usize;
        let mut jobs = vec![
            Job { workgroup: false, lanes, indices: Vec::new() },
            Job { workgroup: true, lanes: wg_lanes.max(1), indices: Vec::new() },
        ];
        for (index, &wg) in in_workgroup.iter().enumerate() {
            jobs[usize::from(wg)].indices.push(index);
        }
        jobs.retain(|job| !job.indices.is_empty());
        let job_offsets = jobs
            .iter()
            .scan(0, |next, job| {
                let first = *next;
                *next += job.indices.len();
                Some(first)
            })
            .collect();
        Plan {
            n_programs: programs.len(),
            score,
            tuning: *tuning,
            jobs,
            job_offsets,
            n_pixels,
            canvas_bytes,
            chunk_limit,
            threads,
        }
    }

    /// Step 2: lays out every job's chunks, packs them on host threads straight into mapped
    /// staging buffers (kept between batches, like the device buffers they are copied into:
    /// no allocation once warm), and records those copies.
    fn pack(
        &self,
        programs: &[Texture],
        plan: &Plan,
        pool: &mut Pool,
        encoder: &mut wgpu::CommandEncoder,
    ) -> Result<Vec<PackedChunk>, String> {
        let mut packed = Vec::new();
        for (j, job) in plan.jobs.iter().enumerate() {
            let (groups, chunks) = pack::layout(programs, &job.indices, job.lanes, plan.canvas_bytes, plan.chunk_limit);
            for chunk in chunks {
                let uploads = Uploads {
                    info: pool.staged(&self.device, "gvpie.info_buf", chunk.n * std::mem::size_of::<Info>()),
                    code: pool.staged(&self.device, "gvpie.code_buf", chunk.code_words * 4),
                    heads: pool.staged(&self.device, "gvpie.head_buf", chunk.head_words * 4),
                };
                let chunk_groups = &groups[chunk.groups.clone()];
                pack::fill_chunk(programs, &job.indices, job.lanes, chunk_groups, plan.threads, &uploads)?;
                for staged in uploads.iter() {
                    staged.staging.unmap();
                    encoder.copy_buffer_to_buffer(&staged.staging, 0, &staged.device, 0, staged.size);
                }
                packed.push(PackedChunk { job: j, chunk, uploads });
            }
        }
        Ok(packed)
    }

    /// Step 3: binds and dispatches every chunk and records the copies of its results into
    /// read-back buffers. The chunks share one canvas buffer, so each chunk's canvases are
    /// copied out before the next chunk's dispatch.
    fn record(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        config: &Config,
        target: Option<&Canvas>,
        plan: &Plan,
        packed: &[PackedChunk],
    ) -> Result<Readback, String> {
        let outcome_size = std::mem::size_of::<Outcome>() as u64;
        let run_mode = !plan.score;
        // Canvases of the workgroup variant stay in workgroup memory when only scored.
        let canvas_words = packed
            .iter()
            .filter(|p| run_mode || !plan.jobs[p.job].workgroup)
            .map(|p| p.chunk.n as u64 * plan.n_pixels)
            .max()
            .unwrap_or(0);
        let shared = Shared {
            target: self.padded_storage("gvpie.target_buf", target.map_or(&[], Canvas::pixels)),
            canvases: self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("gvpie.canvas_buf"),
                size: (canvas_words * 4).max(16),
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
        };
        let mut readback = Readback {
            outcomes: self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("gvpie.outcome_read_buf"),
                size: plan.n_programs as u64 * outcome_size,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            canvases: run_mode.then(Vec::new),
        };
        for p in packed {
            let bound = self.bind(p, plan, config, &shared)?;
            dispatch(encoder, &bound);
            let at = (plan.job_offsets[p.job] + p.chunk.first) as u64;
            let n = p.chunk.n as u64;
            encoder.copy_buffer_to_buffer(
                &bound.outcome_buf,
                0,
                &readback.outcomes,
                at * outcome_size,
                n * outcome_size,
            );
            if let Some(canvas_reads) = &mut readback.canvases {
                let size = n * plan.canvas_bytes;
                let read = self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("gvpie.canvas_read_buf"),
                    size,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                encoder.copy_buffer_to_buffer(&shared.canvases, 0, &read, 0, size);
                canvas_reads.push(read);
            }
        }
        Ok(readback)
    }

    /// Part of step 3: one chunk's parameters, variable and outcome buffers, and its bind
    /// group over them, the chunk's uploads and the shared buffers.
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
            pad: [0; 3],
        };
        let params_buf = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("gvpie.params_buf"),
            contents: bytemuck::bytes_of(&params),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let var_buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("gvpie.var_buf"),
            size: if local_vars { 16 } else { pack::words_u64(chunk.var_words).max(16) },
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        let outcome_buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("gvpie.outcome_buf"),
            size: chunk.n as u64 * std::mem::size_of::<Outcome>() as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
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
        let n_groups = chunk.n.div_ceil(job.lanes) as u32;
        let max_dim = self.device.limits().max_compute_workgroups_per_dimension.max(1);
        let workgroups = (n_groups.min(max_dim), n_groups.div_ceil(max_dim));
        Ok(BoundChunk { pipeline, bind_group, workgroups, outcome_buf })
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

/// Part of step 3: records one chunk's dispatch.
fn dispatch(encoder: &mut wgpu::CommandEncoder, bound: &BoundChunk<'_>) {
    let mut pass = encoder
        .begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("gvpie.batch_pass"), timestamp_writes: None });
    pass.set_pipeline(bound.pipeline);
    pass.set_bind_group(0, &bound.bind_group, &[]);
    let (x, y) = bound.workgroups;
    pass.dispatch_workgroups(x, y, 1);
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
    let outcomes = canvas_slot
        .iter()
        .map(|&slot| in_job_order.get(slot).copied().ok_or_else(|| format!("no outcome came back for slot {slot}")))
        .collect::<Result<Vec<Outcome>, String>>()?;
    let canvases = match &readback.canvases {
        Some(reads) => {
            let mut pixels: Vec<u32> = Vec::with_capacity(n_programs * plan.n_pixels as usize);
            for read in reads {
                readback::append_mapped(read.slice(..), &mut pixels)?;
            }
            Some(pixels)
        }
        None => None,
    };
    Ok(Raw { outcomes, canvases, canvas_slot, timings: Timings::default() })
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

/// The fallback reason when the driver cut the shader short.
const CUT_SHORT: &str =
    "the GPU driver cut the shader's loops short (llvmpipe ends a shader after 65535 loop iterations)";

/// Every program's status, cycles and `FRAME` count, the CPU's way; or why the outcomes
/// cannot be trusted (the reason the batch falls back to the CPU).
fn finished_runs(programs: &[Texture], outcomes: &[Outcome], budget: u64) -> Result<Vec<(Status, u64, u64)>, String> {
    if outcomes.iter().any(|o| o.status == STATUS_CUT_SHORT) {
        return Err(CUT_SHORT.into());
    }
    programs
        .iter()
        .zip(outcomes)
        .enumerate()
        .map(|(index, (texture, outcome))| {
            convert(texture, outcome, budget)
                .ok_or_else(|| format!("program {index} came back without a valid outcome: {outcome:?}"))
        })
        .collect()
}

/// Turns one outcome into the CPU's values; `None` when the outcome is not a finished run.
fn convert(texture: &Texture, outcome: &Outcome, budget: u64) -> Option<(Status, u64, u64)> {
    let left = u64::from(outcome.left_hi) << 32 | u64::from(outcome.left_lo);
    let cycles = budget.checked_sub(left)?;
    let n_frames = u64::from(outcome.frames_hi) << 32 | u64::from(outcome.frames_lo);
    let status = match outcome.status {
        STATUS_HALTED => Status::Halted,
        STATUS_TRAPPED => {
            let code = TrapCode::from_u32(outcome.kind)?;
            let kind = code.kind(|| record_error(texture, &outcome.record), outcome.addr)?;
            Status::Trapped(Trap { kind, line: outcome.line, pc: outcome.pc })
        }
        _ => return None,
    };
    Some((status, cycles, n_frames))
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
        assert_eq!(std::mem::size_of::<Info>(), 48);
        assert_eq!(std::mem::size_of::<Params>(), 48);
    }
}
