//! The soft renderer of differentiable refinement (`gvpie refine`): the loss of a soft render of drawing calls
//! against a target and its gradient with respect to every call's numbers, computed on the GPU.
//!
//! `shaders/refine.wgsl` is the `f32` twin of `gvpie_evolve::refine::soft` (`f64`): one thread per pixel blends
//! every call and keeps a history (colour before each call, the call's coverage), then walks the calls backwards;
//! each workgroup sums its pixels' derivatives per call in shared memory and the CPU adds the workgroups' rows. All
//! the calls of a program are differentiated in one dispatch. The history takes `16 · pixels · calls` bytes, which
//! bounds what one dispatch can take ([`GpuError::BadRequest`] beyond the device's storage limit; the caller then
//! uses the CPU twin).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytemuck::{Pod, Zeroable};
use wgpu::util::DeviceExt;

use crate::readback;
use crate::{GpuBackend, GpuError};

/// The shader of the soft renderer.
pub const REFINE_WGSL: &str = include_str!("../shaders/refine.wgsl");

/// Threads per workgroup (pixels per partial row).
const GROUP: u32 = 256;
/// Numbers per call: 6 geometry slots, then colour r, g, b, a.
pub const SOFT_SLOTS: usize = 10;

/// One drawing call for the soft renderer (see `gvpie_evolve::refine::DrawKind` for the kinds, 0 `CLS` to 7 mask).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct SoftCall {
    /// The kind.
    pub kind: u32,
    /// For a mask call: its mask's index.
    pub mask: u32,
    /// The pixel box `(x0, y0, x1, y1)`, inclusive, outside which the call covers nothing.
    pub bbox: [i32; 4],
    /// The numbers: geometry slots 0..6, colour r, g, b, a (unclamped).
    pub values: [f32; SOFT_SLOTS],
}

#[repr(C)]
#[derive(Copy, Clone, Debug, Pod, Zeroable)]
struct RawCall {
    kind: u32,
    mask: u32,
    pad: [u32; 2],
    bbox: [i32; 4],
    values: [f32; 12],
}

#[repr(C)]
#[derive(Copy, Clone, Debug, Pod, Zeroable)]
struct Params {
    width: u32,
    height: u32,
    n_calls: u32,
    n_groups: u32,
    sigma: f32,
    norm: f32,
    mask_words: u32,
    pad: u32,
}

/// A compiled soft renderer for one canvas size, with its target.
pub struct SoftRenderer {
    device: wgpu::Device,
    queue: wgpu::Queue,
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    lost: Arc<AtomicBool>,
    width: u32,
    height: u32,
    target: wgpu::Buffer,
    norm: f64,
    has_target: bool,
    /// The history, partial-sum and read-back buffers of the last evaluation, reused by the next one that fits
    /// (a refinement evaluates hundreds of times: allocating, and clearing, `16 · pixels · calls` bytes each time
    /// cost more than the render once programs had hundreds of shapes).
    scratch: Option<Scratch>,
}

/// Buffers an evaluation needs, sized for `hist_bytes` of history and `partial_bytes` of partial sums.
struct Scratch {
    hist: wgpu::Buffer,
    partial: wgpu::Buffer,
    read: wgpu::Buffer,
}

impl std::fmt::Debug for SoftRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftRenderer").field("width", &self.width).field("height", &self.height).finish_non_exhaustive()
    }
}

