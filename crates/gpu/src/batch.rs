//! The batch executor: packs many machine textures into interleaved GPU buffers, runs them in
//! one submission, and turns the per-program outcomes back into the CPU's result types.
//!
//! It does not decide whether the GPU is worth it (see [`crate::auto_prefers_gpu`]) and it
//! never changes a program's meaning: when the GPU fails (device lost, out of memory, an
//! outcome that makes no sense) the whole batch is run again on the CPU and the returned
//! [`Batch`] says so.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytemuck::{Pod, Zeroable};
use gvpie_pxl::{
    Config, OPERANDS_PER_RECORD, RECORD_WORDS, RecordError, RunResult, Status, Texture, Trap, TrapKind, decode_record,
};
use gvpie_raster::Canvas;
use wgpu::util::DeviceExt;

use crate::backend::GpuBackend;
use crate::cpu;
use crate::error::GpuError;
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

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Info {
    n_records: u32,
    n_vars: u32,
    data_len: u32,
    code_len: u32,
    code_base: u32,
    head_base: u32,
    var_base: u32,
    lane: u32,
    group_code_base: u32,
    group_code_words: u32,
    group_head_base: u32,
    group_head_words: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
struct Outcome {
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

const FLAG_SCORE: u32 = 1;
const FLAG_LOCAL_VARS: u32 = 2;
const FLAG_LOCAL_PROG: u32 = 4;

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

/// The per-record word 0 when valid, else 0: the shader's view of which records can run.
fn initial_head(texture: &Texture, index: usize) -> u32 {
    let record = texture.record(index);
    let mut literals = [0i32; OPERANDS_PER_RECORD];
    let valid =
        decode_record(&record, texture.n_vars(), texture.n_records(), texture.data_len(), 0, &mut literals).is_ok();
    if valid { record[0] } else { 0 }
}

fn words_u64(n: usize) -> u64 {
    n as u64 * 4
}

/// Whether a program executes each record at most once: no jump, loop, call, return or
/// `POKE` (which could write one). Decides the schedule under [`Schedule::Auto`].
fn straight_line(texture: &Texture) -> bool {
    use gvpie_pxl::Op;
    let branchy = [Op::Jmp, Op::If, Op::Loop, Op::Call, Op::Ret, Op::Poke].map(|op| op as u32);
    texture.code_words().chunks_exact(RECORD_WORDS).take(texture.n_records()).all(|r| !branchy.contains(&(r[0] & 0xFF)))
}

/// One workgroup's programs and where their interleaved arrays go in the chunk's buffers.
#[derive(Debug, Clone, Copy)]
struct Group {
    /// Position of the group's first program in the job.
    first: usize,
    len: usize,
    max_code: usize,
    max_records: usize,
    code_off: usize,
    head_off: usize,
    var_off: usize,
}

/// Programs packed for one dispatch: groups `groups` of the job.
#[derive(Debug, Clone)]
struct Chunk {
    /// Position of the chunk's first program in the job.
    first: usize,
    n: usize,
    groups: std::ops::Range<usize>,
    code_words: usize,
    head_words: usize,
    var_words: usize,
    /// The most variables and program words (heads and code) one workgroup needs.
    max_group_vars: usize,
    max_group_prog: usize,
}

/// Splits a job's programs into workgroups of `lanes` and the groups into chunks whose
/// buffers each fit `max_binding` bytes.
fn layout(
    programs: &[Texture],
    job: &[usize],
    lanes: usize,
    canvas_bytes: u64,
    max_binding: u64,
) -> (Vec<Group>, Vec<Chunk>) {
    let mut groups = Vec::with_capacity(job.len().div_ceil(lanes));
    let mut chunks = Vec::new();
    let empty = |first: usize, group: usize| Chunk {
        first,
        n: 0,
        groups: group..group,
        code_words: 0,
        head_words: 0,
        var_words: 0,
        max_group_vars: 0,
        max_group_prog: 0,
    };
    let mut chunk = empty(0, 0);
    for (g, members) in job.chunks(lanes).enumerate() {
        let max_code = members.iter().map(|&i| programs[i].code_words().len()).max().unwrap_or(0);
        let max_records = members.iter().map(|&i| programs[i].n_records()).max().unwrap_or(0);
        let max_vars = members.iter().map(|&i| programs[i].n_vars()).max().unwrap_or(0);
        let grows = [
            words_u64(chunk.code_words + max_code * lanes),
            words_u64(chunk.head_words + max_records * lanes),
            words_u64(chunk.var_words + max_vars * lanes),
            (chunk.n + members.len()) as u64 * canvas_bytes,
            (chunk.n + members.len()) as u64 * std::mem::size_of::<Outcome>() as u64,
            (chunk.n + members.len()) as u64 * std::mem::size_of::<Info>() as u64,
        ];
        if chunk.n > 0 && grows.iter().any(|&bytes| bytes > max_binding) {
            let next = empty(chunk.first + chunk.n, g);
            chunks.push(std::mem::replace(&mut chunk, next));
        }
        groups.push(Group {
            first: g * lanes,
            len: members.len(),
            max_code,
            max_records,
            code_off: chunk.code_words,
            head_off: chunk.head_words,
            var_off: chunk.var_words,
        });
        chunk.code_words += max_code * lanes;
        chunk.head_words += max_records * lanes;
        chunk.var_words += max_vars * lanes;
        chunk.max_group_vars = chunk.max_group_vars.max(max_vars * lanes);
        chunk.max_group_prog = chunk.max_group_prog.max((max_code + max_records) * lanes);
        chunk.n += members.len();
        chunk.groups.end = g + 1;
    }
    if chunk.n > 0 {
        chunks.push(chunk);
    }
    (groups, chunks)
}

/// Fills one group's interleaved code, heads and infos (chunk-relative offsets) into scratch
/// vectors, in address order so that the copies into mapped memory are sequential.
fn fill_group(
    programs: &[Texture],
    job: &[usize],
    group: &Group,
    lanes: usize,
    code: &mut Vec<u32>,
    heads: &mut Vec<u32>,
    infos: &mut Vec<Info>,
) {
    let members: Vec<&Texture> = job[group.first..group.first + group.len].iter().map(|&i| &programs[i]).collect();
    code.clear();
    code.resize(group.max_code * lanes, 0);
    for (lane, texture) in members.iter().enumerate() {
        for (addr, &word) in texture.code_words().iter().enumerate() {
            code[addr * lanes + lane] = word;
        }
    }
    heads.clear();
    heads.resize(group.max_records * lanes, 0);
    for (lane, texture) in members.iter().enumerate() {
        for index in 0..texture.n_records() {
            heads[index * lanes + lane] = initial_head(texture, index);
        }
    }
    infos.clear();
    for (lane, texture) in members.iter().enumerate() {
        infos.push(Info {
            n_records: texture.n_records() as u32,
            n_vars: texture.n_vars() as u32,
            data_len: texture.data_len() as u32,
            code_len: texture.code_words().len() as u32,
            code_base: (group.code_off + lane) as u32,
            head_base: (group.head_off + lane) as u32,
            var_base: (group.var_off + lane) as u32,
            lane: lane as u32,
            group_code_base: group.code_off as u32,
            group_code_words: (group.max_code * lanes) as u32,
            group_head_base: group.head_off as u32,
            group_head_words: (group.max_records * lanes) as u32,
        });
    }
}

/// Packs the groups of a part of a chunk into the write-only views of the mapped buffers.
fn fill_part(
    programs: &[Texture],
    job: &[usize],
    groups: &[Group],
    lanes: usize,
    mut code_out: wgpu::WriteOnly<'_, [u8]>,
    mut head_out: wgpu::WriteOnly<'_, [u8]>,
    mut info_out: wgpu::WriteOnly<'_, [u8]>,
) {
    let (mut code, mut heads, mut infos) = (Vec::new(), Vec::new(), Vec::new());
    for group in groups {
        fill_group(programs, job, group, lanes, &mut code, &mut heads, &mut infos);
        let (dst, rest) = code_out.split_at(code.len() * 4);
        let mut dst = dst;
        dst.copy_from_slice(bytemuck::cast_slice(&code));
        code_out = rest;
        let (mut dst, rest) = head_out.split_at(heads.len() * 4);
        dst.copy_from_slice(bytemuck::cast_slice(&heads));
        head_out = rest;
        let (mut dst, rest) = info_out.split_at(std::mem::size_of_val(&infos[..]));
        dst.copy_from_slice(bytemuck::cast_slice(&infos));
        info_out = rest;
    }
}

/// Buffers kept between batches: staging buffers (mapped for writing, ready to fill) and the
/// device buffers they are copied into.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    staging: Vec<wgpu::Buffer>,
    device: Vec<wgpu::Buffer>,
}

/// The most bytes of staging (and as many of device) buffers kept between batches.
const POOL_MAX_BYTES: u64 = 3 << 30;

impl Pool {
    /// Keeps a used pair (its staging buffer mapped again) unless the pool is full.
    fn keep(&mut self, staged: Staged) {
        let held: u64 = self.staging.iter().map(wgpu::Buffer::size).sum();
        if held + staged.staging.size() <= POOL_MAX_BYTES {
            self.staging.push(staged.staging);
            self.device.push(staged.device);
        }
    }
}

/// The smallest pooled buffer of at least `size` bytes (and not wastefully larger).
fn take(list: &mut Vec<wgpu::Buffer>, size: u64) -> Option<wgpu::Buffer> {
    let best = list
        .iter()
        .enumerate()
        .filter(|(_, b)| b.size() >= size && b.size() <= size.saturating_mul(2).saturating_add(1 << 20))
        .min_by_key(|(_, b)| b.size())
        .map(|(i, _)| i)?;
    Some(list.swap_remove(best))
}

/// A staging buffer (mapped, being filled) and the device buffer its first `size` bytes go to.
struct Staged {
    staging: wgpu::Buffer,
    device: wgpu::Buffer,
    size: u64,
}

impl Staged {
    fn view(&self) -> Result<wgpu::BufferViewMut, String> {
        self.staging.slice(0..self.size).get_mapped_range_mut().map_err(|e| format!("mapping failed: {e}"))
    }

    fn binding(&self) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &self.device,
            offset: 0,
            size: wgpu::BufferSize::new(self.size),
        })
    }
}

