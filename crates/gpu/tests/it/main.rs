//! Integration tests of gvpie-gpu: one binary, one module per area.
//!
//! GPU tests need an adapter. Without one they print a loud note and pass, unless
//! `GVPIE_REQUIRE_GPU=1` is set (CI sets it, with lavapipe installed): then they fail.

/// Shared helpers: the backend, CPU-vs-GPU comparison.
mod util;

/// The WGSL sources validate with naga; the generated constants are gvpie-pxl's.
mod shaders;

/// Hand-written programs covering every opcode, trap, budget edge and drawing corner case.
mod differential;

/// Random programs and random raw textures, CPU against GPU.
mod props;

/// Scoring mode, fallbacks and the public API around the executor.
mod api;

/// The image goal's shape scorer against the CPU error table.
mod shapes;

/// The soft renderer of differentiable refinement against its CPU twin.
mod refine;
