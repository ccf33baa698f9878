//! Shape scorers for the image goal's evaluator cascade: the CPU one from `gvpie-evolve`, or the GPU's shape
//! scorer behind the same [`ShapeScorer`] trait.
//!
//! The GPU scorer computes exactly what the CPU computes, so when the GPU fails mid-search (device lost, out of
//! memory) the adapter scores the rest on the CPU and the search goes on to the same result; [`ScorerChoice`]
//! and the scorer's name tell which ran.

#[cfg(feature = "gpu")]
use gvpie_evolve::{ClimbJob, Climbed, ErrorTable, Scored, Shape, ShapeKinds};
use gvpie_evolve::{CpuShapeScorer, ShapeScorer, SoftRenderer};

use crate::{BackendChoice, Engine, ExecError};

/// What `auto` picked, and why: for progress lines and JSON summaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScorerChoice {
    /// `cpu` or `gpu`.
    pub backend: &'static str,
    /// The adapter, for the GPU.
    pub adapter: Option<String>,
}

/// What an image search runs where: its shape scoring and its refinement's gradients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageChoice {
    /// Where the cascade's batches are scored.
    pub search: ScorerChoice,
    /// Where refinement computes its gradients.
    pub gradients: ScorerChoice,
}

impl Engine {
    /// The scorer of an image search whose shapes are scored on `search` and whose refinement computes its
    /// gradients on `gradients` (through [`ShapeScorer::soft_renderer`]). `auto` is the measured rule
    /// (BENCHMARKS.md, "The GPU's place in the image goal" and after): shapes on the CPU, since on the H100 host
    /// (16 cores) the CPU cascade placed 1.5 to 2 times as many shapes as the GPU's in the same time, even with the
    /// GPU solving alphas too, and lavapipe is slower still; gradients on a hardware GPU when there is one (the
    /// rule of [`Engine::soft_renderer`]): on that host its soft renderer is 3-3.6 times as fast as 16 cores, its
    /// gradient steps took 0.55-0.7 of their time inside a search (the exact polish stays on the CPU), and, with
    /// the refinements running beside the search (`ImageRefine::overlap`, which the returned scorer allows through
    /// [`ShapeScorer::split_gradients`]), its pictures were 9-24 % better than the CPU path's at the same
    /// `--seconds` on every one of five photos, 13-22 % on three after charging their 3-5 % of extra wall time
    /// (BENCHMARKS.md, run m; taking turns they were 1.7-5 % better on average, not on
    /// every photo, runs k and l); lavapipe is slower than the CPU.
    ///
    /// # Errors
    ///
    /// [`ExecError::GpuUnavailable`] for `gpu` without a GPU.
    pub fn image_search(
        &self,
        search: BackendChoice,
        gradients: BackendChoice,
        n_threads: usize,
    ) -> Result<(Box<dyn ShapeScorer + '_>, ImageChoice), ExecError> {
        let search = match search {
            BackendChoice::Auto => BackendChoice::Cpu,
            other => other,
        };
        let (scorer, search) = self.shape_scorer(search, n_threads)?;
        let (renderer, gradients) = self.soft_renderer(gradients, n_threads)?;
        Ok((Box::new(WithGradients { scorer, renderer }), ImageChoice { search, gradients }))
    }

    /// A shape scorer on `choice`: `cpu` scores on `n_threads` threads, `gpu` on the GPU (an error without one),
    /// `auto` on a hardware GPU when there is one (a software adapter such as lavapipe is slower than the CPU
    /// scorer), else on the CPU. An image search takes [`Engine::image_search`], whose `auto` is the measured
    /// rule.
    ///
    /// # Errors
    ///
    /// [`ExecError::GpuUnavailable`] for `gpu` without a GPU.
    pub fn shape_scorer(
        &self,
        choice: BackendChoice,
        n_threads: usize,
    ) -> Result<(Box<dyn ShapeScorer + '_>, ScorerChoice), ExecError> {
        let cpu = CpuShapeScorer { n_threads };
        let on_cpu = || -> (Box<dyn ShapeScorer + '_>, ScorerChoice) {
            (Box::new(cpu), ScorerChoice { backend: "cpu", adapter: None })
        };
        match choice {
            BackendChoice::Cpu => Ok(on_cpu()),
            #[cfg(feature = "gpu")]
            BackendChoice::Gpu | BackendChoice::Auto => match &self.gpu {
                Some(gpu) if choice == BackendChoice::Gpu || gpu.adapter_info().device_type != "cpu" => {
                    let adapter = Some(gpu.adapter_info().to_string());
                    Ok((Box::new(GpuShapeScorer::new(gpu, cpu)), ScorerChoice { backend: "gpu", adapter }))
                }
                Some(_) => Ok(on_cpu()),
                None if choice == BackendChoice::Auto => Ok(on_cpu()),
                None => Err(ExecError::GpuUnavailable(self.no_gpu.clone().unwrap_or_else(|| "no adapter".into()))),
            },
            #[cfg(not(feature = "gpu"))]
            BackendChoice::Auto => Ok(on_cpu()),
            #[cfg(not(feature = "gpu"))]
            BackendChoice::Gpu => Err(ExecError::GpuUnavailable(self.no_gpu.clone().unwrap_or_default())),
        }
    }
}

/// A shape scorer that brings its refinement's soft renderer along.
struct WithGradients<'a> {
    scorer: Box<dyn ShapeScorer + 'a>,
    renderer: Box<dyn SoftRenderer + 'a>,
}