/// Three disjoint write-only views of mapped buffers, handed to a packing thread.
struct SendViews<'a>(View<'a>, View<'a>, View<'a>);

/// A write-only view of (part of) a mapped buffer.
type View<'a> = wgpu::WriteOnly<'a, [u8]>;

// SAFETY: a `WriteOnly<[u8]>` is a pointer and a length into a mapping, disjoint from every
// other view here (they come from `split_at`), exactly like a `&mut [u8]`, which is `Send`.
// wgpu only lacks the impl because its `Send` impl requires `T: Sized`.
unsafe impl Send for SendViews<'_> {}

impl<'a> SendViews<'a> {
    /// Takes the views out (a method, so that a closure captures the whole wrapper).
    fn into_parts(self) -> (View<'a>, View<'a>, View<'a>) {
        (self.0, self.1, self.2)
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
    /// `Ok(Err(reason))` and nothing runs on the CPU, so a caller with a deadline (the
    /// `gvpie-exec` engine) can run the fallback itself, in slices it can stop.
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
        if cut_short(&raw.outcomes) {
            return Ok(Err(CUT_SHORT.into()));
        }
        let start = Instant::now();
        let Some(pixels) = &raw.canvases else { return Ok(Err("no canvases came back".into())) };
        let n_pixels = config.width as usize * config.height as usize;
        let mut results = Vec::with_capacity(programs.len());
        for (index, (texture, outcome)) in programs.iter().zip(&raw.outcomes).enumerate() {
            let Some((status, cycles, n_frames)) = convert(texture, outcome, config.budget) else {
                return Ok(Err(format!("program {index} came back without a valid outcome: {outcome:?}")));
            };
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
        if cut_short(&raw.outcomes) {
            return Ok(fallback(CUT_SHORT.into()));
        }
        let mut results = Vec::with_capacity(programs.len());
        for (index, (texture, outcome)) in programs.iter().zip(&raw.outcomes).enumerate() {
            let Some((status, cycles, n_frames)) = convert(texture, outcome, config.budget) else {
                return Ok(fallback(format!("program {index} came back without a valid outcome: {outcome:?}")));
            };
            let sse = u64::from(outcome.sse_hi) << 32 | u64::from(outcome.sse_lo);
            results.push(Scored { status, cycles, n_frames, sse });
        }
        Ok(Batch { results, ran_on: RanOn::Gpu, timings: raw.timings })
    }

    /// Packs, uploads, dispatches and reads back. Any failure comes back as a reason for the
    /// CPU fallback.
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
        // One batch at a time per device: the error scopes and the wait below assume that
        // nothing else is submitted meanwhile.
        let _one_at_a_time = self.busy.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut timings = Timings::default();
        if programs.is_empty() {
            return Ok(Raw { outcomes: Vec::new(), canvases: Some(Vec::new()), canvas_slot: Vec::new(), timings });
        }
        let start = Instant::now();
        let limits = self.device.limits();
        let max_binding = limits.max_storage_buffer_binding_size.min(limits.max_buffer_size);
        let n_pixels = u64::from(config.width) * u64::from(config.height);
        let canvas_bytes = n_pixels * 4;
        let canvas_limit = max_binding.min(MAX_CANVAS_CHUNK_BYTES);
        let threads = match tuning.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };

