//! The improvement engine of gvpie: goals with a score, generators that propose programs, and the search that keeps
//! the better ones.
//!
//! # Brief overview
//!
//! The first goal is the **image goal**: an [`ImageSearch`] turns a target image (a [`gvpie_raster::Canvas`]) into
//! a PXL program of `CLS`, `COLOR` and `TRI`/`RECT` lines, adding one [`Shape`] per [`ImageSearch::step`] the way
//! fogleman/primitive does (random restarts, hill climbing, colour solved in closed form), scored by RMSE over RGB
//! scaled to 0..1 ([`rmse`]). Candidates are scored from per-row prefix sums in time proportional to their rows;
//! the winner is drawn with `gvpie-raster`, so [`ImageSearch::program`] draws [`ImageSearch::canvas`] exactly, bit
//! for bit, in the VM. [`ImageGoalConfig`] holds the settings; the same seed gives the same program whatever the
//! number of threads. [`Strategy::Plain`] is the plain hill-climb baseline.
//!
//! The **optimize goal** ([`OptimizeSearch`]) edits a program's lines and keeps an edit only when the CPU VM draws
//! exactly the same pixels in fewer cycles; the accepted edits are its lineage. Edit kinds are chosen by a UCB1
//! [`Bandit`] on their observed success rate. [`PixelReference`] is the same rule as an evaluator for the program
//! database below (score: minus cycles), so `gvpie optimize` and the daemon's optimize goals can alternate line
//! edits with generations of an [`Evolution`].
//!
//! For general programs, [`Variation`] makes structural mutations (insert, delete, swap, tweak a literal) and
//! crossovers, each child validated by compiling; a [`ProgramDatabase`] keeps candidates on islands and in a
//! MAP-Elites archive (instruction count × colour count), migrates, rejects duplicates by program and image hash
//! and selects parents; [`Evolution`] ties them to a caller's evaluator. All three are serializable (serde).
//!
//! This crate does no IO and reads no clock: callers load images, keep time and store results.
//!
//! # Example
//!
//! ```
//! use gvpie_evolve::{Effort, ImageGoalConfig, ImageSearch};
//! use gvpie_raster::{Canvas, Rgba};
//!
//! // A target: a white square on black.
//! let mut target = Canvas::new(32, 32)?;
//! target.fill_rect(8, 8, 16, 16, Rgba::WHITE);
//!
//! let config = ImageGoalConfig { n_shapes: 4, effort: Effort { restarts: 4, ..Effort::DEFAULT }, ..Default::default() };
//! let mut search = ImageSearch::new(target, config)?;
//! let start = search.rmse();
//! search.run();
//! assert!(search.rmse() < start);
//!
//! // The program draws exactly the evolved canvas.
//! let texture = gvpie_pxl::compile(&search.program()).map_err(|d| d[0].headline())?;
//! let config = gvpie_pxl::Config { width: 32, height: 32, ..Default::default() };
//! assert_eq!(&gvpie_pxl::run(&texture, &config)?.canvas, search.canvas());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub use crate::bandit::{ArmStats, Bandit};
pub use crate::cascade::{
    CascadeEffort, CpuShapeScorer, SMALL_MAX_PIXELS, ShapeScorer, downscale, small_scale, upscale,
};
pub use crate::climb::{ClimbJob, Climbed, MAX_CLIMB_STEPS, Pcg32, climb_cpu, climb_one};
pub use crate::database::{
    Added, DatabaseConfig, DatabaseStats, Entry, Parent, ProgramDatabase, Selection, colour_count, image_hash,
    program_hash,
};
pub use crate::error_table::{ErrorTable, Scored, average_color, rmse, rmse_from_sse, sse};
pub use crate::evolution::{Evaluation, Evolution, EvolutionConfig, EvolutionError, GenerationReport};
pub use crate::goal::{
    BackendChoice, Clock, EffortPreset, EvolveSettings, GoalDraft, GoalHost, GoalKind, GoalOptions, GoalProgress,
    ImageGoalParams, ImageGoalSpec, ImageRefine, ImageSession, Kept, Lineage, OptimizeGoalParams, OptimizeGoalSpec,
    OptimizeSession, Refined, SliceLimits, SliceReport, StopRules,
};
pub use crate::image_goal::{
    Effort, ImageGoalConfig, ImageGoalError, ImageSearch, Placed, StepReport, Strategy, parse_program, program_text,
};
pub use crate::optimize::{Accepted, Edit, OptimizeCheckpoint, OptimizeConfig, OptimizeError, OptimizeSearch};
pub use crate::pixel_reference::PixelReference;
pub use crate::refine::{CpuSoftRenderer, RefineConfig, Refinement, SoftRenderer, refine};
pub use crate::rng::Rng;
pub use crate::shape::{Shape, ShapeKinds, Window};
pub use crate::stack_polish::{StackPolishConfig, StackPolished, polish_stack, removal_costs, render_stack};
pub use crate::variation::{
    Child, Gene, Operator, Rejection, Variation, VariationStats, genes, labels, render, repair_labels,
};

mod bandit;
mod cascade;
mod climb;
mod database;
mod error_table;
mod evolution;
pub mod goal;
mod image_goal;
mod optimize;
mod pixel_reference;
pub mod refine;
mod rng;
mod shape;
mod stack_polish;
mod variation;
