//! The GPU backend of gvpie: runs thousands of PXL programs per submission through wgpu,
//! bit-identical to the CPU reference VM.
//!
//! # Brief overview
//!
//! A [`GpuBackend`] opens an adapter (the one `GVPIE_ADAPTER` names, else the best one) and
//! compiles the batch shader once. [`GpuBackend::run_batch`] takes machine textures and a
//! [`gvpie_pxl::Config`] and returns one [`gvpie_pxl::RunResult`] per program, with the
//! CPU's status (trap kind, line, pc), cycles, `FRAME` count and canvas;
//! [`GpuBackend::score_batch`] returns a [`Scored`] instead, with the exact sum of squared
//! differences against a target image computed on the GPU (no canvas read-back). Both
//! return a [`Batch`], which says in [`RanOn`] whether the GPU ran it or the batch fell back
//! to the CPU after a device loss or an out-of-memory. Programs run in resumable slices (see
//! the design notes), so a program of any budget runs to its end on any adapter, and
//! [`GpuBackend::run_batch_gpu_only_until`] asks a stop callback between slices (a stopped
//! program comes back [`gvpie_pxl::Status::Running`], with its cycles, canvas and
//! [`Batch::next_lines`]). [`list_adapters`] lists adapters, and
//! the [`cpu`] module is the all-cores CPU twin used for fallback, tests and benchmarks.
//! [`GpuBackend::shape_scorer`] makes a [`ShapeScorer`], the image goal's first evaluator
//! stage: it scores batches of candidate triangles and rectangles against a small canvas's
//! error table, exactly as `gvpie_evolve::ErrorTable::score` does on the CPU, and runs
//! whole hill climbs (one workgroup per climber) exactly as `gvpie_evolve::climb_one` does.
//! [`GpuBackend::soft_renderer`] makes a [`SoftRenderer`] for differentiable refinement: the
//! soft render of a program's drawing calls and the loss's gradient by every call's numbers,
//! one thread per pixel (`shaders/refine.wgsl`, the `f32` twin of `gvpie_evolve::refine::soft`).
//! [`GpuBackend::run_batch_tuned`] and [`GpuBackend::score_batch_tuned`] take a [`Tuning`]
//! (schedule, memory placement, packing threads) for benchmarks and tests; results never
//! depend on it.
//!
//! # Example
//!
//! ```
//! use gvpie_gpu::{GpuBackend, GpuError};
//! use gvpie_pxl::{Config, compile};
//!
//! let programs = vec![compile("RECT 1 1 4 4\nHALT").map_err(|d| d[0].headline())?; 3];
//! let config = Config { width: 16, height: 8, ..Config::default() };
//! match GpuBackend::new() {
//!     Ok(gpu) => {
//!         let batch = gpu.run_batch(&programs, &config)?;
//!         let cpu = gvpie_pxl::run(&programs[0], &config)?;
//!         assert_eq!(batch.results[0].canvas, cpu.canvas);
//!         assert_eq!(batch.results[2].cycles, 2);
//!     }
//!     Err(GpuError::NoAdapter) => eprintln!("no GPU adapter here"),
//!     Err(err) => return Err(err.into()),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Design (architecture notes)
//!
//! **One shader, three variants, one submission.** `shaders/batch.wgsl` (with a prelude
//! generated in `shader.rs`: the opcodes from [`gvpie_pxl::OPS`], one trap code per
//! [`gvpie_pxl::TrapKind`], `IF`'s comparison codes, the outcome statuses and flags the host
//! shares with it (`codes.rs`), the font from [`gvpie_raster::FONT`], the operand table from
//! [`gvpie_pxl::OPS`], and the workgroup-memory sizes of the variant) is the whole executor.
//! It is compiled twice: the *lanes* variant (canvases in device memory) at start, the
//! *workgroup* variant (canvases in workgroup memory) on first use, where the device's
//! workgroup memory holds it (about 23 KiB; lavapipe has 32, NVIDIA 48), and the
//! *interpreter-only* lanes variant (`INTERP_ONLY`: the rasterizer left out, so fewer registers)
//! on first use. With [`Tuning::split`] (off by default: measured no faster on the H100)
//! programs with a loop start there; a lane stops before its first shape, reports it in its
//! group's result word, and the chunk's next slices run in the full lanes variant from the same
//! saved state. A batch is split
//! into the programs each variant runs (see the schedules below), and each part into chunks
//! whose buffers fit the device's storage-binding limit; the chunks run one after the other,
//! each in one or more slices (one dispatch and one small read-back each).
//!
//! **Slices (resumable execution).** A dispatch gives each lane at most `steps` work units
//! (an instruction, a pixel it draws itself) and each workgroup at most `raster` iterations of
//! shared drawing (a large shape is drawn `round_iters` iterations a round, over as many rounds
//! and slices as it needs). A lane that has not finished saves its state (pc, budget left,
//! frames, colour, random state, call stack, its half-drawn shape) in the chunk's `vars`
//! buffer and reports `STATUS_RUNNING`; what lives in workgroup memory (variables, code a
//! `POKE` changed, canvases of the workgroup variant) goes back to the buffers. After each
//! slice the host reads one word per group (lanes still running, scored, cut short) and
//! dispatches only the groups still running again, their list in `vars`; a `stop` callback
//! is asked between slices. On a software adapter the sizes keep every dispatch below the
//! driver's loop limit (lavapipe ends a shader after 65,535 loop iterations, counted per SIMD
//! vector of threads: the vector width comes from the adapter's name); on a real GPU the
//! first slice is large enough for most programs and the next ones grow while a slice takes
//! under 50 ms, so a watchdog never sees a long dispatch. Canvases in the canvas buffer start
//! as zeros (cleared by the host, no shader loop) and are read with the alpha byte set. In
//! score mode a group that finishes scores its canvases in the same dispatch where that fits
//! the slice; else a score pass (`score_pass` in the same shader) sums 65,536 pixels per
//! workgroup. `Tuning::slice` forces tiny slices and `Tuning::max_binding` small buffers, so
//! the tests cut programs everywhere and split batches into many chunks.
//!
//! **Steps.** `batch.rs` runs a batch as plan (which programs run on which variant), pack
//! (`pack.rs`: layout and host-side packing into pooled staging buffers), record (per chunk:
//! bind its buffers, run its slices, copy results to read-back buffers), wait and unpack,
//! each step a function. Waiting is `readback.rs`, the crate's one loop that maps buffers and
//! polls the device (the shape scorer uses it too), so a deadline or cancel flag has one
//! place to go; a bound chunk holds its own device state, so a dispatch can be recorded
//! again over it.
//!
//! **Lanes: a thread per program, a workgroup per shape.** A workgroup has 64 threads and
//! runs up to 64 programs, one per thread. Each thread interprets its own program with no
//! barrier in the interpreter loop, so ALU-heavy batches run at one thread per program. The
//! interpreter has a fast loop for the simple instructions (arithmetic, control flow, colour,
//! random numbers, frames, single pixels) and leaves it for one full step for anything else
//! (shapes, text, `PEEK`, `POKE`, an invalid record): the hot loop stays small, which halves
//! the time per instruction on lavapipe (whose divergent branches all run under masks).
//! Drawing is where one thread would be slow, so a shape whose clipped area exceeds
//! [`INLINE_MAX_PIXELS`] ends the thread's turn: it appends the prepared shape to the
//! round's event list in workgroup memory, and after a barrier all 64 threads rasterize every
//! listed shape, each taking every 64th pixel of the shape's clipped box. Small shapes,
//! `PSET` and `PGET` are done by the thread itself. Every shape is a set of pixels blended
//! once each, so how the pixels are split among threads cannot change the result; shapes of
//! one round belong to different programs, hence different canvases, so their order in the
//! list does not matter either; barriers order one round's drawing before the next round's
//! reads.
//!
//! **Workgroup: canvases in workgroup memory.** The same loop with few lanes per workgroup:
//! as many canvases as fit 4096 words (one 64×64 canvas, up to 16 small ones). Canvases,
//! record heads and code (copied in at the start, `POKE` writes the copy) and variables live
//! in workgroup memory, scoring reads the canvas there, and only run mode copies canvases
//! out. It runs only when asked for ([`Schedule::Workgroup`]): on the H100 the lanes
//! schedule scored the image task's straight-line programs as fast or faster on 32-, 64- and
//! 128-pixel canvases, and lavapipe runs this variant's barriers slowly, so
//! [`Schedule::Auto`] takes lanes everywhere.
//!
//! **Upload.** The host packs chunks on all cores (each thread fills whole workgroups in
//! address order) straight into staging buffers that stay mapped between batches, and copies
//! them into device buffers that are also kept (up to 3 GiB), so a warm batch allocates
//! neither. The interpreter fetches a record's head and its first three operand words with
//! independent loads.
//!
//! **Exactness.** Shapes use the per-pixel rules of `docs/pxl.md` (the CPU solves rows with
//! isqrt and floor division; the two give the same pixels). `RECT`, `TXT` and `NUM` do their
//! 64-bit coordinate arithmetic with i32/u32 case analysis that never wraps; `LINE`, `CIRC`,
//! `TRI` clamp to ±8192 and then fit i32, as on the CPU. The cycle budget and counts are
//! 64-bit counters kept as two u32 words. Blending divides by 255 with an exact
//! multiply-shift (checked over the whole range in a test).
//!
//! **Self-modifying code.** Every program's code address space (records, then data words)
//! is its own mutable region of the code buffer, so `PEEK`/`POKE` act on a private copy. A
//! second array holds each record's word 0 when the record is valid, else 0; the host fills
//! it with [`gvpie_pxl::decode_record`], and `POKE` into a record re-validates it in the
//! shader. An invalid record traps when executed; the shader returns its words and the host
//! decodes the exact [`gvpie_pxl::RecordError`] the CPU would report.
//!
//! **Memory layout.** Per-program arrays (code, record heads, variables) are interleaved
//! across the lanes of a workgroup: word `a` of lane `l` lives at `base + a * lanes + l`,
//! so lanes that run similar programs read neighbouring words. Variables move to workgroup
//! memory when the group's fit (1024 words for lanes, 256 for the workgroup variant), code
//! and heads when they fit 1024 words (workgroup variant). The call stack is a private
//! array of 256 words per thread. Canvases in device memory live in one storage buffer,
//! one after the other. Workgroup memory is initialised by the shader itself (the pipeline's
//! zero-initialisation is off).
//!
//! **Failures.** Out-of-memory, validation and internal errors are caught with error scopes,
//! device loss with the device-lost callback, read-back failures from `map_async`, a program
//! too large for one buffer of the adapter by the plan (a message naming the program, the
//! bytes it needs and the limit); any of them makes the batch run on the CPU
//! ([`cpu::run_batch`]), reported as [`RanOn::CpuFallback`]. A canary loop checks that no
//! slice was cut by the driver anyway; if one was, the batch falls back too.
//!
//! **Limits.** Frames are counted, not captured. A slice cannot be interrupted once
//! dispatched: a stop waits for the current slice.

