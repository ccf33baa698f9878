//! The offline plain-English → PXL compiler.
//!
//! # Brief overview
//!
//! [`compile`] turns a description written in a small controlled English ("a red circle above a
//! blue square", "three yellow stars in a row", "write HELLO in the center") into a readable PXL
//! program with one `#` comment per described object. It reads the sentence into a [`Scene`]
//! (objects with kind, colour, size, count, arrangement, place and relations), lays the scene out
//! for the canvas size in [`Options`], and emits primitives that draw it. The grammar is
//! documented in `docs/compile.md`.
//!
//! The compiler is pure: no IO, no clock, no randomness. The same description and canvas size
//! always give the same program. Descriptions are bounded ([`MAX_DESCRIPTION_CHARS`]) and nothing
//! panics for any input; a word it cannot place is a [`CompileError`] naming the word, its
//! position and the closest known words. [`compile_partial`] returns what could be compiled along
//! with every error, which the LLM fallback uses as a starting point.
//!
//! [`check`] holds the pixel checks (colour masks, blobs, centroids, text search) that the tests
//! and the LLM fallback use to verify a picture against what a description states.
//!
//! # Example
//!
//! ```
//! use gvpie_compile::{Options, compile};
//!
//! let compiled = compile("a red circle above a blue square", &Options::default())?;
//! assert!(compiled.source.contains("CIRCF"));
//! assert!(compiled.source.contains("# red circle"));
//!
//! let error = compile("a red circel", &Options::default()).expect_err("a typo");
//! assert_eq!(error.to_string(), "unknown word 'circel' at 3 (did you mean circle?)");
//! # Ok::<(), gvpie_compile::CompileError>(())
//! ```

#![warn(missing_docs)]

pub use crate::error::CompileError;
pub use crate::layout::{Item, Layout, Rect};
pub use crate::parse::{MAX_COPIES, MAX_OBJECTS};
pub use crate::scene::{Align, Arrangement, Kind, LineSpec, Object, Placement, Point, Region, Relation, Scene, Size};

pub mod check;
mod colors;
mod emit;
mod error;
mod layout;
mod lexer;
mod parse;
mod scene;
mod vocab;

/// The longest description accepted, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;

/// The canvas a program is compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Canvas width in pixels (1..=4096).
    pub width: u32,
    /// Canvas height in pixels (1..=4096).
    pub height: u32,
}

impl Default for Options {
    /// 128x64, the runner's default canvas.
    fn default() -> Options {
        Options { width: 128, height: 64 }
    }
}

/// A compiled description.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The PXL program.
    pub source: String,
    /// What the description asked for.
    pub scene: Scene,
    /// Where each object was put.
    pub layout: Layout,
}

impl Compiled {
    /// The facts of the description that a picture can be checked against.
    pub fn expectations(&self) -> Vec<check::Expectation> {
        check::expectations(&self.scene, &self.layout)
    }
}

/// Compiles `description` for the canvas in `options`, or returns the first error.
pub fn compile(description: &str, options: &Options) -> Result<Compiled, CompileError> {
    let (compiled, errors) = compile_partial(description, options);
    match (compiled, errors.into_iter().next()) {
        (Some(compiled), None) => Ok(compiled),
        (_, Some(error)) => Err(error),
        (None, None) => Err(CompileError::NothingToDraw),
    }
}

/// Compiles what can be compiled of `description`, skipping words it cannot place; returns the
/// program (if anything was recognized) and every error, in the order of the description.
pub fn compile_partial(description: &str, options: &Options) -> (Option<Compiled>, Vec<CompileError>) {
    if !(1..=4096).contains(&options.width) || !(1..=4096).contains(&options.height) {
        return (None, vec![CompileError::BadCanvas { width: options.width, height: options.height }]);
    }
    let chars = description.chars().count();
    if chars > MAX_DESCRIPTION_CHARS {
        return (None, vec![CompileError::TooLong { chars }]);
    }
    if !description.chars().any(char::is_alphanumeric) {
        return (None, vec![CompileError::Empty]);
    }
    let (scene, mut errors) = parse::parse(description);
    if scene.objects.is_empty() {
        if errors.is_empty() {
            errors.push(CompileError::NothingToDraw);
        }
        return (None, errors);
    }
    if scene.objects.len() > MAX_OBJECTS
        || scene.objects.iter().map(|o| u64::from(o.count)).sum::<u64>() > u64::from(MAX_COPIES)
    {
        return (None, errors);
    }
    let layout = layout::layout(&scene, options.width, options.height);
    let source = emit::emit(description, &scene, &layout);
    (Some(Compiled { source, scene, layout }), errors)
}
