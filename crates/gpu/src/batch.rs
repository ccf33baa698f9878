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
use crate::shader::WORKGROUP_SIZE;

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
    pad: u32,
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

/// Programs packed for one dispatch.
struct Chunk {
    first: usize,
    n: usize,
    infos: Vec<Info>,
    code: Vec<u32>,
    heads: Vec<u32>,
    n_var_words: usize,
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

/// Splits the batch into chunks whose buffers each fit `max_binding` bytes.
fn pack(programs: &[Texture], lanes: usize, canvas_bytes: u64, max_binding: u64) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut chunk = Chunk { first: 0, n: 0, infos: Vec::new(), code: Vec::new(), heads: Vec::new(), n_var_words: 0 };
    let mut first = 0;
    for group in programs.chunks(lanes) {
        let max_code = group.iter().map(|t| t.code_words().len()).max().unwrap_or(0);
        let max_records = group.iter().map(Texture::n_records).max().unwrap_or(0);
        let max_vars = group.iter().map(Texture::n_vars).max().unwrap_or(0);
        let grows = [
            words_u64(chunk.code.len() + max_code * lanes),
            words_u64(chunk.heads.len() + max_records * lanes),
            words_u64(chunk.n_var_words + max_vars * lanes),
            (chunk.n + group.len()) as u64 * canvas_bytes,
            (chunk.n + group.len()) as u64 * std::mem::size_of::<Outcome>() as u64,
        ];
        if chunk.n > 0 && grows.iter().any(|&bytes| bytes > max_binding) {
            let next_first = chunk.first + chunk.n;
            chunks.push(std::mem::replace(
                &mut chunk,
                Chunk {
                    first: next_first,
                    n: 0,
                    infos: Vec::new(),
                    code: Vec::new(),
                    heads: Vec::new(),
                    n_var_words: 0,
                },
            ));
        }
        let code_base = chunk.code.len();
        let head_base = chunk.heads.len();
        let var_base = chunk.n_var_words;
        chunk.code.resize(code_base + max_code * lanes, 0);
        chunk.heads.resize(head_base + max_records * lanes, 0);
        chunk.n_var_words += max_vars * lanes;
        for (lane, texture) in group.iter().enumerate() {
            for (addr, &word) in texture.code_words().iter().enumerate() {
                chunk.code[code_base + addr * lanes + lane] = word;
            }
            for index in 0..texture.n_records() {
                chunk.heads[head_base + index * lanes + lane] = initial_head(texture, index);
            }
            chunk.infos.push(Info {
                n_records: texture.n_records() as u32,
                n_vars: texture.n_vars() as u32,
                data_len: texture.data_len() as u32,
                code_len: texture.code_words().len() as u32,
                code_base: (code_base + lane) as u32,
                head_base: (head_base + lane) as u32,
                var_base: (var_base + lane) as u32,
                pad: 0,
            });
        }
        chunk.n += group.len();
        first += group.len();
    }
    debug_assert_eq!(first, programs.len());
    if chunk.n > 0 {
        chunks.push(chunk);
    }
    chunks
}

/// Pads to at least one 16-byte row: wgpu binds no empty buffers.
fn padded(mut words: Vec<u32>) -> Vec<u32> {
    if words.len() < 4 {
        words.resize(4, 0);
    }
    words
}