impl GpuBackend {
    /// A soft renderer for `width` x `height` canvases.
    ///
    /// # Errors
    ///
    /// [`GpuError::BadRequest`] for an empty canvas or one with more workgroups than a dispatch takes;
    /// [`GpuError::Device`] when the shader does not compile.
    pub fn soft_renderer(&self, width: u32, height: u32) -> Result<SoftRenderer, GpuError> {
        let pixels = u64::from(width) * u64::from(height);
        let max_groups = u64::from(self.device.limits().max_compute_workgroups_per_dimension);
        if pixels == 0 || pixels.div_ceil(u64::from(GROUP)) > max_groups {
            return Err(GpuError::BadRequest(format!("the soft renderer cannot take a {width}x{height} canvas")));
        }
        let device = self.device.clone();
        use wgpu::BufferBindingType::{Storage, Uniform};
        let bindings = [
            Uniform,
            Storage { read_only: true },
            Storage { read_only: true },
            Storage { read_only: true },
            Storage { read_only: false },
            Storage { read_only: false },
        ];
        let (pipeline, layout) = crate::backend::buffer_pipeline(&device, "refine", REFINE_WGSL, &bindings)
            .map_err(|err| GpuError::Device(format!("the refine shader did not compile: {err}")))?;
        let target = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("gvpie.refine_target"),
            size: pixels * 16,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Ok(SoftRenderer {
            device,
            queue: self.queue.clone(),
            pipeline,
            layout,
            lost: Arc::clone(&self.lost),
            width,
            height,
            target,
            norm: 0.0,
            has_target: false,
            scratch: None,
        })
    }
}

impl SoftRenderer {
    /// The canvas size.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Uploads the target: per pixel its r, g, b (0..255) and its weight in the loss.
    ///
    /// # Errors
    ///
    /// [`GpuError::BadRequest`] when `rgbw` does not have one entry per pixel.
    pub fn set_target(&mut self, rgbw: &[[f32; 4]]) -> Result<(), GpuError> {
        let pixels = self.width as usize * self.height as usize;
        if rgbw.len() != pixels {
            return Err(GpuError::BadRequest(format!("the target has {} pixels, not {pixels}", rgbw.len())));
        }
        let weight_sum: f64 = rgbw.iter().map(|p| f64::from(p[3])).sum::<f64>().max(1e-12);
        self.norm = 1.0 / (3.0 * 255.0 * 255.0 * weight_sum);
        self.queue.write_buffer(&self.target, 0, bytemuck::cast_slice(rgbw));
        self.has_target = true;
        Ok(())
    }