#![warn(missing_docs)]

pub use crate::backend::{ADAPTER_ENV, AdapterInfo, GpuBackend, list_adapters, measure_copy_bandwidth};
pub use crate::batch::{Batch, INLINE_MAX_PIXELS, RanOn, Schedule, Scored, Timings, Tuning};
pub use crate::error::GpuError;
pub use crate::refine::{REFINE_WGSL, SOFT_SLOTS, SoftCall, SoftRenderer};
pub use crate::shader::{BATCH_WGSL, PipelineSource, WORKGROUP_SIZE, batch_source, pipeline_sources};
pub use crate::shapes::{
    CLIMB_WGSL, ClimbParams, ClimbResult, ENTRY_WORDS, MAX_TABLE_PIXELS, SHAPES_WGSL, ShapeCandidate, ShapeScore,
    ShapeScorer, climb_source,
};

mod backend;
mod batch;
mod codes;
pub mod cpu;
mod error;
mod pack;
mod readback;
mod refine;
mod shader;
mod shapes;

/// Batches of at least this many programs go to the GPU under `--backend auto`.
pub const AUTO_MIN_PROGRAMS: usize = 64;

/// The `auto` rule: the GPU profits from batches, not from single programs. One interpreter
/// thread on a GPU is far slower than the CPU VM, and opening a device costs 0.1–1 s, so
/// `auto` uses the GPU only for batches of at least [`AUTO_MIN_PROGRAMS`] programs (and only
/// where an adapter exists, which the caller checks).
pub fn auto_prefers_gpu(n_programs: usize) -> bool {
    n_programs >= AUTO_MIN_PROGRAMS
}
