//! Integration tests of gvpie-evolve: the emitted programs run in the VM and draw exactly the evolved canvas.

/// The image goal end to end.
mod image_goal;

/// Structural variation, the program database and the population search.
mod program_database;

/// Differentiable refinement: gradient check, soft vs exact render, refined programs rerun in the VM.
mod refine;

/// Image goals with refinement: the `image:refine` arm, kept only when better, resumed exactly.
mod image_refine;