    /// The loss of the soft render of `calls` at softness `sigma` and, per call, its derivatives by the call's
    /// numbers. `masks` holds one flag per pixel for each mask call.
    ///
    /// # Errors
    ///
    /// [`GpuError::BadRequest`] before a target is set or when the history would exceed the device's storage
    /// buffer limit; [`GpuError::Device`] when the device fails or is lost.
    pub fn evaluate(
        &mut self,
        calls: &[SoftCall],
        masks: &[Vec<bool>],
        sigma: f32,
    ) -> Result<(f64, Vec<[f32; SOFT_SLOTS]>), GpuError> {
        if !self.has_target {
            return Err(GpuError::BadRequest("no target was set".into()));
        }
        if calls.is_empty() {
            return Err(GpuError::BadRequest("no drawing calls".into()));
        }
        if self.lost.load(Ordering::SeqCst) {
            return Err(GpuError::Device("the GPU device was lost".into()));
        }
        let pixels = self.width as usize * self.height as usize;
        let n = calls.len();
        let limits = self.device.limits();
        let hist_bytes = (pixels as u64) * (n as u64) * 16;
        if hist_bytes > limits.max_storage_buffer_binding_size.min(limits.max_buffer_size) {
            return Err(GpuError::BadRequest(format!(
                "{n} drawing calls on {pixels} pixels need {hist_bytes} bytes of history, over the device's limit"
            )));
        }
        let n_groups = pixels.div_ceil(GROUP as usize);
        let mask_words = pixels.div_ceil(32);
        let mut mask_bits = vec![0u32; (mask_words * masks.len()).max(1)];
        for (m, mask) in masks.iter().enumerate() {
            for (p, &on) in mask.iter().enumerate().take(pixels) {
                if on {
                    let bit = m * mask_words * 32 + p;
                    mask_bits[bit / 32] |= 1 << (bit % 32);
                }
            }
        }
        let raw: Vec<RawCall> = calls
            .iter()
            .map(|c| {
                let mut values = [0.0; 12];
                values[..SOFT_SLOTS].copy_from_slice(&c.values);
                RawCall { kind: c.kind, mask: c.mask, pad: [0; 2], bbox: c.bbox, values }
            })
            .collect();
        let params = Params {
            width: self.width,
            height: self.height,
            n_calls: n as u32,
            n_groups: n_groups as u32,
            sigma,
            norm: self.norm as f32,
            mask_words: mask_words as u32,
            pad: 0,
        };
        let init = |label: &str, contents: &[u8], usage| {
            self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor { label: Some(label), contents, usage })
        };
        let params_buf = init("gvpie.refine_params", bytemuck::bytes_of(&params), wgpu::BufferUsages::UNIFORM);
        let calls_buf = init("gvpie.refine_calls", bytemuck::cast_slice(&raw), wgpu::BufferUsages::STORAGE);
        let masks_buf = init("gvpie.refine_masks", bytemuck::cast_slice(&mask_bits), wgpu::BufferUsages::STORAGE);
        let partial_len = n * n_groups * SOFT_SLOTS + n_groups;
        let partial_bytes = (partial_len * 4) as u64;
        let fits =
            self.scratch.as_ref().is_some_and(|s| s.hist.size() >= hist_bytes && s.partial.size() >= partial_bytes);
        if !fits {
            // Grown with room (a refinement's programs grow by a shape at a time), within the device's limit.
            let limit = limits.max_storage_buffer_binding_size.min(limits.max_buffer_size);
            let hist_size = (hist_bytes + hist_bytes / 4).next_multiple_of(16).min(limit).max(hist_bytes);
            let partial_size = (partial_bytes + partial_bytes / 4).next_multiple_of(16);
            let make = |label: &str, size: u64, usage| {
                self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(label),
                    size,
                    usage,
                    mapped_at_creation: false,
                })
            };
            self.scratch = Some(Scratch {
                hist: make("gvpie.refine_hist", hist_size, wgpu::BufferUsages::STORAGE),
                partial: make(
                    "gvpie.refine_partial",
                    partial_size,
                    wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                ),
                read: make(
                    "gvpie.refine_read",
                    partial_size,
                    wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                ),
            });
        }
        let Some(Scratch { hist, partial, read }) = self.scratch.as_ref() else {
            return Err(GpuError::Device("no scratch buffers".into()));
        };
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("gvpie.refine_bind_group"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: params_buf.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: self.target.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 2, resource: calls_buf.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 3, resource: masks_buf.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 4, resource: hist.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 5, resource: partial.as_entire_binding() },
            ],
        });
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let mut encoder = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("gvpie.refine_pass"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(n_groups as u32, 1, 1);
        }
        encoder.copy_buffer_to_buffer(partial, 0, read, 0, partial_bytes);
        self.queue.submit([encoder.finish()]);
        let waited =
            readback::map_and_wait(&self.device, &self.lost, &[read.slice(0..partial_bytes)], wgpu::MapMode::Read);
        let scope_error = pollster::block_on(scope.pop());
        let mut sums: Vec<f32> = Vec::with_capacity(partial_len);
        let read_back = match (waited, scope_error) {
            (Err(failed), _) => Err(GpuError::Device(failed.reason())),
            (Ok(()), Some(err)) => Err(GpuError::Device(err.to_string())),
            (Ok(()), None) => {
                readback::append_mapped(read.slice(0..partial_bytes), &mut sums).map_err(GpuError::Device)
            }
        };
        if let Err(err) = read_back {
            // A buffer left mapped or half-written is not reused.
            self.scratch = None;
            return Err(err);
        }
        let mut grads = vec![[0.0f32; SOFT_SLOTS]; n];
        for (k, grad) in grads.iter_mut().enumerate() {
            let mut acc = [0.0f64; SOFT_SLOTS];
            for group in 0..n_groups {
                let row = &sums[(k * n_groups + group) * SOFT_SLOTS..][..SOFT_SLOTS];
                for (a, &s) in acc.iter_mut().zip(row) {
                    *a += f64::from(s);
                }
            }
            for (g, a) in grad.iter_mut().zip(acc) {
                *g = a as f32;
            }
        }
        let loss: f64 = sums[n * n_groups * SOFT_SLOTS..].iter().map(|&s| f64::from(s)).sum();
        Ok((loss, grads))
    }
}