        // Which programs run on which pipeline.
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
            _ => par_map(programs, threads, straight_line),
        };
        // Fewer programs per workgroup when canvases are so large that 64 of them do not fit.
        let lanes = (canvas_limit / canvas_bytes).clamp(1, u64::from(WORKGROUP_SIZE)) as usize;
        let mut jobs = vec![
            Job { workgroup: false, lanes, indices: Vec::new() },
            Job { workgroup: true, lanes: wg_lanes.max(1), indices: Vec::new() },
        ];
        for (index, &wg) in in_workgroup.iter().enumerate() {
            jobs[usize::from(wg)].indices.push(index);
        }
        jobs.retain(|job| !job.indices.is_empty());

        let scopes = [
            self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory),
            self.device.push_error_scope(wgpu::ErrorFilter::Validation),
            self.device.push_error_scope(wgpu::ErrorFilter::Internal),
        ];
        let storage = wgpu::BufferUsages::STORAGE;
        let init = |label: &str, words: &[u32], usage: wgpu::BufferUsages| {
            let mut padded = words.to_vec();
            padded.resize(words.len().max(4), 0);
            self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytemuck::cast_slice(&padded),
                usage,
            })
        };
        // Packed arrays go through staging buffers kept mapped between batches, into device
        // buffers also kept: no allocation (or page-locking) per batch once warm.
        let mut pool = self.pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut pooled = |label: &str, bytes: usize| {
            let size = (bytes as u64).max(16).next_multiple_of(4);
            let staging = take(&mut pool.staging, size).unwrap_or_else(|| {
                self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("gvpie.staging_buf"),
                    size,
                    usage: wgpu::BufferUsages::MAP_WRITE | wgpu::BufferUsages::COPY_SRC,
                    mapped_at_creation: true,
                })
            });
            let device = take(&mut pool.device, size).unwrap_or_else(|| {
                self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(label),
                    size,
                    usage: storage | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            });
            Staged { staging, device, size }
        };
        let mut encoder =
            self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("gvpie.batch") });
        let target_buf = match target {
            Some(target) => init("gvpie.target_buf", target.pixels(), storage),
            None => init("gvpie.target_buf", &[], storage),
        };
        let outcome_size = std::mem::size_of::<Outcome>() as u64;
        let outcome_read = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("gvpie.outcome_read_buf"),
            size: programs.len() as u64 * outcome_size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });

        // Lay out and pack every chunk (host threads write the mapped buffers directly).
        struct Packed {
            job: usize,
            chunk: Chunk,
            info_buf: Staged,
            code_buf: Staged,
            head_buf: Staged,
        }
        let mut packed = Vec::new();
        let mut canvas_words_needed = 0u64;
        for (j, job) in jobs.iter().enumerate() {
            let (groups, chunks) = layout(programs, &job.indices, job.lanes, canvas_bytes, canvas_limit);
            for chunk in chunks {
                if !job.workgroup || target.is_none() {
                    canvas_words_needed = canvas_words_needed.max(chunk.n as u64 * n_pixels);
                }
                let info_buf = pooled("gvpie.info_buf", chunk.n * std::mem::size_of::<Info>());
                let code_buf = pooled("gvpie.code_buf", chunk.code_words * 4);
                let head_buf = pooled("gvpie.head_buf", chunk.head_words * 4);
                {
                    let mut info_view = info_buf.view()?;
                    let mut code_view = code_buf.view()?;
                    let mut head_view = head_buf.view()?;
                    let groups = &groups[chunk.groups.clone()];
                    let parts = split_groups(groups, job.lanes, threads);
                    let mut info_rest = info_view.slice(..);
                    let mut code_rest = code_view.slice(..);
                    let mut head_rest = head_view.slice(..);
                    std::thread::scope(|scope| {
                        let mut done = 0;
                        for (k, &end) in parts.iter().enumerate() {
                            let part = &groups[done..end];
                            done = end;
                            let n_code: usize = part.iter().map(|g| g.max_code * job.lanes).sum();
                            let n_head: usize = part.iter().map(|g| g.max_records * job.lanes).sum();
                            let n_info: usize = part.iter().map(|g| g.len).sum();
                            let (code_out, rest) = std::mem::take(&mut code_rest).split_at(n_code * 4);
                            code_rest = rest;
                            let (head_out, rest) = std::mem::take(&mut head_rest).split_at(n_head * 4);
                            head_rest = rest;
                            let (info_out, rest) =
                                std::mem::take(&mut info_rest).split_at(n_info * std::mem::size_of::<Info>());
                            info_rest = rest;
                            let indices = &job.indices;
                            let lanes = job.lanes;
                            if k + 1 == parts.len() {
                                fill_part(programs, indices, part, lanes, code_out, head_out, info_out);
                            } else {
                                let outs = SendViews(code_out, head_out, info_out);
                                scope.spawn(move || {
                                    let (code_out, head_out, info_out) = outs.into_parts();
                                    fill_part(programs, indices, part, lanes, code_out, head_out, info_out)
                                });
                            }
                        }
                    });
                }
                for staged in [&info_buf, &code_buf, &head_buf] {
                    staged.staging.unmap();
                    encoder.copy_buffer_to_buffer(&staged.staging, 0, &staged.device, 0, staged.size);
                }
                packed.push(Packed { job: j, chunk, info_buf, code_buf, head_buf });
            }
        }
        timings.pack_s = start.elapsed().as_secs_f64();

        let start = Instant::now();
        let canvas_buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("gvpie.canvas_buf"),
            size: (canvas_words_needed * 4).max(16),
            usage: storage | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let job_offsets: Vec<usize> = jobs
            .iter()
            .scan(0, |acc, job| {
                let first = *acc;
                *acc += job.indices.len();
                Some(first)
            })
            .collect();
        let mut canvas_reads = Vec::new();
        for p in &packed {
            let job = &jobs[p.job];
            let chunk = &p.chunk;
            let (variant, pipeline) = if job.workgroup {
                (&shader::WORKGROUP, self.workgroup_pipeline().ok_or("no workgroup pipeline")?)
            } else {
                (&shader::LANES, &self.pipeline)
            };
            let local_vars = tuning.local_vars && chunk.max_group_vars <= variant.var_words as usize;
            let local_prog = tuning.local_prog && chunk.max_group_prog <= variant.prog_words as usize;
            let mut flags = if target.is_some() { FLAG_SCORE } else { 0 };
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
                size: if local_vars { 16 } else { words_u64(chunk.var_words).max(16) },
                usage: storage,
                mapped_at_creation: false,
            });
            let outcome_buf = self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("gvpie.outcome_buf"),
                size: chunk.n as u64 * outcome_size,
                usage: storage | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("gvpie.batch_bind_group"),
                layout: &self.layout,
                entries: &[
                    wgpu::BindGroupEntry { binding: 0, resource: params_buf.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 1, resource: p.info_buf.binding() },
                    wgpu::BindGroupEntry { binding: 2, resource: p.code_buf.binding() },
                    wgpu::BindGroupEntry { binding: 3, resource: p.head_buf.binding() },
                    wgpu::BindGroupEntry { binding: 4, resource: var_buf.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 5, resource: canvas_buf.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 6, resource: outcome_buf.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 7, resource: target_buf.as_entire_binding() },
                ],
            });
            let n_groups = chunk.n.div_ceil(job.lanes) as u32;
            let max_dim = limits.max_compute_workgroups_per_dimension.max(1);
            let (x, y) = (n_groups.min(max_dim), n_groups.div_ceil(max_dim));
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("gvpie.batch_pass"),
                    timestamp_writes: None,
                });
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, &bind_group, &[]);
                pass.dispatch_workgroups(x, y, 1);
            }
            let at = (job_offsets[p.job] + chunk.first) as u64;
            encoder.copy_buffer_to_buffer(
                &outcome_buf,
                0,
                &outcome_read,
                at * outcome_size,
                chunk.n as u64 * outcome_size,
            );
            if target.is_none() {
                let size = chunk.n as u64 * canvas_bytes;
                let read = self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("gvpie.canvas_read_buf"),
                    size,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                encoder.copy_buffer_to_buffer(&canvas_buf, 0, &read, 0, size);
                canvas_reads.push(read);
            }
        }
        self.queue.submit([encoder.finish()]);

        // Each read-back reports Ok or its error; the batch is done when all have reported.
        let mapped: Arc<Mutex<Vec<Result<(), String>>>> = Arc::new(Mutex::new(Vec::new()));
        let mut reads = vec![&outcome_read];
        reads.extend(canvas_reads.iter());
        for buffer in &reads {
            let mapped = Arc::clone(&mapped);
            buffer.slice(..).map_async(wgpu::MapMode::Read, move |res| {
                if let Ok(mut done) = mapped.lock() {
                    done.push(res.map_err(|e| format!("read-back failed: {e}")));
                }
            });
        }
        let mut polled = Ok(());
        loop {
            let n_done = mapped.lock().map_or(reads.len(), |done| done.len());
            if n_done == reads.len() || self.lost.load(Ordering::SeqCst) || polled.is_err() {
                break;
            }
            polled = self.device.poll(wgpu::PollType::wait_indefinitely()).map(|_| ());
        }
        let mut errors: Vec<String> = Vec::new();
        for scope in scopes.into_iter().rev() {
            if let Some(err) = pollster::block_on(scope.pop()) {
                errors.push(err.to_string());
            }
        }
        if let Err(err) = polled {
            errors.push(format!("waiting for the GPU failed: {err}"));
        }
        if let Ok(done) = mapped.lock() {
            errors.extend(done.iter().filter_map(|r| r.clone().err()));
        }
        if self.lost.load(Ordering::SeqCst) {
            errors.push("the GPU device was lost".into());
        }
        if !errors.is_empty() {
            return Err(errors.join("; "));
        }
        // Map the staging buffers again for the next batch, and keep the device buffers.
        let remapped: Arc<Mutex<Vec<bool>>> = Arc::new(Mutex::new(Vec::new()));
        let mut n_remap = 0;
        for staged in packed.iter().flat_map(|p| [&p.info_buf, &p.code_buf, &p.head_buf]) {
            let remapped = Arc::clone(&remapped);
            n_remap += 1;
            staged.staging.slice(..).map_async(wgpu::MapMode::Write, move |res| {
                if let Ok(mut done) = remapped.lock() {
                    done.push(res.is_ok());
                }
            });
        }
        loop {
            let n_done = remapped.lock().map_or(n_remap, |done| done.len());
            if n_done == n_remap || self.lost.load(Ordering::SeqCst) {
                break;
            }
            if self.device.poll(wgpu::PollType::wait_indefinitely()).is_err() {
                break;
            }
        }
        if remapped.lock().is_ok_and(|done| done.len() == n_remap && done.iter().all(|&ok| ok)) {
            for p in packed {
                for staged in [p.info_buf, p.code_buf, p.head_buf] {
                    pool.keep(staged);
                }
            }
        }
        drop(pool);
        timings.gpu_s = start.elapsed().as_secs_f64();

        let start = Instant::now();
        // Positions in job order back to program order.
        let mut canvas_slot = vec![0usize; programs.len()];
        for (job, &offset) in jobs.iter().zip(&job_offsets) {
            for (k, &index) in job.indices.iter().enumerate() {
                canvas_slot[index] = offset + k;
            }
        }
        let view = outcome_read.slice(..).get_mapped_range().map_err(|e| format!("read-back failed: {e}"))?;
        let in_job_order: &[Outcome] = bytemuck::cast_slice(&view[..]);
        let outcomes: Vec<Outcome> = canvas_slot.iter().map(|&slot| in_job_order[slot]).collect();
        drop(view);
        outcome_read.unmap();
        let canvases = if target.is_none() {
            let mut pixels: Vec<u32> = Vec::with_capacity(programs.len() * n_pixels as usize);
            for read in &canvas_reads {
                let view = read.slice(..).get_mapped_range().map_err(|e| format!("read-back failed: {e}"))?;
                pixels.extend_from_slice(bytemuck::cast_slice(&view[..]));
                drop(view);
                read.unmap();
            }
            Some(pixels)
        } else {
            None
        };
        timings.readback_s = start.elapsed().as_secs_f64();
        Ok(Raw { outcomes, canvases, canvas_slot, timings })
    }
}