/// What the GPU produced for a batch, before conversion.
struct Raw {
    outcomes: Vec<Outcome>,
    canvases: Option<Vec<u32>>,
    timings: Timings,
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
        check_config(config)?;
        let fallback = |reason: String| Batch {
            results: cpu::run_batch(programs, config).unwrap_or_default(),
            ran_on: RanOn::CpuFallback { reason },
            timings: Timings::default(),
        };
        let raw = match self.execute(programs, config, None) {
            Ok(raw) => raw,
            Err(reason) => return Ok(fallback(reason)),
        };
        if cut_short(&raw.outcomes) {
            return Ok(fallback(CUT_SHORT.into()));
        }
        let start = Instant::now();
        let Some(pixels) = &raw.canvases else { return Ok(fallback("no canvases came back".into())) };
        let n_pixels = config.width as usize * config.height as usize;
        let mut results = Vec::with_capacity(programs.len());
        for (index, (texture, outcome)) in programs.iter().zip(&raw.outcomes).enumerate() {
            let Some((status, cycles, n_frames)) = convert(texture, outcome, config.budget) else {
                return Ok(fallback(format!("program {index} came back without a valid outcome: {outcome:?}")));
            };
            let bytes: &[u8] = bytemuck::cast_slice(&pixels[index * n_pixels..(index + 1) * n_pixels]);
            let canvas = Canvas::from_rgba8(config.width, config.height, bytes)
                .map_err(|e| GpuError::BadRequest(e.to_string()))?;
            results.push(RunResult { status, cycles, canvas, frames: Vec::new(), n_frames });
        }
        let mut timings = raw.timings;
        timings.readback_s += start.elapsed().as_secs_f64();
        Ok(Batch { results, ran_on: RanOn::Gpu, timings })
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
        let raw = match self.execute(programs, config, Some(target)) {
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
    fn execute(&self, programs: &[Texture], config: &Config, target: Option<&Canvas>) -> Result<Raw, String> {
        use std::sync::atomic::Ordering;
        if self.lost.load(Ordering::SeqCst) {
            return Err("the GPU device was lost earlier".into());
        }
        // One batch at a time per device: the error scopes and the wait below assume that
        // nothing else is submitted meanwhile.
        let _one_at_a_time = self.busy.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut timings = Timings::default();
        if programs.is_empty() {
            return Ok(Raw { outcomes: Vec::new(), canvases: Some(Vec::new()), timings });
        }
        let start = Instant::now();
        let limits = self.device.limits();
        let max_binding = limits.max_storage_buffer_binding_size.min(limits.max_buffer_size);
        let canvas_bytes = u64::from(config.width) * u64::from(config.height) * 4;
        let canvas_limit = max_binding.min(MAX_CANVAS_CHUNK_BYTES);
        // Fewer programs per workgroup when canvases are so large that 64 of them do not fit.
        let lanes = (canvas_limit / canvas_bytes).clamp(1, u64::from(WORKGROUP_SIZE)) as usize;
        let chunks = pack(programs, lanes, canvas_bytes, canvas_limit);
        timings.pack_s = start.elapsed().as_secs_f64();

        let start = Instant::now();
        let scopes = [
            self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory),
            self.device.push_error_scope(wgpu::ErrorFilter::Validation),
            self.device.push_error_scope(wgpu::ErrorFilter::Internal),
        ];
        let storage = wgpu::BufferUsages::STORAGE;
        let init = |label: &str, words: Vec<u32>, usage: wgpu::BufferUsages| {
            self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytemuck::cast_slice(&padded(words)),
                usage,
            })
        };
        let max_chunk = chunks.iter().map(|c| c.n).max().unwrap_or(0) as u64;
        let canvas_buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("gvpie.canvas_buf"),
            size: (max_chunk * canvas_bytes).max(16),
            usage: storage | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let target_buf = match target {
            Some(target) => init("gvpie.target_buf", target.pixels().to_vec(), storage),
            None => init("gvpie.target_buf", Vec::new(), storage),
        };
        let outcome_size = std::mem::size_of::<Outcome>() as u64;
        let outcome_read = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("gvpie.outcome_read_buf"),
            size: programs.len() as u64 * outcome_size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut canvas_reads = Vec::new();
        let mut encoder =
            self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("gvpie.batch") });
        for chunk in &chunks {
            let params = Params {
                width: config.width,
                height: config.height,
                n_programs: chunk.n as u32,
                lanes: lanes as u32,
                budget_lo: config.budget as u32,
                budget_hi: (config.budget >> 32) as u32,
                flags: if target.is_some() { FLAG_SCORE } else { 0 },
                inline_max: INLINE_MAX_PIXELS,
                canary: 2,
                pad: [0; 3],
            };
            let params_buf = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("gvpie.params_buf"),
                contents: bytemuck::bytes_of(&params),
                usage: wgpu::BufferUsages::UNIFORM,
            });
            let info_buf = init("gvpie.info_buf", bytemuck::cast_slice(&chunk.infos).to_vec(), storage);
            let code_buf = init("gvpie.code_buf", chunk.code.clone(), storage);
            let head_buf = init("gvpie.head_buf", chunk.heads.clone(), storage);
            let var_buf = self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("gvpie.var_buf"),
                size: words_u64(chunk.n_var_words).max(16),
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
                    wgpu::BindGroupEntry { binding: 1, resource: info_buf.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 2, resource: code_buf.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 3, resource: head_buf.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 4, resource: var_buf.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 5, resource: canvas_buf.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 6, resource: outcome_buf.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 7, resource: target_buf.as_entire_binding() },
                ],
            });
            let n_groups = chunk.n.div_ceil(lanes) as u32;
            let max_dim = limits.max_compute_workgroups_per_dimension.max(1);
            let (x, y) = (n_groups.min(max_dim), n_groups.div_ceil(max_dim));
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("gvpie.batch_pass"),
                    timestamp_writes: None,
                });
                pass.set_pipeline(&self.pipeline);
                pass.set_bind_group(0, &bind_group, &[]);
                pass.dispatch_workgroups(x, y, 1);
            }
            encoder.copy_buffer_to_buffer(
                &outcome_buf,
                0,
                &outcome_read,
                chunk.first as u64 * outcome_size,
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
        timings.gpu_s = start.elapsed().as_secs_f64();

        let start = Instant::now();
        let view = outcome_read.slice(..).get_mapped_range().map_err(|e| format!("read-back failed: {e}"))?;
        let outcomes: Vec<Outcome> = bytemuck::pod_collect_to_vec(&view[..]);
        drop(view);
        outcome_read.unmap();
        let canvases = if target.is_none() {
            let mut pixels: Vec<u32> = Vec::with_capacity(programs.len() * (canvas_bytes / 4) as usize);
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
        Ok(Raw { outcomes, canvases, timings })
    }
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
        assert_eq!(std::mem::size_of::<Info>(), 32);
        assert_eq!(std::mem::size_of::<Params>(), 48);
    }

    #[test]
    fn packing_interleaves_lanes_and_splits_chunks() -> Result<(), Vec<gvpie_pxl::Diagnostic>> {
        let a = gvpie_pxl::compile("SET x 1\nHALT")?;
        let b = gvpie_pxl::compile("TXT 0 0 hi\nSET y 2\nSET z 3")?;
        let chunks = pack(&[a.clone(), b.clone(), a.clone()], 2, 64, 1 << 20);
        assert_eq!(chunks.len(), 1);
        let chunk = &chunks[0];
        assert_eq!(chunk.infos.len(), 3);
        // Word 8 (record 1, word 0) of program b, lane 1 of group 0.
        assert_eq!(chunk.code[chunk.infos[1].code_base as usize + 8 * 2], b.code_words()[8]);
        assert_eq!(chunk.infos[2].code_base as usize, b.code_words().len() * 2);
        // A tiny binding limit puts each group in its own chunk.
        let chunks = pack(&[a.clone(), b, a], 2, 64, 200);
        assert_eq!(chunks.iter().map(|c| (c.first, c.n)).collect::<Vec<_>>(), [(0, 2), (2, 1)]);
        Ok(())
    }
}