impl ShapeScorer for WithGradients<'_> {
    fn name(&self) -> String {
        self.scorer.name()
    }

    fn set_table(&mut self, table: &gvpie_evolve::ErrorTable) {
        self.scorer.set_table(table);
    }

    fn score(
        &mut self,
        table: &gvpie_evolve::ErrorTable,
        shapes: &[gvpie_evolve::Shape],
    ) -> Vec<Option<gvpie_evolve::Scored>> {
        self.scorer.score(table, shapes)
    }

    fn climb(&mut self, table: &gvpie_evolve::ErrorTable, job: &gvpie_evolve::ClimbJob) -> Vec<gvpie_evolve::Climbed> {
        self.scorer.climb(table, job)
    }

    fn soft_renderer(&mut self) -> Option<&mut dyn SoftRenderer> {
        Some(self.renderer.as_mut())
    }

    fn split_gradients(&mut self) -> Option<(&mut dyn ShapeScorer, &mut dyn SoftRenderer)> {
        Some((self.scorer.as_mut(), self.renderer.as_mut()))
    }
}

/// The GPU's shape scorer behind [`ShapeScorer`], falling back to the CPU for good after a failure.
#[cfg(feature = "gpu")]
struct GpuShapeScorer<'a> {
    gpu: &'a gvpie_gpu::GpuBackend,
    scorer: Option<gvpie_gpu::ShapeScorer>,
    cpu: CpuShapeScorer,
    /// Why the GPU is no longer used.
    failed: Option<String>,
    candidates: Vec<gvpie_gpu::ShapeCandidate>,
}

#[cfg(feature = "gpu")]
impl<'a> GpuShapeScorer<'a> {
    fn new(gpu: &'a gvpie_gpu::GpuBackend, cpu: CpuShapeScorer) -> GpuShapeScorer<'a> {
        GpuShapeScorer { gpu, scorer: None, cpu, failed: None, candidates: Vec::new() }
    }

    fn fail(&mut self, err: gvpie_gpu::GpuError) {
        self.failed = Some(err.to_string());
        self.scorer = None;
    }
}

#[cfg(feature = "gpu")]
impl ShapeScorer for GpuShapeScorer<'_> {
    fn name(&self) -> String {
        match &self.failed {
            None => "gpu".to_string(),
            Some(why) => format!("cpu (the GPU failed: {why})"),
        }
    }

    fn set_table(&mut self, table: &ErrorTable) {
        if self.failed.is_some() {
            return;
        }
        let (w, h) = (table.target().width(), table.target().height());
        let alpha = (table.alpha(), table.min_alpha());
        let fits = self
            .scorer
            .as_ref()
            .is_some_and(|s| s.table_words() == h as usize * (w as usize + 1) * 8 && s.alpha() == alpha);
        if !fits {
            match self.gpu.shape_scorer(w, h, alpha.0, alpha.1) {
                Ok(scorer) => self.scorer = Some(scorer),
                Err(err) => return self.fail(err),
            }
        }
        if let Some(scorer) = self.scorer.as_mut()
            && let Err(err) = scorer.set_table(&table.prefix_words())
        {
            self.fail(err);
        }
    }

    fn score(&mut self, table: &ErrorTable, shapes: &[Shape]) -> Vec<Option<Scored>> {
        let Some(scorer) = self.scorer.as_mut().filter(|_| self.failed.is_none()) else {
            return self.cpu.score(table, shapes);
        };
        self.candidates.clear();
        self.candidates.extend(shapes.iter().map(|shape| match *shape {
            Shape::Triangle(v) => gvpie_gpu::ShapeCandidate::triangle(v),
            Shape::Rectangle(r) => gvpie_gpu::ShapeCandidate::rectangle(r),
        }));
        match scorer.score(&self.candidates) {
            Ok(scores) => scores
                .into_iter()
                .map(|s| {
                    let [r, g, b, a] = s.color;
                    (s.n_pixels > 0).then(|| Scored {
                        delta: s.delta,
                        color: gvpie_raster::Rgba::new(r, g, b, a),
                        n_pixels: s.n_pixels,
                    })
                })
                .collect(),
            Err(err) => {
                self.fail(err);
                self.cpu.score(table, shapes)
            }
        }
    }

    fn climb(&mut self, table: &ErrorTable, job: &ClimbJob) -> Vec<Climbed> {
        let Some(scorer) = self.scorer.as_mut().filter(|_| self.failed.is_none()) else {
            return self.cpu.climb(table, job);
        };
        let params = gvpie_gpu::ClimbParams {
            key: job.key,
            n_climbers: job.n_climbers,
            kinds: match job.kinds {
                ShapeKinds::Triangles => 0,
                ShapeKinds::Rectangles => 1,
                _ => 2,
            },
            random_tries: job.random_tries,
            max_failures: job.max_failures,
            spread: job.spread,
            step: job.step,
            margin: job.margin,
        };
        match scorer.climb(&params) {
            Ok(results) => results
                .into_iter()
                .map(|r| Climbed {
                    best: r.best.map(|(candidate, s)| {
                        let shape = match candidate.shape() {
                            Ok(v) => Shape::Triangle(v),
                            Err(r) => Shape::Rectangle(r),
                        };
                        let [r, g, b, a] = s.color;
                        (
                            shape,
                            Scored { delta: s.delta, color: gvpie_raster::Rgba::new(r, g, b, a), n_pixels: s.n_pixels },
                        )
                    }),
                    steps: r.steps,
                })
                .collect(),
            Err(err) => {
                self.fail(err);
                self.cpu.climb(table, job)
            }
        }
    }
}