/// Maps `f` over `items` on up to `threads` threads, keeping the order.
fn par_map<T: Sync, R: Send + Clone + Default>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let per = items.len().div_ceil(threads.max(1)).max(4096);
    let mut out = vec![R::default(); items.len()];
    std::thread::scope(|scope| {
        for (src, dst) in items.chunks(per).zip(out.chunks_mut(per)) {
            let f = &f;
            scope.spawn(move || {
                for (s, d) in src.iter().zip(dst) {
                    *d = f(s);
                }
            });
        }
    });
    out
}

/// Splits groups into at most `threads` contiguous parts of similar work; returns each
/// part's end. Small chunks stay in one part (no thread is started for them).
fn split_groups(groups: &[Group], lanes: usize, threads: usize) -> Vec<usize> {
    let work: Vec<usize> = groups.iter().map(|g| (g.max_code + g.max_records * 4) * lanes + 64).collect();
    let total: usize = work.iter().sum();
    let parts = threads.clamp(1, (total / 200_000).max(1));
    let mut ends = Vec::with_capacity(parts);
    let mut acc = 0;
    for (g, w) in work.iter().enumerate() {
        acc += w;
        if acc * parts >= total * (ends.len() + 1) && ends.len() + 1 < parts {
            ends.push(g + 1);
        }
    }
    ends.push(groups.len());
    ends
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

/// The fallback reason when the driver cut the shader short (status 3 from the canary).
const CUT_SHORT: &str =
    "the GPU driver cut the shader's loops short (llvmpipe ends a shader after 65535 loop iterations)";

/// Whether any outcome says the driver cut the shader short.
fn cut_short(outcomes: &[Outcome]) -> bool {
    outcomes.iter().any(|o| o.status == 3)
}

/// Turns one outcome into the CPU's values; `None` when the outcome is not a finished run.
fn convert(texture: &Texture, outcome: &Outcome, budget: u64) -> Option<(Status, u64, u64)> {
    let left = u64::from(outcome.left_hi) << 32 | u64::from(outcome.left_lo);
    let cycles = budget.checked_sub(left)?;
    let n_frames = u64::from(outcome.frames_hi) << 32 | u64::from(outcome.frames_lo);
    let status = match outcome.status {
        1 => Status::Halted,
        2 => {
            let kind = match outcome.kind {
                1 => TrapKind::DivisionByZero,
                2 => TrapKind::StackOverflow,
                3 => TrapKind::StackUnderflow,
                4 => TrapKind::BudgetExhausted,
                5 => TrapKind::InvalidInstruction(record_error(texture, &outcome.record)?),
                6 => TrapKind::AddressOutOfRange(outcome.addr as i32),
                _ => return None,
            };
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

    #[test]
    fn packing_interleaves_lanes_and_splits_chunks() -> Result<(), Vec<gvpie_pxl::Diagnostic>> {
        let a = gvpie_pxl::compile("SET x 1\nHALT")?;
        let b = gvpie_pxl::compile("TXT 0 0 hi\nSET y 2\nSET z 3")?;
        let programs = [a.clone(), b.clone(), a.clone()];
        let job = [0, 1, 2];
        let (groups, chunks) = layout(&programs, &job, 2, 64, 1 << 20);
        assert_eq!(chunks.len(), 1);
        let (mut code, mut heads, mut infos) = (Vec::new(), Vec::new(), Vec::new());
        fill_group(&programs, &job, &groups[0], 2, &mut code, &mut heads, &mut infos);
        assert_eq!(infos.len(), 2);
        // Word 8 (record 1, word 0) of program b, lane 1 of group 0.
        assert_eq!(code[infos[1].code_base as usize + 8 * 2], b.code_words()[8]);
        assert_eq!(groups[1].code_off, b.code_words().len() * 2);
        assert_eq!(heads[2 + 1], b.code_words()[8]);
        // A tiny binding limit puts each group in its own chunk.
        let (_, chunks) = layout(&programs, &job, 2, 64, 200);
        assert_eq!(chunks.iter().map(|c| (c.first, c.n)).collect::<Vec<_>>(), [(0, 2), (2, 1)]);
        Ok(())
    }

    #[test]
    fn straight_line_programs_are_recognised() -> Result<(), Vec<gvpie_pxl::Diagnostic>> {
        assert!(straight_line(&gvpie_pxl::compile("COLOR 1 2 3 4\nRECT 0 0 5 5\nHALT")?));
        assert!(!straight_line(&gvpie_pxl::compile("l:\nRECT 0 0 5 5\nJMP l")?));
        assert!(!straight_line(&gvpie_pxl::compile("POKE 0 0")?));
        Ok(())
    }

    #[test]
    fn parts_cover_all_groups() {
        let g = Group { first: 0, len: 64, max_code: 512, max_records: 64, code_off: 0, head_off: 0, var_off: 0 };
        let groups = vec![g; 1000];
        let ends = split_groups(&groups, 64, 16);
        assert_eq!(ends.len(), 16);
        assert_eq!(*ends.last().unwrap_or(&0), 1000);
        assert!(ends.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(split_groups(&groups[..1], 64, 16), [1]);
    }
}
