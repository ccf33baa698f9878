//! What an optimized program must draw: the evaluator of the program database for "same pixels, fewer cycles".
//!
//! [`PixelReference`] runs the original once in the CPU reference VM and keeps its final canvas and frames. A
//! candidate passes [`PixelReference::screen`] when it halts and draws exactly those pixels and frames; its score is
//! minus its cycles, so the [`Evolution`] that uses it prefers faster programs. It runs nothing on a backend itself
//! (this crate has no engine): callers run candidates under [`PixelReference::vm`] on whatever backend they have
//! (a GPU batch, the CPU) and screen the results, or hand a batch runner to [`PixelReference::evaluate_batch`].
//!
//! Screening is a filter, not the verdict: an optimize search adopts a program only after
//! [`OptimizeSearch::offer`](crate::OptimizeSearch::offer) has re-checked it on the CPU VM.

use gvpie_pxl::{Config, RunResult, Status, Texture};
use gvpie_raster::Canvas;

use crate::evolution::{Evaluation, Evolution};
use crate::optimize::{MAX_COMPARED_FRAMES, OptimizeError};
use crate::variation::Child;

/// What the original of an optimize search draws, and the VM settings candidates are run with.
#[derive(Clone, Debug)]
pub struct PixelReference {
    canvas: Canvas,
    frames: Vec<Canvas>,
    n_frames: u64,
    cycles: u64,
    /// The canvas of the original, a budget of at most twice its cycles (a much slower candidate is of no use and
    /// must not hold up a batch), and frame capture only when the original shows frames (which keeps such batches
    /// on the CPU, the only backend that captures frames).
    vm: Config,
}

impl PixelReference {
    /// Runs `source` under `vm` (its canvas size and cycle budget) and keeps what it draws.
    ///
    /// # Errors
    ///
    /// [`OptimizeError`] when the program does not compile, the canvas size is invalid or it does not halt.
    pub fn new(source: &str, vm: &Config) -> Result<PixelReference, OptimizeError> {
        let texture = gvpie_pxl::compile(source).map_err(|d| OptimizeError::Source(d[0].headline()))?;
        let result = gvpie_pxl::run(&texture, &Config { max_frames: MAX_COMPARED_FRAMES, ..*vm })
            .map_err(|e| OptimizeError::Canvas(e.to_string()))?;
        if result.status != Status::Halted {
            return Err(OptimizeError::DoesNotHalt(format!("{:?}", result.status)));
        }
        let budget = vm.budget.min(result.cycles.saturating_mul(2).max(1000));
        let max_frames = if result.n_frames > 0 { MAX_COMPARED_FRAMES } else { 0 };
        Ok(PixelReference {
            canvas: result.canvas,
            frames: result.frames,
            n_frames: result.n_frames,
            cycles: result.cycles,
            vm: Config { budget, max_frames, ..*vm },
        })
    }

    /// The settings candidates are run with before [`PixelReference::screen`].
    pub fn vm(&self) -> &Config {
        &self.vm
    }

    /// Cycles of the original.
    pub fn original_cycles(&self) -> u64 {
        self.cycles
    }

    /// The original's final canvas.
    pub fn canvas(&self) -> &Canvas {
        &self.canvas
    }

    /// `Some` (score: minus the cycles) when a candidate's run halted with the original's pixels and frames.
    pub fn screen(&self, result: &RunResult) -> Option<Evaluation> {
        let same = result.status == Status::Halted
            && result.n_frames == self.n_frames
            && (self.vm.max_frames == 0 || result.frames == self.frames)
            && result.canvas == self.canvas;
        same.then(|| Evaluation { score: -(result.cycles as f64), canvas: result.canvas.clone() })
    }

    /// Runs one program on the CPU VM under [`PixelReference::vm`] and screens it (an [`Evolution`]'s evaluator).
    pub fn evaluate(&self, texture: &Texture) -> Option<Evaluation> {
        self.screen(&gvpie_pxl::run(texture, &self.vm).ok()?)
    }

    /// Screens a batch of children run by `run` (given their textures and [`PixelReference::vm`], it returns one
    /// result per texture, in order, or `None` when the batch could not run): one answer per child, as
    /// [`Evolution::generation_batch`] wants.
    pub fn evaluate_batch(
        &self,
        children: &[Child],
        run: impl FnOnce(&[Texture], &Config) -> Option<Vec<RunResult>>,
    ) -> Vec<Option<Evaluation>> {
        let textures: Vec<Texture> = children.iter().map(|c| c.texture.clone()).collect();
        match run(&textures, &self.vm) {
            Some(results) if results.len() == children.len() => results.iter().map(|r| self.screen(r)).collect(),
            _ => vec![None; children.len()],
        }
    }

