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
//! to the CPU after a device loss or an out-of-memory. [`list_adapters`] lists adapters, and
//! the [`cpu`] module is the all-cores CPU twin used for fallback, tests and benchmarks.
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
//! **One shader, one submission.** `shaders/batch.wgsl` (with a prelude generated in
//! `shader.rs`: the font from [`gvpie_raster::FONT`] and the operand table from
//! [`gvpie_pxl::OPS`]) is the whole executor. A batch is packed into chunks whose buffers
//! fit the device's storage-binding limit; every chunk is one dispatch, and all dispatches
//! and read-back copies go into one command buffer and one `queue.submit`.
//!
//! **A lane per program, a workgroup per shape.** A workgroup has 64 threads and runs up to
//! 64 programs, one per thread. Each thread interprets its own program with no barrier in the
//! interpreter loop, so ALU-heavy batches run at one thread per program. Drawing is where one
//! thread would be slow, so a shape whose clipped area exceeds [`INLINE_MAX_PIXELS`] ends
//! the thread's turn: it publishes the prepared shape in workgroup memory, and after a
//! barrier all 64 threads rasterize every published shape, each taking every 64th pixel of
//! the shape's clipped box. Small shapes, `PSET` and `PGET` are done by the thread itself.
//! Every shape is a set of pixels blended once each, so how the pixels are split among
//! threads cannot change the result; barriers order one round's drawing before the next
//! round's reads.
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
//! so lanes that run similar programs read neighbouring words. The call stack is a private
//! array of 256 words per thread. Canvases live in one storage buffer, one after the other.
//!
//! **Failures.** Out-of-memory, validation and internal errors are caught with error scopes,
//! device loss with the device-lost callback, read-back failures from `map_async`; any of
//! them makes the batch run on the CPU ([`cpu::run_batch`]), reported as
//! [`RanOn::CpuFallback`].
//!
//! **Limits.** A dispatch runs every program to completion, so a budget of 10¹² on a
//! program that uses it keeps the GPU busy for a long time; a driver with a watchdog may
//! then reset the device, which the fallback absorbs. Frames are counted, not captured.

#![warn(missing_docs)]

pub use crate::backend::{ADAPTER_ENV, AdapterInfo, GpuBackend, list_adapters, measure_copy_bandwidth};
pub use crate::batch::{Batch, INLINE_MAX_PIXELS, RanOn, Scored, Timings};
pub use crate::error::GpuError;
pub use crate::shader::{BATCH_WGSL, WORKGROUP_SIZE, batch_source};

mod backend;
mod batch;
pub mod cpu;
mod error;
mod shader;

/// Batches of at least this many programs go to the GPU under `--backend auto`.
pub const AUTO_MIN_PROGRAMS: usize = 64;

/// The `auto` rule: the GPU profits from batches, not from single programs. One interpreter
/// thread on a GPU is far slower than the CPU VM, and opening a device costs 0.1–1 s, so
/// `auto` uses the GPU only for batches of at least [`AUTO_MIN_PROGRAMS`] programs (and only
/// where an adapter exists, which the caller checks).
pub fn auto_prefers_gpu(n_programs: usize) -> bool {
    n_programs >= AUTO_MIN_PROGRAMS
}
