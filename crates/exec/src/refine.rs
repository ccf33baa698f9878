//! Soft renderers for differentiable refinement (`gvpie refine`): the CPU one from `gvpie-evolve`, or the GPU's
//! (`crates/gpu/shaders/refine.wgsl`) behind the same [`SoftRenderer`] trait.
//!
//! The GPU computes the same soft render and gradient in `f32` (the CPU in `f64`; a differential test bounds the
//! difference). When the GPU fails mid-refinement, the adapter says so and `gvpie_evolve::refine` goes on with the
//! CPU's for good.

use gvpie_evolve::SoftRenderer;
use gvpie_evolve::refine::CpuSoftRenderer;
#[cfg(feature = "gpu")]
use gvpie_evolve::refine::{Call, SoftResult, SoftTarget, soft::bounds};

use crate::{BackendChoice, Engine, ExecError, ScorerChoice};

impl Engine {
    /// A soft renderer on `choice`: `cpu` on `n_threads` threads, `gpu` on the GPU (an error without one), `auto` on a
    /// hardware GPU when there is one (never a software adapter such as lavapipe, which is slower than the CPU),
    /// else on the CPU.
    ///
    /// # Errors
    ///
    /// [`ExecError::GpuUnavailable`] for `gpu` without a GPU.
    pub fn soft_renderer(
        &self,
        choice: BackendChoice,
        n_threads: usize,
    ) -> Result<(Box<dyn SoftRenderer + '_>, ScorerChoice), ExecError> {
        let cpu = CpuSoftRenderer { threads: n_threads.max(1) };
        let on_cpu = || -> (Box<dyn SoftRenderer + '_>, ScorerChoice) {
            (Box::new(cpu), ScorerChoice { backend: "cpu", adapter: None })
        };
        match choice {
            BackendChoice::Cpu => Ok(on_cpu()),
            #[cfg(feature = "gpu")]
            BackendChoice::Gpu | BackendChoice::Auto => match &self.gpu {
                Some(gpu) if choice == BackendChoice::Gpu || gpu.adapter_info().device_type != "cpu" => {
                    let adapter = Some(gpu.adapter_info().to_string());
                    Ok((Box::new(GpuSoftRenderer { gpu, renderer: None }), ScorerChoice { backend: "gpu", adapter }))
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

/// The GPU's soft renderer behind [`SoftRenderer`]; its pipeline and buffers are made on first use and kept while
/// the canvas size stays the same.
#[cfg(feature = "gpu")]
struct GpuSoftRenderer<'a> {
    gpu: &'a gvpie_gpu::GpuBackend,
    renderer: Option<gvpie_gpu::SoftRenderer>,
}

#[cfg(feature = "gpu")]
impl SoftRenderer for GpuSoftRenderer<'_> {
    fn name(&self) -> String {
        "gpu".to_string()
    }

    fn frees_cpu(&mut self) -> bool {
        // A software adapter (lavapipe) computes on the very cores the search would use.
        self.gpu.adapter_info().device_type != "cpu"
    }

    fn evaluate(
        &mut self,
        target: &SoftTarget,
        masks: &[Vec<bool>],
        draws: &[Call],
        sigma: f64,
    ) -> Result<SoftResult, String> {
        let fits = self.renderer.as_ref().is_some_and(|r| r.size() == (target.width, target.height));
        if !fits {
            let mut renderer = self.gpu.soft_renderer(target.width, target.height).map_err(|e| e.to_string())?;
            let rgbw: Vec<[f32; 4]> =
                target.rgb.iter().zip(&target.weight).map(|(c, &w)| [c[0], c[1], c[2], w]).collect();
            renderer.set_target(&rgbw).map_err(|e| e.to_string())?;
            self.renderer = Some(renderer);
        }
        let Some(renderer) = self.renderer.as_mut() else { return Err("no GPU renderer".to_string()) };
        let calls: Vec<gvpie_gpu::SoftCall> = draws
            .iter()
            .map(|(kind, mask, v)| {
                let (x0, y0, x1, y1) = bounds(*kind, v, sigma, target.width, target.height);
                gvpie_gpu::SoftCall {
                    kind: *kind as u32,
                    mask: *mask,
                    bbox: [x0 as i32, y0 as i32, x1 as i32, y1 as i32],
                    values: v.map(|x| x as f32),
                }
            })
            .collect();
        let (loss, grads) = renderer.evaluate(&calls, masks, sigma as f32).map_err(|e| e.to_string())?;
        Ok(SoftResult { loss, grads: grads.iter().map(|g| g.map(f64::from)).collect() })
    }
}