    /// Tells the database of a program accepted elsewhere (a line edit, a language model) that draws the original's
    /// pixels in `cycles`, so that its children build on it.
    pub fn share(&self, evolution: &mut Evolution, source: &str, cycles: u64, generator: &str) {
        if let Ok(texture) = gvpie_pxl::compile(source) {
            let evaluation = Evaluation { score: -(cycles as f64), canvas: self.canvas.clone() };
            evolution.add(source, &texture, &evaluation, generator);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DatabaseConfig, EvolutionConfig};

    fn vm() -> Config {
        Config { width: 16, height: 8, ..Config::default() }
    }

    fn run(source: &str, vm: &Config) -> RunResult {
        let texture = gvpie_pxl::compile(source).expect("compiles");
        gvpie_pxl::run(&texture, vm).expect("valid size")
    }

    #[test]
    fn screens_for_the_same_pixels_and_scores_by_cycles() {
        let original = "CLS 0 0 0\nSET i 0\nl:\nPSET i 0\nLOOP i 8 l\nHALT\n";
        let reference = PixelReference::new(original, &vm()).expect("halts");
        assert_eq!(reference.original_cycles(), run(original, &vm()).cycles);
        // A budget of twice the original's cycles, but at least 1000; no frames to capture.
        assert_eq!(reference.vm().budget, 1000);
        assert_eq!(reference.vm().max_frames, 0);

        let faster = run("CLS 0 0 0\nRECT 0 0 8 1\n", reference.vm());
        assert_eq!(reference.screen(&faster).map(|e| e.score), Some(-2.0));
        let different = run("CLS 0 0 0\nRECT 0 0 9 1\n", reference.vm());
        assert!(reference.screen(&different).is_none());
        let endless = run("l:\nJMP l\n", reference.vm());
        assert!(reference.screen(&endless).is_none(), "cut off by the budget");

        let texture = gvpie_pxl::compile("CLS 0 0 0\nRECT 0 0 8 1\n").expect("compiles");
        assert_eq!(reference.evaluate(&texture).map(|e| e.score), Some(-2.0));
    }

    #[test]
    fn refuses_what_cannot_be_a_reference() {
        assert!(matches!(PixelReference::new("x:\nJMP x\n", &vm()), Err(OptimizeError::DoesNotHalt(_))));
        assert!(matches!(PixelReference::new("RECTT 1\n", &vm()), Err(OptimizeError::Source(_))));
        let huge = Config { width: 0, ..vm() };
        assert!(matches!(PixelReference::new("HALT\n", &huge), Err(OptimizeError::Canvas(_))));
    }

    #[test]
    fn compares_frames_when_the_original_shows_them() {
        let reference = PixelReference::new("COLOR 255 0 0\nPSET 0 0\nFRAME\nPSET 1 0\nHALT\n", &vm()).expect("ok");
        assert!(reference.vm().max_frames > 0);
        // Same final canvas, but no frame shown.
        let no_frame = run("COLOR 255 0 0\nPSET 0 0\nPSET 1 0\nHALT\n", reference.vm());
        assert!(reference.screen(&no_frame).is_none());
    }

    #[test]
    fn evaluates_batches_and_drives_an_evolution() {
        let original = "CLS 0 0 0\nSET i 0\nl:\nPSET i 0\nSET z 0\nLOOP i 8 l\nHALT\n";
        let reference = PixelReference::new(original, &vm()).expect("halts");
        let config = EvolutionConfig {
            database: DatabaseConfig { allow_same_image_if_better: true, seed: 2, ..DatabaseConfig::default() },
            seed: 2,
            ..EvolutionConfig::default()
        };
        let mut evolution = Evolution::new(original, config, |_, t| reference.evaluate(t)).expect("starts");
        assert_eq!(evolution.best().score, -(reference.original_cycles() as f64));
        reference.share(&mut evolution, "CLS 0 0 0\nRECT 0 0 8 1\n", 2, "hand");
        assert_eq!(evolution.best().score, -2.0);

        let mut ran = 0;
        let (report, _) = evolution.generation_batch(|children| {
            reference.evaluate_batch(children, |textures, vm| {
                ran = textures.len();
                Some(textures.iter().map(|t| gvpie_pxl::run(t, vm).expect("size")).collect())
            })
        });
        assert_eq!(report.evaluated, ran as u64);
        // A batch that cannot run rejects every child.
        let (failed, _) = evolution.generation_batch(|children| reference.evaluate_batch(children, |_, _| None));
        assert_eq!(failed.rejected, failed.evaluated);
    }
}
